"""The facts table (kinds.py) and what derives from it: server-owned objects, paths, sections, fields."""

from __future__ import annotations

import dataclasses

import pytest

from rabbitadmin.definitions import SECTIONS as DEFINITIONS_SECTIONS
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action, Change
from rabbitadmin.export import export_document
from rabbitadmin.kinds import (
    BUILTIN_EXCHANGES,
    KINDS,
    SERVER_EXCHANGE_TYPES,
    SERVER_OWNED_KINDS,
    OnChange,
    api_segments,
    is_server_owned,
    message_total,
)
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

V = "v"
SAMPLES: dict[str, TopologyObject] = {
    "vhost": Vhost("v/1"),
    "user": User("u 1"),
    "permission": Permission("u", V, ".*", ".*", ".*"),
    "topic_permission": TopicPermission("u", V, "amq.topic", ".*", ".*"),
    "vhost_limit": VhostLimit(V, "max-queues", 5),
    "user_limit": UserLimit("u 1", "max-channels", 5),
    "policy": Policy(V, "p/1", "^q", {"max-length": 1}),
    "operator_policy": OperatorPolicy(V, "o", "^q", {"expires": 1}),
    "exchange": Exchange(V, "e"),
    "queue": Queue(V, "q"),
    "binding": Binding(V, "e", "exchange", "e2", "k", {"x": 1}),
    "global_parameter": GlobalParameter("cluster_name", "c"),
    "parameter": Parameter(V, "federation-upstream", "up", {"uri": "amqp://h"}),
}


def topo(*objects: TopologyObject) -> Topology:
    result = Topology()
    for obj in objects:
        result.add(obj)
    return result


# -- the bug of issue 13.3: a binding to an EXCHANGE named like an exclusive queue is an ordinary binding -----
def _server_with_exchange_named_like_an_exclusive_queue() -> Topology:
    return topo(
        Vhost(V, description="", tags=()),
        Exchange(V, "src", "fanout"),
        Exchange(V, "reply", "fanout"),
        Queue(V, "reply", exclusive=True, durable=False, messages=0),
        Binding(V, "src", "exchange", "reply", "k"),
        Binding(V, "src", "queue", "reply", "k"),
    )


def test_prune_deletes_a_binding_to_an_exchange_named_like_an_exclusive_queue() -> None:
    desired = topo(Vhost(V), Exchange(V, "src", "fanout"), Exchange(V, "reply", "fanout"))
    plan = compute_plan(desired, _server_with_exchange_named_like_an_exclusive_queue(), prune=True)
    deletes = [c.key for c in plan.changes if c.action is Action.DELETE]
    # The exchange-to-exchange binding is pruned; the binding to the exclusive queue is its connection's.
    assert deletes == [(V, "src", "exchange", "reply", "k", "{}")]


def test_export_keeps_a_binding_to_an_exchange_named_like_an_exclusive_queue() -> None:
    document = export_document(_server_with_exchange_named_like_an_exclusive_queue())
    (vhost,) = document["vhosts"]
    assert [q["name"] for q in vhost.get("queues", [])] == []
    expected = {"source": "src", "destination": "reply", "destination_type": "exchange", "routing_key": "k"}
    assert vhost["bindings"] == [expected]


@pytest.mark.parametrize(
    ("obj", "owned"),
    [
        (Exchange(V, ""), True),
        (Exchange(V, "amq.topic"), True),
        (Exchange(V, "amq.anything"), True),
        (Exchange(V, "amqx"), False),
        (Queue(V, "amq.gen-1"), True),
        (Queue(V, "reply", exclusive=True), True),
        (Queue(V, "reply"), False),
        (Binding(V, "", "queue", "q", "q"), True),
        (Binding(V, "src", "queue", "reply"), True),
        (Binding(V, "src", "exchange", "reply"), False),
        (Binding(V, "src", "queue", "other"), False),
        (Vhost(V), False),
        (User("guest"), False),
    ],
)
def test_is_server_owned(obj: TopologyObject, owned: bool) -> None:
    actual = topo(Queue(V, "reply", exclusive=True), Exchange(V, "reply"), Queue(V, "other"))
    assert is_server_owned(obj, actual) is owned


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_server_owned_kinds_are_exactly_the_kinds_is_server_owned_can_own(kind: str) -> None:
    """The diff asks ``is_server_owned`` only of ``SERVER_OWNED_KINDS``: any other kind's object must never be
    the server's, whatever its names (every string field made a server-owned-looking name, or empty)."""
    sample = SAMPLES[kind]
    actual = topo(Queue(V, "amq.gen-1", exclusive=True), Queue(V, "", exclusive=True))
    text_fields = [f.name for f in dataclasses.fields(sample) if isinstance(getattr(sample, f.name), str)]
    owned_any = False
    for name in ("", "amq.gen-1", "amq.topic", "internal_cluster_id", "cluster_tags"):
        variant = dataclasses.replace(sample, **dict.fromkeys(text_fields, name))
        owned_any |= is_server_owned(variant, actual)
        owned_any |= is_server_owned(dataclasses.replace(sample, **{text_fields[-1]: name}), actual)
    assert owned_any is (kind in SERVER_OWNED_KINDS)


# -- the table itself -----------------------------------------------------------------------------------
def test_table_covers_every_kind_in_create_order() -> None:
    assert tuple(KINDS) == KIND_ORDER
    assert {kind: facts.section for kind, facts in KINDS.items()} == DEFINITIONS_SECTIONS


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_every_model_field_has_one_fact_and_identity_is_the_key(kind: str) -> None:
    facts = KINDS[kind]
    obj = SAMPLES[kind]
    assert facts.model is type(obj)
    model_fields = {f.name for f in dataclasses.fields(obj) if f.compare}
    # Server-side handles and the hash that stands for a password are not managed fields.
    model_fields -= {"password_hash", "hashing_algorithm", "properties_key"}
    assert {f.name for f in facts.fields} == model_fields
    identity = tuple(getattr(obj, name) for name in facts.identity)
    assert identity[:-1] == obj.key[:-1] if kind == "binding" else identity == obj.key


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_defaults_in_the_table_are_the_models(kind: str) -> None:
    """A field the file leaves out is created with the value the server would apply."""
    model_defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        for f in dataclasses.fields(KINDS[kind].model)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    for name, default in KINDS[kind].defaults.items():
        if kind in ("exchange", "queue", "policy", "operator_policy"):
            # The model's default IS the server's (a policy PUT without priority/apply-to sets 0/all); others
            # default to unmanaged.
            assert model_defaults[name] == default, name
        else:
            assert model_defaults[name] is None, name


@pytest.mark.parametrize(
    ("kind", "segments"),
    [
        ("vhost", ["vhosts", "v/1"]),
        ("user", ["users", "u 1"]),
        ("permission", ["permissions", V, "u"]),
        ("topic_permission", ["topic-permissions", V, "u"]),
        ("exchange", ["exchanges", V, "e"]),
        ("queue", ["queues", V, "q"]),
        ("binding", ["bindings", V, "e", "e", "e", "e2"]),
        ("vhost_limit", ["vhost-limits", V, "max-queues"]),
        ("user_limit", ["user-limits", "u 1", "max-channels"]),
        ("policy", ["policies", V, "p/1"]),
        ("operator_policy", ["operator-policies", V, "o"]),
    ],
)
def test_api_path_of_each_kind(kind: str, segments: list[str]) -> None:
    assert api_segments(SAMPLES[kind]) == segments


def test_a_binding_to_a_queue_uses_the_letter_q() -> None:
    assert api_segments(Binding(V, "e", "queue", "{name}")) == ["bindings", V, "e", "e", "q", "{name}"]


def test_on_change_partitions_the_fields() -> None:
    assert KINDS["queue"].immutable == ("type", "durable", "auto_delete", "arguments")
    assert KINDS["vhost"].updatable == ("description", "tags", "tracing")
    assert KINDS["vhost"].refused == ("default_queue_type",)
    assert KINDS["user"].field("password").on_change is OnChange.SECRET
    assert KINDS["binding"].updatable == KINDS["binding"].immutable == ()


def test_builtin_exchanges_are_one_table() -> None:
    from rabbitadmin.audit import access, patterns
    from rabbitadmin.validate import SERVER_EXCHANGE_TYPES as VALIDATE_TYPES

    assert VALIDATE_TYPES is SERVER_EXCHANGE_TYPES
    assert access.BUILTIN_EXCHANGES is BUILTIN_EXCHANGES
    assert {e.name or patterns.DEFAULT_EXCHANGE_ALIAS for e in BUILTIN_EXCHANGES} <= set(patterns.PROBE_NAMES)


@pytest.mark.parametrize(
    ("action", "kind", "destroys"),
    [
        (Action.DELETE, "queue", True),
        (Action.REPLACE, "queue", True),
        (Action.DELETE, "vhost", True),
        (Action.UPDATE, "vhost", False),
        (Action.DELETE, "exchange", False),
        (Action.REPLACE, "exchange", False),
        (Action.CREATE, "queue", False),
        (Action.DELETE, "binding", False),
    ],
)
def test_destroys_messages(action: Action, kind: str, destroys: bool) -> None:
    assert Change(action, kind, ("k",)).destroys_messages is destroys


def test_message_total() -> None:
    assert message_total([]) == 0
    assert message_total([1, 2, 0]) == 3
    assert message_total([1, None]) is None


# -- a field added as data: the vhost's tracing flag ------------------------------------------------------
def test_tracing_is_updated_in_place_and_unmanaged_when_left_out() -> None:
    actual = topo(Vhost(V, description="", tags=(), tracing=False))
    plan = compute_plan(topo(Vhost(V, tracing=True)), actual)
    (change,) = plan.changes
    assert change.action is Action.UPDATE and [(f.name, f.before, f.after) for f in change.fields] == [
        ("tracing", False, True)
    ]
    assert isinstance(change.desired, Vhost) and change.desired.tracing is True
    assert compute_plan(topo(Vhost(V)), actual).is_empty


def test_tracing_crosses_server_json_and_export() -> None:
    from rabbitadmin.definitions import to_definition, vhost_from_server

    assert vhost_from_server({"name": V, "tracing": True}).tracing is True
    assert vhost_from_server({"name": V}).tracing is False  # an export without it: the server's default
    assert to_definition(Vhost(V, tracing=True))["tracing"] is True
    assert "tracing" not in to_definition(Vhost(V))
    assert export_document(topo(Vhost(V, tracing=True)))["vhosts"][0]["tracing"] is True
    assert "tracing" not in export_document(topo(Vhost(V, tracing=False)))["vhosts"][0]


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False), ("null", None), (None, None)])
def test_validate_reads_tracing(text: str | None, expected: bool | None) -> None:
    from rabbitadmin.loader import load_topology_text

    extra = "" if text is None else f", tracing: {text}"
    topology = load_topology_text(f"vhosts: [{{name: v{extra}}}]")
    assert topology.vhosts[(V,)].tracing is expected


def test_validate_refuses_a_tracing_that_is_not_a_boolean() -> None:
    from rabbitadmin.errors import TopologyError
    from rabbitadmin.loader import load_topology_text

    with pytest.raises(TopologyError, match=r"vhosts\[0\]\.tracing: expected true or false"):
        load_topology_text("vhosts: [{name: v, tracing: 'yes'}]")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_field_finds_every_field_of_a_kind_by_name_and_refuses_an_unknown_one(kind: str) -> None:
    facts = KINDS[kind]
    assert [facts.field(f.name) for f in facts.fields] == list(facts.fields)
    with pytest.raises(KeyError):
        facts.field("no-such-field")
