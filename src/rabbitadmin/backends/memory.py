"""A ``Backend`` that keeps a server's state in memory, for fast tests of plan, apply, engine and export.

It behaves like a RabbitMQ node as the engine sees one through ``backends.http``:

- What it reports after a create is what the real backends read back: the server's defaults filled in
  (a vhost's empty description and tags, no ``x-queue-type`` in queue arguments, arguments in canonical
  form), every vhost with the default exchange and the ``amq.*`` exchanges, and, on a fresh instance, the
  default vhost with its administrator user and that user's full permissions (``rabbit.default_vhost``,
  ``default_user``, ``default_permissions``). The implicit default-exchange bindings are not reported.
- Deletes cascade as on the server (``rabbit_vhost:delete/2``, ``rabbit_binding:remove_for_destination``,
  ``rabbit_auth_backend_internal:delete_user``): a vhost takes its exchanges, queues, bindings and
  permissions; a user takes its permissions; a queue or exchange takes the bindings it is the source or
  destination of; an auto-delete exchange goes when its last binding as a source goes.
- ``delete(..., if_empty=True)`` raises ``errors.MessagesArrived`` when the queue holds messages (set with
  ``set_messages``); quorum queues refuse the condition, streams ignore it (``rabbit_quorum_queue:delete/4``,
  ``rabbit_stream_queue:delete/4``). ``if_unused=True`` also refuses a classic queue with consumers
  (``set_messages(..., consumers=)``; the server checks it before emptiness, 400 "in use"); like the real
  backends it is not applied to other queue types (quorum queues refuse the flag itself). A vhost delete
  with ``if_empty`` deletes its empty (and, with ``if_unused``, unused classic) queues one by one and keeps
  the vhost if one is refused, as ``HttpBackend`` does.
- What the server refuses it refuses with the HTTP backend's errors (``errors.ServerError`` with the
  status the management API answers): an object in a missing vhost, a binding to a missing endpoint, a
  redeclare with other properties (406 ``PRECONDITION_FAILED`` answered as 400), an ``amq.`` name (403).
- ``create`` takes the same path as ``HttpBackend.create``: one by one below ``bulk_threshold`` (each
  failure is a ``BatchFailed`` naming the object), in import batches of ``import_batch`` objects from it
  on (a failing batch reports what it created and raises one ``BatchFailed`` for the rest); ``stop`` is
  checked before every object or batch.

Faults are injected with ``fail_on``: ``Fault`` rules, or ``(call, key)`` / ``(call, key, error)`` tuples
(``call``: "create", "update", "delete", "read_state", "message_counts"; ``key``: an object key, None for
any). A ``Fault(lost=True, done=...)`` is a lost answer: the HTTP backend reads the object back, so one that
was carried out counts as done and one that was not raises ``errors.AnswerLost`` saying so.

``calls`` records every write as ``(call, kind, key)`` in the order the server received them;
``on_call(call, obj)`` runs before each write (a test can set an interrupt Event from it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from rabbitadmin.backends.base import QueueDepth
from rabbitadmin.errors import AnswerLost, BatchFailed, MessagesArrived, RabbitAdminError, ServerError
from rabbitadmin.kinds import BUILTIN_EXCHANGE_TYPES, KINDS, PARAMETER_COMPONENTS, POLICY_KEYS
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
)
from rabbitadmin.normalize import normalize_arguments, normalize_tags
from rabbitadmin.passwords import DEFAULT_ALGORITHM
from rabbitadmin.server_versions import parse_version

#: The exchanges the server declares in every vhost (``rabbit_vhost:do_add`` and the trace exchange):
#: name -> (type, internal).
SERVER_EXCHANGES: dict[str, tuple[str, bool]] = {
    "": ("direct", False),
    "amq.direct": ("direct", False),
    "amq.fanout": ("fanout", False),
    "amq.headers": ("headers", False),
    "amq.match": ("headers", False),
    "amq.topic": ("topic", False),
    "amq.rabbitmq.trace": ("topic", True),
}


#: The kinds a read returns only inside the vhosts it is given.
_IN_VHOSTS = ("exchange", "queue", "binding", "parameter")


@dataclass
class Fault:
    """One injected failure: the ``times`` next ``call`` s on ``key`` (None: any object) fail with ``error``.

    ``lost``: the answer is lost (``AnswerLost``) after the write was (``done=True``) or was not carried out.
    The default error is the server's HTTP 500.
    """

    call: str
    key: Key | None = None
    error: RabbitAdminError | None = None
    lost: bool = False
    done: bool = False
    times: int = 1

    def matches(self, call: str, key: Key | None) -> bool:
        return self.times > 0 and self.call == call and (self.key is None or self.key == key)


FaultSpec = Fault | tuple[str, Key | None] | tuple[str, Key | None, RabbitAdminError]


@dataclass
class _State:
    objects: dict[str, dict[Key, TopologyObject]] = field(default_factory=lambda: Topology().objects)
    messages: dict[Key, int] = field(default_factory=dict)
    consumers: dict[Key, int] = field(default_factory=dict)


class MemoryBackend:
    """``Backend`` over an in-memory server; see the module docstring.

    ``version``: the RabbitMQ version it plays ("3.10.8", "4.0.5"); from 4.0 a vhost with no default queue
    type reports ``classic`` as the server does. ``user``/``default_vhost``: the administrator and vhost a
    fresh node has (None: none); ``grant_creator``: a vhost created gives ``user`` full permissions in it, as
    over the management API (measured on 3.10 and 4.0; not measured for rabbitmqctl). ``state``: start
    from this state instead (e.g. a real node's ``read_state``), taken as the server reported it.
    """

    name = "memory"

    def __init__(
        self,
        *,
        version: str = "3.10.8",
        user: str | None = "guest",
        default_vhost: str | None = "/",
        state: Topology | None = None,
        parallelism: int = 1,
        bulk_threshold: int = 200,
        import_batch: int = 100,
        deprecated_features: dict[str, str] | None = None,
        fail_on: Iterable[FaultSpec] | FaultSpec = (),
        on_call: Callable[[str, TopologyObject], None] | None = None,
        grant_creator: bool = True,
        plugins: Iterable[str] = ("rabbitmq_management", "rabbitmq_shovel", "rabbitmq_federation"),
        exchange_types: Iterable[str] = BUILTIN_EXCHANGE_TYPES,
        plugins_unlisted: int = 0,
        statistics_disabled: bool = False,
    ) -> None:
        self.version = version
        #: The exchange types it has: an exchange of another type is refused (HTTP 400), as the server refuses it.
        self.types = set(exchange_types)
        #: The plugins it runs: a parameter of a component no plugin here registers is refused (HTTP 400).
        self.plugins = set(plugins)
        #: Reads of the plugins that answer "unknown" first, as a node just started does over HTTP (its nodes list
        #: no applications for about 5 s); ``statistics_disabled``: every read does (no metrics collector).
        self.plugins_unlisted = plugins_unlisted
        self.stats_disabled = statistics_disabled
        #: How many times the plugins were read (each read of a real server is one ``GET /api/nodes``).
        self.plugin_reads = 0
        self.user = user
        self.parallelism = parallelism
        self.bulk_threshold = bulk_threshold
        self.import_batch = import_batch
        self.deprecated_features = deprecated_features
        specs: list[Any] = [fail_on] if isinstance(fail_on, Fault) or _is_rule(fail_on) else list(fail_on)
        self.faults: list[Fault] = [_fault(spec) for spec in specs]  # one rule may come alone: ("create", key)
        self.on_call = on_call
        self.grant_creator = grant_creator
        self.calls: list[tuple[str, str, Key]] = []
        self._lock = threading.RLock()
        self._state = _State()
        if state is not None:
            for obj in state:
                self._put(obj)
        else:
            # The node writes these global parameters itself at boot (4.0 adds cluster_tags).
            self._put(GlobalParameter("internal_cluster_id", "rabbitmq-cluster-id-memory"))
            if (parse_version(self.version) or (0,)) >= (4,):
                self._put(GlobalParameter("cluster_tags", []))
            if default_vhost is not None:
                self._add_vhost(Vhost(default_vhost))
            if user is not None:
                self._put(User(user, ("administrator",), password_hash="", hashing_algorithm=DEFAULT_ALGORITHM))
                if default_vhost is not None:
                    self._put(Permission(user, default_vhost, ".*", ".*", ".*"))

    # -- test controls -----------------------------------------------------------------------------------
    def set_messages(self, vhost: str, queue: str, messages: int, consumers: int = 0) -> None:
        """Make the queue hold ``messages`` messages and ``consumers`` consumers (KeyError if it is missing)."""
        with self._lock:
            if (vhost, queue) not in self._state.objects["queue"]:
                raise KeyError((vhost, queue))
            self._state.messages[(vhost, queue)] = messages
            self._state.consumers[(vhost, queue)] = consumers

    def add_exclusive_queue(self, vhost: str, name: str) -> None:
        """A queue owned by a client connection (server-owned for the engine: never planned, never pruned)."""
        with self._lock:
            self._require_vhost(vhost, "queues", name)
            self._state.objects["queue"][(vhost, name)] = Queue(vhost, name, durable=False, exclusive=True)

    def snapshot(self) -> Topology:
        """Everything on the server, every vhost."""
        return self.read_state(None)

    # -- Backend: reads ----------------------------------------------------------------------------------
    def connected_user(self) -> str | None:
        return self.user

    def server_facts(self) -> tuple[str | None, dict[str, str] | None]:
        return self.version, self.deprecated_features

    def close(self) -> None:
        return None

    def enabled_plugins(self, wait: float = 0.0) -> set[str] | None:
        """As ``HttpBackend.enabled_plugins``: one read per half second of ``wait`` while unknown (no sleep)."""
        for _ in range(1 + int(wait / 0.5)):
            self.plugin_reads += 1
            if not self.stats_disabled and self.plugin_reads > self.plugins_unlisted:
                return set(self.plugins)
            if self.stats_disabled:
                break
        return None

    def statistics_disabled(self) -> bool:
        return self.stats_disabled

    def exchange_types(self) -> set[str] | None:
        return set(self.types)

    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        return None  # like rabbitmqctl, it can address any name

    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        self._fault("read_state", None)
        topology = Topology()
        with self._lock:
            for kind, objects in self._state.objects.items():
                for obj in objects.values():
                    # As the narrowest real backend (ctl's export) reads: runtime parameters only in ``vhosts``.
                    if kind in _IN_VHOSTS and vhosts is not None and _vhost(obj) not in vhosts:
                        continue
                    topology.add(obj)
        return topology

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
        self._fault("message_counts", None)
        with self._lock:
            return {
                q.key: QueueDepth(self._state.messages.get(q.key, 0), self._state.consumers.get(q.key, 0))
                if q.key in self._state.objects["queue"]
                else QueueDepth(None, None)
                for q in queues
            }

    # -- Backend: writes ---------------------------------------------------------------------------------
    def create(
        self,
        objects: Sequence[TopologyObject],
        progress: Callable[[Sequence[TopologyObject]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        report = progress or (lambda _batch: None)
        vhosts: list[TopologyObject] = [obj for obj in objects if isinstance(obj, Vhost)]
        rest: list[TopologyObject] = [obj for obj in objects if not isinstance(obj, Vhost)]
        bulk = len(rest) >= self.bulk_threshold
        for obj in vhosts if bulk else vhosts + rest:
            if stop is not None and stop.is_set():
                return
            try:
                self._write("create", obj, partial(self._create, obj))
            except RabbitAdminError as exc:
                raise BatchFailed(f"creating {obj.kind} {obj.key!r} failed: {exc}", [obj], exc.exit_code) from None
            report([obj])
        if not bulk:
            return
        for start in range(0, len(rest), self.import_batch):
            if stop is not None and stop.is_set():
                return
            batch = rest[start : start + self.import_batch]
            for index, obj in enumerate(batch):
                try:
                    self._write("create", obj, partial(self._create, obj))
                except RabbitAdminError as exc:
                    # The HTTP backend reads a failed import back: what it created is done, the rest failed.
                    report(batch[:index])
                    raise BatchFailed(
                        f"the definitions import of a batch of {len(batch)} object(s) failed: {exc}; "
                        f"{index} of them were created, {len(batch) - index} were not",
                        batch[index:],
                        exc.exit_code,
                    ) from None
            report(batch)

    def update(self, obj: TopologyObject) -> None:
        if isinstance(obj, Exchange | Queue | Binding):
            raise ValueError(f"a {obj.kind} cannot be updated in place")
        self._write("update", obj, lambda: self._create(obj))

    def delete(self, obj: TopologyObject, *, if_empty: bool = False, if_unused: bool = False) -> None:
        self._write("delete", obj, lambda: self._delete(obj, if_empty=if_empty, if_unused=if_unused))

    # -- the server's rules ------------------------------------------------------------------------------
    def _write(self, call: str, obj: TopologyObject, carry_out: Callable[[], None]) -> None:
        if self.on_call is not None:
            self.on_call(call, obj)
        with self._lock:
            self.calls.append((call, obj.kind, obj.key))
            fault = self._take_fault(call, obj.key)
        if fault is None:
            carry_out()
            return
        if fault.lost:
            if fault.done:
                carry_out()  # carried out; the HTTP backend reads it back and counts it done
                return
            raise AnswerLost(f"{call} {obj.kind} {obj.key!r}: the answer was lost; read back: not done")
        raise fault.error or ServerError(call.upper(), f"<{obj.kind} {obj.key!r}>", 500, "injected failure")

    def _fault(self, call: str, key: Key | None) -> None:
        with self._lock:
            fault = self._take_fault(call, key)
        if fault is not None:
            raise fault.error or ServerError("GET", f"<{call}>", 500, "injected failure")

    def _take_fault(self, call: str, key: Key | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(call, key):
                fault.times -= 1
                return fault
        return None

    def _require_vhost(self, vhost: str, what: str, name: str) -> None:
        if (vhost,) not in self._state.objects["vhost"]:
            raise ServerError("PUT", f"/api/{what}/{vhost}/{name}", 404, "Not Found")

    def _put(self, obj: TopologyObject) -> None:
        """Store ``obj`` as the server reports it back."""
        if isinstance(obj, Vhost):
            self._add_vhost(obj)
            return
        self._state.objects[obj.kind][obj.key] = obj

    def _add_vhost(self, obj: Vhost) -> None:
        queue_type = obj.default_queue_type
        if queue_type is None and (parse_version(self.version) or (0,)) >= (4,):
            queue_type = "classic"  # 4.0 reports (and exports) a default queue type on every vhost
        # The node reports tracing as a boolean on every vhost (off unless set).
        stored = Vhost(obj.name, obj.description or "", obj.tags or (), queue_type, bool(obj.tracing))
        self._state.objects["vhost"][obj.key] = stored
        for name, (kind, internal) in SERVER_EXCHANGES.items():
            exchange = Exchange(obj.name, name, kind, durable=True, internal=internal)
            self._state.objects["exchange"].setdefault(exchange.key, exchange)

    def _create(self, obj: TopologyObject) -> None:
        with self._lock:
            self._create_locked(obj)

    def _create_locked(self, obj: TopologyObject) -> None:
        state = self._state.objects
        if isinstance(obj, Vhost):
            current = state["vhost"].get(obj.key)
            # A PUT without a default queue type keeps the one the vhost has.
            queue_type = obj.default_queue_type or (current.default_queue_type if isinstance(current, Vhost) else None)
            # A PUT without tracing leaves the vhost's as it is.
            tracing = obj.tracing if obj.tracing is not None else isinstance(current, Vhost) and current.tracing
            self._add_vhost(replace(obj, default_queue_type=queue_type, tags=normalize_tags(obj.tags), tracing=tracing))
            if current is None and self.grant_creator and self.user is not None and (self.user,) in state["user"]:
                # The management API gives the user creating a vhost full permissions in it (rabbit_mgmt_wm_vhost).
                self._put(Permission(self.user, obj.name, ".*", ".*", ".*"))
        elif isinstance(obj, User):
            if obj.password is not None:
                raise ValueError("a user must be hashed before it is sent")
            state["user"][obj.key] = User(
                obj.name, normalize_tags(obj.tags), password_hash=obj.password_hash or "",
                hashing_algorithm=obj.hashing_algorithm,
            )  # fmt: skip
        elif isinstance(obj, Permission | TopicPermission):
            self._require_vhost(obj.vhost, "permissions", obj.user)
            if (obj.user,) not in state["user"]:
                raise ServerError("PUT", f"/api/permissions/{obj.vhost}/{obj.user}", 400, "no_such_user")
            state[obj.kind][obj.key] = replace(obj, origin=None)
        elif isinstance(obj, Policy | VhostLimit):  # and operator policies: a PUT overwrites
            self._require_vhost(obj.vhost, KINDS[obj.kind].api_path[0], obj.name)
            if isinstance(obj, Policy):  # a plugin's keys: registered by that plugin (rabbit_policy:validate)
                foreign = [
                    key for key in obj.definition
                    if key in POLICY_KEYS and POLICY_KEYS[key].plugin
                    and (POLICY_KEYS[key].plugin not in self.plugins or isinstance(obj, OperatorPolicy))
                ]  # fmt: skip
                if foreign:
                    path = f"/api/{KINDS[obj.kind].api_path[0]}/{obj.vhost}/{obj.name}"
                    reason = f"Validation failed\n\n{foreign} are not recognised policy settings\n"
                    raise ServerError("PUT", path, 400, reason)
            state[obj.kind][obj.key] = replace(obj, origin=None)
        elif isinstance(obj, Parameter):
            self._require_vhost(obj.vhost, "parameters", obj.name)
            facts = PARAMETER_COMPONENTS.get(obj.component)
            if facts is None or facts.plugin not in self.plugins:
                path = f"/api/parameters/{obj.component}/{obj.vhost}/{obj.name}"
                raise ServerError("PUT", path, 400, f"Validation failed\n\ncomponent {obj.component} not found\n")
            state[obj.kind][obj.key] = replace(obj, origin=None, inline_secret=False)
        elif isinstance(obj, GlobalParameter):
            state[obj.kind][obj.key] = replace(obj, origin=None, inline_secret=False)
        elif isinstance(obj, UserLimit):
            if (obj.user,) not in state["user"]:
                raise ServerError("PUT", f"/api/user-limits/{obj.user}/{obj.name}", 404, "Not Found")
            state[obj.kind][obj.key] = replace(obj, origin=None)
        elif isinstance(obj, Exchange | Queue):
            self._require_vhost(obj.vhost, f"{obj.kind}s", obj.name)
            if obj.name.startswith("amq."):
                raise ServerError("PUT", f"/api/{obj.kind}s/{obj.vhost}/{obj.name}", 403, "access_refused")
            if isinstance(obj, Exchange) and obj.type not in self.types:
                reason = f"precondition_failed: unknown exchange type '{obj.type}'"
                raise ServerError("PUT", f"/api/exchanges/{obj.vhost}/{obj.name}", 400, reason)
            stored: TopologyObject = replace(obj, arguments=normalize_arguments(obj.arguments), origin=None)
            if isinstance(stored, Queue):
                stored = replace(stored, messages=None, exclusive=False)
            current = state[obj.kind].get(obj.key)
            if current is not None and current != stored:
                raise ServerError(
                    "PUT", f"/api/{obj.kind}s/{obj.vhost}/{obj.name}", 400, "PRECONDITION_FAILED - inequivalent arg"
                )
            state[obj.kind][obj.key] = stored
        else:
            self._require_vhost(obj.vhost, "bindings", obj.source)
            path = f"/api/bindings/{obj.vhost}/e/{obj.source}/{obj.destination_type[0]}/{obj.destination}"
            if (obj.vhost, obj.source) not in state["exchange"] or obj.source == "":
                raise ServerError("POST", path, 404 if obj.source else 403, "source not found")
            if (obj.vhost, obj.destination) not in state[obj.destination_type]:
                raise ServerError("POST", path, 404, "destination not found")
            binding = replace(obj, arguments=normalize_arguments(obj.arguments), properties_key=None, origin=None)
            state["binding"][binding.key] = binding

    def _delete(self, obj: TopologyObject, *, if_empty: bool, if_unused: bool) -> None:
        with self._lock:
            if isinstance(obj, Queue) and (if_empty or if_unused):
                self._check_conditions(obj.key, if_empty=if_empty, if_unused=if_unused)
            if isinstance(obj, Vhost) and if_empty:
                self._empty_vhost(obj.name, if_unused=if_unused)
            self._remove(obj.kind, obj.key)

    def _check_conditions(self, key: Key, *, if_empty: bool, if_unused: bool) -> None:
        queue = self._state.objects["queue"].get(key)
        if not isinstance(queue, Queue) or queue.type == "stream":
            return  # gone already, or a stream: the conditions are ignored
        if queue.type == "quorum":  # it refuses both flags; the backends send if-unused to classic queues only
            if if_empty:
                raise ServerError("DELETE", f"/api/queues/{key[0]}/{key[1]}", 400, "if-empty is not supported")
            return
        if if_unused and self._state.consumers.get(key, 0) > 0:  # checked first by the server (400 "in use")
            raise MessagesArrived.for_queue(key[0], key[1], "in_use")
        if if_empty and self._state.messages.get(key, 0) > 0:
            raise MessagesArrived.for_queue(key[0], key[1], "not_empty")

    def _empty_vhost(self, vhost: str, *, if_unused: bool) -> None:
        kept: dict[str, str] = {}
        for key, queue in list(self._state.objects["queue"].items()):
            if key[0] != vhost or not isinstance(queue, Queue) or queue.exclusive:
                continue
            try:
                self._check_conditions(key, if_empty=True, if_unused=if_unused)
            except MessagesArrived as exc:
                kept[key[1]] = exc.cause
                continue
            self._remove("queue", key)
        if kept:
            raise MessagesArrived.for_vhost(vhost, kept)

    def _remove(self, kind: str, key: Key) -> None:
        """Delete one object and everything the server deletes with it; already gone is no error."""
        state = self._state.objects
        if state[kind].pop(key, None) is None:
            return
        if kind == "vhost":
            for child in (k for k, facts in KINDS.items() if facts.scoped):
                for child_key, obj in list(state[child].items()):
                    if _vhost(obj) == key[0]:
                        del state[child][child_key]
        elif kind == "user":
            for child in ("permission", "topic_permission", "user_limit"):
                for child_key, obj in list(state[child].items()):
                    if obj.user == key[0]:  # type: ignore[union-attr]
                        del state[child][child_key]
        elif kind in ("queue", "exchange"):
            self._state.messages.pop(key, None)
            self._state.consumers.pop(key, None)
            for child_key, binding in list(state["binding"].items()):
                assert isinstance(binding, Binding)
                endpoint = binding.vhost == key[0] and (
                    (binding.destination_type == kind and binding.destination == key[1])
                    or (kind == "exchange" and binding.source == key[1])
                )
                if endpoint:
                    self._remove("binding", child_key)
        elif kind == "binding":
            self._auto_delete_source(key[0], key[1])

    def _auto_delete_source(self, vhost: str, source: str) -> None:
        """An auto-delete exchange goes with its last binding as a source (``rabbit_exchange:maybe_auto_delete``)."""
        exchange = self._state.objects["exchange"].get((vhost, source))
        if not isinstance(exchange, Exchange) or not exchange.auto_delete:
            return
        bindings = self._state.objects["binding"].values()
        if not any(isinstance(b, Binding) and b.vhost == vhost and b.source == source for b in bindings):
            self._remove("exchange", (vhost, source))


def _vhost(obj: TopologyObject) -> str | None:
    return getattr(obj, "vhost", None) if KINDS[obj.kind].scoped else None


def _is_rule(value: object) -> bool:
    return isinstance(value, tuple) and bool(value) and isinstance(value[0], str)


def _fault(spec: FaultSpec) -> Fault:
    if isinstance(spec, Fault):
        return spec
    if len(spec) == 3:
        return Fault(spec[0], spec[1], spec[2])
    return Fault(spec[0], spec[1])
