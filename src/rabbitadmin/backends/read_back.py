"""Settling a failed bulk create by reading the server back: which of the batch's objects it now shows.

A definitions import that fails (refused part-way, killed at its timeout, its answer lost) may have created
some of its objects: RabbitMQ imports in order and stops at the first object it refuses
(``rabbit_definitions``), and a timed-out import goes on on the node. Reading back turns "outcome unknown"
into a count of what was created and what was not. Both backends settle their imports with it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace

from rabbitadmin.kinds import KINDS
from rabbitadmin.model import Binding, Exchange, Parameter, Queue, Topology, TopologyObject, User, Vhost

StateReader = Callable[[Collection[str]], Topology]
#: The kinds a read returns only for the vhosts it is asked for (``read_state``).
_IN_A_VHOST = (Exchange, Queue, Binding, Parameter)


def split_by_read_back(
    batch: Sequence[TopologyObject], read_state: StateReader
) -> tuple[list[TopologyObject], list[TopologyObject]]:
    """(there, missing): the objects of ``batch`` the server shows as asked and the others, in batch order. An
    object counts as there only if the server shows it with every field it was asked for (``matches``): a
    queue someone declared meanwhile with other arguments is not this batch's.

    One read (``read_batch``); raises what ``read_state`` raises.
    """
    return split_shown(batch, read_batch(batch, read_state))


def read_batch(batch: Sequence[TopologyObject], read_state: StateReader) -> Topology:
    """The server's state as far as ``batch`` goes, in one read: every vhost an object of the batch lives in
    (a read limits exchanges, queues, bindings and runtime parameters to the vhosts it is given; vhosts,
    users and the rest are always read). Raises what ``read_state`` raises."""
    return read_state(sorted({obj.vhost for obj in batch if isinstance(obj, _IN_A_VHOST)}))


def split_shown(
    batch: Sequence[TopologyObject], actual: Topology
) -> tuple[list[TopologyObject], list[TopologyObject]]:
    """``split_by_read_back`` over a state already read (``read_batch``): (there, missing), in batch order."""
    shown = [shown_as_asked(obj, actual) for obj in batch]
    there = [obj for obj, is_shown in zip(batch, shown, strict=True) if is_shown]
    missing = [obj for obj, is_shown in zip(batch, shown, strict=True) if not is_shown]
    return there, missing


def matches(desired: TopologyObject, actual: TopologyObject) -> bool:
    """Whether the server's ``actual`` has every field ``desired`` manages (None: not managed)."""
    facts = KINDS[desired.kind]
    names: Iterable[str] = (*facts.updatable, *facts.immutable, *facts.refused)
    if isinstance(desired, User) and desired.password_hash:
        names = (*names, "password_hash")
    if isinstance(desired, Vhost) and isinstance(actual, Vhost):
        # The server reports no default queue type when none was set, which means classic (as diff.py reads it).
        actual = replace(actual, default_queue_type=actual.default_queue_type or "classic")
    return all(getattr(desired, name) is None or getattr(desired, name) == getattr(actual, name) for name in names)


def shown_as_asked(obj: TopologyObject, actual: Topology) -> bool:
    """Whether ``actual`` holds ``obj`` with every field it manages (``matches``)."""
    shown = actual.of(obj.kind).get(obj.key)
    return shown is not None and matches(obj, shown)


def not_shown(objects: Iterable[TopologyObject], actual: Topology) -> list[TopologyObject]:
    """The objects ``actual`` does not hold at all, not even with other properties (by key), in order."""
    return [obj for obj in objects if obj.key not in actual.of(obj.kind)]


#: What a failed import's objects that are not there yet are called when the node may still be importing.
MAY_FOLLOW = "not shown yet (outcome unknown: the node may still carry them out)"


def read_back_words(
    there: Sequence[TopologyObject], missing: Sequence[TopologyObject], actual: Topology, *, may_follow: bool
) -> str:
    """The read-back's count for a failed batch, as both backends word it: ``read back from the server: N of them
    were created, M were not, K are there with other properties``. ``missing`` is split by ``actual`` into
    objects the server does not show at all ("were not", or ``MAY_FOLLOW`` when ``may_follow``: a timeout or a
    lost answer, the node may still be importing) and objects it shows with other properties (an import
    leaves those as they are, so they will not change)."""
    absent = len(not_shown(missing, actual))
    differing = len(missing) - absent
    parts = [f"{len(there)} of them were created"]
    if absent or not differing:
        parts.append(f"{absent} {MAY_FOLLOW if may_follow else 'were not'}")
    if differing:
        parts.append(f"{differing} {'is' if differing == 1 else 'are'} there with other properties")
    return "read back from the server: " + ", ".join(parts)
