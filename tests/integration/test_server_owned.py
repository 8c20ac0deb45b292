"""Server-owned objects on a real node (kinds.is_server_owned): a binding to an exclusive queue is its
connection's, and a binding to an EXCHANGE that shares the exclusive queue's name is an ordinary one that
``--prune`` deletes and ``export`` writes (issue 13.3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
import yaml

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology
from rabbitadmin.sandbox import SandboxInfo


@pytest.fixture
def backend(settings: ConnectionSettings) -> Iterator[HttpBackend]:
    http = HttpBackend(settings, parallelism=2)
    yield http
    http.close()


def test_a_binding_to_an_exchange_named_like_an_exclusive_queue_is_pruned_and_exported(
    node: SandboxInfo, backend: HttpBackend, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    exchanges = [{"name": "src", "type": "fanout"}, {"name": "reply", "type": "fanout"}]
    start = tmp_path / "start.yaml"
    binding = {"source": "src", "destination": "reply", "destination_type": "exchange", "routing_key": "k"}
    start.write_text(yaml.safe_dump({"vhosts": [{"name": vhost, "exchanges": exchanges, "bindings": [binding]}]}))
    execute_plan(make_plan(load_topology(start), backend), backend)

    credentials = pika.PlainCredentials(node.user, node.password())
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials, blocked_connection_timeout=30)
    with pika.BlockingConnection(params) as connection:
        channel = connection.channel()
        channel.queue_declare("reply", exclusive=True)
        channel.queue_bind("reply", "src", "k")

        # export writes the exchange-to-exchange binding and leaves the connection's queue and binding out.
        exported = export_document(backend.read_state({vhost}), [vhost])
        (doc,) = exported["vhosts"]
        assert "queues" not in doc
        assert doc["bindings"] == [binding]

        # --prune deletes the exchange-to-exchange binding and keeps the exclusive queue's.
        target = tmp_path / "target.yaml"
        target.write_text(yaml.safe_dump({"vhosts": [{"name": vhost, "exchanges": exchanges}]}))
        plan = make_plan(load_topology(target), backend, prune=True)
        assert [(c.action, c.key[2:5]) for c in plan.changes] == [(Action.DELETE, ("exchange", "reply", "k"))]
        execute_plan(plan, backend)

        rows = admin_client.get(api_path("bindings", vhost), {"columns": "source,destination,destination_type"})
        left = sorted((r["source"], r["destination_type"], r["destination"]) for r in rows if r["source"])
        assert left == [("src", "queue", "reply")]
