"""Replica counts a cluster cannot give: a quorum queue or stream asking for more members than there are nodes.

RabbitMQ does not refuse ``x-quorum-initial-group-size`` (quorum queues) or ``x-initial-cluster-size``
(streams) larger than the cluster: it places one member on every node and says nothing
(``rabbit_quorum_queue:select_quorum_nodes/2`` and ``rabbit_stream_queue:select_stream_nodes/2``: "when
length(All) =< Size -> All"). Values below 1 are refused before any write (``argument_rules``). A plan that
creates such a queue carries a warning, so the operator learns the queue has fewer replicas than written.
"""

from __future__ import annotations

from collections.abc import Callable

from rabbitadmin.engine.plan import Action, Plan
from rabbitadmin.model import Queue

#: The queue type's argument that asks for a number of members.
SIZE_ARGUMENTS = {"quorum": "x-quorum-initial-group-size", "stream": "x-initial-cluster-size"}


def oversized(plan: Plan) -> list[tuple[Queue, str, int]]:
    """The queues ``plan`` creates (or re-creates) with a member count: (queue, argument, count)."""
    found: list[tuple[Queue, str, int]] = []
    for change in plan.changes:
        queue = change.desired
        if change.action not in (Action.CREATE, Action.REPLACE) or not isinstance(queue, Queue):
            continue
        argument = SIZE_ARGUMENTS.get(queue.type)
        value = queue.arguments.get(argument) if argument else None
        if argument and isinstance(value, int) and not isinstance(value, bool):
            found.append((queue, argument, value))
    return found


def replica_warnings(plan: Plan, cluster_size: Callable[[], int | None]) -> list[str]:
    """A warning per queue of ``plan`` asking for more members than ``cluster_size()`` nodes (asked only when
    the plan creates a queue with such an argument; None: unknown, no warning)."""
    asking = oversized(plan)
    if not asking:
        return []
    nodes = cluster_size()
    if nodes is None:
        return []
    return [
        f"queue {queue.name!r} in vhost {queue.vhost!r}: {argument} {value} is larger than the cluster "
        f"({nodes} node{'s' if nodes != 1 else ''}): RabbitMQ gives it {nodes} member{'s' if nodes != 1 else ''}, "
        "one per node, without an error"
        for queue, argument, value in asking
        if value > nodes
    ]
