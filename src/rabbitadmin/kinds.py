"""RabbitMQ facts about each kind of object, as one table reviewed in one place.

Per kind (``KINDS``): its identity fields, its section of a definitions file and its management API path,
each field with how a change of it is carried out (``OnChange``) and the value the server applies when it
is left out, whether it lives in a vhost, whether deleting it destroys messages, which of its objects belong
to the server, and its place in the create order (deletes run in the reverse order). ``validate``,
``normalize``, ``diff``, ``definitions``, ``export`` and the backends read these facts instead of keeping their
own lists; adding a kind or a field starts here (docs/architecture.md, "How to add a kind or a field").

What the server accepts as the ``arguments`` of queues, exchanges and bindings is a table of its own
(``argument_rules.RULES``, with the versions where the server changed its mind): it is long and has its own
server-checked test, so each kind here *references* its rows (``KindFacts.argument_rules``) rather than
holding them; ``argument_rules.check_arguments`` stays the one function that applies them.

Sources: the management API reference (``/api/index.html`` of a node), ``rabbit_definitions.erl`` (sections),
``rabbit_vhost.erl``, ``rabbit_exchange.erl``, ``rabbit_amqqueue.erl``, ``rabbit_binding.erl``; measured on
3.10.8 (see /work/shared/DESIGN.md and docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from rabbitadmin.argument_rules import QUEUE_TYPES, RULES, ArgumentRule
from rabbitadmin.model import (
    KIND_ORDER,
    Binding,
    Exchange,
    GlobalParameter,
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

__all__ = [
    "APPLY_TO",
    "APPLY_TO_FROM_4",
    "BUILTIN_EXCHANGES",
    "BUILTIN_EXCHANGE_TYPES",
    "CREATE_ORDER",
    "DELETE_ORDER",
    "EXCHANGE_TYPE_PLUGINS",
    "KINDS",
    "PARAMETER_COMPONENTS",
    "POLICY_KEYS",
    "QUEUE_TYPES",
    "SERVER_EXCHANGE_TYPES",
    "SERVER_OWNED_GLOBAL_PARAMETERS",
    "SHIPPED_PLUGINS",
    "USER_LIMITS",
    "VHOST_LIMITS",
    "BuiltinExchange",
    "FieldFacts",
    "KindFacts",
    "OnChange",
    "api_segments",
    "is_reserved_queue_name",
    "is_server_owned",
    "is_server_owned_exchange",
    "message_total",
    "plain_from_server",
    "plain_to_server",
    "policy_key_known",
    "vhost_queues",
]


class OnChange(StrEnum):
    """How the plan carries out a change of one field."""

    IDENTITY = "identity"  # part of the key: another value is another object (create one, prune the other)
    UPDATE = "update"  # changed in place (a PUT, or a definitions import of the whole object)
    SECRET = "secret"  # noqa: S105 - changed in place, compared without ever showing a value (a password)
    REPLACE = "replace"  # fixed at creation: delete and re-create (the plan says so, messages are counted)
    REFUSE = "refuse"  # fixed at creation, and re-creating would take everything inside: the plan refuses


@dataclass(frozen=True)
class FieldFacts:
    """One field of a kind.

    ``default``: what the server applies (and reports) when a declaration leaves the field out; ``None`` when
    there is no default (an identity field) or the server reports nothing. ``server_key``: the field's name in
    the management API's JSON where it differs from the model's (e.g. ``defaultqueuetype`` in a vhost PUT).
    ``plain``: a scalar the server's JSON (listings, PUT bodies, definitions) carries under one name
    (``server_key`` or ``name``): ``definitions``, ``export`` and both backends read and write it with no code
    of their own (``plain_to_server``, ``plain_from_server``). ``in_export``: False when
    ``rabbitmqctl export_definitions`` leaves the field out (the ctl backend then lists it).
    """

    name: str
    on_change: OnChange
    default: Any = None
    server_key: str | None = None
    plain: bool = False
    in_export: bool = True
    #: May hold secrets (URI passwords, secret-named keys): a plan shows it through ``masking.masked`` (compared
    #: unmasked).
    masked: bool = False
    #: A null in the file is a value to set (a parameter's value), not "the server's default".
    null_is_value: bool = False

    @property
    def key(self) -> str:
        """The field's name in the server's JSON."""
        return self.server_key or self.name


@dataclass(frozen=True)
class KindFacts:
    """What RabbitMQ does with one kind of object.

    ``section``: the key of a definitions file (``rabbit_definitions``) holding this kind. ``api_path``: the
    management API path of one object, as segments formatted with the object's fields (each segment is
    percent-encoded by ``backends.http.paths.api_path``). ``scoped``: the object lives in a vhost (pruned only inside
    vhosts the topology manages). ``holds_messages``: deleting or replacing one may destroy messages.
    ``server_owned``: which objects of this kind the server creates and manages itself (``is_server_owned``).
    """

    name: str
    label: str
    model: type
    section: str
    api_path: tuple[str, ...]
    fields: tuple[FieldFacts, ...]
    scoped: bool
    holds_messages: bool = False
    server_owned: str = ""
    #: For kinds a definitions file keeps as runtime parameters (``section == "parameters"``): the component.
    component: str = ""

    @cached_property
    def identity(self) -> tuple[str, ...]:
        """The fields that make up the object's key, in key order."""
        return self._named(OnChange.IDENTITY)

    @cached_property
    def updatable(self) -> tuple[str, ...]:
        """Plain fields the server changes in place (secrets are compared separately)."""
        return self._named(OnChange.UPDATE)

    @cached_property
    def immutable(self) -> tuple[str, ...]:
        """Fields fixed at creation whose change is a Replace."""
        return self._named(OnChange.REPLACE)

    @cached_property
    def compared(self) -> bool:
        """Whether two objects with the same key can still differ: some field is not part of the key."""
        return any(f.on_change is not OnChange.IDENTITY for f in self.fields)

    @cached_property
    def refused(self) -> tuple[str, ...]:
        """Fields fixed at creation whose change the plan refuses (re-creating would destroy too much)."""
        return self._named(OnChange.REFUSE)

    @property
    def defaults(self) -> dict[str, Any]:
        """What the server applies to each field a declaration leaves out."""
        return {f.name: f.default for f in self.fields if f.default is not None}

    @property
    def argument_rules(self) -> tuple[ArgumentRule, ...]:
        """The rows of ``argument_rules.RULES`` for this kind's ``arguments`` (empty: none checked)."""
        return tuple(rule for rule in RULES if rule.target == self.name)

    @property
    def plain_fields(self) -> tuple[FieldFacts, ...]:
        """Fields the server's JSON carries as they are (``FieldFacts.plain``)."""
        return tuple(f for f in self.fields if f.plain)

    @cached_property
    def _fields_by_name(self) -> dict[str, FieldFacts]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> FieldFacts:
        """The field called ``name``; raises ``KeyError`` for a name the kind does not have."""
        return self._fields_by_name[name]

    def _named(self, how: OnChange) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.on_change is how)


#: Global parameters the node writes itself (``rabbit_nodes``/``rabbit_db_cluster`` at boot): never planned,
#: exported or pruned. ``cluster_tags`` exists from 4.0 (measured: 4.0.5 lists it, ``[]`` by default).
SERVER_OWNED_GLOBAL_PARAMETERS = ("internal_cluster_id", "cluster_tags")

_I, _U, _S, _R, _X = OnChange.IDENTITY, OnChange.UPDATE, OnChange.SECRET, OnChange.REPLACE, OnChange.REFUSE

# Every field of a policy is changed in place by a PUT (rabbit_policy:set, a runtime parameter).
_POLICY_FIELDS = (
    FieldFacts("vhost", _I),
    FieldFacts("name", _I),
    FieldFacts("pattern", _U),
    FieldFacts("definition", _U),
    FieldFacts("priority", _U, 0, plain=True),
    FieldFacts("apply_to", _U, "all", server_key="apply-to", plain=True),
)

KINDS: dict[str, KindFacts] = {
    "vhost": KindFacts(
        "vhost",
        "vhost",
        Vhost,
        "vhosts",
        ("vhosts", "{name}"),
        (
            FieldFacts("name", _I),
            FieldFacts("description", _U, ""),
            FieldFacts("tags", _U, ()),
            # Fixed once the vhost exists (3.10.8); the server reports "undefined" when none was set: classic.
            FieldFacts("default_queue_type", _X, "classic", server_key="defaultqueuetype"),
            # rabbit_trace: the vhost's messages copied to amq.rabbitmq.trace. A PUT or an import sets it; a
            # PUT without it leaves it; export_definitions leaves it out (3.10.8, 4.0.5).
            FieldFacts("tracing", _U, False, plain=True, in_export=False),
        ),
        scoped=False,
        holds_messages=True,  # deleting a vhost deletes its queues
    ),
    "user": KindFacts(
        "user",
        "user",
        User,
        "users",
        ("users", "{name}"),
        (
            FieldFacts("name", _I),
            FieldFacts("tags", _U, ()),
            # Compared through the stored hash (diff._with_hash); a PUT without a hash clears the password.
            FieldFacts("password", _S),
        ),
        scoped=False,
    ),
    "permission": KindFacts(
        "permission",
        "permission",
        Permission,
        "permissions",
        ("permissions", "{vhost}", "{user}"),
        (
            FieldFacts("user", _I),
            FieldFacts("vhost", _I),
            FieldFacts("configure", _U),
            FieldFacts("write", _U),
            FieldFacts("read", _U),
        ),
        scoped=True,
    ),
    "topic_permission": KindFacts(
        "topic_permission",
        "topic permission",
        TopicPermission,
        "topic_permissions",
        # One path holds all of a user's topic permissions in a vhost (a DELETE removes every exchange's).
        ("topic-permissions", "{vhost}", "{user}"),
        (
            FieldFacts("user", _I),
            FieldFacts("vhost", _I),
            FieldFacts("exchange", _I),
            FieldFacts("write", _U),
            FieldFacts("read", _U),
        ),
        scoped=True,
    ),
    "vhost_limit": KindFacts(
        "vhost_limit",
        "vhost limit",
        VhostLimit,
        # Definitions: the runtime parameter vhost-limits/limits holding every limit of the vhost (3.10, 4.0).
        "parameters",
        ("vhost-limits", "{vhost}", "{name}"),
        (FieldFacts("vhost", _I), FieldFacts("name", _I), FieldFacts("value", _U)),
        scoped=True,
        component="vhost-limits",
    ),
    "user_limit": KindFacts(
        "user_limit",
        "user limit",
        UserLimit,
        "users",  # users[].limits of a definitions file
        ("user-limits", "{user}", "{name}"),
        (FieldFacts("user", _I), FieldFacts("name", _I), FieldFacts("value", _U)),
        scoped=False,  # a user's, like the user itself: never pruned
    ),
    "global_parameter": KindFacts(
        "global_parameter",
        "global parameter",
        GlobalParameter,
        "global_parameters",
        ("global-parameters", "{name}"),
        (FieldFacts("name", _I), FieldFacts("value", _U, masked=True, null_is_value=True)),
        scoped=False,  # cluster-wide: never pruned by --prune (state: absent deletes one)
        server_owned=f"{', '.join(SERVER_OWNED_GLOBAL_PARAMETERS)} (written by the node itself)",
    ),
    "policy": KindFacts(
        "policy",
        "policy",
        Policy,
        "policies",
        ("policies", "{vhost}", "{name}"),
        _POLICY_FIELDS,
        scoped=True,
    ),
    "operator_policy": KindFacts(
        "operator_policy",
        "operator policy",
        OperatorPolicy,
        # Definitions exports keep operator policies as runtime parameters (component operator_policy).
        "parameters",
        ("operator-policies", "{vhost}", "{name}"),
        _POLICY_FIELDS,
        scoped=True,
        component="operator_policy",
    ),
    "exchange": KindFacts(
        "exchange",
        "exchange",
        Exchange,
        "exchanges",
        ("exchanges", "{vhost}", "{name}"),
        (
            FieldFacts("vhost", _I),
            FieldFacts("name", _I),
            FieldFacts("type", _R, "direct"),
            FieldFacts("durable", _R, True),
            FieldFacts("auto_delete", _R, False),
            FieldFacts("internal", _R, False),
            FieldFacts("arguments", _R, {}),
        ),
        scoped=True,
        server_owned="the default exchange '' and every amq.* name (BUILTIN_EXCHANGES in every vhost)",
    ),
    "queue": KindFacts(
        "queue",
        "queue",
        Queue,
        "queues",
        ("queues", "{vhost}", "{name}"),
        (
            FieldFacts("vhost", _I),
            FieldFacts("name", _I),
            # The server's default is the vhost's default queue type; the file's default is classic.
            FieldFacts("type", _R, "classic"),
            FieldFacts("durable", _R, True),
            FieldFacts("auto_delete", _R, False),
            FieldFacts("arguments", _R, {}),
        ),
        scoped=True,
        holds_messages=True,
        server_owned="exclusive queues (their connection's) and amq.* names (server-named queues)",
    ),
    "binding": KindFacts(
        "binding",
        "binding",
        Binding,
        "bindings",
        # "{destination_type[0]}" is the API's letter: q (queue) or e (exchange). A delete adds the handle.
        ("bindings", "{vhost}", "e", "{source}", "{destination_type[0]}", "{destination}"),
        # Every field of a binding is part of its identity: any change is a delete plus a create.
        (
            FieldFacts("vhost", _I),
            FieldFacts("source", _I),
            FieldFacts("destination_type", _I),
            FieldFacts("destination", _I),
            FieldFacts("routing_key", _I),
            FieldFacts("arguments", _I),
        ),
        scoped=True,
        server_owned="the implicit binding of every queue to the default exchange, and bindings to exclusive queues",
    ),
    "parameter": KindFacts(
        "parameter",
        "parameter",
        Parameter,
        # Components with a kind of their own (operator_policy, vhost-limits) are not parameters here.
        "parameters",
        ("parameters", "{component}", "{vhost}", "{name}"),
        (
            FieldFacts("vhost", _I),
            FieldFacts("component", _I),
            FieldFacts("name", _I),
            FieldFacts("value", _U, masked=True, null_is_value=True),
        ),
        scoped=True,
    ),
}

assert tuple(KINDS) == KIND_ORDER, "kinds.py and model.KIND_ORDER must list the kinds in the same order"

#: The kinds whose ``arguments`` the server checks, each with its rows of ``argument_rules.RULES``.
ARGUMENTS_CHECKED = {kind: KINDS[kind].argument_rules for kind in ("exchange", "queue", "binding")}

CREATE_ORDER = KIND_ORDER
DELETE_ORDER = tuple(reversed(KIND_ORDER))

#: Sections of a definitions file, by kind.
SECTIONS = {kind: facts.section for kind, facts in KINDS.items()}

BUILTIN_EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
#: The plugin that registers an exchange type, for the plan's advice when the server lacks the type (the server
#: itself is asked which types it has: ``exchange_types`` of the backends).
EXCHANGE_TYPE_PLUGINS = {
    "x-consistent-hash": "rabbitmq_consistent_hash_exchange",
    "x-random": "rabbitmq_random_exchange",
    "x-modulus-hash": "rabbitmq_sharding",
    "x-jms-topic": "rabbitmq_jms_topic_exchange",
    "x-delayed-message": "rabbitmq_delayed_message_exchange (a community plugin)",
    "x-recent-history": "rabbitmq_recent_history_exchange",
}


class BuiltinExchange(NamedTuple):
    """An exchange every vhost has from its creation (``rabbit_vhost:do_add`` declares them)."""

    name: str
    type: str
    internal: bool = False


#: The server's own exchanges in every vhost: the default exchange and the ``amq.*`` ones.
BUILTIN_EXCHANGES: tuple[BuiltinExchange, ...] = (
    BuiltinExchange("", "direct"),
    BuiltinExchange("amq.direct", "direct"),
    BuiltinExchange("amq.fanout", "fanout"),
    BuiltinExchange("amq.headers", "headers"),
    BuiltinExchange("amq.match", "headers"),
    BuiltinExchange("amq.topic", "topic"),
    BuiltinExchange("amq.rabbitmq.trace", "topic", internal=True),
)
#: The types of the server's ``amq.*`` exchanges, which bindings may use as their source.
SERVER_EXCHANGE_TYPES: dict[str, str] = {e.name: e.type for e in BUILTIN_EXCHANGES if e.name}


def is_server_owned_exchange(name: str) -> bool:
    """The default exchange and every ``amq.*`` name belong to the server (clients may not declare them)."""
    return name == "" or name.startswith("amq.")


def is_reserved_queue_name(name: str) -> bool:
    """Queue names starting ``amq.`` are the server's (``rabbit_channel`` refuses them to clients)."""
    return name.startswith("amq.")


#: The kinds of which ``is_server_owned`` can say yes (a loop over a kind's objects may skip asking it).
SERVER_OWNED_KINDS = frozenset({"exchange", "queue", "binding", "global_parameter"})


def is_server_owned(obj: TopologyObject, actual: Topology | None = None) -> bool:
    """Objects the server creates and manages itself: never planned, never pruned, never exported.

    ``actual``: the server's state ``obj`` was read with; it says which queues are exclusive, so that a
    binding *to an exclusive queue* (destination type queue, not an exchange of the same name) is its
    connection's.
    """
    if isinstance(obj, Exchange):
        return is_server_owned_exchange(obj.name)
    if isinstance(obj, Queue):
        return obj.exclusive or is_reserved_queue_name(obj.name)
    if isinstance(obj, GlobalParameter):
        return obj.name in SERVER_OWNED_GLOBAL_PARAMETERS
    if isinstance(obj, Binding):
        if obj.source == "":
            return True  # every queue's implicit binding to the default exchange
        if obj.destination_type == "queue" and actual is not None:
            queue = actual.queues.get((obj.vhost, obj.destination))
            return queue is not None and queue.exclusive
    return False


def vhost_queues(actual: Topology, vhost: str) -> list[Queue]:
    """The queues a delete of ``vhost`` destroys with their messages (exclusive ones are their connection's)."""
    return [q for q in actual.queues.values() if q.vhost == vhost and not q.exclusive]


def message_total(counts: Iterable[int | None]) -> int | None:
    """The sum of message (or consumer) counts, None if any is unknown."""
    values = list(counts)
    return None if any(c is None for c in values) else sum(c or 0 for c in values)


def plain_to_server(obj: TopologyObject) -> dict[str, Any]:
    """The plain fields ``obj`` manages (not None), keyed as the server's JSON names them."""
    values = ((f.key, getattr(obj, f.name)) for f in KINDS[obj.kind].plain_fields)
    return {key: value for key, value in values if value is not None}


def plain_from_server(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The plain fields of one server JSON entry as model values; the server's default where it says nothing."""
    return {f.name: data.get(f.key, f.default) for f in KINDS[kind].plain_fields}


def api_segments(obj: TopologyObject) -> list[str]:
    """The management API path segments of ``obj`` (``KindFacts.api_path`` filled in), before quoting."""
    values = {f.name: getattr(obj, f.name) for f in KINDS[obj.kind].fields if f.on_change is OnChange.IDENTITY}
    return [segment.format_map(values) for segment in KINDS[obj.kind].api_path]


# -- policies and limits ---------------------------------------------------------------------------------
class PolicyKey(NamedTuple):
    """A key a policy definition may hold: which versions' servers know it, and for which policies.

    ``versions``: (first, last) major.minor the server registers it (None: open). ``operator``: an operator
    policy may set it too (``operator_policy_validator``). ``plugin``: registered by that plugin only.
    ``caps``: it limits what queues hold (a new value may drop or reject messages); ``mirrors``: classic
    queue mirroring (removed in 4.0).
    Sources: ``rabbit_policies:register/0``, ``rabbit_mirror_queue_misc`` (3.10), ``rabbit_classic_queue``
    (4.0), ``rabbit_federation_*`` (plugin), at v3.10.8 and v4.0.5.
    """

    versions: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None)
    operator: bool = False
    plugin: str = ""
    caps: bool = False
    mirrors: bool = False


_TO_3 = (None, (3, 13))
POLICY_KEYS: dict[str, PolicyKey] = {
    "alternate-exchange": PolicyKey(),
    "consumer-timeout": PolicyKey(((4, 0), None)),
    "dead-letter-exchange": PolicyKey(),
    "dead-letter-routing-key": PolicyKey(),
    "dead-letter-strategy": PolicyKey(),
    "message-ttl": PolicyKey(operator=True, caps=True),
    "expires": PolicyKey(operator=True, caps=True),  # an unused queue is deleted, with its messages
    "max-length": PolicyKey(operator=True, caps=True),
    "max-length-bytes": PolicyKey(operator=True, caps=True),
    "max-in-memory-length": PolicyKey(operator=True),
    "max-in-memory-bytes": PolicyKey(operator=True),
    "queue-mode": PolicyKey(),
    "queue-version": PolicyKey(),  # an operator policy key from 4.0 (OPERATOR_FROM_4)
    "overflow": PolicyKey(),  # idem
    "delivery-limit": PolicyKey(operator=True, caps=True),
    "max-age": PolicyKey(caps=True),
    "stream-max-segment-size-bytes": PolicyKey(),
    "stream-filter-size-bytes": PolicyKey(((4, 0), None)),
    "queue-leader-locator": PolicyKey(),
    "queue-master-locator": PolicyKey(),
    "initial-cluster-size": PolicyKey(),
    "ha-mode": PolicyKey(_TO_3, mirrors=True),
    "ha-params": PolicyKey(_TO_3, mirrors=True),
    "ha-sync-mode": PolicyKey(_TO_3, mirrors=True),
    "ha-sync-batch-size": PolicyKey(_TO_3, mirrors=True),
    "ha-promote-on-shutdown": PolicyKey(_TO_3, mirrors=True),
    "ha-promote-on-failure": PolicyKey(_TO_3, mirrors=True),
    "federation-upstream": PolicyKey(plugin="rabbitmq_federation"),
    "federation-upstream-set": PolicyKey(plugin="rabbitmq_federation"),
    "federation-upstream-pattern": PolicyKey(plugin="rabbitmq_federation"),
}
#: Keys an operator policy may hold from 4.0 on only (``rabbit_policies:register/0`` at v4.0.5).
OPERATOR_FROM_4 = ("queue-version", "overflow")
#: What ``apply-to`` may say (``rabbit_policy:apply_to_validation``); the second tuple: from 4.0 only.
APPLY_TO = ("all", "queues", "exchanges")
APPLY_TO_FROM_4 = ("classic_queues", "quorum_queues", "streams")
#: Limits the server knows (``rabbit_vhost_limit:vhost_limit_validation``,
#: ``rabbit_auth_backend_internal:user_limit_validation``): integers, negative meaning no limit.
VHOST_LIMITS = ("max-connections", "max-queues")
USER_LIMITS = ("max-connections", "max-channels")


def policy_key_known(key: str, version: tuple[int, ...] | None, *, operator: bool) -> bool:
    """Whether a server of ``version`` (None: any) accepts ``key`` in a (operator) policy definition."""
    facts = POLICY_KEYS.get(key)
    if facts is None:
        return False
    if operator and not (facts.operator or key in OPERATOR_FROM_4):
        return False
    first, last = facts.versions
    if operator and key in OPERATOR_FROM_4:
        first = (4, 0)
    if version is None:
        return True
    return (first is None or version[:2] >= first) and (last is None or version[:2] <= last)


# -- runtime parameters ----------------------------------------------------------------------------------
class ComponentFacts(NamedTuple):
    """A runtime parameter component a plugin registers (``rabbit_registry:register(runtime_parameter, ...)``).

    ``plugin``: the plugin that registers it (the server refuses the component otherwise: "component ...
    not found", HTTP 400). What each component's value may hold is ``parameter_rules``' table.
    Sources: ``rabbit_shovel_parameters``, ``rabbit_federation_parameters`` (v3.10.8, v4.0.5).
    """

    plugin: str


#: The plugins RabbitMQ 3.10.8 and 4.0.5 ship (their ``plugins`` directories' ``rabbitmq_*`` entries). Of these
#: only rabbitmq_shovel and rabbitmq_federation register runtime parameter components (``rabbit_registry:
#: register(runtime_parameter, ...)`` in their sources): on a server running no other ``rabbitmq_*``
#: application, a component outside ``PARAMETER_COMPONENTS`` is one no plugin registers.
SHIPPED_PLUGINS = frozenset({
    "rabbitmq_amqp1_0", "rabbitmq_auth_backend_cache", "rabbitmq_auth_backend_http", "rabbitmq_auth_backend_ldap",
    "rabbitmq_auth_backend_oauth2", "rabbitmq_auth_mechanism_ssl", "rabbitmq_aws",
    "rabbitmq_consistent_hash_exchange", "rabbitmq_event_exchange", "rabbitmq_federation",
    "rabbitmq_federation_management", "rabbitmq_federation_prometheus", "rabbitmq_jms_topic_exchange",
    "rabbitmq_management", "rabbitmq_management_agent", "rabbitmq_mqtt", "rabbitmq_peer_discovery_aws",
    "rabbitmq_peer_discovery_common", "rabbitmq_peer_discovery_consul", "rabbitmq_peer_discovery_etcd",
    "rabbitmq_peer_discovery_k8s", "rabbitmq_prelaunch", "rabbitmq_prometheus", "rabbitmq_random_exchange",
    "rabbitmq_recent_history_exchange", "rabbitmq_sharding", "rabbitmq_shovel", "rabbitmq_shovel_management",
    "rabbitmq_shovel_prometheus", "rabbitmq_stomp", "rabbitmq_stream", "rabbitmq_stream_common",
    "rabbitmq_stream_management", "rabbitmq_top", "rabbitmq_tracing", "rabbitmq_trust_store",
    "rabbitmq_web_dispatch", "rabbitmq_web_mqtt", "rabbitmq_web_mqtt_examples", "rabbitmq_web_stomp",
    "rabbitmq_web_stomp_examples",
})  # fmt: skip

PARAMETER_COMPONENTS: dict[str, ComponentFacts] = {
    "shovel": ComponentFacts("rabbitmq_shovel"),
    "federation-upstream": ComponentFacts("rabbitmq_federation"),
    "federation-upstream-set": ComponentFacts("rabbitmq_federation"),
    "federation": ComponentFacts("rabbitmq_federation"),  # local-nodename, local-username: strings
}
#: Components with a kind of their own; never ``Parameter`` objects.
OWN_KIND_COMPONENTS = ("operator_policy", "vhost-limits")
