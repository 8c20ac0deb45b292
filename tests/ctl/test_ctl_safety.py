"""The ctl backend keeps the same promises: conditional queue deletes and the apply lock (issue 10)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.apply_lock import LOCK_QUEUE, ApplyLock
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology_text
from rabbitadmin.sandbox import SandboxInfo, server_scripts_dir

from ..integration.test_apply_lock import AtPrompt


def publish(node: SandboxInfo, vhost: str, queue: str, count: int) -> int:
    """Publish with confirms; return the queue's depth afterwards."""
    credentials = pika.PlainCredentials(node.user, node.password())
    with pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials)) as c:
        channel = c.channel()
        channel.confirm_delivery()
        for i in range(count):
            channel.basic_publish("", queue, f"m{i}".encode(), mandatory=True)
        return int(channel.queue_declare(queue, passive=True).method.message_count)


def queues(vhost: str, *names: str) -> str:
    listed = ", ".join(f"{{name: {name}}}" for name in names)
    return f'vhosts:\n  - name: "{vhost}"\n    queues: [{listed}]\n'


def test_ctl_deletes_and_replaces_keep_queues_that_received_messages_after_the_plan(
    session_ctl_backend: CtlBackend, node: SandboxInfo, admin_client: HttpClient, vhost: str
) -> None:
    backend = session_ctl_backend
    admin_client.put(api_path("vhosts", vhost), {})  # over HTTP: the test's user may publish there
    start = load_topology_text(queues(vhost, "late", "idle", "jobs"))
    execute_plan(make_plan(start, backend), backend)
    # state: absent rather than --prune, which would also prune the test user's permission (ctl protects none)
    target = load_topology_text(
        f'vhosts:\n  - name: "{vhost}"\n    queues: [{{name: jobs, arguments: {{x-max-length: 10}}}}, '
        "{name: late, state: absent}, {name: idle, state: absent}]\n"
    )
    plan = make_plan(target, backend)
    assert sorted((str(c.action), c.key[1]) for c in plan.changes) == [
        ("delete", "idle"),
        ("delete", "late"),
        ("replace", "jobs"),
    ]
    assert publish(node, vhost, "late", 3) == 3 and publish(node, vhost, "jobs", 2) == 2

    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert sorted(c.key[1] for c, _ in caught.value.result.kept) == ["jobs", "late"]
    assert [(c.action, c.key[1]) for c in caught.value.result.done] == [(Action.DELETE, "idle")]
    assert publish(node, vhost, "late", 0) == 3 and publish(node, vhost, "jobs", 0) == 2
    state = backend.read_state({vhost})
    assert state.queues[(vhost, "jobs")].arguments == {}, "the create half of the replace did not run"


def ctl_cli(node: SandboxInfo, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *ctl_options(node), *args],
        env=ctl_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ctl_options(node: SandboxInfo) -> list[str]:
    return [
        "--backend",
        "ctl",
        "--node",
        node.nodename,
        "--rabbitmqctl",
        str(server_scripts_dir() / "rabbitmqctl"),
        "--erlang-cookie-file",
        str(Path(node.directory) / ".erlang.cookie"),
    ]


def ctl_env() -> dict[str, str]:
    """No RABBITADMIN_* connection settings: the ctl backend's lock needs no AMQP credentials."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("RABBITADMIN_", "RABBITMQ_"))}


def test_ctl_applies_exclude_each_other_and_kill_9_frees_the_lock(bare_node: SandboxInfo, tmp_path: Path) -> None:
    vhost = f"lock {secrets.token_hex(3)}"
    first_file, second_file = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first_file.write_text(queues(vhost, "a1", "a2"))
    second_file.write_text(queues(vhost, "b1"))
    assert ctl_cli(bare_node, "apply", str(first_file), "--yes").returncode == 0
    try:
        first = AtPrompt([*ctl_options(bare_node), "apply", str(second_file), "--prune"], ctl_env())
        second = ctl_cli(bare_node, "apply", str(first_file), "--prune", "--yes", "--lock-timeout", "0")
        assert second.returncode == ExitCode.LOCKED, second.stderr
        assert f"pid {first.process.pid} on host" in second.stderr
        first.kill()  # kill -9: its rabbitmqctl child dies with it, and the lock queue with that
        third = ctl_cli(bare_node, "apply", str(second_file), "--prune", "--yes", "--lock-timeout", "120")
        assert third.returncode == 0, third.stderr
        listed = ctl_cli(bare_node, "queues", "list", "--vhost", vhost, "-o", "json")
        assert '"b1"' in listed.stdout and '"a1"' not in listed.stdout and LOCK_QUEUE not in listed.stdout
    finally:
        ctl_cli(bare_node, "vhosts", "delete", vhost, "--yes")


def test_http_and_ctl_applies_share_the_same_lock(
    session_ctl_backend: CtlBackend, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    backend = session_ctl_backend
    admin_client.put(api_path("vhosts", vhost), {})  # over HTTP: the test's user may connect there
    execute_plan(make_plan(load_topology_text(queues(vhost, "q")), backend), backend)
    with ApplyLock(settings, timeout=0) as over_amqp:
        over_amqp.acquire([vhost])
        on_node = ApplyLock(backend, timeout=0, read_holder=backend.lock_holder)
        with pytest.raises(Exception, match="another apply holds the apply lock") as caught:
            on_node.acquire([vhost])
        assert f"pid {os.getpid()}" in str(caught.value)
    with ApplyLock(backend, timeout=30) as on_node:
        on_node.acquire([vhost])
        assert on_node.held == {vhost}


def test_ctl_vhost_delete_keeps_the_vhost_when_a_queue_received_messages(
    session_ctl_backend: CtlBackend, node: SandboxInfo, admin_client: HttpClient, vhost: str
) -> None:
    backend = session_ctl_backend
    admin_client.put(api_path("vhosts", vhost), {})
    execute_plan(make_plan(load_topology_text(queues(vhost, "a", "b")), backend), backend)
    plan = make_plan(load_topology_text(f'vhosts:\n  - {{name: "{vhost}", state: absent}}\n'), backend)
    assert [(c.kind, c.messages_at_risk) for c in plan.changes] == [("vhost", 0)]
    assert publish(node, vhost, "b", 2) == 2
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is not None
    assert publish(node, vhost, "b", 0) == 2
