"""Never hang: every rabbitmqctl call ends within ``--ctl-timeout`` with exit 10 and a message naming the
cause, and leaves no process behind. The hanging rabbitmqctl of the first test is a script of ours (it
tests OUR timeout, not the broker); the second is RabbitMQ 4.0.5's own, given stdin through an ssh-like
prefix (upstream rabbitmq-server issue 13157)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.errors import CtlTimeout, ExitCode
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import ctl_env


def rabbitadmin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *args],
        env={**base, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,  # the command's own timeout is far below this: reaching it is a failure
        check=False,
    )


def processes_with(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(proc.name)
            except OSError:
                continue
    return found


def test_a_hanging_rabbitmqctl_is_killed_with_its_children_and_exits_10(tmp_path: Path) -> None:
    marker = f"hang-{secrets.token_hex(4)}"
    fake = tmp_path / "rabbitmqctl"
    vm = tmp_path / marker  # a sleep whose command line names this test
    shutil.copy("/bin/sleep", vm)
    # Like the real script: a shell that runs a long-lived child (the Erlang VM) and waits for it.
    fake.write_text(f"#!/bin/sh\n{vm} 1000 &\n{vm} 1001\n")
    fake.chmod(0o700)
    for args in (["vhosts", "list"], ["export"]):
        result = rabbitadmin("--backend", "ctl", "--rabbitmqctl", str(fake), "--ctl-timeout", "2", *args, env={})
        assert result.returncode == ExitCode.TIMEOUT, result.stderr
        assert "did not finish within 2s" in result.stderr and "Traceback" not in result.stderr
        assert processes_with(marker) == [], "the whole process group is killed"


def test_a_call_given_a_wait_may_outlast_the_ctl_timeout_and_no_other_call_may(tmp_path: Path) -> None:
    """An import is allowed --ctl-timeout plus its size's allowance (``wait``): a rabbitmqctl that takes 3 s
    finishes within a 10 s wait and is stopped at a 1 s timeout without one; the message names the limit."""
    slow = tmp_path / "rabbitmqctl"
    slow.write_text("#!/bin/sh\nsleep 3\necho done\n")
    slow.chmod(0o700)
    ctl = Rabbitmqctl(executable=str(slow), timeout=1.0)
    assert ctl.run(["import_definitions", "--format=json"], wait=10.0).strip() == "done"
    with pytest.raises(CtlTimeout, match=r"within 1s \(--ctl-timeout\)"):
        ctl.run(["list_queues"])
    with pytest.raises(CtlTimeout, match=r"within 2s \(--ctl-timeout and the import's size\)"):
        ctl.run(["import_definitions", "--format=json"], wait=2.0)


def test_ctl_timeout_option_is_checked(tmp_path: Path) -> None:
    result = rabbitadmin("--backend", "ctl", "vhosts", "list", env={"RABBITADMIN_CTL_TIMEOUT": "-1"})
    assert result.returncode == ExitCode.INVALID and "must be positive" in result.stderr


def test_through_a_remote_prefix_a_plan_works_and_a_payload_on_stdin_is_reported_on_4_0_5(
    node: SandboxInfo, rabbitmq_version: str, tmp_path: Path
) -> None:
    """Through ssh, payloads cannot go in a local file. The plan's reads carry no secret: their expressions go
    on the argument list, so the plan works on both versions. The apply's import may carry password hashes: it
    goes on stdin, which 4.0.5 never reads, and is reported (3.10's rabbitmqctl reads it)."""
    fake_ssh = tmp_path / "ssh"
    fake_ssh.write_text('#!/bin/sh\nshift\nexec sh -c "$*"\n')  # drops the host, runs the quoted command here
    fake_ssh.chmod(0o700)
    ctl = ctl_env(node)
    local_prefix = ctl.pop("RABBITADMIN_CTL_PREFIX", "")
    env = {**ctl, "RABBITADMIN_CTL_PREFIX": f"{fake_ssh} mq1 {local_prefix}".strip()}
    vhost = f"ssh-{secrets.token_hex(3)}"
    topology = tmp_path / "t.yaml"
    topology.write_text(f"vhosts:\n  - name: {vhost}\n")
    planned = rabbitadmin("--backend", "ctl", "--ctl-timeout", "60", "plan", str(topology), "-o", "json", env=env)
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["summary"]["create"] == 1
    try:
        # 4.0.5 must stop at the timeout: a short one; 3.10 must finish: room for a loaded machine.
        limit = "20" if rabbitmq_version == "4.0" else "90"
        applied = rabbitadmin("--backend", "ctl", "--ctl-timeout", limit, "apply", str(topology), "--yes", "-o", "json",
                              env=env)  # fmt: skip
        if rabbitmq_version == "4.0":  # the import failed, so the apply stopped with it
            assert applied.returncode == ExitCode.PARTIAL, applied.stderr
            assert "issue 13157" in applied.stderr and "--backend http" in applied.stderr
            assert "will not help" in applied.stderr  # a permanent refusal says so
            assert "did not finish within 20" in applied.stderr
        else:  # 3.10's rabbitmqctl reads its stdin
            assert applied.returncode == 0, applied.stderr
    finally:
        requests.delete(f"{node.url}/api/vhosts/{vhost}", auth=(node.user, node.password()), timeout=120)
