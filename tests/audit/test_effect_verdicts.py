"""Audit verdicts against the broker's: for several spellings of "everything" and of "nothing", the audit's
RA009 (full access) and "grants nothing" verdicts must be what AMQP operations as that user prove (case 07);
the node settings the audit reads must be what the node and the kernel say."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo
from tests.admin.conftest import AdminCli, backend_env
from tests.audit.conftest import Run

FULL = (".*", "^.*$", ".*.*", "(.*)", ".+")
PARTIAL = ("^(?!amq\\.).*", "^[a-z]+$")
NOTHING = ("", "^$")


@pytest.fixture
def spelled(admin_client: HttpClient, vhost: str) -> Iterator[dict[str, tuple[str, str]]]:
    """One user per spelling, the same pattern for configure, write and read: name -> (pattern, password)."""
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "jobs"), {"durable": True})
    users: dict[str, tuple[str, str]] = {}
    token = secrets.token_hex(3)
    try:
        for index, pattern in enumerate((*FULL, *PARTIAL, *NOTHING)):
            name = f"spell{index}-{token}"
            users[name] = (pattern, secrets.token_urlsafe(12))
            admin_client.put(api_path("users", name), {"password": users[name][1], "tags": ""})
            admin_client.put(
                api_path("permissions", vhost, name), dict.fromkeys(("configure", "write", "read"), pattern)
            )
        yield users
    finally:
        for name in users:
            admin_client.delete(api_path("users", name))


def _outcomes(node: SandboxInfo, vhost: str, user: str, password: str) -> dict[str, bool]:
    """Each operation tried as ``user``: True if the broker allowed it, False if it refused it (403)."""
    token = secrets.token_hex(3)
    arbitrary = f"Any Name.{token}-é"
    operations = {
        "configure arbitrary queue": lambda ch: ch.queue_declare(arbitrary, durable=True),
        "configure server-named queue": lambda ch: ch.queue_declare("", exclusive=True),
        "configure arbitrary exchange": lambda ch: ch.exchange_declare(f"x.{token}", "fanout", auto_delete=True),
        "read existing queue": lambda ch: ch.basic_get("jobs"),
        "write default exchange": lambda ch: (ch.confirm_delivery(), ch.basic_publish("", "jobs", b"probe")),
        "write amq.topic": lambda ch: (ch.confirm_delivery(), ch.basic_publish("amq.topic", "k", b"probe")),
        "bind arbitrary queue to amq.topic": lambda ch: ch.queue_bind(arbitrary, "amq.topic", "k"),
        "read arbitrary queue": lambda ch: ch.basic_get(arbitrary),
        "delete arbitrary queue": lambda ch: ch.queue_delete(arbitrary),
    }
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, pika.PlainCredentials(user, password))
    connection = pika.BlockingConnection(params)
    result = {}
    try:
        for label, operation in operations.items():
            channel = connection.channel()
            try:
                operation(channel)
                result[label] = True
            except ChannelClosedByBroker as exc:
                assert exc.reply_code in (403, 404), exc  # 404: the queue a refused declare did not create
                result[label] = False
            if channel.is_open:
                channel.close()
    finally:
        connection.close()
    return result


def test_audit_verdicts_are_the_brokers(
    spelled: dict[str, tuple[str, str]], vhost: str, node: SandboxInfo, audit_cli: Run
) -> None:
    out = audit_cli("audit", "-o", "json")
    assert out.returncode == 0, out.stderr
    findings = json.loads(out.stdout)["findings"]
    by_user: dict[str, set[str]] = {name: set() for name in spelled}
    for finding in findings:
        for obj in finding["objects"]:
            name = obj.removeprefix("user:").removeprefix("permission:").split("@")[0]
            if name in by_user:
                by_user[name].add(finding["rule"])
    problems = []
    for name, (pattern, password) in spelled.items():
        outcomes = _outcomes(node, vhost, name, password)
        everything, nothing = all(outcomes.values()), not any(outcomes.values())
        if ("RA009" in by_user[name]) != everything:
            problems.append(f"{pattern!r}: RA009 {'RA009' in by_user[name]}, broker {outcomes}")
        if ("RA006" in by_user[name]) != nothing:
            problems.append(f"{pattern!r}: grants-nothing {'RA006' in by_user[name]}, broker {outcomes}")
        if "RA012" in by_user[name] or "RA011" in by_user[name]:
            problems.append(f"{pattern!r}: {sorted(by_user[name])}")
    assert not problems, "\n".join(problems)
    # Each kind of verdict was met: the broker proved full access, partial access and none.
    verdicts = {pattern: by_user[name] & {"RA009", "RA006"} for name, (pattern, _) in spelled.items()}
    assert [p for p, v in verdicts.items() if v == {"RA009"}] == list(FULL)
    assert [p for p, v in verdicts.items() if v == {"RA006"}] == list(NOTHING)


def _kernel_listeners() -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket, from /proc/net/tcp and tcp6."""
    found = set()
    for path, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, raw), int(port, 16)))
    return found


@pytest.fixture
def guest_user(admin_client: HttpClient) -> Iterator[None]:
    existed = admin_client.get_or_none(api_path("users", "guest")) is not None
    if not existed:
        admin_client.put(api_path("users", "guest"), {"password": secrets.token_urlsafe(12), "tags": ""})
    yield
    if not existed:
        admin_client.delete(api_path("users", "guest"))


def test_node_settings_are_the_nodes(node: SandboxInfo, guest_user: None) -> None:
    """ctl reads loopback_users and the listeners from the node; over HTTP loopback_users is unknown (RA022)
    and the listener addresses are the same. The kernel's listening sockets are the ground truth."""
    audits = {}
    for backend in ("http", "ctl"):
        cli = AdminCli(backend_env(node, backend), backend)
        audits[backend] = json.loads(cli.ok("audit", "-o", "json", "--ignore", "RA015").stdout)["findings"]
    ctl_rules = {(f["rule"], tuple(f["objects"])) for f in audits["ctl"]}
    http_rules = {(f["rule"], tuple(f["objects"])) for f in audits["http"]}
    # The sandbox sets loopback_users = none, and a guest user exists now.
    assert ("RA020", ("setting:loopback_users", "user:guest")) in ctl_rules
    assert ("RA022", ("setting:loopback_users",)) in http_rules
    assert not any(rule == "RA020" for rule, _ in http_rules)

    from rabbitadmin.audit.node import read_ctl, read_http
    from rabbitadmin.backends.ctl.runner import rabbitmqctl_from_options
    from rabbitadmin.connection import ConnectionSettings
    from rabbitadmin.model import Secret

    env = backend_env(node, "ctl")
    ctl = rabbitmqctl_from_options(environ=env)
    try:
        by_ctl = read_ctl(ctl)
    finally:
        ctl.close()
    settings = ConnectionSettings(url=node.url, user=node.user, password=Secret(node.password()))
    client = HttpClient(settings)
    try:
        by_http = read_http(client)
    finally:
        client.close()
    assert by_ctl.loopback_users == () and by_http.loopback_users is None
    assert by_ctl.listeners == by_http.listeners
    kernel = _kernel_listeners()
    ports = {node.amqp_port: "amqp", int(node.url.rsplit(":", 1)[1]): node.url.split(":")[0]}
    assert {(item.port, item.protocol) for item in by_ctl.listeners or ()} == set(ports.items())
    for item in by_ctl.listeners or ():
        assert (item.address, item.port) in kernel, (item, sorted(p for p in kernel if p[1] == item.port))
    # Bound to loopback only: no RA021 on either backend.
    assert not any(rule == "RA021" for rule, _ in ctl_rules | http_rules)


def _audit(cli: AdminCli) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(cli.ok("audit", "-o", "json").stdout)["findings"]
    return findings


@pytest.fixture
def md5_user(admin_client: HttpClient) -> Iterator[tuple[str, str]]:
    """A user stored as an old export stores it: an MD5 hash, and the impersonator tag."""
    from rabbitadmin.passwords import MD5, hash_password

    name, password = f"md5-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    body = {"password_hash": hash_password(password, MD5), "hashing_algorithm": MD5, "tags": "impersonator"}
    admin_client.put(api_path("users", name), body)
    admin_client.put(api_path("permissions", "/", name), {"configure": "", "write": "", "read": "^q$"})
    yield name, password
    admin_client.delete(api_path("users", name))


def test_md5_and_impersonator_through_both_backends(
    md5_user: tuple[str, str], node: SandboxInfo, admin_client: HttpClient
) -> None:
    name, password = md5_user
    # The server really holds and uses the MD5 hash: the login with the password is accepted.
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, "/", pika.PlainCredentials(name, password))
    pika.BlockingConnection(params).close()
    for backend in ("http", "ctl"):
        cli = AdminCli(backend_env(node, backend), backend)
        found = {(f["rule"], tuple(f["objects"])) for f in _audit(cli)}
        assert {("RA017", (f"user:{name}",)), ("RA018", (f"user:{name}",))} <= found, backend
    # The advice works: setting the password again re-hashes it with the server's algorithm.
    cli = AdminCli(backend_env(node, "http"), "http")
    cli.ok("users", "change-password", name, "--password-env", "PW", env={"PW": password})
    assert admin_client.get(api_path("users", name))["hashing_algorithm"] != "rabbit_password_hashing_md5"
    rules = {f["rule"] for f in _audit(cli) if f["objects"] == [f"user:{name}"]}
    assert "RA017" not in rules and "RA018" in rules
