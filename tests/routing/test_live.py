"""route, verify, graph and report against the session's real node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.routing.verify import SCRATCH_PREFIX

from ..conftest import CliRunner

pytestmark = pytest.mark.integration

TOPOLOGY = """\
vhosts:
  - name: {vhost}
    exchanges:
      - {{name: orders, type: topic, arguments: {{alternate-exchange: unrouted}}}}
      - {{name: unrouted, type: fanout}}
      - {{name: fan, type: fanout}}
      - {{name: byheader, type: headers}}
    queues:
      - {{name: orders.eu, arguments: {{x-message-ttl: 600000, x-dead-letter-exchange: unrouted}}}}
      - {{name: orders.lost}}
      - {{name: pdf}}
    bindings:
      - {{source: orders, destination: orders.eu, routing_key: "order.eu.#"}}
      - {{source: unrouted, destination: orders.lost}}
      - {{source: fan, destination: orders, destination_type: exchange}}
      - {{source: byheader, destination: pdf, arguments: {{x-match: all, format: pdf, pages: 2}}}}
"""
GOOD_EXPECT = """\
expect:
  - {exchange: orders, routing_key: order.eu.created, reaches: [orders.eu]}
  - {exchange: fan, routing_key: order.us.created, reaches: [orders.lost]}
  - {exchange: byheader, headers: {format: pdf, pages: 2}, reaches: [pdf]}
  - {exchange: byheader, headers: {format: pdf, pages: "2"}, unroutable: true}
  - {exchange: "", routing_key: pdf, reaches: [pdf]}
"""


@pytest.fixture
def applied(rabbitadmin: CliRunner, vhost: str, tmp_path: Path) -> Path:
    """The topology applied in a fresh vhost; returns its file."""
    path = tmp_path / "topology.yaml"
    path.write_text(TOPOLOGY.format(vhost=json.dumps(vhost)), encoding="utf-8")
    rabbitadmin("apply", str(path), "--yes", check=True)
    return path


@pytest.fixture
def amqp(
    settings: ConnectionSettings, vhost: str, applied: Path
) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    password = settings.password.reveal() if settings.password else ""
    params = pika.ConnectionParameters(
        host=settings.host,
        port=settings.amqp_port,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(settings.user, password),
        socket_timeout=30,
    )
    connection = pika.BlockingConnection(params)
    try:
        yield connection.channel()
    finally:
        connection.close()


def test_route_live_matches_the_file(rabbitadmin: CliRunner, vhost: str, applied: Path) -> None:
    for args, queues, exchanges in [
        (["fan", "order.eu.x"], ["orders.eu"], ["fan", "orders"]),
        (["fan", "nowhere"], ["orders.lost"], ["fan", "orders", "unrouted"]),
        (["", "pdf"], ["pdf"], [""]),
    ]:
        live = json.loads(rabbitadmin("route", "--live", "--vhost", vhost, *args, "-o", "json", check=True).stdout)
        offline = json.loads(rabbitadmin("route", str(applied), *args, "-o", "json", check=True).stdout)
        assert live == offline == {"queues": queues, "exchanges": exchanges, "unroutable": False}
    headers = ["--header", "format=pdf", "--header", "pages=2"]
    live = json.loads(rabbitadmin("route", "--live", "--vhost", vhost, "byheader", *headers, "-o", "json").stdout)
    assert live["queues"] == ["pdf"]
    refused = rabbitadmin("route", "--live", "--vhost", vhost, "amq.rabbitmq.trace", "x")
    assert refused.returncode == 2 and "internal" in refused.stderr


def _scratch_vhosts(client: HttpClient) -> list[str]:
    return [v["name"] for v in client.get(api_path("vhosts")) if v["name"].startswith(SCRATCH_PREFIX)]


def test_verify_passes_and_fails_without_touching_real_queues_or_consumers(
    rabbitadmin: CliRunner,
    admin_client: HttpClient,
    vhost: str,
    applied: Path,
    amqp: pika.adapters.blocking_connection.BlockingChannel,
) -> None:
    # A consumer on a real queue: it must never see a test message.
    seen: list[bytes] = []
    amqp.basic_consume("orders.lost", lambda ch, m, p, body: seen.append(body), auto_ack=True)
    applied.write_text(applied.read_text(encoding="utf-8") + GOOD_EXPECT, encoding="utf-8")
    result = rabbitadmin("verify", str(applied), "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and len(report["expectations"]) == 5

    # The server changes after the file was written: verify sees the server, not the file.
    admin_client.delete(api_path("bindings", vhost, "e", "orders", "q", "orders.eu", "order.eu.%23"))
    result = rabbitadmin("verify", str(applied))
    assert result.returncode == 7, result.stdout + result.stderr
    assert "FAIL" in result.stdout and "expected reaches ['orders.eu'], but it reaches ['orders.lost']" in result.stdout
    assert "4 passed, 1 failed" in result.stdout

    amqp.connection.process_data_events(time_limit=1)
    assert seen == []
    assert _scratch_vhosts(admin_client) == []
    for queue in ("orders.eu", "orders.lost", "pdf"):
        declared = amqp.queue_declare(queue, passive=True)
        assert declared.method.message_count == 0


def test_verify_without_expectations_is_a_usage_error(rabbitadmin: CliRunner, applied: Path) -> None:
    result = rabbitadmin("verify", str(applied))
    assert result.returncode == 2 and "no expect: section" in result.stderr


def test_graph_live_draws_the_server_and_leaves_exclusive_queues_out(
    rabbitadmin: CliRunner,
    vhost: str,
    applied: Path,
    amqp: pika.adapters.blocking_connection.BlockingChannel,
) -> None:
    amqp.queue_declare("held-by-a-connection", exclusive=True)
    amqp.queue_bind("held-by-a-connection", "fan")
    mermaid = rabbitadmin("graph", "--live", "--vhost", vhost, check=True).stdout
    offline = rabbitadmin("graph", str(applied), check=True).stdout
    assert mermaid == offline
    assert "held-by-a-connection" not in mermaid
    assert '|"order.eu.#35;"|' in mermaid and '-.->|"alternate"|' in mermaid and "dead letter" in mermaid
    svg = rabbitadmin("graph", "--live", "--vhost", vhost, "--format", "svg", check=True).stdout
    assert svg.lstrip().startswith("<?xml") and "orders.lost" in svg and "held-by-a-connection" not in svg


def test_verify_honours_an_alternate_exchange_set_by_a_policy(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, applied: Path
) -> None:
    """Policies are not in topologies, so the offline check cannot see this alternate exchange; the server can."""
    policy = {"pattern": "^byheader$", "definition": {"alternate-exchange": "unrouted"}, "apply-to": "exchanges"}
    admin_client.put(api_path("policies", vhost, "ae"), policy)
    applied.write_text(
        applied.read_text(encoding="utf-8")
        + "expect:\n  - {exchange: byheader, headers: {format: doc}, reaches: [orders.lost]}\n",
        encoding="utf-8",
    )
    result = rabbitadmin("verify", str(applied))
    assert result.returncode == 0, result.stdout + result.stderr
    offline = rabbitadmin("validate", str(applied), "--skip-secrets")
    assert offline.returncode == 2 and "but it is unroutable" in offline.stderr
