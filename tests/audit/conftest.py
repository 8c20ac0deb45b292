"""Fixtures for the audit tests: the command line with ``audit``/``access`` mounted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

# Until the lead mounts register() in rabbitadmin.cli, mount it here; afterwards this is the real command.
_MOUNT = (
    "from rabbitadmin.cli import app\n"
    "if not any(c.name in ('audit', 'access') for c in app.registered_commands):\n"
    "    from rabbitadmin.audit.cli import register\n"
    "    register(app)\n"
    "app(prog_name='rabbitadmin')\n"
)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def audit_cli(cli_env: dict[str, str]) -> Run:
    """Runs ``rabbitadmin ARGS`` in a subprocess without a terminal, against the session node."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
        return subprocess.run(
            [sys.executable, "-c", _MOUNT, *args],
            env={**base, **cli_env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run
