"""plan / apply / engine / export on the in-memory backend: partial failure, interrupt, order, convergence.

``MemoryBackend`` is held faithful to a real node by tests/integration/test_memory_parity.py.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rabbitadmin.backends.memory import Fault, MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action, Plan
from rabbitadmin.errors import (
    AnswerLost,
    ApplyInterrupted,
    BatchFailed,
    ExitCode,
    PartialApply,
    RequestTimeout,
    ServerError,
)
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Binding, Exchange, Key, Queue, Topology, Vhost
from rabbitadmin.passwords import hash_password

V = "v1"
HASH = hash_password("unit")


def load(document: dict[str, Any]) -> Topology:
    return load_topology_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "t.yaml")


def plan_for(document: dict[str, Any], backend: MemoryBackend, *, prune: bool = False) -> Plan:
    return make_plan(load(document), backend, prune=prune)


def apply(document: dict[str, Any], backend: MemoryBackend, *, prune: bool = False, **options: Any) -> Plan:
    plan = plan_for(document, backend, prune=prune)
    execute_plan(plan, backend, **options)
    return plan


def shop(vhost: str = V, queues: int = 3) -> dict[str, Any]:
    """A vhost with an exchange, ``queues`` queues bound to it, a user and its permissions."""
    names = [f"q{i}" for i in range(queues)]
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": "ex", "type": "topic"}],
                "queues": [{"name": name} for name in names],
                "bindings": [{"source": "ex", "destination": name, "routing_key": name} for name in names],
            }
        ],
        "users": [{"name": "app", "tags": ["management"], "password_hash": HASH}],
        "permissions": [{"user": "app", "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
    }


def subjects(changes: Any) -> set[tuple[str, Key]]:
    return {(change.kind, change.key) for change in changes}


# -- the backend itself -----------------------------------------------------------------------------------
def test_a_fresh_backend_has_what_a_fresh_node_has() -> None:
    state = MemoryBackend(user="admin").read_state(None)
    assert set(state.vhosts) == {("/",)}
    assert set(state.users) == {("admin",)}
    assert set(state.permissions) == {("admin", "/")}
    assert {key[1] for key in state.exchanges} == {
        "", "amq.direct", "amq.fanout", "amq.headers", "amq.match", "amq.topic", "amq.rabbitmq.trace"
    }  # fmt: skip
    assert not state.queues and not state.bindings


def test_a_new_vhost_gets_the_server_exchanges_and_the_creator_full_permissions() -> None:
    backend = MemoryBackend(user="admin")
    apply({"vhosts": [{"name": V}]}, backend)
    state = backend.read_state([V])
    assert {key for key in state.exchanges if key[0] == V} == {(V, name) for name in backend_exchanges()}
    assert state.permissions[("admin", V)].configure == ".*"
    assert state.vhosts[(V,)] == Vhost(V, "", (), None, tracing=False)  # as the node reports it


def backend_exchanges() -> set[str]:
    return {key[1] for key in MemoryBackend().read_state(None).exchanges}


@pytest.mark.parametrize(("version", "reported"), [("3.10.8", None), ("4.0.5", "classic")])
def test_a_vhost_without_default_queue_type_reports_what_the_version_reports(
    version: str, reported: str | None
) -> None:
    backend = MemoryBackend(version=version)
    apply({"vhosts": [{"name": V}]}, backend)
    assert backend.read_state([V]).vhosts[(V,)].default_queue_type == reported
    assert plan_for({"vhosts": [{"name": V}]}, backend).is_empty


def test_server_defaults_are_reported_as_the_server_reports_them() -> None:
    backend = MemoryBackend()
    apply(
        {
            "vhosts": [
                {"name": V, "queues": [{"name": "q", "arguments": {"x-queue-type": "quorum", "x-max-length": 5}}]}
            ]
        },
        backend,
    )
    queue = backend.read_state([V]).queues[(V, "q")]
    assert (queue.type, queue.arguments) == ("quorum", {"x-max-length": 5})


@pytest.mark.parametrize(
    ("gone", "left"),
    [
        (Vhost(V), set()),
        (Queue(V, "q0"), {(V, "ex", "queue", "q1", "q1", "{}"), (V, "ex", "queue", "q2", "q2", "{}")}),
        (Exchange(V, "ex", "topic"), set()),
    ],
    ids=["vhost", "queue", "exchange"],
)
def test_deletes_cascade_as_on_the_server(gone: Vhost | Queue | Exchange, left: set[Key]) -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    backend.delete(gone)
    state = backend.read_state(None)
    assert set(state.bindings) == left
    if isinstance(gone, Vhost):
        assert not [key for key in (*state.exchanges, *state.queues) if key[0] == V]
        assert ("app", V) not in state.permissions


def test_a_user_delete_takes_its_permissions_and_an_auto_delete_exchange_goes_with_its_last_binding() -> None:
    backend = MemoryBackend()
    document = shop(queues=1)
    document["vhosts"][0]["exchanges"] = [{"name": "ex", "type": "topic", "auto_delete": True}]
    apply(document, backend)
    backend.delete(load(document).users[("app",)])
    backend.delete(Binding(V, "ex", "queue", "q0", "q0"))
    state = backend.read_state([V])
    assert ("app", V) not in state.permissions
    assert (V, "ex") not in state.exchanges


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        (Queue("nowhere", "q"), 404),
        (Binding(V, "missing", "queue", "q0"), 404),
        (Binding(V, "ex", "queue", "missing"), 404),
        (Queue(V, "q0", durable=False), 400),  # redeclared with other properties
        (Exchange(V, "amq.mine"), 403),
    ],
)
def test_what_the_server_refuses_fails_as_a_batch_naming_the_object(
    obj: Queue | Binding | Exchange, status: int
) -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    with pytest.raises(BatchFailed) as caught:
        backend.create([obj])
    assert caught.value.failed == [obj]
    assert str(status) in str(caught.value)


def test_conditional_deletes_keep_queues_that_received_messages_after_the_plan() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    plan = plan_for(shop(queues=0), backend, prune=True)
    backend.set_messages(V, "q1", 1)  # arrives after the plan counted q1 empty
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code == ExitCode.MESSAGES_ARRIVED
    assert subjects(c for c, _ in caught.value.result.kept) == {("queue", (V, "q1"))}
    assert set(backend.read_state([V]).queues) == {(V, "q1")}
    again = plan_for(shop(queues=0), backend, prune=True)
    assert [(c.action, c.key, c.messages_at_risk) for c in again.changes] == [(Action.DELETE, (V, "q1"), 1)]


def test_a_vhost_delete_on_condition_keeps_the_vhost_and_its_full_queues() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    plan = plan_for({"vhosts": [{"name": V, "state": "absent"}]}, backend)
    backend.set_messages(V, "q2", 5)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code == ExitCode.MESSAGES_ARRIVED
    assert set(backend.read_state([V]).queues) == {(V, "q2")}  # the empty ones went, one by one


# -- partial failure --------------------------------------------------------------------------------------
def test_a_failed_create_stops_the_apply_and_says_what_was_done_failed_and_not_attempted() -> None:
    backend = MemoryBackend(fail_on=("create", (V, "q1")))  # one rule alone
    plan = plan_for(shop(), backend)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.PARTIAL
    assert subjects(c for c, _ in result.failed) == {("queue", (V, "q1"))}
    assert ("queue", (V, "q0")) in subjects(result.done)
    assert ("vhost", (V,)) in subjects(result.done)
    # The failure stops everything after it: q2 and every binding were not attempted.
    assert {("queue", (V, "q2"))} | {("binding", b.key) for b in load(shop()).bindings.values()} <= subjects(
        result.not_attempted
    )
    assert len(result.done) + len(result.failed) + len(result.not_attempted) == len(plan.changes)
    apply(shop(), backend)  # the next run starts from the server's state and finishes
    assert plan_for(shop(), backend).is_empty


@pytest.mark.parametrize(
    "error",
    [
        ServerError("PUT", "/api/queues/v1/q1", 500, "boom"),
        RequestTimeout("no answer within 5 s"),
        AnswerLost("reset"),
    ],
    ids=["server-error", "timeout", "answer-lost"],
)
def test_a_failed_create_keeps_the_exit_code_of_its_cause_in_the_batch(error: Exception) -> None:
    backend = MemoryBackend(fail_on=[("create", (V, "q1"), error)])
    with pytest.raises(BatchFailed) as caught:
        backend.create(list(load(shop())))
    assert caught.value.exit_code == getattr(error, "exit_code")  # noqa: B009
    assert caught.value.failed[0].key == (V, "q1")


def test_a_bulk_create_reports_the_batches_it_created_and_fails_the_rest_of_the_batch() -> None:
    backend = MemoryBackend(bulk_threshold=5, import_batch=4, fail_on=[("create", (V, "q6"))])
    document = shop(queues=10)
    plan = plan_for(document, backend)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    result = caught.value.result
    # After the vhost, batches of 4: [user permission ex q0] [q1 q2 q3 q4] [q5 q6 q7 q8] [q9 bindings...]:
    # the third batch stops at q6; q5 was created, the rest of its batch failed, nothing after it started.
    assert subjects(c for c, _ in result.failed) == {("queue", (V, f"q{i}")) for i in (6, 7, 8)}
    assert {("queue", (V, f"q{i}")) for i in range(6)} <= subjects(result.done)
    assert ("queue", (V, "q9")) in subjects(result.not_attempted)
    assert set(backend.read_state([V]).queues) == {(V, f"q{i}") for i in range(6)}
    apply(document, backend)
    assert plan_for(document, backend).is_empty


@pytest.mark.parametrize("done", [True, False])
def test_a_lost_answer_counts_as_what_the_server_did(done: bool) -> None:
    backend = MemoryBackend(fail_on=[Fault("create", (V, "q1"), lost=True, done=done)])
    plan = plan_for(shop(), backend)
    if done:
        execute_plan(plan, backend)
    else:
        with pytest.raises(PartialApply) as caught:
            execute_plan(plan, backend)
        assert "not done" in str(caught.value)
    assert ((V, "q1") in backend.read_state([V]).queues) is done


def test_a_failed_delete_stops_before_the_updates_and_creates() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    backend.calls.clear()
    changed = shop(queues=2)
    changed["users"][0]["tags"] = ["monitoring"]
    changed["vhosts"][0]["queues"].append({"name": "new"})
    backend.faults.append(Fault("delete", (V, "q2")))
    with pytest.raises(PartialApply) as caught:
        apply(changed, backend, prune=True)
    result = caught.value.result
    assert subjects(c for c, _ in result.failed) == {("queue", (V, "q2"))}
    assert {("user", ("app",)), ("queue", (V, "new"))} <= subjects(result.not_attempted)
    assert [call for call, _, _ in backend.calls if call != "delete"] == []
    apply(changed, backend, prune=True)
    assert plan_for(changed, backend, prune=True).is_empty


def test_a_failed_read_fails_the_plan_and_writes_nothing() -> None:
    backend = MemoryBackend(fail_on=[("read_state", None)])
    with pytest.raises(ServerError):
        plan_for(shop(), backend)
    assert backend.calls == []


# -- interrupt -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bulk", [False, True])
def test_an_interrupt_mid_apply_starts_no_new_write_and_reports_the_rest(bulk: bool) -> None:
    interrupt = threading.Event()

    def on_call(call: str, obj: object) -> None:
        if len(backend.calls) == 3:
            interrupt.set()  # Ctrl-C while the fourth write is being sent

    backend = MemoryBackend(bulk_threshold=5 if bulk else 1000, import_batch=2, on_call=on_call)
    document = shop(queues=6)
    plan = plan_for(document, backend)
    with pytest.raises(ApplyInterrupted) as caught:
        execute_plan(plan, backend, interrupt=interrupt)
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    written = len(backend.calls)
    assert written == (5 if bulk else 4)  # the write in flight (a whole import batch in bulk) finished
    assert len(result.done) == written and not result.failed
    assert len(result.not_attempted) == len(plan.changes) - written
    apply(document, backend)
    assert plan_for(document, backend).is_empty


# -- order -----------------------------------------------------------------------------------------------
KIND_RANK = {
    kind: rank
    for rank, kind in enumerate(("vhost", "user", "permission", "topic_permission", "exchange", "queue", "binding"))
}


def test_apply_runs_deletes_then_updates_then_creates_each_in_dependency_order() -> None:
    backend = MemoryBackend()
    before = shop()
    before["vhosts"].append({"name": "old", "queues": [{"name": "oq"}], "exchanges": [{"name": "oe"}]})
    before["vhosts"][1]["bindings"] = [{"source": "oe", "destination": "oq"}]
    apply(before, backend)
    backend.calls.clear()
    after = shop(queues=1)
    after["vhosts"][0]["exchanges"].append({"name": "ex2", "type": "fanout"})
    after["vhosts"][0]["queues"].append({"name": "q1", "durable": False})  # a replace
    after["vhosts"][0]["bindings"].append({"source": "ex2", "destination": "q1"})
    after["vhosts"].append({"name": "old", "state": "absent"})
    after["vhosts"].append({"name": "new", "queues": [{"name": "nq"}]})
    after["users"][0]["tags"] = ["monitoring"]
    apply(after, backend, prune=True)
    calls = backend.calls
    phases = [call for call, _, _ in calls]
    assert phases == sorted(phases, key=["delete", "update", "create"].index), calls
    deletes = [(kind, key) for call, kind, key in calls if call == "delete"]
    creates = [(kind, key) for call, kind, key in calls if call == "create"]
    # deletes children first (bindings before queues before vhosts), creates parents first
    assert [KIND_RANK[k] for k, _ in deletes] == sorted((KIND_RANK[k] for k, _ in deletes), reverse=True)
    assert [KIND_RANK[k] for k, _ in creates] == sorted(KIND_RANK[k] for k, _ in creates)
    assert ("vhost", ("old",)) in deletes and ("queue", (V, "q1")) in deletes and ("queue", (V, "q1")) in creates
    assert creates.index(("vhost", ("new",))) < creates.index(("queue", ("new", "nq")))
    assert creates.index(("queue", (V, "q1"))) < creates.index(("binding", (V, "ex2", "queue", "q1", "", "{}")))
    assert plan_for(after, backend, prune=True).is_empty


# -- convergence -----------------------------------------------------------------------------------------
NAMES = st.sampled_from(["a", "b", "c", "a b", "é#%"])


@st.composite
def topologies(draw: st.DrawFn) -> dict[str, Any]:
    vhosts = []
    for vhost in draw(st.lists(st.sampled_from(["v1", "v2", "/"]), min_size=1, max_size=2, unique=True)):
        exchanges = draw(st.lists(NAMES, max_size=3, unique=True))
        queues = draw(st.lists(NAMES, max_size=3, unique=True))
        doc: dict[str, Any] = {"name": vhost}
        if draw(st.booleans()):
            doc["description"] = draw(NAMES)
        doc["exchanges"] = [
            {
                "name": f"x {name}",
                "type": draw(st.sampled_from(["direct", "fanout", "topic"])),
                "durable": draw(st.booleans()),
            }
            for name in exchanges
        ]
        doc["queues"] = [
            {
                "name": name,
                "type": draw(st.sampled_from(["classic", "quorum"])),
                **({"arguments": {"x-message-ttl": draw(st.integers(0, 10**6))}} if draw(st.booleans()) else {}),
            }
            for name in queues
        ]
        doc["bindings"] = [
            {"source": f"x {source}", "destination": dest, "routing_key": draw(NAMES)}
            for source in exchanges
            for dest in queues
            if draw(st.booleans())
        ]
        vhosts.append(doc)
    users = [
        {"name": name, "tags": draw(st.lists(st.sampled_from(["management", "monitoring"]), unique=True))}
        for name in draw(st.lists(NAMES, max_size=2, unique=True))
    ]
    permissions = [
        {"user": user["name"], "vhost": vhost["name"], "configure": ".*", "write": draw(NAMES), "read": ".*"}
        for user in users
        for vhost in vhosts
        if draw(st.booleans())
    ]
    return {"vhosts": vhosts, "users": users, "permissions": permissions}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=topologies(), second=topologies(), prune=st.booleans(), bulk=st.booleans())
def test_apply_then_plan_is_empty_from_any_start(
    first: dict[str, Any], second: dict[str, Any], prune: bool, bulk: bool
) -> None:
    backend = MemoryBackend(user="admin", bulk_threshold=3 if bulk else 1000, import_batch=2)
    apply(first, backend)
    assert plan_for(first, backend).is_empty
    apply(second, backend, prune=prune, allow_data_loss=True)
    assert plan_for(second, backend, prune=prune).is_empty


# -- export ----------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(document=topologies())
def test_an_export_applied_to_a_fresh_server_gives_the_same_state(document: dict[str, Any]) -> None:
    backend = MemoryBackend(user="admin")
    apply(document, backend)
    scope = {vhost["name"] for vhost in document["vhosts"]}
    exported = export_document(backend.read_state(None), scope, include_password_hashes=True)
    assert plan_for(exported, backend, prune=True).is_empty  # no change against its own source
    fresh = MemoryBackend(user="admin")
    apply(exported, fresh)
    assert_same(backend.read_state(scope), fresh.read_state(scope), scope)


def assert_same(one: Topology, other: Topology, scope: set[str]) -> None:
    """The same objects in ``scope``; users: those holding permissions there (what an export of it carries)."""
    users = {(p.user,) for p in one.permissions.values() if p.vhost in scope}

    def in_scope(topology: Topology, kind: str) -> dict[Key, object]:
        objects = topology.of(kind).items()
        if kind == "user":
            return {key: obj for key, obj in objects if key in users}
        return {key: obj for key, obj in objects if getattr(obj, "vhost", key[0]) in scope}

    for kind in one.objects:
        assert in_scope(one, kind) == in_scope(other, kind), kind


def test_the_plan_in_memory_names_every_action() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    changed = shop(queues=2)
    changed["vhosts"][0]["queues"][0]["durable"] = False
    plan = plan_for(changed, backend, prune=True)
    assert {c.action for c in plan.changes} == {Action.REPLACE, Action.DELETE, Action.CREATE}


@pytest.mark.parametrize("bulk", [False, True])
def test_an_interrupt_during_the_last_write_is_still_an_interrupt_with_nothing_left(bulk: bool) -> None:
    """The write in flight (a whole bulk import) finishes and completes the plan: still exit 130, not 0,
    so that a script sees the Ctrl-C or SIGTERM; the report says nothing is left."""
    interrupt = threading.Event()
    backend = MemoryBackend(bulk_threshold=5 if bulk else 1000, import_batch=1000)
    document = shop(queues=6)
    plan = plan_for(document, backend)
    total = len(plan.changes)

    def on_call(call: str, obj: object) -> None:
        # Ctrl-C while the last write is sent, or while the one import holding all but the vhost runs.
        if (obj.kind != "vhost") if bulk else len(backend.calls) == total - 1:
            interrupt.set()

    backend.on_call = on_call
    with pytest.raises(ApplyInterrupted) as caught:
        execute_plan(plan, backend, interrupt=interrupt)
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    assert len(result.done) == total and not result.failed and not result.not_attempted
    assert "nothing is left to do" in str(caught.value)
    assert plan_for(document, backend).is_empty
