"""Shared fixtures: one private RabbitMQ node per test session, started from the installed server.

A test that needs a broker asks for ``node`` (or ``settings``); if the node cannot start, the test fails
with the node's log, it is never skipped.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.http_client import HttpClient, api_path
from rabbitadmin.model import Secret
from rabbitadmin.sandbox import Sandbox, SandboxInfo


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("rabbitmq") / "node")
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="session")
def node(sandbox: Sandbox) -> SandboxInfo:
    status = sandbox.status()
    assert status.info is not None, "the session node is not running"
    return status.info


@pytest.fixture(scope="session")
def settings(node: SandboxInfo) -> ConnectionSettings:
    """Administrator credentials for the session node."""
    return ConnectionSettings(url=node.url, user=node.user, password=Secret(node.password()), amqp_port=node.amqp_port)


@pytest.fixture(scope="session")
def admin_client(settings: ConnectionSettings) -> Iterator[HttpClient]:
    client = HttpClient(settings)
    yield client
    client.close()


@pytest.fixture
def vhost(admin_client: HttpClient) -> Iterator[str]:
    """A fresh, uniquely named vhost for one test, deleted afterwards (its name is deliberately awkward)."""
    name = f"t {secrets.token_hex(3)}/é#%"
    yield name
    admin_client.delete(api_path("vhosts", name))


@pytest.fixture
def cli_env(node: SandboxInfo) -> dict[str, str]:
    """Environment variables pointing the ``rabbitadmin`` command at the session node."""
    return {
        "RABBITADMIN_URL": node.url,
        "RABBITADMIN_USER": node.user,
        "RABBITADMIN_PASSWORD_FILE": str(Path(node.password_file)),
        "RABBITADMIN_AMQP_PORT": str(node.amqp_port),
    }


class CliRunner:
    """Runs the real ``rabbitadmin`` command in a subprocess, with no terminal on stdin."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, check: bool = False, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("RABBITADMIN_PASSWORD", None)
        result = subprocess.run(
            [sys.executable, "-m", "rabbitadmin", *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"rabbitadmin {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture
def rabbitadmin(cli_env: dict[str, str]) -> CliRunner:
    """Call as ``rabbitadmin("plan", "file.yaml")``; returns the CompletedProcess."""
    return CliRunner(cli_env)
