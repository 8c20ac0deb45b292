"""Parity: the same topology applied through the HTTP and the rabbitmqctl backends leaves the server in
the same state (the exported definitions, password salts aside), from empty and after an update of each
kind. Both run against the session node, each in its own vhost and with its own user."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import check_password
from rabbitadmin.sandbox import SandboxInfo


def topology(vhost: str, user: str, *, version: int) -> str:
    """Version 2 changes one thing of each kind, adds some objects and drops others (applied with prune)."""
    v1 = version == 1
    return f"""
vhosts:
  - name: "{vhost}"
    description: {"one" if v1 else "two"}
    tags: {"[a]" if v1 else "[a, b]"}
    exchanges:
      - {{name: "ex/1", type: {"direct" if v1 else "topic"}}}
      - {{name: alt, type: fanout, durable: false}}
      - {{name: {"old-x" if v1 else "new-x"}, type: headers, internal: true}}
    queues:
      - {{name: "q 1", durable: {"true" if v1 else "false"}}}
      - {{name: "q#2", arguments: {{x-message-ttl: {60000 if v1 else 30000}}}}}
      - {{name: quorum, type: quorum}}
      - {{name: {"old-q" if v1 else "new-q"}}}
    bindings:
      - {{source: "ex/1", destination: "q 1", routing_key: "{"k1" if v1 else "k2"}"}}
      - {{source: "ex/1", destination: quorum, routing_key: same}}
      - {{source: alt, destination: "ex/1", destination_type: exchange, arguments: {{n: {1 if v1 else 2}}}}}
users:
  - name: "{user}"
    tags: {"[management]" if v1 else "[monitoring, management]"}
    password: {{env: {"PARITY_ONE" if v1 else "PARITY_TWO"}}}
permissions:
  - {{user: "{user}", vhost: "{vhost}", configure: ".*", write: "{".*" if v1 else "^q"}", read: ".*"}}
topic_permissions:
  - {{user: "{user}", vhost: "{vhost}", exchange: amq.topic, write: "{".*" if v1 else "^a"}", read: ".*"}}
"""


def snapshot(definitions: dict[str, Any], vhost: str, user: str, password: str, admin: str) -> dict[str, list[str]]:
    """The definitions of one vhost and one user, names replaced by placeholders, password hashes checked
    and then dropped (their salts differ), each section sorted. The permissions of ``admin`` are left out:
    the server grants them to whoever creates a vhost over HTTP, and rabbitmqctl acts as no user."""

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        return {vhost: "<vhost>", user: "<user>"}.get(value, value) if isinstance(value, str) else value

    result: dict[str, list[str]] = {}
    for section in ("vhosts", "users", "permissions", "topic_permissions", "exchanges", "queues", "bindings"):
        entries = []
        for entry in definitions.get(section, []):
            if vhost not in (entry.get("vhost"), entry.get("name")) and entry.get("user", entry.get("name")) != user:
                continue
            if entry.get("user") == admin:
                continue
            kept = dict(entry)
            if section == "users":
                assert check_password(password, kept.pop("password_hash"), kept["hashing_algorithm"])
            entries.append(json.dumps(rename(kept), sort_keys=True))
        result[section] = sorted(entries)
    return result


@pytest.fixture
def parity_names(admin_client: HttpClient) -> Iterator[dict[str, tuple[str, str]]]:
    token = secrets.token_hex(3)
    names = {kind: (f"parity {kind} {token}/é#", f"parity-{kind}-{token}") for kind in ("http", "ctl")}
    yield names
    for vhost, user in names.values():
        admin_client.delete(api_path("vhosts", vhost))
        admin_client.delete(api_path("users", user))


def test_same_state_through_both_backends(
    settings: ConnectionSettings,
    session_ctl_backend: CtlBackend,
    node: SandboxInfo,
    parity_names: dict[str, tuple[str, str]],
    admin_client: HttpClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passwords = {1: "parity one", 2: "parity two"}
    monkeypatch.setenv("PARITY_ONE", passwords[1])
    monkeypatch.setenv("PARITY_TWO", passwords[2])
    http_backend = HttpBackend(settings)
    backends: dict[str, Backend] = {"http": http_backend, "ctl": session_ctl_backend}
    snapshots: dict[tuple[str, int], dict[str, list[str]]] = {}
    try:
        for kind, backend in backends.items():
            vhost, user = parity_names[kind]
            for version in (1, 2):
                text = topology(vhost, user, version=version)
                plan = make_plan(load_topology_text(text), backend, prune=True)
                if version == 2:
                    actions = {change.action.value for change in plan.changes}
                    assert actions == {"create", "update", "replace", "delete"}, actions
                execute_plan(plan, backend, allow_data_loss=True)
                assert make_plan(load_topology_text(text), backend, prune=True).is_empty
                exported = session_ctl_backend.export_definitions()
                # The export leaves internal exchanges out: take the exchanges from the HTTP listing.
                listed = admin_client.get(
                    api_path("exchanges", vhost), {"columns": "vhost,name,type,durable,auto_delete,internal,arguments"}
                )
                exported["exchanges"] = [x for x in listed if x["name"] and not x["name"].startswith("amq.")]
                snapshots[(kind, version)] = snapshot(exported, vhost, user, passwords[version], node.user)
                creator_grant = {"user": node.user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
                assert (creator_grant in exported["permissions"]) == (kind == "http")
    finally:
        http_backend.close()
    for version in (1, 2):
        http_state, ctl_state = snapshots[("http", version)], snapshots[("ctl", version)]
        assert len(http_state["queues"]) == 4 and len(http_state["bindings"]) == 3
        assert sum('"internal": true' in entry for entry in http_state["exchanges"]) == 1
        assert http_state == ctl_state, f"version {version}"
    assert snapshots[("ctl", 1)] != snapshots[("ctl", 2)]


# -- listings: every listing command gives the same JSON through both backends ------------------------------
LISTINGS: list[tuple[str, ...]] = [
    ("users", "list"),
    ("vhosts", "list"),
    ("permissions", "list"),
    ("permissions", "list", "--vhost", "{vhost}"),
    ("permissions", "list", "--user", "{user}"),
    ("queues", "list", "--vhost", "{vhost}"),
    ("exchanges", "list", "--vhost", "{vhost}"),
    ("bindings", "list", "--vhost", "{vhost}"),
    ("connections", "list", "--vhost", "{vhost}"),
    ("channels", "list", "--vhost", "{vhost}"),
    ("consumers", "list", "--vhost", "{vhost}"),
]


@pytest.fixture
def listed_state(admin_client: HttpClient, node: SandboxInfo) -> Iterator[dict[str, str]]:
    """One vhost holding a bit of everything a listing shows: classic, quorum, stream and exclusive queues,
    exchanges with arguments and an internal one, bindings with arguments, a user with tags and PCRE
    permissions, and a client connection with a prefetching channel, a consumer and an unacked message."""
    import pika

    token = secrets.token_hex(3)
    vhost, user = f"listing {token}/é", f"listing-{token}"
    admin_client.put(api_path("vhosts", vhost), {"description": "parity", "tags": "b,a"})
    for name, arguments in (("cq", {"x-message-ttl": 60000}), ("qq", {"x-queue-type": "quorum"})):
        admin_client.put(api_path("queues", vhost, name), {"durable": True, "arguments": arguments})
    admin_client.put(api_path("queues", vhost, "sq"), {"durable": True, "arguments": {"x-queue-type": "stream"}})
    admin_client.put(api_path("exchanges", vhost, "ex"), {"type": "topic", "arguments": {"alternate-exchange": "ix"}})
    admin_client.put(api_path("exchanges", vhost, "ix"), {"type": "fanout", "internal": True, "durable": False})
    admin_client.post(api_path("bindings", vhost, "e", "ex", "q", "cq"), {"routing_key": "k", "arguments": {"n": 1}})
    admin_client.post(api_path("bindings", vhost, "e", "ex", "e", "ix"), {"routing_key": "#", "arguments": {}})
    admin_client.put(api_path("users", user), {"password": secrets.token_urlsafe(12), "tags": "policymaker,management"})
    admin_client.put(api_path("permissions", vhost, user), {"configure": "\\p{L}+", "write": "^$", "read": ".*"})
    credentials = pika.PlainCredentials(node.user, node.password())
    # No heartbeats: the test does not pump this connection's I/O for minutes, and the broker would close it.
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials, heartbeat=0)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=7)
        channel.queue_declare("", exclusive=True)
        channel.basic_publish("", "cq", b"one")
        channel.basic_consume("cq", lambda *_: None, consumer_tag="parity-consumer")
        connection.process_data_events(time_limit=1)
        yield {"vhost": vhost, "user": user}
    finally:
        connection.close()
        admin_client.delete(api_path("vhosts", vhost))
        admin_client.delete(api_path("users", user))


def _comparable(rows: list[dict[str, Any]], args: tuple[str, ...], state: dict[str, str], admin: str) -> list[str]:
    """The rows that belong to the test (global listings are shared with the rest of the session), as
    sorted canonical JSON strings: equal strings mean equal values and equal JSON types."""
    if args[0] == "users":
        rows = [r for r in rows if r["name"] in (state["user"], admin)]
    elif args[0] == "vhosts":
        rows = [r for r in rows if r["name"] in (state["vhost"], "/")]
    elif args[0] == "permissions":
        rows = [r for r in rows if r["vhost"] == state["vhost"] or r["user"] == state["user"]]
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_every_listing_is_the_same_through_both_backends(listed_state: dict[str, str], node: SandboxInfo) -> None:
    import time

    from rabbitadmin.backends.admin_ops import COLUMNS, FIELD_TYPES
    from tests.admin.conftest import AdminCli, backend_env

    clis = {backend: AdminCli(backend_env(node, backend), backend) for backend in ("http", "ctl")}
    commands = [tuple(part.format(**listed_state) for part in args) for args in LISTINGS]
    deadline = time.monotonic() + 180  # the statistics lag: a quorum queue listed null for over 60 s (load 10)
    while True:
        results = {b: {c: cli.rows(*c) for c in commands} for b, cli in clis.items()}
        mismatched = [
            c
            for c in commands
            if _comparable(results["http"][c], c, listed_state, node.user)
            != _comparable(results["ctl"][c], c, listed_state, node.user)
        ]
        if not mismatched or time.monotonic() > deadline:
            break
        time.sleep(2)
    report = [
        f"{' '.join(c)}:\n  http {_comparable(results['http'][c], c, listed_state, node.user)}\n"
        f"  ctl  {_comparable(results['ctl'][c], c, listed_state, node.user)}"
        for c in mismatched
    ]
    assert not mismatched, "\n".join(report)

    # One typed shape: every column present, each value of its type or null, on both backends.
    for backend, by_command in results.items():
        for command, rows in by_command.items():
            kind = command[0]
            for row in rows:
                assert list(row) == list(COLUMNS[kind]), (backend, command, row)
                for field, value in row.items():
                    expected = FIELD_TYPES.get(field, str)
                    assert value is None or isinstance(value, expected), (backend, command, field, value)
    queues = {r["name"]: r for r in results["ctl"][commands[5]]}
    assert {name: queues[name]["exclusive"] for name in ("cq", "qq", "sq")} == dict.fromkeys(("cq", "qq", "sq"), False)
    assert [r["exclusive"] for name, r in queues.items() if name.startswith("amq.gen-")] == [True]
    assert queues["cq"]["messages"] == 1 and queues["cq"]["consumers"] == 1
    # Every listing had something to compare (a listing of nothing would prove nothing).
    assert all(_comparable(results["ctl"][c], c, listed_state, node.user) for c in commands)
