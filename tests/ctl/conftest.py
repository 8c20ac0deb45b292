"""A second private node, without the management plugin (the server-bootstrap case), and rabbitmqctl
backends pointed at it or at the session node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rabbitadmin.backends.ctl import CtlBackend
from rabbitadmin.sandbox import Sandbox, SandboxInfo, server_scripts_dir


@pytest.fixture(scope="session")
def bare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("bare") / "node", management=False)
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
    return CtlBackend(
        node=info.nodename, rabbitmqctl=str(server_scripts_dir() / "rabbitmqctl"), env=box.server_env(info)
    )


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
