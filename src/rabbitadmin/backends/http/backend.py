"""The management HTTP API backend.

Reads: column-limited listings fetched in parallel (``state_read``). Two things only some plans need are left
out of those listings and fetched in bulk when needed: message counts (for queues a plan would destroy:
``message_counts``) and bindings' ``properties_key`` (the server's handle, needed to delete a binding).

Creates: small batches go object by object in parallel (precise progress and error reporting); large
batches go through the server's own definitions import, which creates objects server-side without a round
trip each. The import only adds and overwrites, so it is used only for objects the plan found missing.
An import request waits ``--timeout`` plus an allowance per object it carries (``import_wait``): the
server answers only when all of it is done, which for W(10000) took over a minute on a busy cluster.

Lost answers: a write whose answer was lost (``AnswerLost``: reset, cut, timed out, 502/503/504) is never
sent again blindly. The object is read back and the write counts as done when the server shows it done
(present and matching for a create or update, gone for a delete); otherwise it fails saying so. A failed
import batch (refused, or its answer lost) is read back the same way: the objects the server shows as asked
are reported done (all of them: the batch is done, whatever the failure), the rest (missing, or there with
other properties) fails as one batch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import CancelledError
from dataclasses import replace
from typing import Any

from rabbitadmin.backends.amqp_eligibility import (
    AMQP_THRESHOLD,
    FULL_ACCESS,
    CreateWith,
    Declarable,
    Split,
    split_batch,
)
from rabbitadmin.backends.base import QueueDepth
from rabbitadmin.backends.declares import settle_declares
from rabbitadmin.backends.http import quirks
from rabbitadmin.backends.http.amqp_declare import declare_pipelined
from rabbitadmin.backends.http.amqp_probe import connect_failures, connection_parameters
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.import_watch import ImportProgress, watch_import
from rabbitadmin.backends.http.paths import (
    BINDING_COLUMNS,
    DEPRECATED_FEATURES_READ,
    VERSION_READ,
    api_path,
    queue_depth_listing,
)
from rabbitadmin.backends.http.settle import settled
from rabbitadmin.backends.http.state_read import Depths, StateRead
from rabbitadmin.backends.import_wait import import_wait
from rabbitadmin.backends.read_back import (
    matches,
    not_shown,
    read_back_words,
    read_batch,
    split_shown,
)
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import (
    binding_from_server,
    chunk_definitions,
    to_definition,
    to_definitions,
    topic_permission_from_server,
)
from rabbitadmin.engine.apply_lock import LOCK_QUEUE, Holder
from rabbitadmin.engine.plan import describe
from rabbitadmin.errors import (
    AnswerLost,
    BatchFailed,
    MessagesArrived,
    RabbitAdminError,
    ServerError,
    UnaddressableName,
)
from rabbitadmin.kinds import api_segments, plain_to_server
from rabbitadmin.model import (
    Binding,
    Exchange,
    GlobalParameter,
    Key,
    Parameter,
    Permission,
    Policy,
    Queue,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    UserLimit,
    Vhost,
    VhostLimit,
)
from rabbitadmin.normalize import as_integer
from rabbitadmin.threads import worker_pool

# Consumers by queue (statistics), for the queues a plan destroys that are too many to probe live.
CONSUMER_PARAMS = {"columns": "queue.name"}
#: At most this many queues a plan destroys are also probed over AMQP (one channel each, about 4 ms).
LIVE_PROBE_LIMIT = 100
# The server refuses bodies over max_http_body_size (10,000,000 bytes by default); stay well below it.
IMPORT_CHUNK_BYTES = 4_000_000
#: Seconds between two reads of the nodes' plugins while a node just started does not list them yet.
_PLUGIN_POLL = 0.5
#: Seconds the AMQP port has to accept a connection before the import is used for the whole apply.
AMQP_PROBE_TIMEOUT = 3.0


class HttpBackend:
    """``Backend`` over the management HTTP API; see the module docstring."""

    name = "http"

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        parallelism: int = 16,
        bulk_threshold: int = 200,
        client: HttpClient | None = None,
        create_with: CreateWith = CreateWith.auto,
        amqp_threshold: int = AMQP_THRESHOLD,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.parallelism = parallelism
        #: Create batches at least this large use the definitions import.
        self.bulk_threshold = bulk_threshold
        #: ``apply --create-with``, and (``auto``) the fewest eligible objects sent as AMQP declares.
        self.create_with = create_with
        self.amqp_threshold = amqp_threshold
        #: Told once why AMQP declares are not used at all (port unreachable, TLS); never a secret.
        self.on_notice = on_notice
        self._amqp_off: str | None = None
        #: Objects created by AMQP declares (an ``-Ok`` received) over this backend's life: what the route was.
        self.declared_over_amqp = 0
        self.client = client or HttpClient(settings, pool_size=parallelism)
        # Bindings' server handles by vhost, read on the first binding delete there (see _binding_handle).
        self._binding_handles: dict[str, dict[Key, str]] = {}
        self._handles_lock = threading.Lock()
        self._server_facts: tuple[str | None, dict[str, str] | None] | None = None
        self._stats_disabled: bool | None = None
        # The server changes one limit by reading the vhost's limits and writing them all back
        # (rabbit_vhost_limit:update_limit/4): two limit PUTs on one vhost at once lose one (measured, 3.10.8).
        self._serial_locks: dict[tuple[str, ...], threading.RLock] = {}
        #: ``(seen, size)`` while an import request runs: how many of its objects the server shows so far
        #: (``import_watch``; a progress display only, set by ``EngineSession.apply_plan``).
        self.on_import_progress: ImportProgress | None = None
        #: A plan that counts messages is coming (``plan --prune``): each state read also lists the vhosts'
        #: queues with their counts, for ``message_counts`` to take (``state_read``). The engine sets it; a
        #: ``plan --prune`` command line also tells the first read through the early read.
        self.read_depths = False
        # Each vhost's queue counts listed by its latest state read, until message_counts takes them.
        self._read_counts: dict[str, Depths] = {}
        self._counts_lock = threading.Lock()

    def connected_user(self) -> str | None:
        return quirks.connected_user(self.settings)

    def node_settings(self) -> ConnectionSettings:
        """The settings of the node in use, for AMQP (the apply lock, live queue depths).

        With one URL: ``settings``. With a cluster's URLs: the URL of the node the client talks to now and
        that node's own AMQP port, from ``GET /api/overview`` (``node``: the node that answers; its
        ``listeners`` entry of protocol ``amqp``), as nodes on one host listen on ports of their own; the
        configured AMQP port when the overview names none.
        """
        if len(self.settings.urls) == 1:
            return self.settings
        overview = self.client.get(api_path("overview"), {"columns": "node,listeners"}) or {}
        node = overview.get("node")
        ports = [
            listener.get("port")
            for listener in overview.get("listeners") or ()
            if listener.get("node") == node and listener.get("protocol") == "amqp"
        ]
        port = as_integer(ports[0]) if ports else None
        return replace(
            self.settings,
            url=self.client.current_url,
            other_urls=(),
            amqp_port=port if isinstance(port, int) else self.settings.amqp_port,
        )

    def cluster_size(self) -> int | None:
        """How many nodes the cluster has (``GET /api/nodes``: every member, running or not)."""
        nodes = self.client.get(api_path("nodes"), {"columns": "name"})
        return len(nodes) if isinstance(nodes, list) else None

    def server_facts(self) -> tuple[str | None, dict[str, str] | None]:
        if self._server_facts is None:
            overview = self.client.get(*VERSION_READ) or {}  # without the statistics (see VERSION_READ)
            # 3.x has no deprecated-features API (404): the phases then come from server_versions' table.
            features = self.client.get_or_none(*DEPRECATED_FEATURES_READ)
            phases = None if features is None else {str(f["name"]): str(f["deprecation_phase"]) for f in features}
            self._server_facts = (overview.get("rabbitmq_version"), phases)
        return self._server_facts

    def close(self) -> None:
        self.client.close()

    def deprecated_features_used(self) -> list[dict[str, Any]] | None:
        """``GET /api/deprecated-features/used`` (RabbitMQ 4.0 and later); None where the API is missing."""
        rows: list[dict[str, Any]] | None = self.client.get_or_none(api_path("deprecated-features", "used"))
        return rows

    # -- reading -----------------------------------------------------------------------------------------
    def begin_read(self) -> StateRead:
        """A read of the state whose vhosts are named while it runs (``state_read``; ``engine.prefetch``)."""
        facts = None if self._server_facts is not None else self.server_facts
        return StateRead(self.client, facts, depths=self.read_depths, on_depths=self._keep_counts)

    def _keep_counts(self, listings: dict[str, Depths]) -> None:
        """Keep the counts a state read listed: a vhost's latest read replaces what an earlier one listed."""
        with self._counts_lock:
            self._read_counts.update(listings)

    def _queue_counts(self, vhost: str, listed: Depths | None) -> list[dict[str, Any]] | None:
        """The vhost's queues with their message counts: ``listed`` (what a state read listed) when it was read,
        else asked now (``queue_depth_listing``; None: no such vhost)."""
        if listed is not None:
            with contextlib.suppress(CancelledError, RabbitAdminError):  # not read: asked now, its error raised
                return listed.result()
        rows: list[dict[str, Any]] | None = self.client.get_or_none(*queue_depth_listing(vhost))
        return rows

    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        read = self.begin_read()
        for name in sorted(vhosts or ()):  # a known scope is read without waiting for the vhost list
            read.add_vhost(name)
        return read.result(vhosts)

    def exchange_types(self) -> set[str] | None:
        """The exchange types the server has (``GET /api/overview``'s ``exchange_types``: its own four and those
        of its plugins), or None when it does not say."""
        params = {"columns": "exchange_types", "disable_stats": "true"}  # as server_facts: no statistics summed
        types = (self.client.get(api_path("overview"), params) or {}).get("exchange_types")
        if not isinstance(types, list):
            return None
        return {str(t["name"]) for t in types if isinstance(t, dict) and "name" in t}

    def enabled_plugins(self, wait: float = 0.0) -> set[str] | None:
        """The plugins of every running node (what registers a component), or None when unknown.

        ``GET /api/nodes`` gives each node's ``applications`` (running) and ``enabled_plugins`` (the node's
        plugins file) from the management statistics, which lag a node's boot: measured on 3.10.8 and 4.0.5, a
        node just started lists neither field for about 5 s (the management agent's first ``node_stats``,
        ``rabbit_mgmt_external_stats``, then every ``collect_statistics_interval``), then the plugins file's
        ``enabled_plugins`` and 33 (3.10.8) or 45 (4.0.5) applications without shovel or federation although both
        are running, about 5 s later 42 or 50 with them. So a node's plugins are the union of both fields, and a
        node that has neither yet makes the answer unknown rather than a false "not enabled". ``wait``: seconds
        to keep asking (every half second) while it is unknown; not at all on a server that never lists them
        (``statistics_disabled``).
        """
        deadline = time.monotonic() + wait
        while True:
            plugins = self._listed_plugins()
            if plugins is not None or time.monotonic() >= deadline or self.statistics_disabled():
                return plugins
            time.sleep(min(_PLUGIN_POLL, max(0.0, deadline - time.monotonic())))

    def _listed_plugins(self) -> set[str] | None:
        columns = {"columns": "name,running,applications,enabled_plugins"}
        per_node: list[set[str]] = []
        for node in self.client.get(api_path("nodes"), columns) or []:
            if not node.get("running", True):
                continue
            names = {str(app.get("name")) for app in node.get("applications") or ()}
            names |= {str(name) for name in node.get("enabled_plugins") or ()}
            if not names:
                return None
            per_node.append(names)
        return set.intersection(*per_node) if per_node else None

    def statistics_disabled(self) -> bool:
        """Whether the server keeps no management statistics (``management_agent.disable_metrics_collector`` or
        ``management.disable_stats``): its nodes then never list their applications or plugins. ``GET
        /api/overview``'s ``disable_stats`` (``rabbit_mgmt_util:disable_stats/1``), asked without the query
        parameter that would set it; read once."""
        if self._stats_disabled is None:
            overview = self.client.get(api_path("overview"), {"columns": "disable_stats"}) or {}
            self._stats_disabled = overview.get("disable_stats") is True
        return self._stats_disabled

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
        """Message and consumer counts of ``queues``: one bulk read per vhost, live probes for a few.

        Each vhost's queue listing gives every queue's messages (ready and unacknowledged: each queue's own
        count, ``QUEUE_DEPTH_PARAMS``) and its consumer listing the consumers (the management API's statistics,
        which may lag a few seconds), in two requests whatever the number of queues. A vhost whose queue
        listing a state read already sent (``read_depths``: a ``plan --prune``) takes that one, listed while the
        plan was computed, once; the consumers are always asked now. Up to ``LIVE_PROBE_LIMIT`` queues are
        also asked over AMQP (a passive declare: current ready messages and consumers), taking the larger
        message count; a larger set (``plan --prune`` of thousands of queues) keeps the statistics: one
        channel per queue costs about 4 ms, 12 s at 3,000 queues. Safety does not rest on these counts:
        apply deletes a classic queue only if it is empty when the server gets the request (and, where
        the plan counted no consumer, only if it still has none: if-empty counts ready messages only), and a queue
        that cannot be deleted that way (quorum, stream) needs ``--allow-data-loss`` whatever its count
        (docs/architecture.md, "Message counts").
        """
        from rabbitadmin.backends.http.amqp_probe import live_depths

        vhosts = sorted({queue.vhost for queue in queues})
        with self._counts_lock:  # taken once: a later call asks the server itself
            read_before = {v: self._read_counts.pop(v) for v in vhosts if v in self._read_counts}
        with worker_pool(max(1, min(8, 2 * len(vhosts)))) as pool:
            listings = {v: pool.submit(self._queue_counts, v, read_before.get(v)) for v in vhosts}
            consumers = {
                v: pool.submit(self.client.get_or_none, api_path("consumers", v), CONSUMER_PARAMS) for v in vhosts
            }
            totals: dict[Key, int] = {}
            held: dict[Key, int] = {}
            for vhost in vhosts:
                for entry in listings[vhost].result() or ():
                    count = as_integer(entry.get("messages"))
                    if count is not None:
                        totals[(vhost, entry["name"])] = count
                for entry in consumers[vhost].result() or ():
                    key = (vhost, str((entry.get("queue") or {}).get("name")))
                    held[key] = held.get(key, 0) + 1
        live = live_depths(self.node_settings(), queues) if len(queues) <= LIVE_PROBE_LIMIT else {}
        result: dict[Key, QueueDepth] = {}
        for queue in queues:
            probe = live.get(queue.key)
            listed = totals.get(queue.key)
            # A probe's 0 alone proves nothing: a quorum queue whose leader is down answers a passive
            # declare with 0 messages (rabbit_quorum_queue:stat/2 on a timeout or error), and the listing
            # then shows no count. Without a listed count only a probe that found messages is kept.
            probed = probe.messages if probe is not None and (listed is not None or probe.messages) else None
            known = [count for count in (listed, probed) if count is not None]
            if probe is not None:
                users: int | None = probe.consumers
            else:  # not probed: the statistics (a queue the listing does not show has an unknown count)
                users = held.get(queue.key, 0) if queue.key in totals else None
            result[queue.key] = QueueDepth(max(known) if known else None, users)
        return result

    # -- writing -----------------------------------------------------------------------------------------
    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        """Names the API cannot put in a path (``.`` and ``..``): refused at plan time, not 405 at apply."""
        try:
            self._path(obj, action)
        except UnaddressableName as exc:
            return str(exc)
        return None

    def _path(self, obj: TopologyObject, action: str) -> str | None:
        """The path ``action`` on ``obj`` sends to (None: a binding delete whose handle is read later).

        Raises ``UnaddressableName`` for a ``.`` or ``..`` name, routing key or binding handle.
        """
        segments = api_segments(obj)
        if isinstance(obj, Binding) and action == "delete":
            # The handle is the routing key itself when there are no arguments (RabbitMQ's properties_key).
            handle = obj.properties_key or (obj.routing_key or "~" if not obj.arguments else None)
            if handle is None:
                return None
            segments.append(handle)
        return api_path(*segments)

    def create(
        self,
        objects: Sequence[TopologyObject],
        progress: Callable[[Sequence[TopologyObject]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        report = progress or (lambda _batch: None)
        # The import cannot set a vhost's default queue type on 3.10 (vhosts go first, one by one), and its
        # vhost-limits parameter would replace every limit the vhost has (limits go last, one by one).
        vhosts: list[TopologyObject] = [obj for obj in objects if isinstance(obj, Vhost)]
        # Parameters after everything else, one by one: the server imports parameters before queues, so a
        # shovel in the same import would declare its missing queues as classic ones first (measured, 4.0.5).
        limits: list[TopologyObject] = [obj for obj in objects if isinstance(obj, VhostLimit | UserLimit | Parameter)]
        rest: list[TopologyObject] = [
            obj for obj in objects if not isinstance(obj, Vhost | VhostLimit | UserLimit | Parameter)
        ]
        if len(rest) < self.bulk_threshold:
            self._create_each(list(objects), report, stop)
            return
        if not self._create_each(vhosts, report, stop):
            return
        # Decided before any of them is written (after the batch's vhosts, whose creator the management API
        # gives full permissions): which exchanges, queues and bindings go as AMQP declares.
        split = self._split_for_amqp(rest)
        if split.amqp:
            left = self._declare(split.amqp, report, stop)
            if left is None:
                return
            rest = [*left, *split.rest]
        for batch in chunk_definitions(rest, IMPORT_CHUNK_BYTES):
            if stop is not None and stop.is_set():
                return
            moves = self.client.failovers
            # The answer comes when the whole batch is in: the wait grows with it (import_wait).
            wait = import_wait(self.settings.timeout, batch)
            try:
                with watch_import(self.client, batch, self.on_import_progress):
                    self.client.post(api_path("definitions"), to_definitions(batch), wait=wait)
            except RabbitAdminError as exc:
                self._settle_batch(batch, exc, report, moved=self._moved_since(moves))
            report(batch)
        self._create_each(limits, report, stop)

    def _split_for_amqp(self, objects: list[TopologyObject]) -> Split:
        """``amqp_eligibility.split_batch`` with the facts read from the server: the connecting user's
        permissions on each vhost (``GET /api/permissions/{vhost}/{user}``: 404 for a vhost that does not
        exist) and, when something is eligible, whether the AMQP port answers (once per backend)."""
        if self.create_with is CreateWith.import_:
            return Split([], objects)
        if self._amqp_off is None and self.client.current_url.lower().startswith("https:"):
            self._amqp_off = "the management URL uses TLS and AMQP declares are sent without it"
            self._notice()
        vhosts = {obj.vhost for obj in objects if isinstance(obj, Exchange | Queue | Binding)}
        full = {vhost for vhost in vhosts if self._amqp_off is None and self._full_access(vhost)}

        def split(reachable: bool) -> Split:
            return split_batch(
                objects, mode=self.create_with, full_access=full, threshold=self.amqp_threshold, reachable=reachable
            )

        chosen = split(self._amqp_off is None)
        if chosen.amqp and not self._amqp_reachable(chosen.amqp[0].vhost):
            chosen = split(False)
        return chosen

    def _full_access(self, vhost: str) -> bool:
        """Whether the connecting user's configure, write and read on ``vhost`` are all ``.*`` (no guessing
        at other regexes: anything else means the import)."""
        row = self.client.get_or_none(api_path("permissions", vhost, self.settings.user))
        return isinstance(row, dict) and all(row.get(what) == FULL_ACCESS for what in ("configure", "write", "read"))

    def _amqp_reachable(self, vhost: str) -> bool:
        """One AMQP connection within ``AMQP_PROBE_TIMEOUT`` s; on failure AMQP is off for this backend."""
        import pika
        import pika.exceptions

        try:
            connection = pika.BlockingConnection(
                connection_parameters(self.node_settings(), vhost, timeout=AMQP_PROBE_TIMEOUT)
            )
        except connect_failures() as exc:
            # pika names the address and the server's reason, never the credentials.
            self._amqp_off = f"the AMQP port did not accept a connection ({type(exc).__name__})"
            self._notice()
            return False
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection.close()
        return True

    def _notice(self) -> None:
        if self.on_notice is not None and self._amqp_off is not None:
            self.on_notice(f"creating by definitions import, not AMQP declares: {self._amqp_off}")

    def _declare(
        self,
        objects: list[Declarable],
        report: Callable[[Sequence[TopologyObject]], None],
        stop: threading.Event | None,
    ) -> list[TopologyObject] | None:
        """Create ``objects`` by AMQP declares, one connection per vhost (``amqp_declare``).

        Returns the objects left for the import (all of them when no connection opened, which sends
        nothing), or None when ``stop`` cut it short. A declare refused, unanswered or cut off part-way is
        settled as a failed import is (``_settle_declares``): raises ``BatchFailed``.
        """
        by_vhost: dict[str, list[Declarable]] = {}
        for obj in objects:
            by_vhost.setdefault(obj.vhost, []).append(obj)
        node = self.node_settings()

        def declared(obj: Declarable) -> None:
            self.declared_over_amqp += 1
            report([obj])

        for index, (vhost, members) in enumerate(by_vhost.items()):
            outcome = declare_pipelined(
                connection_parameters(node, vhost, timeout=self.settings.timeout),
                members,
                timeout=self.settings.timeout,
                stop=stop,
                on_declared=declared,
            )
            if not outcome.connected:
                self._amqp_off = outcome.error or "no AMQP connection"
                self._notice()
                return [obj for members_left in list(by_vhost.values())[index:] for obj in members_left]
            if outcome.error is not None:
                settle_declares(members, outcome, self.read_state, report)
            if outcome.stopped:
                return None
        return []

    def _create_each(
        self,
        objects: list[TopologyObject],
        report: Callable[[Sequence[TopologyObject]], None],
        stop: threading.Event | None,
    ) -> bool:
        """Create ``objects`` one request each; False if ``stop`` cut it short."""
        for index, obj in enumerate(objects):
            if stop is not None and stop.is_set():
                return False
            try:
                self.create_one(obj)
            except RabbitAdminError as exc:
                raise BatchFailed(f"creating {_subject(obj)} failed: {exc}", [obj], exc.exit_code) from None
            report(objects[index : index + 1])
        return True

    def _moved_since(self, moves: int) -> Callable[[], bool]:
        """Whether the client failed over to another node since it had made ``moves`` moves."""
        return lambda: self.client.failovers != moves

    def _settle_batch(
        self,
        batch: list[TopologyObject],
        exc: RabbitAdminError,
        report: Callable[[Sequence[TopologyObject]], None],
        moved: Callable[[], bool] | None = None,
    ) -> None:
        """A failed import of ``batch`` (refused, or its answer lost): read it back, as
        ``CtlBackend._settle_import`` does. Returns if the server shows every object as asked
        (``read_back.matches``), whatever the failure; else reports the objects it shows as asked to
        ``report`` and raises ``BatchFailed`` for the others, in batch order: missing, or there with other
        properties (a queue someone declared meanwhile with other arguments is not this batch's). When the
        read fails too, ``BatchFailed`` names the whole batch, "outcome unknown".

        ``moved()`` true after a lost answer (the client failed over to another node since the import was
        sent, so the node that lost its answer is gone): the objects the read-back shows absent are imported
        once more through the node in use. Answered, they are done (no second read); failed too, the batch is
        read back and settled once more, without a third try. Objects there with other properties are not sent
        again: the import leaves an existing queue as it is (measured, 3.10.8 and 4.0.5) and would overwrite
        someone else's user or policy; they end failed.
        """
        what = f"the definitions import of a batch of {len(batch)} object(s) failed: {exc}"
        try:
            actual = read_batch(batch, self.read_state)
        except RabbitAdminError as read_exc:
            raise BatchFailed(
                f"{what}; reading them back failed too ({read_exc}): outcome unknown", batch, exc.exit_code
            ) from None
        there, missing = split_shown(batch, actual)
        if not missing:
            return  # carried out (only the answer went wrong), or refused for nothing this batch lacks
        lost = isinstance(exc, AnswerLost)
        if lost and moved is not None and moved():
            absent = not_shown(missing, actual)
            if absent:  # else all of the rest is there with other properties: nothing to send
                try:
                    self.client.post(
                        api_path("definitions"), to_definitions(absent), wait=import_wait(self.settings.timeout, absent)
                    )
                except RabbitAdminError as again:
                    self._settle_batch(batch, again, report)  # read back once more; no ``moved``: no third try
                    return
                # The node in use imported them: done, with what the first read showed; what is left is there
                # with other properties, which an import leaves as it is.
                done = {id(obj) for obj in (*there, *absent)}  # by identity: a batch may hold 20,000 objects
                there = [obj for obj in batch if id(obj) in done]
                missing = [obj for obj in missing if id(obj) not in done]
                if not missing:
                    return  # the whole batch is done (the caller reports it)
                lost = False
        report(there)
        # After a lost answer (a timeout, a reset) the node may still be importing what it was sent.
        raise BatchFailed(
            f"{what}; {read_back_words(there, missing, actual, may_follow=lost)}", missing, exc.exit_code
        ) from None

    def create_one(self, obj: TopologyObject) -> None:
        """Create one object with its own request."""
        if isinstance(obj, Binding):
            letter = "q" if obj.destination_type == "queue" else "e"
            path = api_path("bindings", obj.vhost, "e", obj.source, letter, obj.destination)
            body = {"routing_key": obj.routing_key, "arguments": obj.arguments}
            self._settled(obj, lambda: self.client.post(path, body))
        elif isinstance(obj, Exchange | Queue):
            body = to_definition(obj)
            for field in ("name", "vhost"):
                body.pop(field)
            self._settled(obj, lambda: self.client.put(api_path(f"{obj.kind}s", obj.vhost, obj.name), body))
        else:
            self.update(obj)

    def update(self, obj: TopologyObject) -> None:
        path, body = _update_request(obj)
        with self._serial_lock(obj):
            self._settled(obj, lambda: self.client.put(path, body))

    def _serial_lock(
        self, obj: TopologyObject, *, deleting: bool = False
    ) -> threading.RLock | contextlib.nullcontext[None]:
        """The lock for writes the server cannot take two at a time; other objects need none.

        - Limits of one vhost or user, and one user's topic permissions in a vhost: the server rewrites them
          all on each write (a DELETE clears them all, the others are put back).
        - Exchange deletes in one vhost: two at once whose exchanges an exchange-to-exchange binding links
          now and then fail on the server (HTTP 400, function_clause in rabbit_exchange:serialise_events
          (undefined) from rabbit_binding:process_deletions: the other end went mid-delete; rabbitmq-server
          #11951, seen on 4.0.5 by a --prune that replaced an exchange and pruned two bound to it).
        """
        if isinstance(obj, TopicPermission):
            key: tuple[str, ...] = (obj.kind, obj.vhost, obj.user)
        elif isinstance(obj, VhostLimit | UserLimit):
            key = (obj.kind, obj.key[0])
        elif isinstance(obj, Exchange) and deleting:
            key = (obj.kind, obj.vhost)
        else:
            return contextlib.nullcontext()
        with self._handles_lock:
            return self._serial_locks.setdefault(key, threading.RLock())

    def delete(self, obj: TopologyObject, *, if_empty: bool = False, if_unused: bool = False) -> None:
        client = self.client
        if isinstance(obj, TopicPermission):
            self._delete_topic_permission(obj)
            return
        if isinstance(obj, Queue):
            queue = obj
            unused = if_unused and queue.type == "classic"  # quorum queues refuse the flag itself

            def send() -> None:
                self._delete_queue(queue.vhost, queue.name, if_empty=if_empty, if_unused=unused)

            self._settled(obj, send, gone=True)
            return
        if isinstance(obj, Vhost) and if_empty:
            self._empty_vhost(obj.name, if_unused=if_unused)  # each queue deleted on condition that it still is
        if isinstance(obj, Binding):
            handle = obj.properties_key or self._binding_handle(obj)
            if handle is None:
                return  # already gone
            letter = "q" if obj.destination_type == "queue" else "e"
            path = api_path("bindings", obj.vhost, "e", obj.source, letter, obj.destination, handle)
        elif isinstance(obj, Vhost | User):
            path = api_path(f"{obj.kind}s", obj.name)
        elif isinstance(obj, Permission):
            path = api_path("permissions", obj.vhost, obj.user)
        else:
            path = api_path(*api_segments(obj))
        with self._serial_lock(obj, deleting=True):
            self._settled(obj, lambda: client.delete(path), gone=True)

    # -- lost answers -------------------------------------------------------------------------------------
    def _settled(self, obj: TopologyObject, send: Callable[[], object], *, gone: bool = False) -> None:
        """Send one write; if its answer is lost, read ``obj`` back to say whether it was done.

        ``gone``: the write is a delete (done when the object is absent); otherwise done when the server
        has the object with every field ``obj`` manages. Raises ``AnswerLost`` saying "not done" or
        "outcome unknown" otherwise.
        """

        def read_back() -> str | None:
            actual = self.read_state(_scope_of(obj)).of(obj.kind).get(obj.key)
            if (actual is None) if gone else (actual is not None and matches(obj, actual)):
                return None  # the server carried it out; only the answer was lost
            state = "still there" if gone else ("not there" if actual is None else "there, but not as sent")
            return f"{_subject(obj)} is {state}"

        # A write lost with the node that took it, read back "not done" through another node: send it there.
        settled(send, read_back, on_done=None, resend_when=self._moved_since(self.client.failovers))

    def lock_holder(self, vhost: str) -> Holder | None:
        """Who holds the apply lock of ``vhost``, read from the lock queue's arguments (None: nobody, unknown)."""
        try:
            entry = self.client.get_or_none(api_path("queues", vhost, LOCK_QUEUE))
        except RabbitAdminError:
            return None
        return Holder.from_arguments(entry.get("arguments")) if isinstance(entry, dict) else None

    def _delete_queue(self, vhost: str, name: str, *, if_empty: bool, if_unused: bool = False) -> None:
        """Delete a queue; with ``if_empty`` the server refuses when it holds ready messages (HTTP 400, "queue
        ... not empty"), with ``if_unused`` when it has a consumer (HTTP 400, "queue ... in use"; 3.10.8 and
        4.0.5): both raise ``MessagesArrived``."""
        if not if_empty and not if_unused:
            self.client.delete(api_path("queues", vhost, name))
            return
        conditions = {"if-empty": "true"} if if_empty else {}
        if if_unused:
            conditions["if-unused"] = "true"
        try:
            self.client.delete(api_path("queues", vhost, name), conditions)
        except ServerError as exc:
            refusals = quirks.QUEUE_DELETE_REFUSALS.items()
            cause = next((c for c, words in refusals if exc.status < 500 and words in exc.reason), None)
            if cause is None and exc.status >= 500:
                # 4.0.5 answers 500 with no reason when the refusal names a non-ASCII vhost (rabbitmq-server
                # #12888), "in use" as well as "not empty": what the server did is read back, not guessed.
                if self.client.get_or_none(api_path("queues", vhost, name), {"columns": "name"}) is None:
                    return  # deleted after all
                cause = self._refusal_cause(vhost, name) if if_unused else "not_empty"
            if cause is not None:
                raise MessagesArrived.for_queue(vhost, name, cause) from None
            raise

    def _refusal_cause(self, vhost: str, name: str) -> str:
        """Why a kept queue was refused, when the answer did not say: asked live over AMQP (a passive
        declare: consumers, then ready messages), "unknown" if it cannot be asked or shows neither now."""
        from rabbitadmin.backends.http.amqp_probe import live_depths

        depth = live_depths(self.node_settings(), [Queue(vhost, name)]).get((vhost, name))
        if depth is not None and depth.consumers:
            return "in_use"
        if depth is not None and depth.messages:
            return "not_empty"
        return "unknown"

    def _empty_vhost(self, vhost: str, *, if_unused: bool = False) -> None:
        """Delete every queue of ``vhost`` on condition that it is empty (and, with ``if_unused``, that a
        classic one has no consumer), before the vhost itself goes.

        A vhost delete has no condition of its own: the queues counted empty by the plan are deleted one by
        one with ``if-empty``, and the first that received messages (or a consumer) stops the vhost delete.
        """
        listing = {"columns": "name,exclusive,type", "disable_stats": "true"}
        listed = self.client.get_or_none(api_path("queues", vhost), listing) or ()
        rows = [row for row in listed if not row.get("exclusive")]
        names = [row["name"] for row in rows]
        with worker_pool(max(1, min(self.parallelism, len(names) or 1))) as pool:
            futures = [
                pool.submit(
                    self._delete_queue,
                    vhost,
                    row["name"],
                    if_empty=True,
                    if_unused=if_unused and row.get("type", "classic") == "classic",
                )
                for row in rows
            ]
        kept: dict[str, str] = {}
        for name, future in zip(names, futures, strict=True):
            try:
                future.result()
            except MessagesArrived as exc:
                kept[name] = exc.cause
        if kept:
            raise MessagesArrived.for_vhost(vhost, kept)

    def _binding_handle(self, obj: Binding) -> str | None:
        """The server's ``properties_key`` for a binding (None if it no longer exists).

        The handle encodes the routing key and a hash of the arguments in the server's own term format, so
        it is read, not computed: the vhost's whole bindings listing once, on the first delete there.
        """
        with self._handles_lock:
            handles = self._binding_handles.get(obj.vhost)
            if handles is None:
                columns = f"{BINDING_COLUMNS},properties_key"
                rows = self.client.get(api_path("bindings", obj.vhost), {"columns": columns})
                handles = {binding_from_server(row, obj.vhost).key: row["properties_key"] for row in rows}
                self._binding_handles[obj.vhost] = handles
        return handles.get(obj.key)

    def _delete_topic_permission(self, obj: TopicPermission) -> None:
        # The API deletes all of a user's topic permissions in a vhost at once: put the others back.
        path = api_path("topic-permissions", obj.vhost, obj.user)
        with self._serial_lock(obj):  # two such deletes at once would each put back the other's
            current = self.client.get_or_none(path) or []
            self._settled(obj, lambda: self.client.delete(path), gone=True)
            for entry in current:
                if entry["exchange"] != obj.exchange:
                    self.update(topic_permission_from_server(entry))


def _update_request(obj: TopologyObject) -> tuple[str, dict[str, Any]]:
    """The PUT that sets an object's updatable fields: (path, body)."""
    body: dict[str, Any]
    if isinstance(obj, Vhost):
        body = quirks.vhost_body(obj.description, obj.tags, obj.default_queue_type)
        body.update(plain_to_server(obj))
        return api_path(*api_segments(obj)), body
    if isinstance(obj, User):
        body = to_definition(obj)
        body.pop("name")
        return api_path(*api_segments(obj)), body
    if isinstance(obj, Permission):
        body = {"configure": obj.configure, "write": obj.write, "read": obj.read}
        return api_path(*api_segments(obj)), body
    if isinstance(obj, TopicPermission):
        body = {"exchange": obj.exchange, "write": obj.write, "read": obj.read}
        return api_path(*api_segments(obj)), body
    if isinstance(obj, Policy):  # and operator policies: PUT /api/(operator-)policies/{vhost}/{name}
        body = {"pattern": obj.pattern, "definition": obj.definition, **plain_to_server(obj)}
        return api_path(*api_segments(obj)), body
    if isinstance(obj, VhostLimit | UserLimit):  # PUT /api/vhost-limits/{vhost}/{name}, user-limits/{user}/...
        return api_path(*api_segments(obj)), {"value": obj.value}
    if isinstance(obj, Parameter):  # PUT /api/parameters/{component}/{vhost}/{name}
        body = {"vhost": obj.vhost, "component": obj.component, "name": obj.name, "value": obj.value}
        return api_path(*api_segments(obj)), body
    if isinstance(obj, GlobalParameter):  # PUT /api/global-parameters/{name}
        return api_path(*api_segments(obj)), {"name": obj.name, "value": obj.value}
    raise ValueError(f"a {obj.kind} cannot be updated in place")


def _scope_of(obj: TopologyObject) -> list[str]:
    """The vhosts ``read_state`` must read to see ``obj`` (none for global objects and permissions)."""
    return [obj.vhost] if isinstance(obj, Exchange | Queue | Binding) else []


def _subject(obj: TopologyObject) -> str:
    return describe(obj.kind, obj.key, obj)
