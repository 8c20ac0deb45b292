"""The ``rabbitmqctl`` backend: plan and apply where only rabbitmqctl and the Erlang cookie are at hand.

Works on a node without the management plugin (the server-bootstrap case), locally, over ``ssh`` or in a
container (``prefix``). Every rabbitmqctl call starts an Erlang VM (about 0.4 s), so the work is batched:

- read: one read-only ``eval`` (``definitions_read.read_with_state``) that returns the definitions export, the
  exact message counts and the internal exchanges, which the export leaves out, and the vhost fields it
  leaves out (tracing). Where that eval cannot serve, three calls side by side: the export
  (``definitions_read``: its own ``eval``, else ``export_definitions``), the counts and internal exchanges
  (an ``eval``; on a server lacking the functions it uses: ``list_queues`` and ``list_exchanges`` per vhost,
  a few at a time) and ``list_vhosts``;
- create: ``import_definitions`` (from a private file, see ``runner``) for the whole batch, in chunks of
  ``IMPORT_CHUNK`` objects (``bulk_threshold = 1``), users arriving with the password hash the engine
  computed; the import only adds, which is all a create needs. A large batch's exchanges, queues and
  bindings are declared on the node instead (``declare``: one ``eval``, the Erlang AMQP client, as
  ``apply --create-with`` and ``amqp_eligibility`` decide, like the HTTP backend's AMQP declares), between
  an import of the rest (vhosts, users, permissions, policies: by the same eval, before any declare, when
  small: ``_inline_import``) and one of what is not eligible;
- update: users, permissions, topic permissions and vhost description/tags through an import (it
  overwrites those; like the HTTP API it never changes an existing vhost's default queue type, and the
  engine refuses that change at plan time);
- delete: ``delete_vhost``, ``delete_user``, ``clear_permissions``, ``clear_topic_permissions``; exchanges
  and bindings, which rabbitmqctl cannot delete, and queues, which it deletes one per call, through
  ``rabbitmqctl eval`` calling the server's own functions (see ``eval`` for how and for the risk).

The engine calls ``delete`` and ``update`` once per object, many at a time (``parallelism``); concurrent
calls of one kind are coalesced into one rabbitmqctl call (``batch``: one eval, one import), and at
most three Erlang VMs run at once. Nothing secret reaches an argument list: definitions (with password
hashes) and expressions go in private files (``runner``).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rabbitadmin.backends.amqp_eligibility import AMQP_THRESHOLD, CreateWith, Declarable, Split, split_batch
from rabbitadmin.backends.base import QueueDepth
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl import quirks
from rabbitadmin.backends.ctl.batch import Batcher
from rabbitadmin.backends.ctl.declare import DeclareRun, declare_specs, read_import, read_run
from rabbitadmin.backends.ctl.definitions_read import DefinitionsReader
from rabbitadmin.backends.ctl.lock import hold_eval
from rabbitadmin.backends.ctl.runner import (
    DEFAULT_TIMEOUT,
    Rabbitmqctl,
    private_file,
    table_arguments,
)
from rabbitadmin.backends.declares import settle_declares
from rabbitadmin.backends.import_wait import import_wait
from rabbitadmin.backends.read_back import read_back_words, read_batch, split_shown
from rabbitadmin.definitions import (
    exchange_from_server,
    to_definition,
    to_definitions,
    topology_from_definitions,
    warn_unaddressable,
)
from rabbitadmin.engine.apply_lock import LOCK_QUEUE, Held, Holder, is_apply_lock
from rabbitadmin.errors import (
    BatchFailed,
    CtlError,
    DeclaresUnavailable,
    ExitCode,
    MessagesArrived,
    RabbitAdminError,
    Unaddressable,
)
from rabbitadmin.gc_pause import with_collector_paused
from rabbitadmin.kinds import CREATE_ORDER, KINDS, plain_from_server
from rabbitadmin.model import (
    Binding,
    Exchange,
    GlobalParameter,
    Key,
    OperatorPolicy,
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
    holds_null,
)
from rabbitadmin.secret_text import mask_text
from rabbitadmin.threads import worker_pool

READ_PARALLELISM = 3
#: Objects per ``import_definitions`` call (see ``import_chunks``): each call costs a VM start (about 0.4 s of
#: CPU); 7,500 objects (about 1 MB of JSON) keep rabbitmqctl at about 92 MB (W(10000), 3.10.8; 5,000: 84 MB).
IMPORT_CHUNK = 7500
#: Vhost fields ``export_definitions`` leaves out (``FieldFacts.in_export``): read beside it.
_UNEXPORTED_VHOST_FIELDS = [f.key for f in KINDS["vhost"].plain_fields if not f.in_export]


class CtlBackend:
    """``Backend`` over rabbitmqctl; see the module docstring."""

    name = "ctl"
    #: Every create batch goes through one import: a call per object would cost 0.4 s each.
    bulk_threshold = 1

    def __init__(
        self,
        node: str | None = None,
        rabbitmqctl: str = "rabbitmqctl",
        prefix: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        cookie_file: str | None = None,
        parallelism: int = 256,
        timeout: float = DEFAULT_TIMEOUT,
        ctl: Rabbitmqctl | None = None,
        create_with: CreateWith = CreateWith.auto,
        amqp_threshold: int = AMQP_THRESHOLD,
        on_notice: Callable[[str], None] | None = None,
        kept_user: str | None = None,
    ) -> None:
        """``ctl``: a ready runner (``backends.factory`` builds one from the options); else one from the rest.
        ``create_with`` (``apply --create-with``) and ``amqp_threshold``: when exchanges, queues and bindings
        are declared on the node rather than imported (``declare``); ``on_notice`` is told once why declares
        are not used at all (never a secret). ``kept_user``: the user the operator's HTTP settings name
        (``--user``, ``RABBITADMIN_USER``), whose permissions a prune keeps: rabbitmqctl acts as no user, but a
        prune that removed them would lock that user out of the management API and every later HTTP apply."""
        self.kept_user = kept_user
        self.ctl = ctl or Rabbitmqctl(
            node=node, executable=rabbitmqctl, prefix=tuple(prefix), env=env, cookie_file=cookie_file, timeout=timeout
        )
        # Many concurrent calls make big batches; the runner bounds the Erlang VMs actually started.
        self.parallelism = parallelism
        self.create_with = create_with
        self.amqp_threshold = amqp_threshold
        self.on_notice = on_notice
        self._declares_off: str | None = None
        #: Objects created by declares on the node over this backend's life: what the route was.
        self.declared_over_amqp = 0
        # One exchange-delete eval at a time (each deletes its list in order): two exchanges linked by an
        # exchange-to-exchange binding, deleted at once, now and then fail on the server (function_clause in
        # rabbit_exchange:serialise_events(undefined); rabbitmq-server #11951).
        self._deletes = {
            operation: Batcher(functools.partial(self._eval, operation), exclusive=operation == "exchange_delete")
            for operation in ("exchange_delete", "binding_delete", "queue_delete")
        }
        self._updates: Batcher[TopologyObject, None] = Batcher(self._import_many)
        self._actual: Topology | None = None
        self._server_version: str | None = None
        self._eval_support: dict[tuple[str, ...], str | None] = {}
        self._definitions = DefinitionsReader(self.ctl)
        self._support_lock = threading.Lock()
        # set_vhost_limits replaces all of a vhost's limits: one limit change at a time per vhost.
        self._vhost_limit_locks: dict[str, threading.Lock] = {}

    def connected_user(self) -> str | None:
        return None  # rabbitmqctl acts as the Erlang node, not as a RabbitMQ user

    def server_facts(self) -> tuple[str | None, dict[str, str] | None]:
        """The version from the definitions export (read with the state, or now); phases from the table."""
        if self._server_version is None:
            self._server_version = str(self.export_definitions().get("rabbit_version") or "") or None
        return self._server_version, None

    def close(self) -> None:
        self.ctl.close()

    def abandon(self) -> None:
        """The command ends while a read still runs on another thread: its rabbitmqctl processes are stopped and
        no copy of the Erlang cookie is left (``Rabbitmqctl.abandon``)."""
        self.ctl.abandon()

    # -- reading -----------------------------------------------------------------------------------------
    def export_definitions(self) -> dict[str, Any]:
        """The server's definitions (``definitions_read``: an ``eval`` that builds and encodes them on the node,
        else ``export_definitions``). Raises ``CtlError``."""
        return self._definitions.read()

    @with_collector_paused
    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        """The server's topology (of ``vhosts``; None: all): one eval for everything where the server allows
        (``DefinitionsReader.read_with_state``), else the definitions, the extras and the vhost fields apart."""
        wanted = None if vhosts is None else sorted(vhosts)
        parts = self._definitions.read_with_state(wanted, _UNEXPORTED_VHOST_FIELDS)
        if parts is not None:
            definitions = parts["definitions"]
            counts, internal = _extras_from(parts["extras"])
            # A vhost whose name is no string is left out of the state (``definitions.Unaddressable``).
            listed = {row["name"]: row for row in parts["vhost_fields"] if row["name"].__class__ is str}
        else:
            # The three calls are independent: run them side by side.
            with worker_pool(3, on_interrupt=self.ctl.stop_running) as pool:
                extras = pool.submit(self._extras, wanted)
                unexported = pool.submit(self._unexported_vhost_fields)
                definitions = self.export_definitions()
                counts, internal = extras.result()
                listed = unexported.result()
        self._server_version = str(definitions.get("rabbit_version") or "") or None
        topology = topology_from_definitions(definitions, vhosts)
        for key, vhost in list(topology.vhosts.items()):
            if key[0] in listed:
                topology.vhosts[key] = replace(vhost, **plain_from_server("vhost", listed[key[0]]))
        for key in [key for key in topology.queues if is_apply_lock(key[1])]:
            del topology.queues[key]  # the apply lock is no part of any topology (exports leave it out anyway)
        for exchange in internal:
            topology.add(exchange)
        for key, queue in list(topology.queues.items()):
            depth = counts.get(key)
            topology.queues[key] = replace(queue, messages=depth.messages if depth else None)
        self._actual = topology
        return topology

    def _unexported_vhost_fields(self) -> dict[str, dict[str, Any]]:
        """Vhost fields ``export_definitions`` leaves out (``FieldFacts.in_export``), by vhost: one ``list_vhosts``."""
        if not _UNEXPORTED_VHOST_FIELDS:
            return {}
        rows = self.ctl.json(["list_vhosts", "name", *_UNEXPORTED_VHOST_FIELDS])
        return {row["name"]: row for row in rows if row["name"].__class__ is str}  # no other is in the state

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
        """Exact message and consumer counts, asked of the queue processes (not the statistics, which lag)."""
        counts, _ = self._extras(sorted({queue.vhost for queue in queues}), exact=True)
        return {queue.key: counts.get(queue.key, QueueDepth(None, None)) for queue in queues}

    def _extras(self, vhosts: list[str] | None, *, exact: bool = False) -> tuple[dict[Key, QueueDepth], list[Exchange]]:
        """Queue depths and internal exchanges: one ``eval`` if the server allows, else per-vhost listings.
        ``exact``: quorum queues' counts asked of their leaders, not their last metrics tick (``eval``)."""
        if vhosts == []:
            return {}, []
        counts: dict[Key, QueueDepth] = {}
        if self._eval_support.get(("read_extras",)) is None:
            # The expression checks its own functions: no separate check call on the common path.
            output = self.ctl.eval(ctl_eval.expression("read_extras", {"vhosts": vhosts, "exact": exact}))
            if output.lstrip().startswith(ctl_eval.MISSING_MARKER):
                self._eval_support[("read_extras",)] = " ".join(output.split())
            else:
                try:
                    return _extras_from(ctl_eval.parse_json_line(output))
                except ValueError as exc:
                    raise RabbitAdminError(f"rabbitmqctl eval (read) failed: {exc}") from None
        listed = self.ctl.json(["list_vhosts", "name"]) if vhosts is None else ()
        names = vhosts if vhosts is not None else [v["name"] for v in listed if v["name"].__class__ is str]
        internal: list[Exchange] = []
        with worker_pool(READ_PARALLELISM, on_interrupt=self.ctl.stop_running) as pool:
            for part_counts, part_internal in pool.map(self._listings, names):
                counts.update(part_counts)
                internal += part_internal
        return counts, internal

    def _listings(self, vhost: str) -> tuple[dict[Key, QueueDepth], list[Exchange]]:
        """Public rabbitmqctl listings of one vhost: queue message and consumer counts, internal exchanges."""
        columns = ["name", "type", "durable", "auto_delete", "internal", "arguments"]
        try:
            queues = self.ctl.json(["list_queues", f"--vhost={vhost}", "name", "messages", "consumers"])
            exchanges = self.ctl.json(["list_exchanges", f"--vhost={vhost}", *columns])
        except CtlError as exc:
            if exc.not_found:
                return {}, []
            raise
        counts: dict[Key, QueueDepth] = {
            (vhost, row["name"]): QueueDepth(_count(row.get("messages")), _count(row.get("consumers")))
            for row in queues
            if row["name"].__class__ is str  # a queue no client can address is not in the state
        }
        internal: list[Exchange] = []
        for row in exchanges:
            if row.get("internal") is True:
                try:
                    internal.append(
                        exchange_from_server({**row, "arguments": table_arguments(row.get("arguments"))}, vhost)
                    )
                except Unaddressable as skipped:
                    warn_unaddressable(skipped)
        return counts, internal

    def lock_holder(self, vhost: str) -> Holder | None:
        """Who holds the apply lock of ``vhost``, read from the lock queue's arguments (None: nobody, unknown)."""
        try:
            rows = self.ctl.json(["list_queues", f"--vhost={vhost}", "name", "arguments"])
        except RabbitAdminError:
            return None
        for row in rows:
            if isinstance(row, dict) and row.get("name") == LOCK_QUEUE:
                return Holder.from_arguments(table_arguments(row.get("arguments")))
        return None

    def try_lock(self, vhost: str, arguments: dict[str, Any]) -> Held | None:
        """The apply lock of ``vhost`` taken on the node itself (``apply_lock.LockTransport``), or None if busy.

        A ``rabbitmqctl eval`` that declares the exclusive lock queue as its own and stays running: the queue
        lives as long as that rabbitmqctl process, which the apply ends when it is done (``kill -9`` of the
        apply ends it too, as its child; with ``--ctl-prefix`` the process is the one at the other end).
        The expression travels on the argument list: it holds a vhost name and the holder, nothing secret,
        and rabbitmqctl does not read stdin everywhere.
        """
        expression = ctl_eval.expression("apply_lock", {"vhost": vhost, "name": LOCK_QUEUE, "arguments": arguments})
        return hold_eval(self.ctl, expression, vhost)

    # -- writing -----------------------------------------------------------------------------------------
    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        needs = self._eval_needs(obj, action)
        return self.unsupported_reason(needs) if needs else None

    def unsupported_reason(self, operations: tuple[str, ...]) -> str | None:
        """Why the ``eval`` operations cannot run on this server (checked once), or None."""
        with self._support_lock:  # many apply threads may ask at once: one check call
            if operations not in self._eval_support:
                self._eval_support[operations] = self._check_eval(operations)
            return self._eval_support[operations]

    def _eval_needs(self, obj: TopologyObject, action: str) -> tuple[str, ...]:
        if action == "delete" and isinstance(obj, Exchange):
            return ("exchange_delete",)
        if action == "delete" and isinstance(obj, Binding):
            return ("binding_delete",)
        if action in ("create", "update") and needs_node_decoding(obj):
            return ("import",)
        return ()  # queues: rabbitmqctl delete_queue serves where the batched eval cannot

    def _check_eval(self, operations: tuple[str, ...]) -> str | None:
        output = self.ctl.eval(ctl_eval.check_expression(operations))
        if output.strip() == "[]":
            return None
        return f"this server lacks the internal functions rabbitmqctl eval would use ({' '.join(output.split())})"

    def create(
        self,
        objects: Sequence[TopologyObject],
        progress: Callable[[Sequence[TopologyObject]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if not objects:
            return
        report = progress or (lambda _batch: None)
        # The import's vhost-limits parameter would replace every limit of the vhost; limits go after it.
        limits = [obj for obj in objects if isinstance(obj, VhostLimit | UserLimit)]
        # The server imports parameters before queues (rabbit_definitions): a shovel would start and declare
        # its missing queues as classic ones first (measured, 4.0.5: a stream became a classic queue). Parameters
        # go in an import of their own, after the queues exist.
        parameters: list[TopologyObject] = [obj for obj in objects if isinstance(obj, Parameter)]
        rest: list[TopologyObject] = [obj for obj in objects if not isinstance(obj, VhostLimit | UserLimit | Parameter)]
        split = self._split_for_declares(rest)
        if split.amqp:
            # Vhosts, users, permissions and policies first (the import's own order: policies before queues),
            # then the declares, then what the import must create.
            first = [obj for obj in split.rest if not isinstance(obj, Exchange | Queue | Binding)]
            later = [obj for obj in split.rest if isinstance(obj, Exchange | Queue | Binding)]
            # A small first import goes in the declares' eval: one rabbitmqctl VM fewer (about 1.3 s of CPU).
            inline = _inline_import(first)
            if not inline and not self._import_chunks(first, report, stop):
                return
            left = self._declare(split.amqp, report, stop, first=first if inline else [])
            if left is None:
                return
            rest = [*left, *later]
        if not self._import_chunks(rest, report, stop) or not self._import_chunks(parameters, report, stop):
            return
        for limit in limits:
            self._set_limit(limit)
            report([limit])

    def _import_chunks(
        self,
        objects: Sequence[TopologyObject],
        report: Callable[[Sequence[TopologyObject]], None],
        stop: threading.Event | None,
    ) -> bool:
        """``objects`` imported in ``import_chunks``; False when ``stop`` was set before a chunk (not sent)."""
        for batch in import_chunks(objects, IMPORT_CHUNK):
            if stop is not None and stop.is_set():
                return False
            try:
                self._import(batch)  # one import: nothing for ``stop`` to cut short
            except RabbitAdminError as exc:
                # The earlier imports were reported done; the later ones are never sent (the engine lists
                # them as not attempted); this one is read back.
                self._settle_import(batch, exc, report)
            report(batch)
        return True

    def _split_for_declares(self, objects: Sequence[TopologyObject]) -> Split:
        """``amqp_eligibility.split_batch`` for declares on the node: the user ``none`` of a direct connection
        may do everything in every vhost (see ``declare``), so every vhost counts as fully permitted. Through a
        remote prefix nothing is declared: the declares travel in a file rabbitmqctl reads, and in the
        expression itself they would cost that rabbitmqctl about 30 KB of memory per object."""
        if self.create_with is CreateWith.import_ or self._declares_off is not None:
            return Split([], list(objects))
        vhosts = {obj.vhost for obj in objects if isinstance(obj, Exchange | Queue | Binding)}
        split = split_batch(
            objects, mode=self.create_with, full_access=vhosts, threshold=self.amqp_threshold, reachable=True
        )
        if split.amqp and not self.ctl.shares_files:
            self._declares_off = "rabbitmqctl runs through a remote prefix and cannot be handed the declares as a file"
            self._notice()
            return Split([], list(objects))
        return split

    def _declare(
        self,
        objects: list[Declarable],
        report: Callable[[Sequence[TopologyObject]], None],
        stop: threading.Event | None,
        *,
        first: Sequence[TopologyObject] = (),
    ) -> list[TopologyObject] | None:
        """Create ``objects`` by declares on the node (``declare``: one eval), after importing ``first`` (what
        they need: vhosts, users, permissions, policies; ``_inline_import`` sized) in the same eval. Returns the
        objects left for the import (those of vhosts the node would not connect to; all of them when the node
        lacks the AMQP client), or None when ``stop`` was set first (nothing sent). A refusal or an unknown
        outcome is settled by reading back (``declares.settle_declares``); a failed eval as a failed import
        is, ``first`` with ``objects``; a refused import of ``first`` as a failed separate import is, with
        nothing declared: each raises ``BatchFailed`` for the objects the server does not show as asked (shown
        all, the failure was only the answer's: they count as done). ``first`` is reported done only once
        imported."""
        if stop is not None and stop.is_set():
            return None
        specs = json.dumps(declare_specs(objects), ensure_ascii=False)
        document = to_definitions(first) if first else None
        imported: str | None = None  # the import's outcome (``read_import``): None, none ran
        run: DeclareRun | None = None  # None: the import was refused, nothing declared
        try:
            with private_file(specs) as path:  # read by the node through rabbitmqctl (see ``declare``)
                # The import's document holds password hashes: in the expression (stdin or a private file of
                # the runner), never in the declares' file, which the node reads through rabbitmqctl.
                expression = ctl_eval.expression("declare", {"file": path, "import": document})
                wait = import_wait(self.ctl.timeout, [*first, *objects])
                output = self.ctl.eval(expression, holds_secrets=bool(first), wait=wait)
            try:
                imported = read_import(output)
                if imported in (None, "imported"):
                    run = read_run(output, objects)
            except ValueError as exc:  # output that is not the expression's: a failed eval
                raise CtlError("eval (declares)", 0, str(exc)) from None
        except DeclaresUnavailable as exc:  # nothing was declared: the import does it all
            self._declares_off = str(exc)
            self._notice()
            if imported is not None:
                report(first)
            # The node lacking a function, nothing ran, the import of ``first`` neither: it goes now.
            elif first and not self._import_chunks(first, report, stop):
                return None
            return list(objects)
        except RabbitAdminError as exc:
            if imported is not None:
                report(first)
            unknown: list[TopologyObject] = [*first, *objects] if imported is None else list(objects)
            self._settle_import(unknown, exc, report, what=_declares_words(first if imported is None else ()))
            report(unknown)  # the read-back shows every one as asked
            return []
        if run is None:
            refusal = CtlError("eval (definitions import)", 0, _without_secrets(str(imported), document or {}))
            return self._after_refused_import(first, refusal, objects, report, stop)
        if imported is not None:
            report(first)
        self.declared_over_amqp += len(run.outcome.declared)
        if run.outcome.declared:
            report(run.outcome.declared)
        if run.outcome.error is not None:
            settle_declares(objects, run.outcome, self.read_state, report)
        if run.connect_errors and self.on_notice is not None:
            # Only those vhosts' objects go to the import; the other vhosts' were declared.
            self.on_notice(
                "creating the exchanges, queues and bindings of some vhosts by definitions import, not AMQP "
                f"declares: the node refused a direct connection ({'; '.join(run.connect_errors)})"
            )
        return list(run.not_connected)

    def _after_refused_import(
        self,
        first: Sequence[TopologyObject],
        error: CtlError,
        objects: list[Declarable],
        report: Callable[[Sequence[TopologyObject]], None],
        stop: threading.Event | None,
    ) -> list[TopologyObject] | None:
        """The import of ``first`` in the declares' eval was refused, so nothing was declared: settled as a
        separate import's failure (``_settle_import`` raises ``BatchFailed`` for what is missing); if the server
        shows all of ``first`` as asked after all, the declares go in an eval of their own."""
        self._settle_import(list(first), error, report)
        report(first)
        return self._declare(objects, report, stop)

    def _notice(self) -> None:
        if self.on_notice is not None and self._declares_off is not None:
            self.on_notice(f"creating by definitions import, not AMQP declares: {self._declares_off}")

    def _settle_import(
        self,
        batch: list[TopologyObject],
        exc: RabbitAdminError,
        progress: Callable[[Sequence[TopologyObject]], None] | None,
        *,
        what: str = "the definitions import",
    ) -> None:
        """A failed import of ``batch``: read it back. Returns if the server shows every object as asked (only
        the answer went wrong, e.g. a timeout as the import ended); else reports the objects it shows as asked
        to ``progress`` and raises ``BatchFailed`` for the others (missing, or there with other properties: a
        queue someone declared meanwhile with other arguments is not this batch's)."""
        what = f"{what} of a batch of {len(batch)} object(s) failed: {exc}"
        permanent = bool(getattr(exc, "permanent", False))
        try:
            actual = read_batch(batch, self.read_state)
        except RabbitAdminError as read_exc:
            raise BatchFailed(
                f"{what}; reading them back failed too ({read_exc}): outcome unknown",
                batch,
                exc.exit_code,
                permanent=permanent,
            ) from None
        there, missing = split_shown(batch, actual)
        if not missing:
            return
        if progress is not None and there:
            progress(there)
        # A timed-out rabbitmqctl was killed, but the node may still be importing what it was sent.
        may_follow = exc.exit_code in (ExitCode.TIMEOUT, ExitCode.CONNECTION)
        raise BatchFailed(
            f"{what}; {read_back_words(there, missing, actual, may_follow=may_follow)}",
            missing,
            exc.exit_code,
            permanent=permanent,
        ) from None

    def update(self, obj: TopologyObject) -> None:
        if isinstance(obj, VhostLimit | UserLimit):
            self._set_limit(obj)
            return
        if isinstance(obj, User):
            obj = self._complete_user(obj)
        elif not isinstance(obj, Vhost | Permission | TopicPermission | Policy | Parameter | GlobalParameter):
            raise ValueError(f"a {obj.kind} cannot be updated in place")
        # Parameters too go through import_definitions on stdin, not set_parameter: a shovel's URI holds a
        # password that would sit on rabbitmqctl's argument list (visible to every local user in ps).
        self._updates.submit(obj)

    def exchange_types(self) -> set[str] | None:
        """The exchange types the node has (``rabbit_registry``, one read-only ``eval``), or None where the
        server lacks the functions it calls."""
        output = self.ctl.eval(ctl_eval.expression("exchange_types", {}))
        if output.lstrip().startswith(ctl_eval.MISSING_MARKER):
            return None
        types = ctl_eval.parse_json_line(output)
        return {str(name) for name in types} if isinstance(types, list) else None

    def enabled_plugins(self, wait: float = 0.0) -> set[str] | None:
        """The node's running plugins (``rabbitmqctl status``'s ``active_plugins``): what registers a component.

        The node's own answer (``rabbit_plugins:active/0``), right from its boot: ``wait`` is not needed."""
        del wait
        status = self.ctl.json(["status"])
        plugins = status.get("active_plugins") if isinstance(status, dict) else None
        return {str(name) for name in plugins} if isinstance(plugins, list) else None

    def delete(self, obj: TopologyObject, *, if_empty: bool = False, if_unused: bool = False) -> None:
        if isinstance(obj, Exchange):
            self._batched_delete("exchange_delete", {"vhost": obj.vhost, "name": obj.name}, obj.kind)
        elif isinstance(obj, Binding):
            self._batched_delete("binding_delete", to_definition(obj), obj.kind)
        elif isinstance(obj, Queue):
            self._delete_queue(obj, if_empty=if_empty, if_unused=if_unused and obj.type == "classic")
        elif isinstance(obj, Vhost):
            if if_empty:
                self._empty_vhost(obj.name, if_unused=if_unused)
            self._run_delete(["delete_vhost", "--", obj.name])
        elif isinstance(obj, User):
            self._run_delete(["delete_user", "--", obj.name])
        elif isinstance(obj, Permission):
            self._run_delete(["clear_permissions", f"--vhost={obj.vhost}", "--", obj.user])
        elif isinstance(obj, OperatorPolicy):
            self._run_delete(["clear_operator_policy", f"--vhost={obj.vhost}", "--", obj.name])
        elif isinstance(obj, Policy):
            self._run_delete(["clear_policy", f"--vhost={obj.vhost}", "--", obj.name])
        elif isinstance(obj, UserLimit):
            self._run_delete(["clear_user_limits", "--", obj.user, obj.name])
        elif isinstance(obj, Parameter):
            self._run_delete(["clear_parameter", f"--vhost={obj.vhost}", "--", obj.component, obj.name])
        elif isinstance(obj, GlobalParameter):
            self._run_delete(["clear_global_parameter", "--", obj.name])
        elif isinstance(obj, VhostLimit):
            self._set_limit(obj, clear=True)
        else:
            self._run_delete(["clear_topic_permissions", f"--vhost={obj.vhost}", "--", obj.user, obj.exchange])

    def _delete_queue(self, queue: Queue, *, if_empty: bool, if_unused: bool) -> None:
        """One queue delete: batched through the eval, or ``rabbitmqctl delete_queue`` where it cannot run.
        A refused condition raises ``MessagesArrived`` (quorum queues never get ``if_unused``: they refuse it)."""
        if self.unsupported_reason(("queue_delete",)) is None:
            spec = {"vhost": queue.vhost, "name": queue.name, "if_empty": if_empty, "if_unused": if_unused}
            self._batched_delete("queue_delete", spec, queue.kind)
            return
        flags = (["--if-empty"] if if_empty else []) + (["--if-unused"] if if_unused else [])
        try:
            self._run_delete(["delete_queue", *flags, f"--vhost={queue.vhost}", "--", queue.name])
        except CtlError as exc:
            cause = quirks.delete_queue_refusal(exc.reason) if flags else None
            if cause is not None:
                raise MessagesArrived.for_queue(queue.vhost, queue.name, cause) from None
            raise

    def _batched_delete(self, operation: str, spec: dict[str, Any], kind: str) -> None:
        outcome = self._deletes[operation].submit(spec)
        if outcome in ("not_empty", "in_use"):
            raise MessagesArrived.for_queue(spec["vhost"], spec["name"], outcome)
        if outcome not in ("deleted", "not_found"):  # not found: already gone is the desired state
            raise RabbitAdminError(f"the server refused to delete the {kind}: {outcome}")

    def _empty_vhost(self, vhost: str, *, if_unused: bool = False) -> None:
        """Delete every queue of ``vhost`` on condition that it is empty (and, with ``if_unused``, that a
        classic one has no consumer), in one eval, before the vhost goes."""
        counts, _ = self._extras([vhost])
        names = sorted(name for _, name in counts if not is_apply_lock(name))
        if not names:
            return
        reason = self.unsupported_reason(("queue_delete",))
        if reason is not None:
            raise RabbitAdminError(f"cannot delete vhost {vhost!r} on condition that its queues are empty: {reason}")
        # The expression itself passes if_unused to classic queues only.
        specs = [{"vhost": vhost, "name": name, "if_empty": True, "if_unused": if_unused} for name in names]
        outcomes = self._eval("queue_delete", specs)
        refused = ("not_empty", "in_use")
        kept = {name: outcome for name, outcome in zip(names, outcomes, strict=True) if outcome in refused}
        failed = [
            f"{name}: {outcome}"
            for name, outcome in zip(names, outcomes, strict=True)
            if outcome not in ("deleted", "not_found", "not_empty", "in_use")
        ]
        if failed:
            raise RabbitAdminError(f"the server refused to delete queues of vhost {vhost!r}: {'; '.join(failed)}")
        if kept:
            raise MessagesArrived.for_vhost(vhost, kept)

    def _run_delete(self, args: list[str]) -> None:
        try:
            self.ctl.run(args)
        except CtlError as exc:
            if not exc.not_found:  # already gone is the desired state
                raise

    def _set_limit(self, limit: VhostLimit | UserLimit, *, clear: bool = False) -> None:
        """Set (or clear) one limit. ``set_user_limits`` merges into the user's limits; ``set_vhost_limits``
        replaces the vhost's (``rabbit_vhost_limit:set/3``), so the vhost's current ones are read and merged."""
        if isinstance(limit, UserLimit):
            self.ctl.run(["set_user_limits", "--", limit.user, json.dumps({limit.name: limit.value})])
            return
        with self._support_lock:
            lock = self._vhost_limit_locks.setdefault(limit.vhost, threading.Lock())
        with lock:
            current = _limits_output(self.ctl.run(["list_vhost_limits", f"--vhost={limit.vhost}", "--formatter=json"]))
            if clear:
                current.pop(limit.name, None)
            else:
                current[limit.name] = limit.value
            if current:
                self.ctl.run(["set_vhost_limits", f"--vhost={limit.vhost}", "--", json.dumps(current)])
            else:
                self._run_delete(["clear_vhost_limits", f"--vhost={limit.vhost}"])

    # -- helpers -----------------------------------------------------------------------------------------
    def _complete_user(self, user: User) -> User:
        """Fill what the topology leaves unmanaged from the server: an import without a hash clears it."""
        current = self._actual.users.get(user.key) if self._actual else None
        if current is None:
            return user
        return replace(
            user,
            tags=user.tags if user.tags is not None else current.tags,
            password_hash=user.password_hash if user.password_hash is not None else current.password_hash,
            hashing_algorithm=user.hashing_algorithm if user.password_hash is not None else current.hashing_algorithm,
        )

    def _import(self, objects: Sequence[TopologyObject]) -> None:
        # What rabbitmqctl's JSON decoder would change goes by an eval that the node decodes (quirks): the whole
        # batch, so that the server still orders it (a binding to a queue whose arguments hold a null).
        if any(map(needs_node_decoding, objects)):
            self._import_on_node(objects)
            return
        document = to_definitions(objects)  # vhosts carry their metadata, where the import reads them
        try:
            self.ctl.run(
                ["import_definitions", "--format=json"],
                stdin=json.dumps(document, ensure_ascii=False),
                wait=import_wait(self.ctl.timeout, objects),  # it ends when all of it is in (import_wait)
            )
        except CtlError as exc:
            raise CtlError(exc.command, exc.returncode, _without_secrets(exc.reason, document)) from None

    def _import_on_node(self, objects: Sequence[TopologyObject]) -> None:
        """``objects`` imported by ``rabbit_definitions:import_parsed/1`` from JSON decoded on the node."""
        document = to_definitions(objects)
        reason = self.unsupported_reason(("import",))
        if reason is not None:
            raise CtlError("eval", 0, f"{reason}: a value holding null cannot be imported without them")
        expression = ctl_eval.expression("import", document)
        output = self.ctl.eval(expression, holds_secrets=True, wait=import_wait(self.ctl.timeout, objects))
        try:
            outcome = ctl_eval.parse_json_line(output)
        except ValueError as exc:
            outcome = str(exc)
        if outcome != "imported":
            raise CtlError("eval (definitions import)", 0, _without_secrets(str(outcome), document))

    def _import_many(self, objects: Sequence[TopologyObject]) -> list[None]:
        self._import(objects)
        return [None] * len(objects)

    def _eval(self, operation: str, specs: Sequence[dict[str, Any]]) -> list[str]:
        output = self.ctl.eval(ctl_eval.expression(operation, list(specs)))  # names only: no secret
        try:
            return ctl_eval.parse_outcomes(output, len(specs))
        except ValueError as exc:
            raise RabbitAdminError(f"rabbitmqctl eval ({operation.replace('_', ' ')}) failed: {exc}") from None


def needs_node_decoding(obj: TopologyObject) -> bool:
    """Whether the definitions entry of ``obj`` holds a JSON null, which rabbitmqctl's import would change
    (see ``quirks``): only the fields that hold any JSON can (a parameter's value, arguments, a policy's
    definition)."""
    if isinstance(obj, Parameter | GlobalParameter):
        return holds_null(obj.value)
    values = getattr(obj, "arguments", None) or getattr(obj, "definition", None)
    return bool(values) and holds_null(values)


#: Bytes of definitions JSON imported inside the declares' eval at most (``_inline_import``): the expression
#: travels base64-encoded and rabbitmqctl's VM grows with its size as it parses it (see ``eval._DECLARE_PRELUDE``).
INLINE_IMPORT_LIMIT = 256 * 1024


def _inline_import(objects: Sequence[TopologyObject]) -> bool:
    """Whether ``objects`` (imported before the declares) are few enough to be imported in the declares' eval:
    one import call (``IMPORT_CHUNK``) of at most ``INLINE_IMPORT_LIMIT`` bytes of JSON."""
    if not objects or len(objects) > IMPORT_CHUNK:
        return False
    return len(json.dumps(to_definitions(objects), ensure_ascii=False).encode("utf-8")) <= INLINE_IMPORT_LIMIT


def _declares_words(first: Sequence[TopologyObject]) -> str:
    """What a failed declares eval did, for ``_settle_import``'s message."""
    return "the definitions import and AMQP declares on the node" if first else "the AMQP declares on the node"


def _without_secrets(reason: str, document: Mapping[str, Any]) -> str:
    """An import error, which may quote the offending entry: no password hash, no URI password, no value of a
    secret-named key."""
    for user in document.get("users", []):
        if user.get("password_hash"):
            reason = reason.replace(user["password_hash"], "***")
    return mask_text(reason)


def import_chunks(objects: Sequence[TopologyObject], size: int) -> list[list[TopologyObject]]:
    """``objects`` in imports of at most ``size`` objects each, to be run one after another.

    rabbitmqctl decodes an import's JSON in its own VM: 123 MB for the 21,201 objects of W(10000) (3.10.8), about
    84 MB for 5,000 queues, 57-62 MB for a call with no payload. The objects go in the server's creation order
    (``CREATE_ORDER``), so everything an object needs (its vhost, user, exchange or queue) is in its own chunk
    or an earlier one; within a chunk the import orders them itself (``rabbit_definitions``).
    """
    rank = {kind: position for position, kind in enumerate(CREATE_ORDER)}
    ordered = sorted(objects, key=lambda obj: rank.get(obj.kind, len(rank)))
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def _limits_output(output: str) -> dict[str, Any]:
    """The limits ``list_vhost_limits --formatter=json`` prints: a JSON object, bare or as the text of its
    ``value`` (3.10.8 prints ``{"result": "ok", "value": "{\\"max-connections\\":10}"}``); empty: none."""
    text = output.strip()
    if not text:
        return {}
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and isinstance(parsed.get("value"), str):
            parsed = json.loads(parsed["value"]) if parsed["value"].strip() else {}
        elif isinstance(parsed, dict) and isinstance(parsed.get("value"), dict):
            parsed = parsed["value"]
        elif isinstance(parsed, list):
            parsed = parsed[0].get("value", {}) if parsed and isinstance(parsed[0], dict) else {}
    except (ValueError, AttributeError):
        raise CtlError("list_vhost_limits", 0, f"unexpected output: {text[:200]}") from None
    if isinstance(parsed, str):
        parsed = json.loads(parsed) if parsed.strip() else {}
    return dict(parsed) if isinstance(parsed, dict) else {}


def _extras_from(data: Mapping[str, Any]) -> tuple[dict[Key, QueueDepth], list[Exchange]]:
    """Queue depths and internal exchanges from what the ``read_extras`` body prints: ``{"queues": [[vhost,
    name, messages, consumers], ...], "internal_exchanges": [{"vhost": ..., "name": ..., "type": ...}, ...]}``."""
    counts: dict[Key, QueueDepth] = {
        (row[0], row[1]): QueueDepth(_count(row[2]), _count(row[3] if len(row) > 3 else None))
        for row in data["queues"]
        if row[0].__class__ is str and row[1].__class__ is str  # no other queue is in the state
    }
    internal: list[Exchange] = []
    for entry in data["internal_exchanges"]:
        try:
            internal.append(exchange_from_server(entry))
        except Unaddressable as skipped:  # left out of the state, as the definitions read leaves it
            warn_unaddressable(skipped)
    return counts, internal


def _count(value: Any) -> int | None:
    # A queue that is down reports no number.
    return value if isinstance(value, int) and not isinstance(value, bool) else None
