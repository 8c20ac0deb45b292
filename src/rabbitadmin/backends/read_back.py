"""Settling a failed bulk create by reading the server back: which of the batch's objects it now shows.

A definitions import that fails (refused part-way, killed at its timeout, its answer lost) may have created
some of its objects: RabbitMQ imports in order and stops at the first object it refuses
(``rabbit_definitions``), and a timed-out import goes on on the node. Reading back turns "outcome unknown"
into a count of what was created and what was not. Both backends settle their imports with it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from rabbitadmin.model import Binding, Exchange, Parameter, Queue, Topology, TopologyObject

StateReader = Callable[[Collection[str]], Topology]
#: The kinds a read returns only for the vhosts it is asked for (``read_state``).
_IN_A_VHOST = (Exchange, Queue, Binding, Parameter)


def split_by_read_back(
    batch: Sequence[TopologyObject], read_state: StateReader
) -> tuple[list[TopologyObject], list[TopologyObject]]:
    """(there, missing): the objects of ``batch`` the server shows (by key) and the others, in batch order.

    Reads every vhost an object of the batch lives in (a read limits exchanges, queues, bindings and runtime
    parameters to the vhosts it is given; vhosts, users and the rest are always read). Raises what
    ``read_state`` raises.
    """
    actual = read_state(sorted({obj.vhost for obj in batch if isinstance(obj, _IN_A_VHOST)}))
    there = [obj for obj in batch if obj.key in actual.of(obj.kind)]
    missing = [obj for obj in batch if obj.key not in actual.of(obj.kind)]
    return there, missing
