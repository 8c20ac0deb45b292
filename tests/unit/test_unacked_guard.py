"""A delete goes ahead only as the plan showed it: a classic queue the plan counted empty with no consumer is
deleted on condition that it still has none (``if-unused``), because the server's ``if-empty`` counts ready
messages only and a consumer's unacknowledged deliveries go with the queue. Where the plan showed consumers,
the delete is ``if-empty`` alone, as shown. Engine logic on the memory backend; the real nodes are in
tests/integration/test_unacked_guard.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from rabbitadmin.backends.ctl.quirks import delete_queue_refusal
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import ExitCode, MessagesArrived, PartialApply, ServerError
from rabbitadmin.model import Queue

from .test_engine_memory import V, apply, plan_for, shop, subjects


def absent_vhost() -> dict[str, Any]:
    return {"vhosts": [{"name": V, "state": "absent"}]}


def durable_changed() -> dict[str, Any]:
    """``shop()`` with q1 no longer durable: a replace of q1 (delete, then create)."""
    document = shop()
    document["vhosts"][0]["queues"][1]["durable"] = False
    return document


# Each way a plan deletes a classic queue: prune, replace, vhost delete (desired document, prune).
DELETES = {
    "prune": (shop(queues=0), True),
    "replace": (durable_changed(), False),
    "vhost": (absent_vhost(), False),
}


@pytest.mark.parametrize("how", DELETES)
def test_a_consumer_that_attached_after_the_plan_keeps_the_queue(how: str) -> None:
    document, prune = DELETES[how]
    backend = MemoryBackend()
    apply(shop(), backend)
    plan = plan_for(document, backend, prune=prune)
    destroyed = [c for c in plan.changes if c.destroys_messages]
    assert destroyed and all(c.consumers == 0 and c.messages_at_risk == 0 for c in destroyed)
    # After the plan: a consumer takes every message published meanwhile, unacknowledged (none ready).
    backend.set_messages(V, "q1", 0, consumers=1)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code == ExitCode.MESSAGES_ARRIVED
    kept = caught.value.result.kept
    expected = ("vhost", (V,)) if how == "vhost" else ("queue", (V, "q1"))
    assert subjects(c for c, _ in kept) == {expected}
    assert kept[0][1].startswith("a consumer attached after the plan") and "q1" in kept[0][1]
    assert "kept: " in str(caught.value) and "q1" in str(caught.value)
    assert (V, "q1") in backend.read_state([V]).queues
    if how == "replace":  # the create half did not run: the queue is the one the server had
        assert backend.read_state([V]).queues[(V, "q1")].durable is True
    # The consumer goes: the same command converges.
    backend.set_messages(V, "q1", 0, consumers=0)
    apply(document, backend, prune=prune)
    assert plan_for(document, backend, prune=prune).changes == []


@pytest.mark.parametrize("how", DELETES)
def test_a_delete_the_plan_showed_cutting_off_consumers_goes_ahead(how: str) -> None:
    document, prune = DELETES[how]
    backend = MemoryBackend()
    apply(shop(), backend)
    backend.set_messages(V, "q1", 0, consumers=2)  # before the plan: the operator is shown them
    plan = plan_for(document, backend, prune=prune)
    shown = [c for c in plan.changes if c.destroys_messages and c.key in ((V, "q1"), (V,))]
    assert [c.consumers for c in shown] == [2]
    execute_plan(plan, backend)
    state = backend.read_state([V])
    if how == "vhost":
        assert (V,) not in state.vhosts
    else:
        assert (how == "replace") == ((V, "q1") in state.queues)


def test_messages_that_arrived_after_the_plan_still_keep_a_queue_that_had_consumers_in_the_plan() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    backend.set_messages(V, "q1", 0, consumers=1)
    plan = plan_for(shop(queues=0), backend, prune=True)
    backend.set_messages(V, "q1", 3, consumers=1)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert "messages arrived after the plan" in caught.value.result.kept[0][1]


def test_allow_data_loss_deletes_whatever_attached() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    plan = plan_for(shop(queues=0), backend, prune=True)
    backend.set_messages(V, "q1", 0, consumers=1)
    execute_plan(plan, backend, allow_data_loss=True)
    assert backend.read_state([V]).queues == {}


def test_a_vhost_whose_queues_were_refused_for_both_causes_says_both() -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    plan = plan_for(absent_vhost(), backend)
    backend.set_messages(V, "q0", 2)
    backend.set_messages(V, "q1", 0, consumers=1)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    why = caught.value.result.kept[0][1]
    assert "messages arrived or a consumer attached after the plan" in why and "'q0', 'q1'" in why
    assert set(backend.read_state([V]).queues) == {(V, "q0"), (V, "q1")}


@pytest.mark.parametrize(("conditions", "refused"), [({"if_empty": True}, False), ({"if_unused": True}, True)])
def test_the_memory_backend_checks_only_the_conditions_asked(conditions: dict[str, bool], refused: bool) -> None:
    backend = MemoryBackend()
    apply(shop(), backend)
    backend.set_messages(V, "q1", 0, consumers=1)
    queue = backend.read_state([V]).queues[(V, "q1")]
    if refused:
        with pytest.raises(MessagesArrived, match="consumer attached"):
            backend.delete(queue, **conditions)
    else:
        backend.delete(queue, **conditions)
    assert ((V, "q1") in backend.read_state([V]).queues) is refused


def test_if_unused_is_not_sent_to_a_quorum_queue_which_refuses_if_empty_itself() -> None:
    backend = MemoryBackend()
    apply({"vhosts": [{"name": V, "queues": [{"name": "qq", "type": "quorum"}]}]}, backend)
    queue = backend.read_state([V]).queues[(V, "qq")]
    assert isinstance(queue, Queue) and queue.type == "quorum"
    with pytest.raises(ServerError, match="if-empty"):
        backend.delete(queue, if_empty=True, if_unused=True)


def test_a_quorum_queue_delete_never_carries_a_condition() -> None:
    """Quorum queues need --allow-data-loss, and then the delete is unconditional (no if-unused to refuse)."""
    backend = MemoryBackend()
    apply({"vhosts": [{"name": V, "queues": [{"name": "qq", "type": "quorum"}]}]}, backend)
    plan = plan_for({"vhosts": [{"name": V}]}, backend, prune=True)
    assert [(c.action, c.conditional) for c in plan.changes] == [(Action.DELETE, False)]
    execute_plan(plan, backend, allow_data_loss=True)
    assert backend.read_state([V]).queues == {}


# rabbitmqctl delete_queue's refusals as measured (3.10.8 exit 64; 4.0.5 exit 69, a charlist for non-ASCII).
CTL_REFUSALS = [
    ("Queue is in use", "in_use"),
    ("Queue is not empty", "not_empty"),
    ("{:amqp_error, :precondition_failed, ~c\"queue 'c3' in vhost 't 39a602ex' in use\", :none}", "in_use"),
    ("{:amqp_error, :precondition_failed, ~c\"queue 'c3' in vhost 'v' not empty\", :none}", "not_empty"),
    (
        "{:amqp_error, :precondition_failed, [113, 117, 101, 117, 101, 32, 39, 99, 51, 39, 32, 105, 110, 32, 118, "
        "104, 111, 115, 116, 32, 39, 233, 39, 32, 105, 110, 32, 117, 115, 101], :none}",
        "in_use",
    ),
    ("{:amqp_error, :precondition_failed, :something_else, :none}", "unknown"),
    ("Error: queue 'c3' in vhost 'v' not found", None),
]


@pytest.mark.parametrize(("reason", "cause"), CTL_REFUSALS)
def test_rabbitmqctl_delete_queue_refusals_are_read_as_measured(reason: str, cause: str | None) -> None:
    assert delete_queue_refusal(reason) == cause
