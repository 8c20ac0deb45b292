"""``queues``, ``exchanges``, ``bindings``, ``connections``, ``channels`` and ``consumers``, through both
backends, with real messages, connections and consumers made by an AMQP client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from .conftest import AdminCli, eventually

Connect = Callable[[str], pika.BlockingConnection]


def queue_depth(connect: Connect, vhost: str, name: str) -> int:
    """The exact message count, from a passive declare (no statistics delay)."""
    channel = connect(vhost).channel()
    count: int = channel.queue_declare(name, passive=True).method.message_count
    return count


def test_list_purge_delete_queues(admin: AdminCli, vhost: str, admin_client: HttpClient, amqp: Connect) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    for name in ("full q", "-dash", "quorum"):
        args = {"x-queue-type": "quorum"} if name == "quorum" else {}
        admin_client.put(api_path("queues", vhost, name), {"durable": True, "arguments": args})
    channel = amqp(vhost).channel()
    for i in range(5):
        channel.basic_publish("", "full q", f"message {i}".encode())
    channel.basic_publish("", "-dash", b"one")

    def listed() -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in admin.rows("queues", "list", "--vhost", vhost)}

    # The statistics come in a few seconds after the publishes; until then a count is unknown (None), not 0.
    rows = eventually(
        lambda: (r := listed()) and r["full q"]["messages"] == 5 and r["full q"]["consumers"] is not None and r
    )
    assert set(rows) == {"full q", "-dash", "quorum"}
    assert (rows["full q"]["messages"], rows["full q"]["consumers"], rows["quorum"]["type"]) == (5, 0, "quorum")
    assert all(row["vhost"] == vhost for row in rows.values())
    assert any(row["vhost"] == vhost for row in admin.rows("queues", "list")), "every vhost by default"

    refused = admin("queues", "purge", "full q", "--vhost", vhost)
    assert refused.returncode == 4 and queue_depth(amqp, vhost, "full q") == 5
    admin.ok("queues", "purge", "full q", "--vhost", vhost, "--yes")
    assert queue_depth(amqp, vhost, "full q") == 0
    missing = admin("queues", "purge", "no such q", "--vhost", vhost, "--yes")
    assert missing.returncode == 1 and "no queue" in missing.stderr

    # A name starting with "-" goes after "--", as with any command line.
    kept = admin("queues", "delete", "--vhost", vhost, "--if-empty", "--yes", "--", "-dash")
    assert kept.returncode == 1 and queue_depth(amqp, vhost, "-dash") == 1
    admin.ok("queues", "delete", "--vhost", vhost, "--yes", "--", "-dash")
    assert admin_client.get_or_none(api_path("queues", vhost, "-dash")) is None
    assert "nothing to do" in admin.ok("queues", "delete", "--vhost", vhost, "--yes", "--", "-dash").stderr


def test_list_exchanges_and_bindings(admin: AdminCli, vhost: str, admin_client: HttpClient) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("exchanges", vhost, "hdr x"), {"type": "headers", "durable": True})
    admin_client.put(api_path("queues", vhost, "q/1"), {"durable": True})
    arguments = {"x-match": "any", "colour": "blue", "n": 5}
    admin_client.post(
        api_path("bindings", vhost, "e", "hdr x", "q", "q/1"), {"routing_key": "", "arguments": arguments}
    )
    admin_client.post(api_path("bindings", vhost, "e", "amq.topic", "e", "hdr x"), {"routing_key": "a.#"})

    exchanges = {row["name"]: row for row in admin.rows("exchanges", "list", "--vhost", vhost)}
    assert exchanges["hdr x"] | {"arguments": {}} == {
        "vhost": vhost,
        "name": "hdr x",
        "type": "headers",
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }
    assert {"amq.topic", "amq.direct", ""} <= set(exchanges)

    bindings = admin.rows("bindings", "list", "--vhost", vhost)
    explicit = [row for row in bindings if row["source"]]
    assert sorted(explicit, key=lambda row: row["source"]) == [
        {"vhost": vhost, "source": "amq.topic", "destination_type": "exchange", "destination": "hdr x",
         "routing_key": "a.#", "arguments": {}},
        {"vhost": vhost, "source": "hdr x", "destination_type": "queue", "destination": "q/1",
         "routing_key": "", "arguments": arguments},
    ]  # fmt: skip
    assert {"source": "", "destination": "q/1", "routing_key": "q/1"}.items() <= next(
        row for row in bindings if not row["source"]
    ).items()


def test_list_connections_channels_consumers(
    admin: AdminCli, vhost: str, admin_client: HttpClient, amqp: Connect, node: Any
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "work"), {"durable": True})
    channel = amqp(vhost).channel()
    channel.basic_qos(prefetch_count=7)
    channel.basic_consume("work", lambda *args: None, consumer_tag="tag-é 1")

    def mine(kind: str) -> list[dict[str, Any]]:
        return admin.rows(kind, "list", "--vhost", vhost)

    # A consumer is listed before its channel's statistics name the channel (seen once: "channel" None).
    consumers = eventually(lambda: [c for c in mine("consumers") if c.get("channel")])
    assert len(consumers) == 1
    consumer = consumers[0]
    assert (consumer["queue"], consumer["consumer_tag"], consumer["prefetch"]) == ("work", "tag-é 1", 7)
    assert consumer["ack_required"] is True and consumer["vhost"] == vhost

    channels = eventually(lambda: mine("channels"))
    assert [(c["name"], c["user"], c["number"]) for c in channels] == [(consumer["channel"], node.user, 1)]
    connections = eventually(lambda: mine("connections"))
    assert len(connections) == 1 and connections[0]["user"] == node.user
    assert connections[0]["peer_host"] == "127.0.0.1"
    assert consumer["channel"].startswith(connections[0]["name"])
