"""Tables at a terminal fit its real width; in a pipe they are plain, full-width rows.

The command runs on a pseudo-terminal of a given size (pexpect), as a person would see it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
BOX = ("─", "━", "│")
AUDIT_ENV = {"APP_PASSWORD": "guest"}  # a common password: the audit reports it
LONG_QUEUE = "a-queue-whose-name-is-long-" + "x" * 30  # 57 characters: shown whole (cells stop at 60)


def at_terminal(args: list[str], columns: int, env: dict[str, str]) -> tuple[int, list[str]]:
    """Exit status and the visible lines of ``rabbitadmin args`` on a ``columns``-wide pseudo-terminal."""
    full_env = {k: v for k, v in {**os.environ, **env, **AUDIT_ENV}.items() if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rabbitadmin", *args],
        env={**full_env, "TERM": "xterm-256color"},
        dimensions=(50, columns),
        encoding="utf-8",
        timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    text = ANSI.sub("", child.before or "")
    return int(child.exitstatus or 0), [line for line in text.replace("\r", "").split("\n") if line.strip()]


def in_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *args],
        env={**os.environ, **env, **AUDIT_ENV},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def audit_args(tmp_path: Path) -> list[str]:
    topology = tmp_path / "t.yaml"
    topology.write_text(
        "users: [{name: app, password: {env: APP_PASSWORD}, tags: []}]\n"
        "vhosts: [{name: production-vhost-with-a-long-name}]\n"
        "permissions: [{user: app, vhost: production-vhost-with-a-long-name,"
        " configure: '.*', write: '.*', read: '.*'}]\n"
    )
    return ["audit", "--offline", "-t", str(topology)]


def test_the_audit_table_fits_the_terminal(tmp_path: Path) -> None:
    args = audit_args(tmp_path)
    for columns in (70, 120):
        status, lines = at_terminal(args, columns, {})
        assert status == 0, lines
        assert max(len(line) for line in lines) <= columns, lines
        assert any(mark in "\n".join(lines) for mark in BOX)  # a rich table, drawn
    _, wide = at_terminal(args, 250, {})
    assert max(len(line) for line in wide) > 120  # it grows with the terminal, not fixed at one width
    piped = in_pipe(args, {})
    assert piped.returncode == 0 and not any(mark in piped.stdout for mark in BOX)
    assert piped.stdout.splitlines()[0].split()[:3] == ["RULE", "SEVERITY", "FINDING"]
    row = next(line for line in piped.stdout.splitlines() if "common password" in line)
    assert "Set a long random password." in row  # one finding, one whole line: nothing folded


def test_listings_fit_the_terminal(cli_env: dict[str, str], admin_client: HttpClient, vhost: str) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, LONG_QUEUE), {"durable": True})
    args = ["queues", "list", "-p", vhost]
    status, narrow = at_terminal(args, 60, cli_env)
    assert status == 0 and max(len(line) for line in narrow) <= 60, narrow
    assert LONG_QUEUE not in "\n".join(narrow)  # folded onto several lines to fit
    _, wide = at_terminal(args, 200, cli_env)
    assert any(LONG_QUEUE in line for line in wide)
    piped = in_pipe(args, cli_env)
    assert piped.returncode == 0 and any(LONG_QUEUE in line for line in piped.stdout.splitlines())
    assert not any(mark in piped.stdout for mark in BOX) and "\x1b[" not in piped.stdout
