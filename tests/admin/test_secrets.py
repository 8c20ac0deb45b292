"""Passwords never appear on a process's command line (what `ps` shows) nor in the output."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from rabbitadmin.sandbox import SandboxInfo

from .conftest import AdminCli


def run_watching_processes(
    admin: AdminCli, args: list[str], env: dict[str, str], needles: list[bytes]
) -> tuple[subprocess.CompletedProcess[str], list[bytes], int]:
    """Run the command while polling every /proc/*/cmdline; return the result, leaking command lines
    and how many rabbitmqctl processes for our node were seen."""
    process = subprocess.Popen(
        admin.argv(*args),
        env=admin.full_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    leaks: list[bytes] = []
    ctl_pids: set[str] = set()
    secret, node_name = needles
    while process.poll() is None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # the process ended meanwhile
            if secret in cmdline:
                leaks.append(cmdline)
            if node_name in cmdline:
                ctl_pids.add(entry.name)
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), leaks, len(ctl_pids)


def test_passwords_stay_off_command_lines(admin: AdminCli, scratch_user: str, node: SandboxInfo) -> None:
    password = f"never-in-ps-{secrets.token_hex(8)}"
    needles = [password.encode(), node.nodename.encode()]
    env = {"PW": password}
    seen_ctl = 0
    for args in (
        ["users", "add", scratch_user, "--password-env", "PW"],
        ["users", "change-password", scratch_user, "--password-env", "PW"],
        ["users", "authenticate", scratch_user, "--password-env", "PW"],
    ):
        result, leaks, ctl_processes = run_watching_processes(admin, args, env, needles)
        assert result.returncode == 0, result.stderr
        assert leaks == []
        assert password not in result.stdout + result.stderr
        seen_ctl += ctl_processes
    if admin.backend == "ctl":
        assert seen_ctl >= 3, "the watch must have seen the rabbitmqctl processes it checks"
