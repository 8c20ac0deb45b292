"""How long a definitions import may take before its answer counts as lost.

The server answers an import (``POST /api/definitions``, ``rabbitmqctl import_definitions``) only once all
of it is done, and that time grows with the objects it carries: W(10000) (21,200 exchanges, queues and
bindings) took 37-42 s on a quiet single node, about 100 s on a busy one, and more than the default
``--timeout`` (60 s) through a busy 3-node cluster, where the apply then stopped part-way (measured with
``benchmarks/bench_cluster.py``, 2026-12-01: 12,310 objects in 74 s, 6 ms an object). So an import is
allowed its base timeout plus an allowance per object: ten times the busy cluster's rate, and ten times
more for a quorum queue or a stream (each starts a replica set: ``rabbit_quorum_queue``,
``rabbit_stream_coordinator``).

Splitting the import into requests that each fit the base timeout was measured and left out: the server
took 1.4x-4x as long for the same objects in requests of 500 or 100 (``POST /api/definitions`` of 2,000
queues on a busy 3.10.8 node: 11 s in one request, 15-44 s in four, 51-75 s in twenty).
"""

from __future__ import annotations

from collections.abc import Iterable

from rabbitadmin.model import Queue, TopologyObject

#: Seconds allowed per object an import carries, on top of the base timeout.
SECONDS_PER_OBJECT = 0.06
#: A quorum queue or a stream counts as this many objects (it starts replicas on several nodes).
REPLICATED_WEIGHT = 10
REPLICATED_TYPES = frozenset({"quorum", "stream"})


def import_weight(objects: Iterable[TopologyObject]) -> int:
    """How many plain objects ``objects`` count as (a quorum queue or stream: ``REPLICATED_WEIGHT``)."""
    return sum(
        REPLICATED_WEIGHT if isinstance(obj, Queue) and obj.type in REPLICATED_TYPES else 1 for obj in objects
    )


def import_wait(base: float, objects: Iterable[TopologyObject]) -> float:
    """Seconds to wait for an import of ``objects``: ``base`` (``--timeout`` or ``--ctl-timeout``) plus
    ``SECONDS_PER_OBJECT`` for each (weighted) object."""
    return base + SECONDS_PER_OBJECT * import_weight(objects)
