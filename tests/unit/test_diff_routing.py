"""The diff keeps routing: replaces re-create the server's bindings, the plan counts unlisted ones."""

from __future__ import annotations

import pytest

from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action, Plan
from rabbitadmin.model import Binding, Exchange, Key, Queue, Topology, TopologyObject, Vhost

V = "v"


def topo(*objects: TopologyObject, absent: tuple[tuple[str, Key], ...] = ()) -> Topology:
    result = Topology()
    for obj in objects:
        result.add(obj)
    for kind, key in absent:
        result.mark_absent(kind, key)
    return result


def created_bindings(plan: Plan) -> set[Key]:
    return {c.key for c in plan.changes if c.kind == "binding" and c.action is Action.CREATE}


def deleted_bindings(plan: Plan) -> set[Key]:
    return {c.key for c in plan.changes if c.kind == "binding" and c.action is Action.DELETE}


LISTED = Binding(V, "main", "queue", "orders", "order.created")
APP_TO_OTHER_QUEUE = Binding(V, "main", "queue", "app-q", "app.#", properties_key="app.%23")
BUILTIN_TO_ORDERS = Binding(V, "amq.direct", "queue", "orders", "app.orders", properties_key="app.orders")
E2E_OUT = Binding(V, "main", "exchange", "audit", "#", properties_key="%23")
E2E_IN = Binding(V, "upstream", "exchange", "main", "x", properties_key="x")
UNRELATED = Binding(V, "upstream", "queue", "app-q", "y", properties_key="y")
SERVER_SIDE = (APP_TO_OTHER_QUEUE, BUILTIN_TO_ORDERS, E2E_OUT, E2E_IN, UNRELATED)


def case03(*, replace_exchange: bool, replace_queue: bool) -> tuple[Topology, Topology]:
    """Case 03: the file lists one binding; applications added others on the same objects."""
    actual = topo(
        Vhost(V, description="", tags=()),
        Exchange(V, "main", type="topic", arguments={"alternate-exchange": "unrouted"}),
        Exchange(V, "upstream"),
        Exchange(V, "audit", type="fanout"),
        Queue(V, "orders", arguments={"x-max-length": 1000}, messages=0),
        Queue(V, "app-q", messages=0),
        LISTED,
        *SERVER_SIDE,
    )
    main = Exchange(V, "main", type="topic") if replace_exchange else actual.exchanges[(V, "main")]
    orders = Queue(V, "orders") if replace_queue else Queue(V, "orders", arguments={"x-max-length": 1000})
    desired = topo(Vhost(V), main, orders, LISTED)
    return desired, actual


@pytest.mark.parametrize(
    ("replace_exchange", "replace_queue", "expected"),
    [
        # the exchange's bindings as source (to queues and to exchanges) and as destination
        (True, False, [LISTED, APP_TO_OTHER_QUEUE, E2E_OUT, E2E_IN]),
        # the queue's bindings, from a file exchange and from a server-owned amq.* exchange
        (False, True, [LISTED, BUILTIN_TO_ORDERS]),
        (True, True, [LISTED, APP_TO_OTHER_QUEUE, E2E_OUT, E2E_IN, BUILTIN_TO_ORDERS]),
    ],
)
def test_a_replace_recreates_every_binding_the_server_had_on_the_object(
    replace_exchange: bool, replace_queue: bool, expected: list[Binding]
) -> None:
    desired, actual = case03(replace_exchange=replace_exchange, replace_queue=replace_queue)
    plan = compute_plan(desired, actual)
    assert created_bindings(plan) == {b.key for b in expected}
    assert deleted_bindings(plan) == set()
    for change in plan.changes:
        if change.kind == "binding":
            assert isinstance(change.desired, Binding) and change.desired.properties_key is None
            assert "re-created after its replace" in change.reason
            assert ("not in the file" in change.reason) == (change.key != LISTED.key)
    # deletes (the replace's half) come before every re-create
    kinds = [(c.kind, c.action) for c in plan.changes]
    assert kinds.index(("binding", Action.CREATE)) > max(
        i for i, (kind, action) in enumerate(kinds) if action is Action.REPLACE
    )


def test_with_prune_a_replace_recreates_only_the_listed_bindings() -> None:
    desired, actual = case03(replace_exchange=True, replace_queue=True)
    plan = compute_plan(desired, actual, prune=True)
    assert created_bindings(plan) == {LISTED.key}
    # the unlisted bindings go with the replace, or with the unlisted exchanges and queue that are pruned
    assert deleted_bindings(plan) == set()
    assert {c.key for c in plan.changes if c.action is Action.DELETE} == {(V, "upstream"), (V, "audit"), (V, "app-q")}
    assert plan.unlisted_bindings == 0


def test_a_binding_declared_absent_is_not_brought_back_by_a_replace() -> None:
    desired, actual = case03(replace_exchange=False, replace_queue=True)
    desired.mark_absent("binding", BUILTIN_TO_ORDERS.key)
    plan = compute_plan(desired, actual)
    assert created_bindings(plan) == {LISTED.key}


def test_a_binding_whose_other_end_is_deleted_is_not_recreated() -> None:
    desired, actual = case03(replace_exchange=True, replace_queue=False)
    desired.mark_absent("queue", (V, "app-q"))
    desired.mark_absent("exchange", (V, "audit"))
    plan = compute_plan(desired, actual)
    assert created_bindings(plan) == {LISTED.key, E2E_IN.key}


def test_a_binding_of_an_exclusive_queue_is_noted_not_recreated() -> None:
    desired, actual = case03(replace_exchange=True, replace_queue=False)
    actual.add(Queue(V, "amq.gen-x", exclusive=True, durable=False))
    private = Binding(V, "main", "queue", "amq.gen-x", "p", properties_key="p")
    actual.add(private)
    plan = compute_plan(desired, actual)
    assert private.key not in created_bindings(plan)
    assert any("exclusive queue" in note and "amq.gen-x" in note for note in plan.notes)


def test_a_delete_recreates_nothing() -> None:
    desired, actual = case03(replace_exchange=False, replace_queue=False)
    desired.mark_absent("exchange", (V, "upstream"))
    plan = compute_plan(desired, actual)
    assert created_bindings(plan) == set()


# -- case 05: an edited binding leaves the old one behind -------------------------------------------------
OLD = Binding(V, "log_messages", "queue", "alerter", "", {"x-match": "all", "log_level": "error"}, "~old")
NEW = Binding(V, "log_messages", "queue", "alerter", "", {"x-match": "all", "loglevel": "warn"})


def case05() -> tuple[Topology, Topology]:
    desired = topo(Vhost(V), Exchange(V, "log_messages", type="headers"), Queue(V, "alerter"), NEW)
    actual = topo(
        Vhost(V, description="", tags=()),
        Exchange(V, "log_messages", type="headers"),
        Queue(V, "alerter", messages=0),
        OLD,
    )
    return desired, actual


def test_an_edited_binding_is_a_create_and_the_plan_says_the_old_one_stays() -> None:
    desired, actual = case05()
    plan = compute_plan(desired, actual)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.CREATE, NEW.key)]
    assert plan.unlisted_bindings == 1
    [note] = [n for n in plan.notes if "binding(s)" in n]
    assert note.startswith("1 binding(s)") and "--prune" in note
    assert plan.to_dict()["unlisted_bindings"] == 1 and note in plan.to_dict()["notes"]


def test_with_prune_the_edited_binding_replaces_the_old_one_and_no_note() -> None:
    desired, actual = case05()
    plan = compute_plan(desired, actual, prune=True)
    assert {(c.action, c.key) for c in plan.changes} == {(Action.CREATE, NEW.key), (Action.DELETE, OLD.key)}
    assert plan.unlisted_bindings == 0
    assert not [n for n in plan.notes if "binding(s)" in n]


@pytest.mark.parametrize(
    ("binding", "counted"),
    [
        (Binding(V, "amq.topic", "queue", "alerter", "a"), True),  # into a declared queue
        (Binding(V, "log_messages", "exchange", "amq.fanout", "a"), True),  # out of a declared exchange
        (Binding(V, "amq.topic", "queue", "stranger", "a"), False),  # neither end is in the file
        (Binding(V, "amq.topic", "exchange", "log_messages", "a"), True),  # into a declared exchange
    ],
)
def test_only_bindings_touching_declared_objects_are_counted(binding: Binding, counted: bool) -> None:
    desired, actual = case05()
    desired.add(OLD)  # the old one listed: only ``binding`` is unlisted
    actual.add(binding)
    actual.add(Queue(V, "stranger", messages=0))
    assert compute_plan(desired, actual).unlisted_bindings == (1 if counted else 0)


def test_a_binding_declared_absent_is_not_counted_as_staying() -> None:
    desired, actual = case05()
    desired.mark_absent("binding", OLD.key)
    plan = compute_plan(desired, actual)
    assert plan.unlisted_bindings == 0
    assert (Action.DELETE, OLD.key) in [(c.action, c.key) for c in plan.changes]
