"""Messages and routing survive an apply on a real node: conditional deletes, replaces that keep the
server's bindings, and plans that say which unlisted bindings stay (issue 10, points 1 to 3)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner


def write(tmp_path: Path, document: dict[str, Any], name: str = "topology.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return path


def amqp(node: SandboxInfo, vhost: str) -> pika.BlockingConnection:
    credentials = pika.PlainCredentials(node.user, node.password())
    return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials))


def publish(node: SandboxInfo, vhost: str, queue: str, count: int) -> None:
    """Publish ``count`` persistent messages to ``queue`` and wait for the broker's confirms."""
    with amqp(node, vhost) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for i in range(count):
            channel.basic_publish("", queue, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2), mandatory=True)


def depth(node: SandboxInfo, vhost: str, queue: str) -> int:
    with amqp(node, vhost) as connection:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)


@pytest.fixture
def backend(settings: ConnectionSettings) -> Iterator[HttpBackend]:
    http = HttpBackend(settings, parallelism=4)
    yield http
    http.close()


def queues_doc(vhost: str, queues: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"vhosts": [{"name": vhost, "queues": queues, **extra}]}


# -- 1. time-of-check gap -------------------------------------------------------------------------------
def test_a_prune_delete_keeps_a_queue_that_received_messages_after_the_plan(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    backend: HttpBackend,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
) -> None:
    start = queues_doc(vhost, [{"name": "late"}, {"name": "idle"}, {"name": "stays"}])
    rabbitadmin("apply", str(write(tmp_path, start)), "--yes", check=True)
    target = write(tmp_path, queues_doc(vhost, [{"name": "stays"}], exchanges=[{"name": "new-ex"}]), "target.yaml")

    plan = make_plan(load_topology(target), backend, prune=True)
    deletes = {c.key[1]: c for c in plan.changes if c.action is Action.DELETE}
    assert set(deletes) == {"late", "idle"} and deletes["late"].messages_at_risk == 0
    publish(node, vhost, "late", 5)  # confirmed and routed after the count, before the delete

    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    result = caught.value.result
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert [c.key[1] for c, _ in result.kept] == ["late"]
    assert "messages arrived after the plan" in result.kept[0][1]
    assert sorted(c.key[1] for c in result.done) == ["idle", "new-ex"]  # the rest went on
    assert not result.failed and not result.not_attempted
    assert depth(node, vhost, "late") == 5
    assert admin_client.get_or_none(api_path("queues", vhost, "idle")) is None
    assert "kept: queue 'late'" in str(caught.value) and "drain them" in str(caught.value)
    assert result.to_dict()["kept"][0]["subject"] == f"queue 'late' in vhost {vhost!r}"


def test_a_replace_keeps_a_queue_that_received_messages_and_does_not_create_it_again(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    backend: HttpBackend,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
) -> None:
    start = queues_doc(vhost, [{"name": "jobs", "arguments": {"x-max-length": 1000}}])
    rabbitadmin("apply", str(write(tmp_path, start)), "--yes", check=True)
    changed = write(tmp_path, queues_doc(vhost, [{"name": "jobs"}, {"name": "other"}]), "changed.yaml")

    plan = make_plan(load_topology(changed), backend)
    assert [(c.action, c.key[1]) for c in plan.changes] == [(Action.REPLACE, "jobs"), (Action.CREATE, "other")]
    publish(node, vhost, "jobs", 3)

    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert [c.key[1] for c, _ in caught.value.result.kept] == ["jobs"]
    assert [c.key[1] for c in caught.value.result.done] == ["other"]
    queue = admin_client.get(api_path("queues", vhost, "jobs"))
    assert queue["arguments"].get("x-max-length") == 1000, "the create half of the replace must not run"
    assert depth(node, vhost, "jobs") == 3


def test_a_vhost_delete_keeps_the_vhost_when_one_of_its_queues_received_messages(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    backend: HttpBackend,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
) -> None:
    rabbitadmin("apply", str(write(tmp_path, queues_doc(vhost, [{"name": "a"}, {"name": "b"}]))), "--yes", check=True)
    plan = make_plan(
        load_topology(write(tmp_path, {"vhosts": [{"name": vhost, "state": "absent"}]}, "gone.yaml")), backend
    )
    assert [(c.action, c.kind, c.messages_at_risk) for c in plan.changes] == [(Action.DELETE, "vhost", 0)]
    publish(node, vhost, "b", 2)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is not None
    assert depth(node, vhost, "b") == 2


def test_with_allow_data_loss_the_delete_is_unconditional(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    backend: HttpBackend,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
) -> None:
    rabbitadmin("apply", str(write(tmp_path, queues_doc(vhost, [{"name": "q"}]))), "--yes", check=True)
    plan = make_plan(load_topology(write(tmp_path, queues_doc(vhost, []), "empty.yaml")), backend, prune=True)
    publish(node, vhost, "q", 2)
    result = execute_plan(plan, backend, allow_data_loss=True)
    assert result.ok and admin_client.get_or_none(api_path("queues", vhost, "q")) is None


def test_quorum_queues_cannot_be_deleted_if_empty_so_the_plan_needs_the_flag(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    rabbitadmin(
        "apply", str(write(tmp_path, queues_doc(vhost, [{"name": "qq", "type": "quorum"}]))), "--yes", check=True
    )
    empty = write(tmp_path, queues_doc(vhost, []), "empty.yaml")
    plan = json.loads(rabbitadmin("plan", str(empty), "--prune", "-o", "json").stdout)
    [change] = plan["changes"]
    assert change["messages_at_risk"] == 0 and change["conditional"] is False
    refused = rabbitadmin("apply", str(empty), "--prune", "--yes")
    assert refused.returncode == ExitCode.REFUSED and "quorum queue" in refused.stderr
    assert admin_client.get_or_none(api_path("queues", vhost, "qq")) is not None
    assert rabbitadmin("apply", str(empty), "--prune", "--yes", "--allow-data-loss").returncode == 0


def test_the_plan_shows_the_consumers_a_delete_would_cut_off(
    rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path
) -> None:
    rabbitadmin(
        "apply", str(write(tmp_path, queues_doc(vhost, [{"name": "busy"}, {"name": "quiet"}]))), "--yes", check=True
    )
    empty = write(tmp_path, queues_doc(vhost, []), "empty.yaml")
    with amqp(node, vhost) as connection:
        channel = connection.channel()
        channel.basic_consume("busy", lambda *_: None)
        channel.basic_consume("busy", lambda *_: None)
        plan = json.loads(rabbitadmin("plan", str(empty), "--prune", "-o", "json").stdout)
        text = rabbitadmin("plan", str(empty), "--prune").stdout
    consumers = {c["key"][1]: c["consumers"] for c in plan["changes"]}
    assert consumers == {"busy": 2, "quiet": 0}
    assert "2 consumer(s) would be cut off" in text


def test_the_command_exits_9_with_the_report_when_messages_arrive_at_the_prompt(
    cli_env: dict[str, str], node: SandboxInfo, rabbitadmin: CliRunner, vhost: str, tmp_path: Path
) -> None:
    """At the confirmation prompt the plan is made and shown: messages published then arrive 'after the plan'."""
    rabbitadmin("apply", str(write(tmp_path, queues_doc(vhost, [{"name": "a"}, {"name": "b"}]))), "--yes", check=True)
    target = write(tmp_path, queues_doc(vhost, [{"name": "b"}]), "target.yaml")
    for output in ("text", "json"):
        rabbitadmin(
            "apply", str(write(tmp_path, queues_doc(vhost, [{"name": "a"}, {"name": "b"}]))), "--yes", check=True
        )
        code, stdout, shown = apply_at_prompt(
            ["apply", str(target), "--prune", "-o", output], cli_env, lambda: publish(node, vhost, "a", 4)
        )
        assert "delete queue 'a'" in shown if output == "text" else True
        assert code == ExitCode.MESSAGES_ARRIVED, stdout
        assert depth(node, vhost, "a") == 4
        if output == "json":
            document, _ = json.JSONDecoder().raw_decode(stdout[stdout.index("{") :])  # stderr follows it
            assert document["error"]["exit_code"] == 9
            assert [c["subject"] for c in document["error"]["result"]["kept"]] == [f"queue 'a' in vhost {vhost!r}"]
        else:
            assert "messages arrived after the plan" in stdout and "kept: queue 'a'" in stdout
        with amqp(node, vhost) as connection:
            connection.channel().queue_purge("a")


def apply_at_prompt(args: list[str], env: dict[str, str], at_prompt: Any) -> tuple[int, str, str]:
    """Run the command on a pseudo-terminal, call ``at_prompt`` when it asks, answer yes.

    Returns (exit code, everything it wrote, what it wrote before the prompt).
    """
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"},
        close_fds=True,
    )
    os.close(child)
    seen = b""
    before = ""
    deadline = time.monotonic() + 120
    answered = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break  # the child closed the terminal
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N]" in seen:
                before = seen.decode(errors="replace")
                at_prompt()
                os.write(main, b"y\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    assert answered, seen.decode(errors="replace")
    return code, seen.decode(errors="replace").replace("\r\n", "\n"), before


# -- 2. replaces keep the server's bindings -------------------------------------------------------------
def routes(admin_client: HttpClient, vhost: str) -> set[tuple[str, str, str, str]]:
    return {
        (b["source"], b["destination_type"], b["destination"], b["routing_key"])
        for b in admin_client.get(api_path("bindings", vhost))
        if b["source"]
    }


def case03(vhost: str, *, changed: bool) -> dict[str, Any]:
    """Case 03 with an exchange-to-exchange binding into and out of the replaced exchange."""
    main: dict[str, Any] = {"name": "main", "type": "topic"}
    orders: dict[str, Any] = {"name": "orders"}
    if not changed:
        main["arguments"] = {"alternate-exchange": "unrouted"}
        orders["arguments"] = {"x-max-length": 1000}
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [main, {"name": "unrouted", "type": "fanout"}],
                "queues": [orders],
                "bindings": [{"source": "main", "destination": "orders", "routing_key": "order.created"}],
            }
        ]
    }


APP_BINDINGS = {
    ("main", "queue", "app-q", "app.#"),
    ("amq.direct", "queue", "orders", "app.orders"),
    ("main", "exchange", "audit", "#"),  # the replaced exchange as the source of an e2e binding
    ("upstream", "exchange", "main", "up"),  # ... and as its destination
}


def add_application_bindings(admin_client: HttpClient, vhost: str) -> None:
    admin_client.put(api_path("queues", vhost, "app-q"), {"durable": True})
    admin_client.put(api_path("exchanges", vhost, "audit"), {"type": "fanout", "durable": True})
    admin_client.put(api_path("exchanges", vhost, "upstream"), {"type": "direct", "durable": True})
    for source, kind, destination, key in APP_BINDINGS:
        letter = "q" if kind == "queue" else "e"
        admin_client.post(api_path("bindings", vhost, "e", source, letter, destination), {"routing_key": key})


def test_case03_a_replace_recreates_the_bindings_applications_made(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    rabbitadmin("apply", str(write(tmp_path, case03(vhost, changed=False))), "--yes", check=True)
    add_application_bindings(admin_client, vhost)
    before = routes(admin_client, vhost)
    assert before == APP_BINDINGS | {("main", "queue", "orders", "order.created")}

    changed = write(tmp_path, case03(vhost, changed=True), "changed.yaml")
    plan = json.loads(rabbitadmin("plan", str(changed), "-o", "json").stdout)
    recreated = [c for c in plan["changes"] if c["kind"] == "binding"]
    assert len(recreated) == 5 and all("re-created after its replace" in c["reason"] for c in recreated)
    text = rabbitadmin("plan", str(changed)).stdout
    assert "'amq.direct' -> queue 'orders' key 'app.orders'" in text and "not in the file" in text

    applied = rabbitadmin("apply", str(changed), "--yes")
    assert applied.returncode == 0, applied.stderr
    assert routes(admin_client, vhost) == before
    assert admin_client.get(api_path("exchanges", vhost, "main"))["arguments"] == {}
    assert rabbitadmin("plan", str(changed), "--detailed-exitcode").returncode == 0


def test_case03_with_prune_the_replace_keeps_only_the_listed_bindings(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    rabbitadmin("apply", str(write(tmp_path, case03(vhost, changed=False))), "--yes", check=True)
    add_application_bindings(admin_client, vhost)
    changed = write(tmp_path, case03(vhost, changed=True), "changed.yaml")
    applied = rabbitadmin("apply", str(changed), "--yes", "--prune")
    assert applied.returncode == 0, applied.stderr
    assert routes(admin_client, vhost) == {("main", "queue", "orders", "order.created")}


# -- 3. an edited binding leaves the old one: the plan says so ------------------------------------------
def case05(vhost: str, arguments: dict[str, str]) -> dict[str, Any]:
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": "log_messages", "type": "headers"}],
                "queues": [{"name": "alerter_service"}],
                "bindings": [
                    {
                        "source": "log_messages",
                        "destination": "alerter_service",
                        "arguments": {"x-match": "all", **arguments},
                    }
                ],
            }
        ]
    }


def test_case05_the_plan_says_the_old_binding_stays_until_prune(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    rabbitadmin("apply", str(write(tmp_path, case05(vhost, {"log_level": "error"}))), "--yes", check=True)
    changed = write(tmp_path, case05(vhost, {"loglevel": "warn"}), "changed.yaml")

    plan = json.loads(rabbitadmin("plan", str(changed), "-o", "json").stdout)
    assert [c["action"] for c in plan["changes"]] == ["create"]
    assert plan["unlisted_bindings"] == 1
    assert any(note.startswith("1 binding(s)") and "--prune" in note for note in plan["notes"])
    text = rabbitadmin("plan", str(changed)).stdout
    assert "note: 1 binding(s) on exchanges and queues the file declares are not in the file" in text

    rabbitadmin("apply", str(changed), "--yes", check=True)
    listed = admin_client.get(api_path("bindings", vhost, "e", "log_messages", "q", "alerter_service"))
    assert len(listed) == 2, "without --prune the old binding stays, as the plan said"
    pruned = json.loads(rabbitadmin("plan", str(changed), "--prune", "-o", "json").stdout)
    assert pruned["unlisted_bindings"] == 0 and [c["action"] for c in pruned["changes"]] == ["delete"]
    rabbitadmin("apply", str(changed), "--yes", "--prune", check=True)
    listed = admin_client.get(api_path("bindings", vhost, "e", "log_messages", "q", "alerter_service"))
    assert [b["arguments"] for b in listed] == [{"x-match": "all", "loglevel": "warn"}]
