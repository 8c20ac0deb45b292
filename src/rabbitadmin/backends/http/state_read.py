"""Reading a server's state over the management HTTP API, the vhosts named as they become known.

A read is a handful of column-limited listings fetched in parallel: vhosts, users, permissions, topic
permissions, policies, operator policies, limits and parameters for the whole server, then exchanges,
queues and bindings per vhost in scope. Column limits matter: a plain queue listing computes statistics
for every queue and is an order of magnitude slower on large servers (measured at W(10000): the queue
listing 0.4-0.5 s instead of 0.7-0.9 s without counts, the bindings 0.6-0.8 s instead of 1.0-1.2 s without
their handles). So does the sort the server would do before answering (``UNSORTED``): the rows are ordered
here instead, and each listing is keyed on its own thread as it arrives.

``StateRead`` starts the global listings when it is made and a vhost's three listings as soon as the vhost
is named (``add_vhost``), so that a plan can start reading the vhosts of a topology file while the rest of
the file is still being parsed (``engine.prefetch``): the bindings of a large vhost are the longest
listing, and each vhost's listings no longer wait for the parse. Which vhosts end up in the state is
decided at the end (``result``): the ones asked for then, whether named before or not.

A read for a plan that will count messages (``plan --prune``: ``depths``, or the early read sent the counts
because the command line said ``--prune``) also lists each vhost's queues with their message counts
(``paths.queue_depth_listing``) beside its three listings, on the queue listing's heels, and hands each
vhost's pending listing to ``on_depths`` without waiting for it: the server counts while the plan is
computed, and ``HttpBackend.message_counts`` takes the answer instead of asking after the plan (about 1.3 s
of a 2.3 s ``plan --prune`` of 3,000 queues at W(10000) on 3.10.8). It stays a listing of its own: the one
with counts leaves out crashed queues and those whose process is on no running node (see
``QUEUE_DEPTH_PARAMS``), so the state is never read from it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future
from typing import Any, NamedTuple

from rabbitadmin import early_read
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import (
    LIMITS_AND_POLICIES,
    queue_depth_listing,
    server_listings,
    vhost_listing,
)
from rabbitadmin.definitions import (
    add_each,
    binding_from_server,
    check_vhost,
    exchange_from_server,
    global_parameter_from_server,
    leave_out,
    limits_from_server,
    parameter_from_server,
    permission_from_server,
    policy_from_server,
    queue_from_server,
    topic_permission_from_server,
    user_from_server,
    vhost_from_server,
)
from rabbitadmin.engine.apply_lock import is_apply_lock
from rabbitadmin.errors import RabbitAdminError, ServerError, Unaddressable
from rabbitadmin.gc_pause import with_collector_paused
from rabbitadmin.kinds import OWN_KIND_COMPONENTS
from rabbitadmin.model import Key, OperatorPolicy, Topology, TopologyObject, UserLimit, VhostLimit, canonical_json
from rabbitadmin.threads import signal_free_pool

HTTP_INTERNAL_ERROR = 500
UNLISTABLE_BINDINGS = (
    " (the server cannot list this vhost's bindings; a known cause: a queue or a binding's destination whose "
    "name is a list or an object, which the server's own definitions import stores as given and no API path "
    "can name; only code run on the node can remove it)"
)
#: Threads of one read: the five global listings, the server facts and one vhost's three listings at once
#: (and its queue counts, ``depths``).
READ_THREADS = 9
DEPTH_THREADS = 1

_Listing = Future[dict[Key, TopologyObject]]  # one kind's objects of one vhost, by key


class _VhostReads(NamedTuple):
    """One vhost's listings, each under its kind's name (``Topology.objects``)."""

    exchange: _Listing
    queue: _Listing
    binding: _Listing


_Row = dict[str, Any]  # one row of a listing, as the JSON decoder gives it
#: A vhost's queues with their message counts, on the way (None: no such vhost; an error: not read).
Depths = Future[list[_Row] | None]


class StateRead:
    """One read of the server's state (``Backend.read_state``), its vhosts named while it runs.

    Made: the global listings start (and ``facts()`` alongside, when given: its errors are its caller's to
    raise later). ``add_vhost(name)``: that vhost's exchanges, queues and bindings start (a vhost that does not
    exist answers 404 and is left out). ``result(vhosts)``: waits, and builds the ``Topology`` of the global
    objects and of the vhosts in ``vhosts`` (None: every vhost) that exist, reading now those not named yet;
    what was read for a vhost outside ``vhosts`` is dropped. ``close()`` abandons what still runs (the
    requests end at their own timeout; nothing is written). One ``result`` per read.
    Raises, from ``result``: what the listings raised (``ConnectionFailed``, ``HttpError``, ...).
    """

    def __init__(
        self,
        client: HttpClient,
        facts: Callable[[], object] | None = None,
        *,
        depths: bool = False,
        on_depths: Callable[[dict[str, Depths]], None] | None = None,
    ) -> None:
        self._client = client
        # The early read listed the counts (a ``plan --prune`` command line): read them, so that they are taken.
        self._depths = on_depths is not None and (depths or early_read.sent_depths())
        self._on_depths = on_depths
        threads = READ_THREADS + (DEPTH_THREADS if self._depths else 0)
        self._pool = signal_free_pool(threads, thread_name_prefix="rabbitadmin-read")
        self._lock = threading.Lock()
        self._vhost_reads: dict[str, _VhostReads] = {}
        self._depth_reads: dict[str, Depths] = {}
        self._closed = False
        self._skipped: list[Unaddressable] = []  # appended to by the listings' threads (atomic under the GIL)
        submit, get = self._pool.submit, client.get
        # A plan asks for them next: two round trips less after the read.
        self._facts = submit(_quietly, facts) if facts is not None else None
        vhosts, users, permissions, topic_permissions, *_ = server_listings()  # as the early read sends them
        self._vhosts = submit(get, *vhosts)
        self._users = submit(get, *users)
        self._permissions = submit(get, *permissions)
        self._topic_permissions = submit(get, *topic_permissions)
        self._limits_and_policies = submit(self._read_limits_and_policies)

    def add_vhost(self, name: str) -> None:
        """Start reading ``name``'s exchanges, queues and bindings (once per name; nothing after ``close``)."""
        with self._lock:
            if not self._closed and name not in self._vhost_reads:
                self._vhost_reads[name] = self._submit_vhost_reads(name)
                if self._depths:  # after the state's listings: what the plan waits for first
                    self._depth_reads[name] = self._pool.submit(self._queue_depths, name)

    @with_collector_paused
    def result(self, vhosts: Collection[str] | None) -> Topology:
        """The state: global objects plus everything inside ``vhosts`` (None: every vhost); see the class."""
        try:
            topology = Topology()
            # An object no client can address (a name that is no string: ``definitions.Unaddressable``) is
            # left out with a warning; a vhost so named is not read at all (no path can name it).
            add_each(topology, _vhost_from_server, self._vhosts.result())
            add_each(topology, user_from_server, self._users.result())
            add_each(topology, permission_from_server, self._permissions.result())
            add_each(topology, topic_permission_from_server, self._topic_permissions.result())
            for obj in self._limits_and_policies.result():
                topology.add(obj)
            in_scope = [key[0] for key in topology.vhosts if vhosts is None or key[0] in vhosts]
            for name in in_scope:  # all of them at once: the pool runs them side by side
                self.add_vhost(name)
            for name in in_scope:
                for kind, listing in self._vhost_reads[name]._asdict().items():
                    # Keyed on the listing's thread: the last listing to arrive (the bindings, 10,000 at
                    # W(10000)) joins the state in one dict update, not one call per object.
                    topology.objects[kind].update(listing.result())
            wanted = set(in_scope)
            for skipped in self._skipped:  # what the listings' threads left out, of the vhosts in the state
                if skipped.vhost is None or skipped.vhost in wanted:
                    leave_out(topology, skipped)
            topology.left_out.sort()  # the threads' order is no order: one plan, one JSON
            if self._facts is not None:
                # Read by the time the state is: else the plan asks for them again, and the early read's
                # answers to them would be dropped below before they were taken.
                self._facts.result()
            if self._on_depths is not None and self._depths:
                # Not waited for: the vhosts in the state, each with its counts on the way (those of every vhost
                # read, so that a vhost's counts are always its latest read's).
                self._on_depths({name: self._depth_reads[name] for name in in_scope})
            return topology
        finally:
            self.close()
            early_read.forget()  # the first read's to take: a later one (an apply) reads for itself

    def close(self) -> None:
        """Abandon what still runs: listings not started are cancelled, running ones are not waited for."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit_vhost_reads(self, vhost: str) -> _VhostReads:
        """Submit the vhost's listings, the longest (bindings) first; return (exchanges, queues, bindings), each
        a future of model objects: a listing is turned into them on its thread as soon as it arrives, while the
        longer ones are still on the way."""
        submit = self._pool.submit
        bindings = submit(self._bindings, vhost)
        queues = submit(self._queues, vhost)
        exchanges = submit(self._exchanges, vhost)
        return _VhostReads(exchange=exchanges, queue=queues, binding=bindings)

    @with_collector_paused
    def _exchanges(self, vhost: str) -> dict[Key, TopologyObject]:
        rows = self._listed("exchange", vhost) or ()
        return _keyed(exchange_from_server, sorted(rows, key=_name), vhost, self._skipped)

    @with_collector_paused
    def _queues(self, vhost: str) -> dict[Key, TopologyObject]:
        rows = self._listed("queue", vhost) or ()
        listed = [entry for entry in rows if not is_apply_lock(entry["name"])]  # the lock is no part of a topology
        return _keyed(queue_from_server, sorted(listed, key=_name), vhost, self._skipped)

    @with_collector_paused
    def _bindings(self, vhost: str) -> dict[Key, TopologyObject]:
        try:
            rows = self._listed("binding", vhost) or ()
        except ServerError as exc:
            if exc.status != HTTP_INTERNAL_ERROR:
                raise
            # Measured on 3.10.8 and 4.0.5: the listing fails whole when a queue or a binding's destination
            # there is named by a list or an object (rabbit_mgmt_format cannot print it). Said, with the cure.
            raise ServerError(exc.method, exc.path, exc.status, f"{exc.reason}{UNLISTABLE_BINDINGS}") from None
        # Every queue's implicit binding to the default exchange (half the rows) is not an object anyone
        # declares or deletes; a definitions export leaves them out as well.
        declared = [entry for entry in rows if entry["source"] != ""]
        return _keyed(binding_from_server, sorted(declared, key=_binding_order), vhost, self._skipped)

    def _listed(self, kind: str, vhost: str) -> list[_Row] | None:
        """The vhost's listing of ``kind`` (None: no such vhost); the early read's answer when it sent this very
        request with these settings to this node (``HttpClient.get_or_none``)."""
        rows: list[_Row] | None = self._client.get_or_none(*vhost_listing(kind, vhost))
        return rows

    def _queue_depths(self, vhost: str) -> list[_Row] | None:
        """The vhost's queues with their message counts (None: no such vhost); the early read's answer when it
        sent them. Raises what the listing raises: ``message_counts`` then asks again itself."""
        rows: list[_Row] | None = self._client.get_or_none(*queue_depth_listing(vhost))
        return rows

    def _read_limits_and_policies(self) -> list[TopologyObject]:
        """Policies, operator policies, vhost limits, user limits, runtime and global parameters of every vhost
        and user (six listings); those no client can address are left out with a warning."""
        get = self._client.get
        objects: list[TopologyObject] = []
        parsers: dict[str, Callable[[_Row], Iterable[TopologyObject]]] = {
            "policies": lambda entry: (policy_from_server(entry),),
            "operator-policies": lambda entry: (policy_from_server(entry, OperatorPolicy),),
            "vhost-limits": lambda entry: limits_from_server(VhostLimit, entry["vhost"], entry.get("value")),
            "user-limits": lambda entry: limits_from_server(UserLimit, entry["user"], entry.get("value")),
            "parameters": _parameter,
            "global-parameters": lambda entry: (global_parameter_from_server(entry),),
        }
        # The very GETs the early read sends (paths.server_listings), so that their answers are taken.
        listings = server_listings()[-len(LIMITS_AND_POLICIES) :]
        for segment, listing in zip(LIMITS_AND_POLICIES, listings, strict=True):
            parse = parsers[segment]
            for entry in get(*listing) or ():
                try:
                    objects.extend(parse(entry))
                except Unaddressable as skipped:
                    self._skipped.append(skipped)
        return objects


def _vhost_from_server(row: _Row) -> TopologyObject:
    check_vhost(row)  # ``vhost_from_server`` also serves ``vhosts list``, which shows every vhost
    return vhost_from_server(row)


def _parameter(row: _Row) -> Iterable[TopologyObject]:
    """A runtime parameter's objects; none for the components with a kind of their own (read apart)."""
    if row.get("component") in OWN_KIND_COMPONENTS:
        return ()
    return parameter_from_server(row) or ()


def _name(row: _Row) -> str:
    return str(row["name"])


def _binding_order(row: _Row) -> tuple[str, ...]:
    """The management API's own order (source, destination, routing key), then the rest of the identity."""
    arguments = row.get("arguments")
    return (
        str(row["source"]),
        str(row["destination"]),
        str(row.get("routing_key", "")),
        str(row["destination_type"]),
        canonical_json(arguments) if arguments else "",
    )


def _keyed(
    parse: Callable[[_Row, str], TopologyObject], rows: Iterable[_Row], vhost: str, skipped: list[Unaddressable]
) -> dict[Key, TopologyObject]:
    """The vhost's rows as objects by key; a row no client can address is left out, onto ``skipped`` (the
    check is the one ``parse`` makes on the row it builds anyway: no second pass over 20,000 rows)."""
    keyed: dict[Key, TopologyObject] = {}
    for row in rows:
        try:
            obj = parse(row, vhost)
        except Unaddressable as unaddressable:
            skipped.append(unaddressable)
            continue
        keyed[obj.key] = obj
    return keyed


def _quietly(facts: Callable[[], object]) -> None:
    """``facts()`` read alongside; a failure is left for the caller's own call to raise."""
    with contextlib.suppress(RabbitAdminError):
        facts()
