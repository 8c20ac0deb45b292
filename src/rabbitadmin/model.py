"""The objects a topology is made of: one frozen dataclass per kind, each with an explicit identity key.

Both sides of a diff use these types: the desired state loaded from a file and the actual state read
from a server. ``origin`` (where in the file an object was declared) never takes part in comparisons.

A field whose value is ``None`` on the desired side is *not managed*: the diff leaves whatever the server
has. Immutable properties of exchanges and queues always have a concrete value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rabbitadmin.errors import Problem

JsonValue = Any  # argument values: str, int, float, bool, list or dict, as JSON allows
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object came from: a file and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def canonical_json(value: Any) -> str:
    """A stable text form of a JSON value (sorted keys, no spaces), used in identity keys."""
    if value == {}:
        return "{}"  # nearly every binding: skip the encoder
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def holds_null(value: Any) -> bool:
    """Whether a JSON value is null or holds a null at any depth (in an object's values or a list's items)."""
    if isinstance(value, dict):
        return any(holds_null(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_null(item) for item in value)
    return value is None


class Secret:
    """A plaintext password that never shows itself in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)
    #: ``masking.masked`` shows any value whose class says so as ``***`` (masking needs no import of the model).
    always_masked = True

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True, slots=True)
class Vhost:
    kind: ClassVar[str] = "vhost"
    name: str
    description: str | None = None
    tags: tuple[str, ...] | None = None
    default_queue_type: str | None = None
    tracing: bool | None = None
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class User:
    """A user. ``password`` is desired-side only; the server side carries ``password_hash``."""

    kind: ClassVar[str] = "user"
    name: str
    tags: tuple[str, ...] | None = None
    password: Secret | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    hashing_algorithm: str = "rabbit_password_hashing_sha256"
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class Permission:
    kind: ClassVar[str] = "permission"
    user: str
    vhost: str
    configure: str
    write: str
    read: str
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.user, self.vhost)


@dataclass(frozen=True, slots=True)
class TopicPermission:
    kind: ClassVar[str] = "topic_permission"
    user: str
    vhost: str
    exchange: str
    write: str
    read: str
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.user, self.vhost, self.exchange)


@dataclass(frozen=True, slots=True)
class Exchange:
    kind: ClassVar[str] = "exchange"
    vhost: str
    name: str
    type: str = "direct"
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, JsonValue] = field(default_factory=dict)
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.vhost, self.name)


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue. ``type`` holds the queue type; ``x-queue-type`` never appears in ``arguments``."""

    kind: ClassVar[str] = "queue"
    vhost: str
    name: str
    type: str = "classic"
    durable: bool = True
    auto_delete: bool = False
    arguments: dict[str, JsonValue] = field(default_factory=dict)
    # Server side only: messages held, and whether the queue is exclusive (server-owned, never touched).
    messages: int | None = field(default=None, compare=False)
    exclusive: bool = field(default=False, compare=False)
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.vhost, self.name)


# -- fast makers for the hot path of validating a big file ------------------------------------------------
# A frozen dataclass's __init__ sets each field through object.__setattr__ (nine calls for a Queue), which
# made building the model a third of validating 2 million queues. Setting the slots through their own
# descriptors gives the same object in about half the time (measured: 200,000 queues, 0.33 s -> 0.15 s;
# an Origin 0.09 s -> 0.06 s). Only ``validate``'s fast path for plain queue items uses them; a test checks
# that they set every field (a field added to Queue or Origin must be added here).
_ORIGIN_FIELDS = ("file", "line")
_QUEUE_FIELDS = ("vhost", "name", "type", "durable", "auto_delete", "arguments", "messages", "exclusive", "origin")


#: ``new_queue``'s signature, spelled out so that mypy checks its callers.
QueueMaker = Callable[[str, str, str, bool, bool, dict[str, JsonValue], Origin | None], Queue]


def _makers() -> tuple[Callable[[str, int], Origin], QueueMaker]:
    new = object.__new__
    set_file, set_line = (Origin.__dict__[name].__set__ for name in _ORIGIN_FIELDS)
    (set_vhost, set_name, set_type, set_durable, set_auto_delete, set_arguments, set_messages, set_exclusive,
     set_origin) = (Queue.__dict__[name].__set__ for name in _QUEUE_FIELDS)  # fmt: skip

    def new_origin(file: str, line: int) -> Origin:
        origin = new(Origin)
        set_file(origin, file)
        set_line(origin, line)
        return origin

    def new_queue(
        vhost: str,
        name: str,
        type: str,
        durable: bool,
        auto_delete: bool,
        arguments: dict[str, JsonValue],
        origin: Origin | None,
    ) -> Queue:
        queue = new(Queue)
        set_vhost(queue, vhost)
        set_name(queue, name)
        set_type(queue, type)
        set_durable(queue, durable)
        set_auto_delete(queue, auto_delete)
        set_arguments(queue, arguments)
        set_messages(queue, None)
        set_exclusive(queue, False)
        set_origin(queue, origin)
        return queue

    return new_origin, new_queue


#: ``Origin(file, line)``, made faster (see above).
#: ``new_queue(vhost, name, type, durable, auto_delete, arguments, origin)``: ``Queue(...)`` as the file
#: declares one (no messages, not exclusive), made faster (see above).
new_origin, new_queue = _makers()


@dataclass(frozen=True, slots=True)
class Binding:
    """A binding. Its whole definition is its identity; ``properties_key`` is the server's handle on it."""

    kind: ClassVar[str] = "binding"
    vhost: str
    source: str
    destination_type: str  # "queue" or "exchange"
    destination: str
    routing_key: str = ""
    arguments: dict[str, JsonValue] = field(default_factory=dict)
    properties_key: str | None = field(default=None, compare=False)
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (
            self.vhost,
            self.source,
            self.destination_type,
            self.destination,
            self.routing_key,
            canonical_json(self.arguments),
        )


@dataclass(frozen=True, slots=True)
class VhostLimit:
    """One limit of a vhost (``max-connections``, ``max-queues``; -1: no limit). ``rabbit_vhost_limit``."""

    kind: ClassVar[str] = "vhost_limit"
    vhost: str
    name: str
    value: int
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.vhost, self.name)


@dataclass(frozen=True, slots=True)
class UserLimit:
    """One limit of a user (``max-connections``, ``max-channels``; -1: no limit). ``rabbit_auth_backend_internal``."""

    kind: ClassVar[str] = "user_limit"
    user: str
    name: str
    value: int
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.user, self.name)


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy (``rabbit_policy``): ``definition`` applies to the queues/exchanges whose names match
    ``pattern`` (``apply_to``: all, queues, exchanges; 4.0 adds classic_queues, quorum_queues, streams)."""

    kind: ClassVar[str] = "policy"
    vhost: str
    name: str
    pattern: str
    definition: dict[str, JsonValue] = field(default_factory=dict)
    priority: int | float = 0
    apply_to: str = "all"
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.vhost, self.name)


@dataclass(frozen=True, slots=True)
class OperatorPolicy(Policy):
    """An operator policy: the same shape, stored as the ``operator_policy`` runtime parameter; its keys are
    the few the server lets operators cap (``operator_policy_validator``)."""

    kind: ClassVar[str] = "operator_policy"


@dataclass(frozen=True)
class Parameter:
    """A runtime parameter of a vhost (``rabbit_runtime_parameters``): a plugin's object, such as a shovel
    (component ``shovel``) or a federation upstream (``federation-upstream``), whose ``value`` the plugin
    validates. The value may hold URIs with passwords and secret-named keys: its ``repr`` masks them
    (``masking``); comparisons use the real value. ``inline_secret``: a password written in the file itself
    (not ``{env:}``/``{file:}``), for audit RA025."""

    kind: ClassVar[str] = "parameter"
    vhost: str
    component: str
    name: str
    value: JsonValue = None
    origin: Origin | None = field(default=None, compare=False, repr=False)
    inline_secret: bool = field(default=False, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.vhost, self.component, self.name)

    def __repr__(self) -> str:
        return _masked_repr(self, ("vhost", "component", "name"))


@dataclass(frozen=True)
class GlobalParameter:
    """A global (cluster-wide) runtime parameter (``rabbit_runtime_parameters:set_global``), e.g.
    ``cluster_name``; ``internal_cluster_id`` (and 4.0's ``cluster_tags``) are the server's own."""

    kind: ClassVar[str] = "global_parameter"
    name: str
    value: JsonValue = None
    origin: Origin | None = field(default=None, compare=False, repr=False)
    inline_secret: bool = field(default=False, compare=False, repr=False)

    @property
    def key(self) -> Key:
        return (self.name,)

    def __repr__(self) -> str:
        return _masked_repr(self, ("name",))


def _masked_repr(obj: Parameter | GlobalParameter, names: tuple[str, ...]) -> str:
    """``Kind(field=..., value=...)`` with the value's secrets masked (``masking.masked``: URI passwords and
    values under secret-named keys)."""
    from rabbitadmin.masking import masked_field

    fields = ", ".join(f"{name}={getattr(obj, name)!r}" for name in names)
    return f"{type(obj).__name__}({fields}, value={masked_field(obj, 'value', obj.value)!r})"


@dataclass(frozen=True, slots=True)
class ServerReference:
    """An object a definitions file names without declaring it: a permission's user or vhost, a binding's source
    or destination, the vhost of a queue or policy. The server's own import takes such a file when the object
    exists on the server (3.10.8 and 4.0.5, measured), so validation only warns; the planner refuses the plan
    when the server does not have it either. ``kind`` and ``key`` name the object as the model does
    (``"exchange"``, ``(vhost, name)``); ``field`` is where the file names it (``bindings[0].source``)."""

    kind: str
    key: Key
    origin: Origin | None
    field: str

    @property
    def subject(self) -> str:
        """``exchange 'e' in vhost 'v'``, ``user 'u'``: the object, as plans name objects."""
        if len(self.key) == 2:
            return f"{self.kind} {self.key[1]!r} in vhost {self.key[0]!r}"
        return f"{self.kind} {self.key[0]!r}"


TopologyObject = (
    Vhost
    | User
    | Permission
    | TopicPermission
    | VhostLimit
    | UserLimit
    | GlobalParameter
    | Policy
    | OperatorPolicy
    | Exchange
    | Queue
    | Binding
    | Parameter
)

# Kinds in creation order; deletions run in the reverse order.
KIND_ORDER: tuple[str, ...] = (
    "vhost",
    "user",
    "permission",
    "topic_permission",
    "vhost_limit",
    "user_limit",
    "global_parameter",
    "policy",
    "operator_policy",
    "exchange",
    "queue",
    "binding",
    # After queues: a shovel declares a missing source/destination queue itself (classic, durable), which
    # would then clash with the file's declaration; deletes run first, so a shovel stops before its queues go.
    "parameter",
)


@dataclass
class Topology:
    """A set of objects by kind and key, plus the keys that must *not* exist (``absent``).

    ``vhosts_in_scope`` names the vhosts the topology manages (declared present or absent): only those
    are read from the server, and only inside them are unlisted objects pruned.
    """

    objects: dict[str, dict[Key, TopologyObject]] = field(default_factory=lambda: {kind: {} for kind in KIND_ORDER})
    absent: dict[str, dict[Key, Origin | None]] = field(default_factory=lambda: {kind: {} for kind in KIND_ORDER})
    # Routing assertions from the file's ``expect:`` section (rabbitadmin.routing.expect.Expectation).
    expectations: list[Any] = field(default_factory=list)
    #: What validation found doubtful but not wrong (e.g. an argument only some RabbitMQ versions refuse).
    warnings: list[Problem] = field(default_factory=list)
    #: Secrets written in plain text in the file (a definitions file's ``password``): (object, where), for
    #: audit RA026. Never the secret itself.
    plain_secrets: list[tuple[str, Origin]] = field(default_factory=list)
    #: What a definitions file names without declaring (``ServerReference``): it must exist on the server.
    server_references: list[ServerReference] = field(default_factory=list)
    #: The queues a definitions file puts in vhosts it only refers to without a type of their own (no ``type``,
    #: no ``x-queue-type``): the server's import gives them that vhost's default type, read at plan time.
    server_typed_queues: set[Key] = field(default_factory=set)
    #: A state read's: the server's objects it left out because no client can address them
    #: (``errors.Unaddressable``), each as ``str(Unaddressable)`` says it, once, in the order met.
    left_out: list[str] = field(default_factory=list)

    def add(self, obj: TopologyObject) -> None:
        self.objects[obj.kind][obj.key] = obj

    def mark_absent(self, kind: str, key: Key, origin: Origin | None = None) -> None:
        self.absent[kind][key] = origin

    def of(self, kind: str) -> dict[Key, TopologyObject]:
        return self.objects[kind]

    def __iter__(self) -> Iterator[TopologyObject]:
        for kind in KIND_ORDER:
            yield from self.objects[kind].values()

    def __len__(self) -> int:
        return sum(len(objs) for objs in self.objects.values())

    @property
    def vhosts(self) -> dict[Key, Vhost]:
        return self.objects["vhost"]  # type: ignore[return-value]

    @property
    def users(self) -> dict[Key, User]:
        return self.objects["user"]  # type: ignore[return-value]

    @property
    def permissions(self) -> dict[Key, Permission]:
        return self.objects["permission"]  # type: ignore[return-value]

    @property
    def topic_permissions(self) -> dict[Key, TopicPermission]:
        return self.objects["topic_permission"]  # type: ignore[return-value]

    @property
    def exchanges(self) -> dict[Key, Exchange]:
        return self.objects["exchange"]  # type: ignore[return-value]

    @property
    def queues(self) -> dict[Key, Queue]:
        return self.objects["queue"]  # type: ignore[return-value]

    @property
    def bindings(self) -> dict[Key, Binding]:
        return self.objects["binding"]  # type: ignore[return-value]

    @property
    def vhost_limits(self) -> dict[Key, VhostLimit]:
        return self.objects["vhost_limit"]  # type: ignore[return-value]

    @property
    def user_limits(self) -> dict[Key, UserLimit]:
        return self.objects["user_limit"]  # type: ignore[return-value]

    @property
    def policies(self) -> dict[Key, Policy]:
        return self.objects["policy"]  # type: ignore[return-value]

    @property
    def operator_policies(self) -> dict[Key, OperatorPolicy]:
        return self.objects["operator_policy"]  # type: ignore[return-value]

    @property
    def parameters(self) -> dict[Key, Parameter]:
        return self.objects["parameter"]  # type: ignore[return-value]

    @property
    def global_parameters(self) -> dict[Key, GlobalParameter]:
        return self.objects["global_parameter"]  # type: ignore[return-value]

    def vhosts_in_scope(self) -> set[str]:
        return {key[0] for key in self.vhosts} | {key[0] for key in self.absent["vhost"]}

    def referenced_vhosts(self) -> set[str]:
        """The vhosts a definitions file only refers to (``server_references``): not in scope, nothing in them
        pruned; the objects the file puts there are compared with the server's."""
        return {ref.key[0] for ref in self.server_references if ref.kind == "vhost"} - self.vhosts_in_scope()
