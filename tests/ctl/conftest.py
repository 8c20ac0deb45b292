"""A second private node, without the management plugin (the server-bootstrap case), and rabbitmqctl
backends pointed at it or at the session node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import ctl_backend_options


@pytest.fixture(scope="session")
def bare_sandbox(rabbitmq_version: str, node_root: Path) -> Iterator[Sandbox]:
    """A node of the session's version without the management plugin."""
    box = Sandbox(node_root / f"bare-{rabbitmq_version}" / "node", management=False, rabbitmq=rabbitmq_version)
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="session")
def bare_node(bare_sandbox: Sandbox) -> SandboxInfo:
    info = bare_sandbox.status().info
    assert info is not None and info.management is False
    return info


def ctl_backend_for(box: Sandbox, info: SandboxInfo) -> CtlBackend:
    return CtlBackend(**ctl_backend_options(box, info))  # type: ignore[arg-type]


@pytest.fixture
def bare_backend(bare_sandbox: Sandbox, bare_node: SandboxInfo) -> Iterator[CtlBackend]:
    backend = ctl_backend_for(bare_sandbox, bare_node)
    yield backend
    backend.close()


@pytest.fixture
def session_ctl_backend(sandbox: Sandbox, node: SandboxInfo) -> Iterator[CtlBackend]:
    """A ctl backend for the session node (which also has the management API, for parity tests)."""
    backend = ctl_backend_for(sandbox, node)
    yield backend
    backend.close()
