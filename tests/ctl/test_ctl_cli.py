"""``rabbitadmin --backend ctl plan/apply`` through the real command line, on the node without management."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner, ctl_env, without_released_lock


def run(node: SandboxInfo, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command with ``--backend ctl`` and the node's ctl settings as options (none inherited)."""
    ctl = ctl_env(node)
    global_options = [
        "--backend",
        "ctl",
        "--node",
        node.nodename,
        "--rabbitmqctl",
        ctl["RABBITADMIN_RABBITMQCTL"],
        "--erlang-cookie-file",
        str(Path(node.directory) / ".erlang.cookie"),
    ]
    if "RABBITADMIN_CTL_PREFIX" in ctl:
        global_options += ["--ctl-prefix", ctl["RABBITADMIN_CTL_PREFIX"]]
    runner = CliRunner({"APP_PASSWORD": "cli secret"}, clean_prefixes=("RABBITADMIN_", "RABBITMQ_"))
    return runner(*global_options, *args, env=extra_env)


def test_plan_apply_and_admin_commands_with_ctl_backend(bare_node: SandboxInfo, tmp_path: Path) -> None:
    vhost = f"cli {secrets.token_hex(3)}"
    user = f"cli-{secrets.token_hex(3)}"
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        f"""vhosts:
  - name: "{vhost}"
    exchanges: [{{name: logs, type: fanout}}]
    queues: [{{name: jobs}}]
    bindings: [{{source: logs, destination: jobs}}]
users:
  - {{name: "{user}", tags: [monitoring], password: {{env: APP_PASSWORD}}}}
permissions:
  - {{user: "{user}", vhost: "{vhost}", configure: ".*", write: ".*", read: ".*"}}
"""
    )
    pending = run(bare_node, "plan", str(topology), "--detailed-exitcode")
    assert pending.returncode == 6, pending.stderr
    applied = run(bare_node, "apply", str(topology), "--yes")
    assert applied.returncode == 0, applied.stderr
    assert run(bare_node, "plan", str(topology), "--detailed-exitcode").returncode == 0

    def listing() -> list[dict[str, Any]]:
        return list(json.loads(run(bare_node, "queues", "list", "--vhost", vhost, "-o", "json").stdout))

    without_released_lock(lambda: [q["name"] for q in listing()])
    assert [(q["name"], q["messages"]) for q in listing()] == [("jobs", 0)]
    ok = run(bare_node, "users", "authenticate", user, "--password-env", "APP_PASSWORD")
    assert ok.returncode == 0 and "cli secret" not in ok.stdout + ok.stderr + applied.stdout + applied.stderr

    exported = tmp_path / "exported.yaml"
    export = run(bare_node, "export", "--vhost", vhost, "--include-password-hashes", "--output-file", str(exported))
    assert export.returncode == 0, export.stderr
    assert "jobs" in exported.read_text() and "logs" in exported.read_text()
    assert run(bare_node, "plan", str(exported), "--detailed-exitcode").returncode == 0

    topology.write_text(
        f'vhosts:\n  - {{name: "{vhost}", state: absent}}\nusers:\n  - {{name: "{user}", state: absent}}\n'
    )
    assert run(bare_node, "apply", str(topology), "--yes").returncode == 0
    assert vhost not in run(bare_node, "vhosts", "list").stdout


def test_ctl_transport_opens_no_http_connection(bare_node: SandboxInfo) -> None:
    """`--backend ctl` builds the ctl transport only: with the HTTP URL pointing at a port nothing listens on
    (and no password), `tutorial provision` and the admin commands still work (issue 13.1)."""
    vhost = f"no-http {secrets.token_hex(3)}"
    nowhere = {"RABBITADMIN_URL": "http://127.0.0.1:9", "MYUSER_PASSWORD": "tutorial secret"}
    provisioned = run(bare_node, "tutorial", "provision", "hello-world", "--vhost", vhost, "--yes", extra_env=nowhere)
    assert provisioned.returncode == 0, provisioned.stderr
    listed = run(bare_node, "queues", "list", "--vhost", vhost, "-o", "json", extra_env=nowhere)
    assert listed.returncode == 0, listed.stderr
    assert "hello" in [q["name"] for q in json.loads(listed.stdout)]
    assert run(bare_node, "vhosts", "delete", vhost, "--yes", extra_env=nowhere).returncode == 0


def test_the_ctl_lock_at_a_vhost_queue_limit(bare_node: SandboxInfo, rabbitmq_version: str, tmp_path: Path) -> None:
    """The ctl lock declares its queue on the node with ``rabbit_amqqueue:declare``: 4.0 refuses it at the vhost's
    max-queues, and the refusal reads as over AMQP (the server's words and the way out, not an Erlang term cut
    at its first line); 3.10 checks that limit in ``rabbit_channel`` only, so its lock queue is declared past it,
    and the plan (which counts the lock queue, whatever the backend) then refuses the apply before any write, as
    it does over HTTP. --no-lock applies either way."""
    vhost = f"full-{secrets.token_hex(3)}"
    topology = tmp_path / "full.yaml"
    topology.write_text(f"vhosts:\n  - name: {vhost}\n    limits: {{max-queues: 0}}\n")
    try:
        assert run(bare_node, "apply", str(topology), "--yes", "--no-lock").returncode == 0
        locked = run(bare_node, "apply", str(topology), "--yes")
        if rabbitmq_version == "3.10":
            assert locked.returncode == 4, locked.stderr
            assert "leaves no room for the apply lock's queue" in locked.stderr and "--no-lock" in locked.stderr
        else:
            assert locked.returncode == 3, locked.stderr
            assert f"cannot take the apply lock of vhost '{vhost}': cannot declare queue" in locked.stderr
            assert f"queue limit in vhost '{vhost}' (0) is reached" in locked.stderr
            assert "allow one more queue, or pass --no-lock" in locked.stderr and "{error" not in locked.stderr
        assert run(bare_node, "apply", str(topology), "--yes", "--no-lock").returncode == 0
    finally:
        topology.write_text(f"vhosts:\n  - {{name: {vhost}, state: absent}}\n")
        run(bare_node, "apply", str(topology), "--yes", "--no-lock")
