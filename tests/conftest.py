"""Shared fixtures: one private RabbitMQ node per test session, started from the installed server.

A test that needs a broker asks for ``node`` (or ``settings``); if the node cannot start, the test fails
with the node's log, it is never skipped.
"""

from __future__ import annotations

import secrets
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
