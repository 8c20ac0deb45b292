"""Fixtures for fault tests: a fault-injecting proxy in front of the session node, and the CLI through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner
from .proxy import FaultProxy


@pytest.fixture
def proxy(node: SandboxInfo) -> Iterator[FaultProxy]:
    box = FaultProxy(node.http_port).start()
    yield box
    box.stop()


@pytest.fixture
def via_proxy(cli_env: dict[str, str], proxy: FaultProxy) -> CliRunner:
    """``rabbitadmin`` pointed at the proxy (which forwards to the real node)."""
    return CliRunner({**cli_env, "RABBITADMIN_URL": proxy.url})
