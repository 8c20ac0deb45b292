"""The access matrix against the broker: every predicted (user, resource, operation) is tried over AMQP as
that user, and the broker must allow or refuse it exactly as predicted."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from rabbitadmin.audit.access import SERVER_NAMED_QUEUE, Access, access_matrix, with_builtin_exchanges
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.model import Exchange, Topology
from rabbitadmin.sandbox import SandboxInfo
from tests.audit.conftest import Run

EXCHANGES = {"logs": "fanout", "xlogs": "direct", "alerts": "topic"}
QUEUES = ("q.a", "q.ab", "myq", "logs.q")
# (configure, write, read) per user: anchored, unanchored, empty, negative look-ahead, everything.
PERMISSIONS = {
    "all": (".*", ".*", ".*"),
    "anchored": ("^q\\.a$", "^logs$", "^q\\.a$"),
    "unanchored": ("q", "log", "a"),
    "empty": ("", "", ""),
    "lookahead": ("^(?!amq\\.).*", "^amq\\.default$|^amq\\.direct$", "^amq\\.gen|^myq$"),
    # PCRE only (Python's re refuses or misreads these; the server stores and applies them): case 04.
    "pcre": ("^\\p{Ll}+$", "(?<l>log)s$", "\\Qq.a\\E"),
    "posix": ("^[[:alpha:]]+$", "^[[:lower:]]+\\.[[:alpha:]]$|^amq\\.topic$", "^[[:alpha:]]+(?#any)\\.[[:alpha:]]+$"),
}


@pytest.fixture
def crafted(admin_client: HttpClient, vhost: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The vhost, its exchanges and queues, and one user per permission set (name -> password)."""
    admin_client.put(api_path("vhosts", vhost), {})
    for name, type_ in EXCHANGES.items():
        admin_client.put(api_path("exchanges", vhost, name), {"type": type_, "durable": True})
    for name in QUEUES:
        admin_client.put(api_path("queues", vhost, name), {"durable": True})
    users: dict[str, str] = {}
    suffix = secrets.token_hex(3)
    try:
        for label, (c, w, r) in PERMISSIONS.items():
            user = f"gt-{label}-{suffix}"
            users[user] = secrets.token_urlsafe(16)
            admin_client.put(api_path("users", user), {"password": users[user], "tags": ""})
            admin_client.put(api_path("permissions", vhost, user), {"configure": c, "write": w, "read": r})
        yield vhost, users
    finally:
        for user in users:
            admin_client.delete(api_path("users", user))


def _allowed(conn: pika.BlockingConnection, row: Access, perm: str, topology: Topology, partner: str = "") -> bool:
    """Try the operation that needs ``perm`` on the row's resource; False if the broker refuses (403)."""
    ch = conn.channel()
    try:
        if row.kind == "exchange" and perm == "configure":
            ex = topology.exchanges[(row.vhost, row.name)]
            assert isinstance(ex, Exchange)
            # Not passive (a passive declare checks nothing); equivalent, so an allowed declare changes nothing.
            ch.exchange_declare(row.name, ex.type, durable=ex.durable, auto_delete=ex.auto_delete, internal=ex.internal)
        elif row.kind == "exchange" and perm == "write":
            ch.confirm_delivery()
            ch.basic_publish(row.name, "ground-truth.nowhere", b"probe")
        elif row.kind == "queue" and row.name == SERVER_NAMED_QUEUE:
            declared = ch.queue_declare("", exclusive=True)  # configure is checked on the generated name
            if perm == "read":
                ch.basic_get(declared.method.queue)
        elif row.kind == "queue" and perm == "configure":
            ch.queue_declare(row.name, durable=True)  # not passive
        elif row.kind == "queue" and perm == "read":
            ch.basic_get(row.name, auto_ack=False)
        elif perm in ("bind-to", "bind-from"):
            queue, source = (row.name, partner) if perm == "bind-to" else (partner, row.name)
            ch.queue_bind(queue, source, routing_key="ground-truth")  # write on the queue, read on the source
        else:
            raise AssertionError(f"no probe for {perm} on {row.kind}")
    except ChannelClosedByBroker as exc:
        assert exc.reply_code == 403, exc
        return False
    if ch.is_open:
        ch.close()
    return True


def _probes(row: Access) -> list[str]:
    """The operations tried per row: configure everywhere, write on exchanges, read on queues, and binding
    (write on the queue, read on the exchange) from both ends."""
    if row.kind == "exchange":
        return ["configure", "write", "bind-from"]
    if row.name == SERVER_NAMED_QUEUE:
        return ["configure", "read"] if row.configure else ["configure"]  # reading needs the queue first
    return ["configure", "read", "bind-to"]


def _partner(rows: list[Access], row: Access, perm: str) -> tuple[str, bool]:
    """For a bind probe: the other end (one the user may use if there is one) and whether it is allowed."""
    kind, need = ("exchange", "read") if perm == "bind-to" else ("queue", "write")
    others = [r for r in rows if r.kind == kind and r.name not in ("", SERVER_NAMED_QUEUE)]
    chosen = next((r for r in others if r.allows(need)), others[0])
    return chosen.name, chosen.allows(need)


def test_matrix_matches_the_broker(
    crafted: tuple[str, dict[str, str]], settings: ConnectionSettings, node: SandboxInfo, audit_cli: Run
) -> None:
    vhost, users = crafted
    topology = with_builtin_exchanges(HttpBackend(settings).read_state([vhost]))
    rows = [r for r in access_matrix(topology, vhost=vhost) if r.user in users]
    assert {r.user for r in rows} == set(users)
    tried = 0
    problems: list[str] = []
    for user, password in users.items():
        params = pika.ConnectionParameters(
            "127.0.0.1", node.amqp_port, vhost, pika.PlainCredentials(user, password), connection_attempts=3
        )
        conn = pika.BlockingConnection(params)
        try:
            own = [r for r in rows if r.user == user]
            for row in own:
                for perm in _probes(row):
                    tried += 1
                    partner = ""
                    if perm.startswith("bind-"):
                        partner, partner_ok = _partner(own, row, perm)
                        predicted = partner_ok and row.allows("write" if perm == "bind-to" else "read")
                    elif row.name == SERVER_NAMED_QUEUE and perm == "read":
                        predicted = row.configure and row.read  # the probe declares the queue first
                    else:
                        predicted = row.allows(perm)
                    actual = _allowed(conn, row, perm, topology, partner)
                    if actual != predicted:
                        problems.append(f"{user} {perm} {row.kind} {row.name!r}: predicted {predicted}, got {actual}")
        finally:
            conn.close()
    assert tried >= len(PERMISSIONS) * (7 * 3 + 4 * 3 + 1)
    assert not problems, "\n".join(problems)
    # Both outcomes occurred, so the test can tell a wrong prediction in either direction.
    assert any(r.configure for r in rows) and any(not r.configure for r in rows)

    # The command agrees with the library and names the same rights.
    anchored = next(u for u in users if u.startswith("gt-anchored-"))
    out = audit_cli("access", "--user", anchored, "--vhost", vhost, "-o", "json")
    assert out.returncode == 0, out.stderr
    cells = {(a["kind"], a["name"]): a for a in json.loads(out.stdout)["access"]}
    assert cells[("queue", "q.a")]["configure"] and not cells[("queue", "q.ab")]["configure"]
    assert cells[("exchange", "logs")]["write"] and not cells[("exchange", "xlogs")]["write"]
    who = audit_cli("access", "--who-can", "read", "--vhost", vhost, "--queue", "myq", "-o", "json")
    assert who.returncode == 0, who.stderr
    readers = set(json.loads(who.stdout)["users"]) & set(users)
    assert readers == {u for u in users if u.split("-")[1] in ("all", "lookahead")}

    # PCRE-only patterns: the command names the rights the broker granted above, and the audit does not call
    # them invalid (case 04).
    pcre = next(u for u in users if u.startswith("gt-pcre-"))
    out = audit_cli("access", "--user", pcre, "--vhost", vhost, "-o", "json")
    assert out.returncode == 0, out.stderr
    cells = {(a["kind"], a["name"]): a for a in json.loads(out.stdout)["access"]}
    assert cells[("queue", "myq")]["configure"] and not cells[("queue", "q.a")]["configure"]
    assert cells[("exchange", "logs")]["write"] and not cells[("exchange", "alerts")]["write"]
    assert cells[("queue", "q.ab")]["read"] and not cells[("queue", "myq")]["read"]
    audit = audit_cli("audit", "-o", "json")
    assert audit.returncode == 0, audit.stderr
    invalid = [f for f in json.loads(audit.stdout)["findings"] if f["rule"] == "RA011"]
    assert not [f for f in invalid if any(u in o for o in f["objects"] for u in users)], invalid
