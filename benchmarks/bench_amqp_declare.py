"""Exploration for issue 19.1: AMQP declares over parallel connections against the server's bulk import.

Run it by hand (not part of the test suite; it asserts nothing about timings)::

    .venv/bin/python benchmarks/bench_amqp_declare.py --n 10000 --connections 4,8,16 --repeat 3
    .venv/bin/python benchmarks/bench_amqp_declare.py --n 10000 --connections 8 --channels 32,64

It starts its own private node. Each round creates W(N)'s exchanges, queues and bindings (the objects
an AMQP declare can create: users and permissions stay on the HTTP API) in an empty vhost, once with one
``POST /api/definitions`` and once per connection count with ``exchange.declare``, ``queue.declare`` and
``queue.bind`` spread over that many pika connections (one channel each, exchanges first, then queues,
then bindings, each phase finished before the next starts), as the node's administrator; with
``--channels``, also pipelined over that many channels of one connection driven by pika's callback API
(``declare_pipelined``: no threads, each channel sends its next declare on the answer; the package's
``backends/http/amqp_declare.py``, as ``apply --create-with`` uses it). Then it checks
that both ways left the same objects (a listing compared, not timed). Ratios are AMQP / import, medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pika

from rabbitadmin.backends.amqp_eligibility import Declarable
from rabbitadmin.backends.http import amqp_declare
from rabbitadmin.backends.http.amqp_probe import connection_parameters
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import to_definitions
from rabbitadmin.model import Binding, Exchange, Queue, Secret
from rabbitadmin.sandbox import Sandbox, SandboxInfo

sys.path.insert(0, str(Path(__file__).parent))
from bench_apply import VHOST, Workload, delete_vhost, make_workload


def objects_of(workload: Workload) -> list[Declarable]:
    """W(N)'s exchanges, queues and bindings as the engine's objects (what ``apply`` would create)."""
    objects: list[Declarable] = [Exchange(VHOST, e["name"], e["type"]) for e in workload.exchanges]
    objects += [Queue(VHOST, q["name"]) for q in workload.queues]
    objects += [Binding(VHOST, b["source"], "queue", b["destination"], b["routing_key"]) for b in workload.bindings]
    return objects


def definitions(workload: Workload) -> dict[str, Any]:
    """Exchanges, queues and bindings of W(N) only, as ``apply`` imports them (``to_definitions``)."""
    full = to_definitions(objects_of(workload))
    return {key: full[key] for key in ("exchanges", "queues", "bindings")}


def declare_all(info: SandboxInfo, workload: Workload, connections: int) -> None:
    """Declare W(N)'s exchanges, then queues, then bindings over ``connections`` parallel connections."""
    credentials = pika.PlainCredentials(info.user, info.password())
    params = pika.ConnectionParameters("127.0.0.1", info.amqp_port, VHOST, credentials, socket_timeout=60)
    opened = [pika.BlockingConnection(params) for _ in range(connections)]
    channels = [c.channel() for c in opened]

    def phase(items: Sequence[dict[str, Any]], declare: Callable[[Any, dict[str, Any]], None]) -> None:
        shares = [items[i::connections] for i in range(connections)]
        with ThreadPoolExecutor(max_workers=connections) as pool:
            futures = [
                pool.submit(lambda ch, part: [declare(ch, x) for x in part], ch, part)
                for ch, part in zip(channels, shares, strict=True)
            ]
            for future in futures:
                future.result()

    try:
        phase(workload.exchanges, lambda ch, e: ch.exchange_declare(e["name"], e["type"], durable=True))
        # x-queue-type as apply's import sends it (to_definition: always explicit).
        classic = {"x-queue-type": "classic"}
        phase(workload.queues, lambda ch, q: ch.queue_declare(q["name"], durable=True, arguments=classic))
        phase(workload.bindings, lambda ch, b: ch.queue_bind(b["destination"], b["source"], b["routing_key"]))
    finally:
        for connection in opened:
            connection.close()


def declare_pipelined(info: SandboxInfo, workload: Workload, channels: int) -> None:
    """Declare W(N)'s exchanges, queues and bindings over ``channels`` channels of one connection, with the
    package's own implementation (``rabbitadmin.backends.http.amqp_declare``, what ``apply`` uses)."""
    settings = ConnectionSettings(
        url=info.url, user=info.user, password=Secret(info.password()), amqp_port=info.amqp_port, timeout=600
    )
    outcome = amqp_declare.declare_pipelined(
        connection_parameters(settings, VHOST, timeout=60), objects_of(workload), channels=channels, timeout=60
    )
    if not outcome.complete:
        raise SystemExit(f"pipelined declares failed: {outcome.error}")


def snapshot(client: HttpClient) -> tuple[Any, ...]:
    exchanges = client.get(
        api_path("exchanges", VHOST), {"columns": "name,type,durable,auto_delete,internal,arguments"}
    )
    queues = client.get(
        api_path("queues", VHOST), {"columns": "name,durable,auto_delete,arguments", "disable_stats": "true"}
    )
    bindings = client.get(api_path("bindings", VHOST), {"columns": "source,destination,routing_key,arguments"})
    key = lambda row: sorted(row.items())  # noqa: E731
    return tuple(sorted((key(r) for r in rows), key=str) for rows in (exchanges, queues, bindings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--connections", default="4,8,16", help="comma-separated connection counts")
    parser.add_argument(
        "--channels", default="", help="comma-separated channel counts for the pipelined way (one connection)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.connections.split(",") if c]
    channel_counts = [int(c) for c in args.channels.split(",") if c]
    workload = make_workload(args.n)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="rabbitadmin-bench-amqp-") as tmp:
        box = Sandbox(Path(tmp) / "node")
        try:
            info = box.start()
            settings = ConnectionSettings(
                url=info.url, user=info.user, password=Secret(info.password()), amqp_port=info.amqp_port, timeout=600
            )
            client = HttpClient(settings)
            load_start = os.getloadavg()
            reference = None
            for _ in range(args.repeat):
                ways: list[tuple[str, Callable[[], None]]] = [
                    ("bulk import", lambda: client.post(api_path("definitions"), definitions(workload)))
                ]
                ways += [
                    (f"AMQP declares, {c} connections", lambda c=c: declare_all(info, workload, c)) for c in counts
                ]
                ways += [
                    (
                        f"AMQP declares pipelined, 1 connection, {c} channels",
                        lambda c=c: declare_pipelined(info, workload, c),
                    )
                    for c in channel_counts
                ]
                for name, create in ways:
                    delete_vhost(client, VHOST)
                    client.put(api_path("vhosts", VHOST), {})
                    client.put(
                        api_path("permissions", VHOST, info.user), {"configure": ".*", "write": ".*", "read": ".*"}
                    )
                    start = time.perf_counter()
                    create()
                    samples.setdefault(name, []).append(time.perf_counter() - start)
                    state = snapshot(client)
                    reference = reference or state
                    if state != reference:
                        raise SystemExit(f"{name} left other objects than the bulk import")
            delete_vhost(client, VHOST)
            client.close()
        finally:
            box.stop()
    print(
        f"W({args.n}) exchanges, queues and bindings ({workload.objects - len(workload.users) * 2 - 1} objects); "
        f"{os.cpu_count()} cores; medians of {args.repeat}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average at the start {' '.join(f'{x:.1f}' for x in load_start)}, at the end "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; end states identical"
    )
    base = statistics.median(samples["bulk import"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name}: {median:.2f} s = {median / base:.2f}x the import  "
            f"(samples: {', '.join(f'{v:.2f}' for v in values)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
