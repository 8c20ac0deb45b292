"""Message counts in bulk on a real node (issue 19.3): a plan that destroys more queues than
``LIVE_PROBE_LIMIT`` counts their messages and consumers from two listings per vhost, not one AMQP channel
per queue, and the ``if-empty`` delete stays the guard for what the statistics have not seen yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.http import amqp_probe
from rabbitadmin.backends.http.backend import LIVE_PROBE_LIMIT, HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.loader import load_topology
from rabbitadmin.model import Queue
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner
from .test_safety_routing import amqp, depth, publish, queues_doc, write

MANY = LIVE_PROBE_LIMIT + 20


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def names(n: int) -> list[str]:
    return [f"q.{i:04d}" for i in range(n)]


def listed(admin_client: HttpClient, vhost: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = admin_client.get(api_path(path, vhost), params)
    return rows


def test_many_destroyed_queues_are_counted_from_the_listings_not_per_queue(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    settings: ConnectionSettings,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    rabbitadmin(
        "apply", str(write(tmp_path, queues_doc(vhost, [{"name": n} for n in names(MANY)]))), "--yes", check=True
    )
    publish(node, vhost, "q.0000", 3)
    probed: list[int] = []
    real_probe = amqp_probe.live_depths

    def counting_probe(settings: ConnectionSettings, queues: list[Queue]) -> Any:
        probed.append(len(queues))
        return real_probe(settings, queues)

    monkeypatch.setattr(amqp_probe, "live_depths", counting_probe)
    backend = HttpBackend(settings, parallelism=4)
    request.addfinalizer(backend.close)
    with amqp(node, vhost) as connection:
        channel = connection.channel()
        channel.basic_consume("q.0001", lambda *_: None)
        channel.basic_consume("q.0001", lambda *_: None)
        # The bulk counts are statistics: wait (bounded) until the server's listings show what was done.
        totals = {"columns": "name,messages", "disable_stats": "true", "enable_queue_totals": "true"}
        wait_until(
            lambda: any(
                r["name"] == "q.0000" and r.get("messages") == 3 for r in listed(admin_client, vhost, "queues", totals)
            ),
            "the queue listing to count 3 messages",
        )
        wait_until(
            lambda: len(listed(admin_client, vhost, "consumers", {"columns": "queue.name"})) == 2,
            "the consumer listing to show 2 consumers",
        )
        plan = make_plan(load_topology(write(tmp_path, queues_doc(vhost, []), "none.yaml")), backend, prune=True)
    deletes = {c.key[1]: c for c in plan.changes if c.action is Action.DELETE and c.kind == "queue"}
    assert sorted(deletes) == names(MANY)
    assert probed == [], "more queues than LIVE_PROBE_LIMIT: no AMQP channel per queue"
    assert (deletes["q.0000"].messages_at_risk, deletes["q.0000"].consumers) == (3, 0)
    assert (deletes["q.0001"].messages_at_risk, deletes["q.0001"].consumers) == (0, 2)
    assert all((c.messages_at_risk, c.consumers) == (0, 0) for k, c in deletes.items() if k not in ("q.0000", "q.0001"))

    # A few queues are still probed live as well (exact consumers right away): same counts.
    few = [deletes[k].actual for k in ("q.0000", "q.0001", "q.0002")]
    counts = backend.message_counts([q for q in few if isinstance(q, Queue)])
    assert probed == [3]
    assert [counts[(vhost, k)].messages for k in ("q.0000", "q.0001", "q.0002")] == [3, 0, 0]


def test_a_stale_bulk_count_never_loses_messages_the_if_empty_delete_keeps_them(
    rabbitadmin: CliRunner, node: SandboxInfo, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    everything = write(tmp_path, queues_doc(vhost, [{"name": n} for n in names(MANY)]))
    rabbitadmin("apply", str(everything), "--yes", check=True)
    # Published right before the apply: the statistics may or may not have seen them when it counts.
    publish(node, vhost, "q.0005", 2)
    result = rabbitadmin("apply", str(write(tmp_path, queues_doc(vhost, []), "none.yaml")), "--prune", "--yes")
    # Counted (refused, nothing deleted: exit 4) or missed (deleted if empty, that one kept: exit 9).
    assert result.returncode in (4, 9), result.stderr
    assert depth(node, vhost, "q.0005") == 2
    left = {row["name"] for row in admin_client.get(api_path("queues", vhost), {"columns": "name"})}
    assert left == (set(names(MANY)) if result.returncode == 4 else {"q.0005"})
