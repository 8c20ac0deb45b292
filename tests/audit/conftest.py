"""Fixtures for the audit tests: the real ``rabbitadmin`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def audit_cli(cli_env: dict[str, str]) -> Run:
    """Runs ``rabbitadmin ARGS`` in a subprocess without a terminal, against the session node."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
        return subprocess.run(
            [sys.executable, "-m", "rabbitadmin", *args],
            env={**base, **cli_env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run
