"""Exchange deletes over HTTP go one at a time per vhost; other deletes keep their parallelism.

Two exchange DELETEs at once, where an exchange-to-exchange binding links the two exchanges, now and then
fail on the server: HTTP 400, function_clause in rabbit_exchange:serialise_events(undefined) (rabbitmq-server
#11951; seen on 4.0.5 in a --prune). The requests are counted as they go out to the REAL node, through the
backend's own client (the server is never faked).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import yaml

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.loader import load_topology_text

LINKED = 12  # exchanges in a chain x0 -> x1 -> ... by exchange-to-exchange bindings, each with a queue


def _counting(delete: Callable[..., bool], in_flight: Counter[str], most: Counter[str]) -> Callable[..., bool]:
    """``delete`` that records, per object kind, the most requests in flight at once (each held 20 ms, so
    that requests sent at once overlap for certain)."""
    guard = threading.Lock()

    def counted(path: str, params: dict[str, str] | None = None) -> bool:
        kind = path.removeprefix("/api/").split("/", 1)[0]
        with guard:
            in_flight[kind] += 1
            most[kind] = max(most[kind], in_flight[kind])
        try:
            time.sleep(0.02)
            return delete(path, params)
        finally:
            with guard:
                in_flight[kind] -= 1

    return counted


def test_a_prune_deletes_linked_exchanges_one_at_a_time_and_queues_in_parallel(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    document = {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": f"x{i}", "type": "direct"} for i in range(LINKED)],
                "queues": [{"name": f"q{i}"} for i in range(LINKED)],
                "bindings": [
                    *(
                        {"source": f"x{i}", "destination": f"x{i + 1}", "destination_type": "exchange"}
                        for i in range(LINKED - 1)
                    ),
                    *({"source": f"x{i}", "destination": f"q{i}", "routing_key": "k"} for i in range(LINKED)),
                ],
            }
        ]
    }
    backend = HttpBackend(settings)
    try:
        assert execute_plan(make_plan(load_topology_text(yaml.safe_dump(document), "linked.yaml"), backend), backend).ok
        in_flight: Counter[str] = Counter()
        most: Counter[str] = Counter()
        backend.client.delete = _counting(backend.client.delete, in_flight, most)  # type: ignore[method-assign]
        empty = load_topology_text(yaml.safe_dump({"vhosts": [{"name": vhost}]}), "empty.yaml")
        plan = make_plan(empty, backend, prune=True)
        assert sum(c.kind == "exchange" for c in plan.changes) == LINKED
        result = execute_plan(plan, backend)
        assert result.ok, result.errors
        assert most["exchanges"] == 1, most
        assert most["queues"] > 1, most  # the other deletes are not serialised
    finally:
        backend.close()
    left = {e["name"] for e in admin_client.get(api_path("exchanges", vhost), {"columns": "name"})}
    assert not {f"x{i}" for i in range(LINKED)} & left, left
    reader = HttpBackend(settings)
    try:
        assert make_plan(empty, reader, prune=True).is_empty  # converged: nothing failed part-way
    finally:
        reader.close()
