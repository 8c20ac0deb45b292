"""The pure diff: small desired/actual pairs and the plan they must give."""

from __future__ import annotations

import dataclasses

import pytest

from rabbitadmin.engine.apply import check_safety
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action, Change, Plan
from rabbitadmin.errors import Refused
from rabbitadmin.kinds import KINDS
from rabbitadmin.model import (
    Binding,
    Exchange,
    Permission,
    Policy,
    Queue,
    Secret,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    Vhost,
)
from rabbitadmin.normalize import same_value
from rabbitadmin.passwords import hash_password

V = "v"


def topo(*objects: TopologyObject, absent: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> Topology:
    result = Topology()
    for obj in objects:
        result.add(obj)
    for kind, key in absent:
        result.mark_absent(kind, key)
    return result


def actions(plan: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(str(c.action), c.kind, c.key) for c in plan.changes]


def server_vhost(name: str = V) -> Vhost:
    return Vhost(name, description="", tags=())


def test_nothing_to_do_is_an_empty_plan() -> None:
    desired = topo(Vhost(V), Queue(V, "q"), Exchange(V, "e"), Binding(V, "e", "queue", "q", "k"))
    actual = topo(server_vhost(), Queue(V, "q", messages=3), Exchange(V, "e"), Binding(V, "e", "queue", "q", "k"))
    plan = compute_plan(desired, actual)
    assert plan.is_empty and plan.summary() == {"create": 0, "update": 0, "replace": 0, "delete": 0}


def test_creates_follow_dependency_order() -> None:
    desired = topo(
        Binding(V, "e", "queue", "q"),
        Queue(V, "q"),
        Exchange(V, "e"),
        Permission("u", V, ".*", ".*", ".*"),
        User("u", tags=()),
        Vhost(V),
    )
    plan = compute_plan(desired, Topology())
    assert [c.kind for c in plan.changes] == ["vhost", "user", "permission", "exchange", "queue", "binding"]
    assert all(c.action is Action.CREATE for c in plan.changes)


def test_unmanaged_vhost_fields_are_left_alone() -> None:
    desired = topo(Vhost(V))  # no description, tags or queue type given
    actual = topo(Vhost(V, description="set by hand", tags=("x",)))
    assert compute_plan(desired, actual).is_empty


def test_vhost_update_shows_each_field_and_keeps_unmanaged_ones() -> None:
    desired = topo(Vhost(V, description="new"))
    actual = topo(Vhost(V, description="old", tags=("keep",)))
    [change] = compute_plan(desired, actual).changes
    assert change.action is Action.UPDATE
    assert [(f.name, f.before, f.after) for f in change.fields] == [("description", "old", "new")]
    assert isinstance(change.desired, Vhost) and change.desired.tags == ("keep",)


def test_vhost_default_queue_type_change_is_refused() -> None:
    plan = compute_plan(topo(Vhost(V, default_queue_type="quorum")), topo(server_vhost()))
    assert plan.refusals and "cannot be changed" in plan.refusals[0]
    assert compute_plan(topo(Vhost(V, default_queue_type="classic")), topo(server_vhost())).refusals == []


@pytest.mark.parametrize(
    ("desired", "actual", "reason"),
    [
        (Queue(V, "q", type="quorum"), Queue(V, "q", messages=0), "type changes from 'classic' to 'quorum'"),
        (Queue(V, "q", durable=False), Queue(V, "q", messages=0), "durable changes from true to false"),
        (Queue(V, "q", arguments={"x-max-length": 5}), Queue(V, "q", messages=0), "arguments changes from {}"),
        (Exchange(V, "e", type="topic"), Exchange(V, "e"), "type changes from 'direct' to 'topic'"),
        (Exchange(V, "e", internal=True), Exchange(V, "e"), "internal changes from false to true"),
        (Exchange(V, "e", auto_delete=True), Exchange(V, "e"), "auto_delete changes from false to true"),
    ],
)
def test_immutable_changes_are_replaces_with_a_reason(
    desired: TopologyObject, actual: TopologyObject, reason: str
) -> None:
    [change] = compute_plan(topo(Vhost(V), desired), topo(server_vhost(), actual)).changes
    assert change.action is Action.REPLACE
    assert reason in change.reason


def test_queue_replace_recreates_its_bindings_and_counts_messages() -> None:
    binding = Binding(V, "e", "queue", "q", "k")
    desired = topo(Vhost(V), Exchange(V, "e"), Queue(V, "q", type="quorum"), binding)
    actual = topo(server_vhost(), Exchange(V, "e"), Queue(V, "q", messages=7), binding)
    plan = compute_plan(desired, actual)
    assert actions(plan) == [("replace", "queue", (V, "q")), ("create", "binding", binding.key)]
    assert plan.changes[0].messages_at_risk == 7
    assert [c.subject for c in plan.data_loss()] == ["queue 'q' in vhost 'v'"]
    with pytest.raises(Refused, match="7 message"):
        check_safety(plan, allow_data_loss=False)
    check_safety(plan, allow_data_loss=True)


def test_exchange_replace_recreates_bindings_on_both_sides() -> None:
    out = Binding(V, "e", "exchange", "other")
    into = Binding(V, "other", "exchange", "e")
    desired = topo(Vhost(V), Exchange(V, "e", type="fanout"), Exchange(V, "other"), out, into)
    actual = topo(server_vhost(), Exchange(V, "e"), Exchange(V, "other"), out, into)
    plan = compute_plan(desired, actual)
    assert sorted(actions(plan)) == sorted(
        [("replace", "exchange", (V, "e")), ("create", "binding", out.key), ("create", "binding", into.key)]
    )
    assert plan.data_loss() == []


def test_unknown_message_count_counts_as_at_risk() -> None:
    plan = compute_plan(topo(Vhost(V), Queue(V, "q", durable=False)), topo(server_vhost(), Queue(V, "q")))
    assert plan.changes[0].messages_at_risk is None
    with pytest.raises(Refused, match="an unknown number of"):
        check_safety(plan, allow_data_loss=False)


def test_objects_not_in_file_are_kept_without_prune_and_deleted_with_it() -> None:
    desired = topo(Vhost(V), Queue(V, "keep"))
    actual = topo(
        server_vhost(),
        Queue(V, "keep", messages=0),
        Queue(V, "extra", messages=0),
        Exchange(V, "extra_e"),
        Binding(V, "extra_e", "queue", "keep", "rk", properties_key="rk"),
        Permission("someone", V, "", "", ""),
    )
    assert compute_plan(desired, actual).is_empty
    plan = compute_plan(desired, actual, prune=True)
    # The binding goes with its exchange; deletes run children first.
    assert actions(plan) == [
        ("delete", "queue", (V, "extra")),
        ("delete", "exchange", (V, "extra_e")),
        ("delete", "permission", ("someone", V)),
    ]


def test_prune_never_leaves_the_managed_vhosts_and_never_touches_server_owned_objects() -> None:
    desired = topo(Vhost(V))
    actual = topo(
        server_vhost(),
        server_vhost("elsewhere"),
        Queue("elsewhere", "q", messages=0),
        Exchange(V, "amq.direct"),
        Exchange(V, ""),
        Queue(V, "amq.gen-abc", exclusive=True, messages=0),
        Queue(V, "private", exclusive=True, messages=0),
        Binding(V, "", "queue", "private", "private"),
        Binding(V, "amq.direct", "queue", "private", "x"),
        User("stranger", tags=()),
    )
    assert compute_plan(desired, actual, prune=True).is_empty


def test_bindings_with_builtin_source_are_pruned() -> None:
    stray = Binding(V, "amq.topic", "queue", "q", "a.b", properties_key="a.b")
    desired = topo(Vhost(V), Queue(V, "q"))
    actual = topo(server_vhost(), Queue(V, "q", messages=0), stray)
    assert actions(compute_plan(desired, actual, prune=True)) == [("delete", "binding", stray.key)]


def test_binding_arguments_are_part_of_identity() -> None:
    desired = topo(Vhost(V), Exchange(V, "h", type="headers"), Queue(V, "q"))
    desired.add(Binding(V, "h", "queue", "q", "", {"x-match": "all", "a": 1}))
    actual = topo(server_vhost(), Exchange(V, "h", type="headers"), Queue(V, "q", messages=0))
    actual.add(Binding(V, "h", "queue", "q", "", {"x-match": "any", "a": 1}, properties_key="~abc"))
    plan = compute_plan(desired, actual, prune=True)
    assert sorted(str(c.action) for c in plan.changes) == ["create", "delete"]


def test_vhost_delete_swallows_its_children_and_sums_messages() -> None:
    desired = topo(absent=(("vhost", (V,)),))
    actual = topo(server_vhost(), Queue(V, "a", messages=2), Queue(V, "b", messages=3), Exchange(V, "e"))
    plan = compute_plan(desired, actual, prune=True)
    assert actions(plan) == [("delete", "vhost", (V,))]
    assert plan.changes[0].messages_at_risk == 5


def test_absent_objects_are_deleted_and_missing_absent_objects_are_fine() -> None:
    desired = topo(Vhost(V), absent=(("user", ("guest",)), ("queue", (V, "old")), ("user", ("never-existed",))))
    actual = topo(server_vhost(), User("guest", tags=("administrator",)), Queue(V, "old", messages=0))
    assert actions(compute_plan(desired, actual)) == [
        ("delete", "queue", (V, "old")),
        ("delete", "user", ("guest",)),
    ]


def test_password_compared_through_the_stored_hash() -> None:
    stored = hash_password("same")
    actual = topo(User("u", tags=(), password_hash=stored))
    assert compute_plan(topo(User("u", tags=(), password=Secret("same"))), actual).is_empty
    [change] = compute_plan(topo(User("u", tags=(), password=Secret("other"))), actual).changes
    assert [(f.name, f.secret) for f in change.fields] == [("password", True)]
    assert isinstance(change.desired, User) and change.desired.password is None
    assert change.desired.password_hash and change.desired.password_hash != stored
    assert "other" not in str(change.to_dict())


def test_tag_change_keeps_the_current_password_hash() -> None:
    stored = hash_password("pw")
    [change] = compute_plan(
        topo(User("u", tags=("monitoring",))), topo(User("u", tags=(), password_hash=stored))
    ).changes
    assert [f.name for f in change.fields] == ["tags"]
    assert isinstance(change.desired, User) and change.desired.password_hash == stored


def test_explicit_password_hash() -> None:
    stored = hash_password("pw")
    assert compute_plan(topo(User("u", password_hash=stored)), topo(User("u", tags=(), password_hash=stored))).is_empty
    plan = compute_plan(
        topo(User("u", password_hash=hash_password("x"))), topo(User("u", tags=(), password_hash=stored))
    )
    assert [f.name for f in plan.changes[0].fields] == ["password"]


def test_new_user_without_password_gets_an_empty_hash() -> None:
    [change] = compute_plan(topo(User("u", tags=())), Topology()).changes
    assert isinstance(change.desired, User) and change.desired.password_hash == ""


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        (topo(absent=(("user", ("admin",)),)), "refusing to delete user 'admin'"),
        (topo(User("admin", tags=("management",))), "refusing to remove the administrator tag"),
        (topo(User("admin", password=Secret("new"))), "refusing to change the password of 'admin'"),
        (
            topo(Vhost(V), User("admin"), Permission("admin", V, "", "", "")),
            "refusing to change the permissions of 'admin'",
        ),
        (topo(Vhost(V), absent=(("permission", ("admin", V)),)), "refusing to delete permission of 'admin'"),
    ],
)
def test_the_connecting_user_is_protected(desired: Topology, message: str) -> None:
    actual = topo(
        server_vhost(),
        User("admin", tags=("administrator",), password_hash=hash_password("pw")),
        Permission("admin", V, ".*", ".*", ".*"),
    )
    plan = compute_plan(desired, actual, protected_user="admin")
    assert any(message in r for r in plan.refusals), plan.refusals
    with pytest.raises(Refused):
        check_safety(plan, allow_data_loss=True)


def test_pruning_skips_the_connecting_users_permissions_with_a_note() -> None:
    actual = topo(server_vhost(), Permission("admin", V, ".*", ".*", ".*"))
    plan = compute_plan(topo(Vhost(V)), actual, prune=True, protected_user="admin")
    assert plan.is_empty and not plan.refusals
    assert plan.notes and "admin" in plan.notes[0]


def test_topic_permissions_update_in_place() -> None:
    desired = topo(Vhost(V), User("u"), TopicPermission("u", V, "amq.topic", "^a", "^b"))
    actual = topo(
        server_vhost(), User("u", tags=(), password_hash=""), TopicPermission("u", V, "amq.topic", ".*", "^b")
    )
    [change] = compute_plan(desired, actual).changes
    assert change.action is Action.UPDATE and [(f.name, f.before, f.after) for f in change.fields] == [
        ("write", ".*", "^a")
    ]


def test_plan_json_never_holds_a_password_or_hash() -> None:
    plan = compute_plan(topo(User("u", tags=(), password=Secret("s3cr3t-value"))), Topology())
    text = str(plan.to_dict())
    assert "s3cr3t-value" not in text
    assert isinstance(plan.changes[0].desired, User)
    assert plan.changes[0].desired.password_hash not in text


@pytest.mark.parametrize(
    ("routing_key", "arguments", "refused"),
    [("a~b", {"x-match": "any"}, True), ("a~b", {}, False), ("ab", {"x-match": "any"}, False), ("~", {"n": 1}, True)],
)
def test_a_binding_the_management_api_cannot_list_is_refused(
    routing_key: str, arguments: dict[str, object], refused: bool
) -> None:
    binding = Binding(V, "e", "queue", "q", routing_key, arguments)  # type: ignore[arg-type]
    plan = compute_plan(topo(Vhost(V), Exchange(V, "e"), Queue(V, "q"), binding), topo(server_vhost()))
    assert bool(plan.refusals) is refused, plan.refusals
    if refused:
        assert "HTTP 500" in plan.refusals[0] and repr(routing_key) in plan.refusals[0]


def test_an_argument_of_another_json_type_is_a_change_though_python_calls_it_equal() -> None:
    """true is not 1 to the server (AMQP bool against long): the queue must be replaced, not kept."""
    current = topo(server_vhost(), Queue(V, "q", arguments={"x-flag": True, "x-n": 1.5}))
    for wanted in ({"x-flag": 1, "x-n": 1.5}, {"x-flag": True, "x-n": 2}):
        plan = compute_plan(topo(Vhost(V), Queue(V, "q", arguments=wanted)), current)
        assert actions(plan) == [("replace", "queue", (V, "q"))]
    assert compute_plan(topo(Vhost(V), Queue(V, "q", arguments={"x-flag": True, "x-n": 1.5})), current).is_empty


class _Text(str):
    """A str subclass (as a loader might make): the same JSON string as its plain ``str``."""


class _Count(int):
    """An int subclass: still a JSON number, never ``true``."""


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (True, 1, False), (0, False, False), (1.0, 1, False), ({"a": [1]}, {"a": (1,)}, True), ([None], [None], True),
        ({"a": 1}, {"a": 1, "b": 2}, False), ("1", 1, False), (None, [], False),
        ({"a": {"b": True}}, {"a": {"b": 1}}, False),
        # Same exact type on both sides (the shortcut): Python's == decides, NaN is no value's equal.
        ("q", "q", True), ("q", "r", False), (3, 3, True), (3, 4, False), (True, True, True), (True, False, False),
        (1.5, 1.5, True), (None, None, True), (float("nan"), float("nan"), False),
        (_Text("q"), "q", True), (_Count(1), True, False), ({}, {}, True), ([], [], True),
        # Two plain dicts (the dict shortcut): keys, then each value by these same rules.
        ({"a": 1}, {"a": True}, False), ({"a": 1}, {"b": 1}, False), ({"a": 1.0}, {"a": 1.0}, True),
    ],
)  # fmt: skip
def test_same_value_tells_json_types_apart(a: object, b: object, same: bool) -> None:
    assert same_value(a, b) is same and same_value(b, a) is same


def test_a_kind_the_diff_does_not_compare_has_every_compared_field_in_its_key() -> None:
    # compute_plan skips the field comparison of a kind that KindFacts.compared says has nothing to compare
    # once the key matched (a binding): sound only while every field that takes part in equality is in the key.
    skipped = [name for name, facts in KINDS.items() if not facts.compared]
    assert skipped == ["binding"]
    for name in skipped:
        facts = KINDS[name]
        compared = [f.name for f in dataclasses.fields(facts.model) if f.compare]
        assert compared == list(facts.identity), name
    # Every other kind has a field outside its key, which a plan compares (a user's password included).
    assert KINDS["user"].compared and KINDS["vhost"].compared and KINDS["queue"].compared


def test_a_user_whose_only_change_is_its_password_is_updated() -> None:
    desired, actual = Topology(), Topology()
    desired.add(User(name="u", password=Secret("new"), tags=()))
    actual.add(User(name="u", password_hash=hash_password("old"), tags=()))
    change = compute_plan(desired, actual).changes[0]
    assert change.action is Action.UPDATE and [f.name for f in change.fields] == ["password"]


def test_a_policys_loss_is_never_conditional_in_the_json_plan() -> None:
    # A CI check reading data_loss[].conditional took a policy's loss for a guarded (if-empty) delete.
    policy = Policy(V, "cap", ".*", {"max-length": 1}, apply_to="queues")
    tightened = Change(Action.CREATE, "policy", policy.key, desired=policy, messages_at_risk=6)
    emptied = Change(Action.DELETE, "queue", (V, "q"), actual=Queue(V, "q"), messages_at_risk=2)
    losses = Plan(changes=[tightened, emptied]).to_dict()["data_loss"]
    assert [(loss["subject"], loss["conditional"]) for loss in losses] == [
        ("policy 'cap' in vhost 'v'", False),
        ("queue 'q' in vhost 'v'", True),
    ]
