"""Fixtures for the administration commands: the real command line, pointed at the session node through
either backend, and an AMQP client to make messages, connections and consumers exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from rabbitadmin.sandbox import SandboxInfo

from ..conftest import ctl_env


class AdminCli:
    """Runs ``rabbitadmin`` in a subprocess, without a terminal, against the session node."""

    def __init__(self, env: dict[str, str], backend: str) -> None:
        self.env = env
        self.backend = backend
        self.command = [sys.executable, "-m", "rabbitadmin"]

    def argv(self, *args: str) -> list[str]:
        return [*self.command, *args]

    def full_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
        return {**env, **self.env, **(extra or {})}

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.full_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = self(*args, env=env)
        assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def rows(self, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.ok(*args, "-o", "json").stdout)
        return rows


def backend_env(node: SandboxInfo, backend: str) -> dict[str, str]:
    """Environment for the command: the HTTP settings always, the rabbitmqctl ones for ``ctl``."""
    env = {
        "RABBITADMIN_URL": node.url,
        "RABBITADMIN_USER": node.user,
        "RABBITADMIN_PASSWORD_FILE": str(node.password_file),
        "RABBITADMIN_BACKEND": backend,
    }
    if backend == "ctl":
        env |= ctl_env(node)
    return env


@pytest.fixture(params=["http", "ctl"])
def admin(request: pytest.FixtureRequest, node: SandboxInfo) -> AdminCli:
    """The command line through one backend (every test using it runs once per backend)."""
    return AdminCli(backend_env(node, request.param), request.param)


@pytest.fixture
def amqp(node: SandboxInfo) -> Iterator[Callable[[str], pika.BlockingConnection]]:
    """Open AMQP connections as the admin user to a vhost; all are closed after the test."""
    opened: list[pika.BlockingConnection] = []

    def connect(vhost: str) -> pika.BlockingConnection:
        credentials = pika.PlainCredentials(node.user, node.password())
        params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials)
        connection = pika.BlockingConnection(params)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        if connection.is_open:
            connection.close()


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Retry ``check`` until it returns something truthy: management statistics lag a few seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


@pytest.fixture
def scratch_user(admin_client: Any) -> Iterator[str]:
    """A fresh user name, deleted after the test."""
    import secrets

    from rabbitadmin.backends.http.paths import api_path

    name = f"adm-{secrets.token_hex(3)} é"
    yield name
    admin_client.delete(api_path("users", name))
