"""The HTTP backend's lean read path against a real node.

The listings a plan reads leave out message counts and bindings' server handles (``properties_key``);
they are fetched in bulk only when a plan destroys a queue or deletes a binding. These tests prove that
what is left out is still right when it matters: bindings with arguments and awkward routing keys are
deleted by their real handle, and messages a consumer holds unacknowledged count as messages at risk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pika

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.model import Topology, canonical_json
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner, delete_vhost
from .test_apply import plan_json, publish, write

AWKWARD_KEYS = ["", "a~b", "100%", "with space/and#hash", "ünï"]


def test_bindings_with_arguments_and_awkward_keys_are_deleted_by_their_handle(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    queue = {"name": "q"}
    bindings = [{"source": "direct", "destination": "q", "routing_key": key} for key in AWKWARD_KEYS]
    bindings += [
        {"source": "headers", "destination": "q", "arguments": {"x-match": "any", "k": "v"}},
        {"source": "headers", "destination": "q", "arguments": {"x-match": "all", "k": "v"}},
        {"source": "direct", "destination": "q", "routing_key": "a b", "arguments": {"extra": 1}},
    ]
    exchanges = [{"name": "direct"}, {"name": "headers", "type": "headers"}]
    full = {"vhosts": [{"name": vhost, "exchanges": exchanges, "queues": [queue], "bindings": bindings}]}
    rabbitadmin("apply", str(write(tmp_path, full)), "--yes", check=True)
    assert len(admin_client.get(api_path("bindings", vhost, "e", "direct", "q", "q"))) == len(AWKWARD_KEYS) + 1

    # Keep one binding of each kind; prune the rest.
    kept = [bindings[1], bindings[len(AWKWARD_KEYS)]]
    trimmed = {"vhosts": [{"name": vhost, "exchanges": exchanges, "queues": [queue], "bindings": kept}]}
    path = write(tmp_path, trimmed)
    plan = plan_json(rabbitadmin, path, "--prune")
    assert sum(1 for c in plan["changes"] if c["action"] == "delete" and c["kind"] == "binding") == len(bindings) - 2
    rabbitadmin("apply", str(path), "--yes", "--prune", check=True)

    direct = admin_client.get(api_path("bindings", vhost, "e", "direct", "q", "q"))
    assert [(b["routing_key"], b["arguments"]) for b in direct] == [("a~b", {})]
    headers = admin_client.get(api_path("bindings", vhost, "e", "headers", "q", "q"))
    assert [b["arguments"] for b in headers] == [{"x-match": "any", "k": "v"}]
    assert rabbitadmin("plan", str(path), "--prune", "--detailed-exitcode").returncode == 0


def test_unacknowledged_messages_count_as_messages_at_risk(
    rabbitadmin: CliRunner, node: SandboxInfo, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    document = {"vhosts": [{"name": vhost, "queues": [{"name": "held"}]}]}
    rabbitadmin("apply", str(write(tmp_path, document)), "--yes", check=True)
    publish(node, vhost, "held", 4)
    params = pika.ConnectionParameters(
        host="127.0.0.1",
        port=node.amqp_port,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(node.user, node.password()),
    )
    consumer = pika.BlockingConnection(params)
    try:
        channel = consumer.channel()
        channel.basic_qos(prefetch_count=10)
        received = []
        for method, _props, _body in channel.consume("held", auto_ack=False, inactivity_timeout=5):
            if method is None:
                break
            received.append(method.delivery_tag)
            if len(received) == 4:
                break
        assert len(received) == 4, "the consumer holds every message, none is ready"

        gone = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "held", "state": "absent"}]}]})
        result = rabbitadmin("plan", str(gone), "-o", "json")
        change = json.loads(result.stdout)["changes"][0]
        assert (change["action"], change["kind"]) == ("delete", "queue")
        assert change["messages_at_risk"] == 4, "held (unacknowledged) messages are at risk too"
        refused = rabbitadmin("apply", str(gone), "--yes")
        assert refused.returncode == 4 and "4 message(s) would be lost" in refused.stderr
        assert admin_client.get_or_none(api_path("queues", vhost, "held")) is not None
    finally:
        consumer.close()


def test_an_invalid_file_reports_its_problems_even_when_the_server_is_unreachable(
    rabbitadmin: CliRunner, cli_env: dict[str, str], vhost: str, tmp_path: Path
) -> None:
    # plan and apply start reading the server while the file is validated; a read that fails must not
    # hide the file's own problems (exit 2, not 3), and a valid file must still report the connection.
    unreachable = {**cli_env, "RABBITADMIN_URL": "http://127.0.0.1:9"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"vhosts:\n  - name: {json.dumps(vhost)}\n    queues:\n      - {{name: q, durable: perhaps}}\n")
    for command in ("plan", "apply"):
        result = rabbitadmin(command, str(bad), "--yes" if command == "apply" else "--prune", env=unreachable)
        assert result.returncode == 2, result.stderr
        assert "bad.yaml:4" in result.stderr and "durable" in result.stderr
        assert "connect" not in result.stderr.lower()
    good = write(tmp_path, {"vhosts": [{"name": vhost}]})
    result = rabbitadmin("plan", str(good), env=unreachable)
    assert result.returncode == 3, result.stderr


def test_a_binding_that_would_break_the_management_api_is_refused(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    # RabbitMQ 3.10.8 creates such a binding but then fails (HTTP 500) on every bindings listing and the
    # definitions export of its vhost: the plan refuses it instead.
    binding = {"source": "direct", "destination": "q", "routing_key": "a~b", "arguments": {"x": 1}}
    document = {"vhosts": [{"name": vhost, "exchanges": [{"name": "direct"}], "queues": [{"name": "q"}]}]}
    document["vhosts"][0]["bindings"] = [binding]
    result = rabbitadmin("apply", str(write(tmp_path, document)), "--yes")
    assert result.returncode == 4 and "HTTP 500" in result.stderr, result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None, "a refused plan changes nothing"


def _vhost_objects(topology: Topology, vhost: str) -> dict[str, dict[object, object]]:
    """Each kind's objects of ``vhost`` (the vhost itself included) by key, compared whole."""
    return {
        kind: {key: obj for key, obj in objects.items() if getattr(obj, "vhost", getattr(obj, "name", None)) == vhost}
        for kind, objects in topology.objects.items()
    }


def test_a_read_told_its_vhosts_one_by_one_gives_the_state_of_the_scope_it_ends_with(
    rabbitadmin: CliRunner, admin_client: HttpClient, settings: ConnectionSettings, vhost: str, tmp_path: Path
) -> None:
    # plan starts reading each vhost as the parser reaches its name (engine.prefetch); the vhosts in the state
    # are the ones validation ends with: named ones outside it are dropped, unnamed ones in it read then.
    other = f"{vhost}-other"
    body = {
        "exchanges": [{"name": "x", "type": "topic"}],
        "queues": [{"name": "q", "arguments": {"x-max-length": 5}}],
        "bindings": [{"source": "x", "destination": "q", "routing_key": "a.#"}],
    }
    document = {"vhosts": [{"name": vhost, **body}, {"name": other, **body}]}
    rabbitadmin("apply", str(write(tmp_path, document)), "--yes", check=True)
    backend = HttpBackend(settings)
    try:
        whole = backend.read_state(None)
        read = backend.begin_read()
        for name in (other, "no such vhost", vhost):
            read.add_vhost(name)
        state = read.result({vhost, "no such vhost"})
        assert _vhost_objects(state, vhost) == _vhost_objects(whole, vhost)
        assert ("x" in {key[1] for key in state.exchanges if key[0] == vhost}) and len(state.bindings) >= 1
        assert not any(key[0] == other for kind in ("exchange", "queue", "binding") for key in state.objects[kind])
        late = backend.begin_read()  # nothing named: every vhost of the scope is read at the end
        assert _vhost_objects(late.result({other}), other) == _vhost_objects(whole, other)
        every = backend.begin_read()
        every.add_vhost(vhost)
        assert every.result(None).objects == whole.objects
    finally:
        backend.close()
        delete_vhost(admin_client, other)


def test_a_read_gives_a_vhost_s_objects_in_one_order_whatever_order_the_server_lists_them_in(
    rabbitadmin: CliRunner, admin_client: HttpClient, settings: ConnectionSettings, vhost: str, tmp_path: Path
) -> None:
    # The read asks for unsorted listings (state_read.UNSORTED: up to 3.12 the server skips its sort, 4.0 sorts
    # anyway) and orders the rows itself: by name, as the server's own default sort, and bindings by source,
    # destination, routing key. Names are created out of order so that an unsorted listing is not already sorted.
    names = [f"n{(i * 37) % 101:03d}" for i in range(60)]
    exchanges = [{"name": f"x-{name}", "type": "topic"} for name in names[:20]]
    queues = [{"name": f"q-{name}"} for name in names]
    bindings: list[dict[str, Any]] = [
        {"source": exchanges[i % 20]["name"], "destination": queues[i]["name"], "routing_key": f"k.{names[-1 - i]}"}
        for i in range(60)
    ]
    bindings.append({"source": exchanges[0]["name"], "destination": queues[0]["name"], "arguments": {"b": 2}})
    bindings.append({"source": exchanges[0]["name"], "destination": queues[0]["name"], "arguments": {"a": 1}})
    # Ties on source, destination and routing key: a queue and an exchange of the same name.
    exchanges.append({"name": "same", "type": "topic"})
    queues.append({"name": "same"})
    for destination_type in ("queue", "exchange"):
        bindings.append({"source": "x-n000", "destination": "same", "destination_type": destination_type})
    document = {"vhosts": [{"name": vhost, "exchanges": exchanges, "queues": queues, "bindings": bindings}]}
    rabbitadmin("apply", str(write(tmp_path, document)), "--yes", check=True)

    backend = HttpBackend(settings)
    try:
        state = backend.read_state({vhost})
    finally:
        backend.close()
    read_queues = [key[1] for key in state.queues if key[0] == vhost]
    read_exchanges = [key[1] for key in state.exchanges if key[0] == vhost]
    assert read_queues == sorted(q["name"] for q in queues)
    # The server's own sorted listing (no sort parameter) gives the same order.
    assert read_queues == [q["name"] for q in admin_client.get(api_path("queues", vhost), {"columns": "name"})]
    server_exchanges = [e["name"] for e in admin_client.get(api_path("exchanges", vhost), {"columns": "name"})]
    assert read_exchanges == [name for name in server_exchanges if name in read_exchanges]
    assert read_exchanges == sorted(read_exchanges) and {e["name"] for e in exchanges} <= set(read_exchanges)
    read_bindings = [
        (b.source, b.destination, b.routing_key, b.destination_type, b.arguments) for b in state.bindings.values()
    ]

    def written(b: dict[str, Any]) -> tuple[str, str, str, str, dict[str, Any]]:
        return (
            b["source"],
            b["destination"],
            b.get("routing_key", ""),
            b.get("destination_type", "queue"),
            b.get("arguments", {}),
        )

    expected = sorted(map(written, bindings), key=lambda b: (*b[:4], canonical_json(b[4]) if b[4] else ""))
    assert read_bindings == expected
