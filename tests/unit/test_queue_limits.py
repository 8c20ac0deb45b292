"""A plan refuses what a vhost's queue limit would refuse mid-apply, the apply lock's own queue included."""

from __future__ import annotations

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.apply_lock import LOCK_QUEUE
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Queue, Topology


def load(limit: int, queues: int, vhost: str = "v") -> Topology:
    names = ", ".join(f"{{name: q{i}}}" for i in range(queues))
    return load_topology_text(f"vhosts: [{{name: {vhost}, limits: {{max-queues: {limit}}}, queues: [{names}]}}]")


@pytest.mark.parametrize(
    ("limit", "queues", "locked", "refused"),
    [
        (1, 1, True, "leaves no room for the apply lock's queue"),  # a full vhost's export, applied with the lock
        (1, 1, False, None),  # a warning: see below
        (2, 1, True, None),
        (1, 2, False, "would hold 2 queue(s), more than its max-queues 1"),
        (1, 2, True, "would hold 2 queue(s), more than its max-queues 1"),
        (-1, 3, True, None),  # no limit
        (0, 0, True, "leaves no room"),
    ],
)
def test_a_limit_the_apply_would_pass_is_refused_before_any_write(
    limit: int, queues: int, locked: bool, refused: str | None
) -> None:
    backend = MemoryBackend()
    plan = make_plan(load(limit, queues), backend, locked=locked)
    if refused is None:
        assert plan.refusals == []
    else:
        assert len(plan.refusals) == 1 and refused in plan.refusals[0], plan.refusals
        assert "pass --no-lock" in plan.refusals[0] or not locked or "more than" in plan.refusals[0]
        assert backend.calls == []


def test_the_servers_queues_and_an_existing_limit_count_and_the_lock_queue_is_counted_once() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(load(3, 2), backend), backend)  # a limit of 3 and two queues on the server
    backend.create([Queue("v", LOCK_QUEUE, "classic", durable=False, exclusive=True)])  # the lock, as read
    grown = load_topology_text("vhosts: [{name: v, queues: [{name: q0}, {name: q1}, {name: q2}]}]")
    plan = make_plan(grown, backend, locked=True)  # the limit is not in the file: the server's counts
    assert any("leaves no room for the apply lock's queue" in r and "hold 3" in r for r in plan.refusals), plan
    assert make_plan(grown, backend, locked=False).refusals == []


def test_a_vhost_the_plan_deletes_is_not_counted() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(load(1, 1), backend), backend)
    plan = make_plan(load_topology_text("vhosts: [{name: v, state: absent}]"), backend, locked=True)
    assert plan.refusals == []


def test_a_plan_without_the_lock_warns_that_an_apply_with_it_would_refuse() -> None:
    plan = make_plan(load(1, 1), MemoryBackend(), locked=False)
    assert plan.refusals == []
    assert any(
        "no room for the apply lock's queue" in w and "an apply with the lock refuses it" in w for w in plan.warnings
    )
    assert not any("apply lock" in w for w in make_plan(load(2, 1), MemoryBackend(), locked=False).warnings)


def test_a_refusal_that_needs_the_server_names_the_file_and_line_of_its_object() -> None:
    policy = "{name: p, pattern: x, apply_to: streams, definition: {expires: 1}}"
    text = f"vhosts:\n  - name: v\n    policies:\n      - {policy}\n"
    desired = load_topology_text(text, "topology.yaml")
    (refusal,) = make_plan(desired, MemoryBackend(version="3.10.8")).refusals
    assert refusal.startswith("topology.yaml:4: policy 'p' in vhost 'v': RabbitMQ 3.10.8 refuses apply-to"), refusal
    # A vhost's refusal names the vhost's line.
    (full,) = make_plan(load(1, 1), MemoryBackend(), locked=True).refusals
    assert full.startswith("<topology>:1: vhost 'v': max-queues 1"), full


def test_a_refusal_of_an_object_whose_name_holds_a_colon_is_placed_too() -> None:
    text = "vhosts:\n  - name: v\n    exchanges:\n      - {name: 'a: b', type: x-nowhere}\n"
    (refusal,) = make_plan(load_topology_text(text, "t.yaml"), MemoryBackend()).refusals
    assert refusal.startswith("t.yaml:4: exchange 'a: b' in vhost 'v': the server has no exchange type"), refusal


def test_a_full_vhost_outside_the_file_is_none_of_the_plans_business() -> None:
    """The state read lists every vhost's limits but only the file's vhosts' queues: another vhost at its
    max-queues counted as empty, and its "no room for the lock" warning (a refusal with the lock) stopped applies
    to vhosts it has nothing to do with (found by hand: an apply to 'exq' refused over vhost 'full')."""
    backend = MemoryBackend()
    execute_plan(make_plan(load(0, 0, vhost="full"), backend), backend)
    other = load_topology_text("vhosts: [{name: other, queues: [{name: q}]}]")
    for locked in (True, False):
        plan = make_plan(other, backend, locked=locked)
        assert plan.refusals == [] and not any("full" in w for w in plan.warnings), plan
    assert any("'full'" in r for r in make_plan(load(0, 0, vhost="full"), backend, locked=True).refusals)


# -- connection limits: the AMQP apply lock holds one connection per vhost, as the user rabbitadmin connects as --


def connections(limit: int, vhost: str = "cv") -> Topology:
    return load_topology_text(
        f"vhosts:\n  - name: {vhost}\n    limits: {{max-connections: {limit}}}\n    queues: [{{name: q1}}]\n",
        "c.yaml",
    )


@pytest.mark.parametrize(("limit", "blocked"), [(0, True), (1, False), (-1, False)])
def test_a_vhost_connection_limit_without_room_for_the_lock_warns_in_a_plan_and_refuses_under_the_lock(
    limit: int, blocked: bool
) -> None:
    backend = MemoryBackend()
    plan = make_plan(connections(limit), backend)
    assert plan.refusals == []
    warned = [w for w in plan.warnings if "max-connections" in w]
    if not blocked:
        assert warned == [] and make_plan(connections(limit), backend, locked=True).refusals == []
        return
    assert len(warned) == 1 and warned[0].startswith("c.yaml:3: vhost 'cv': max-connections 0"), warned
    assert "(an apply with the lock refuses it)" in warned[0] and "--no-lock" in warned[0]
    locked = make_plan(connections(limit), backend, locked=True)
    assert len(locked.refusals) == 1 and "apply lock's AMQP connection" in locked.refusals[0], locked.refusals
    # Applied without the lock, the limit is on the server: every later plan still says so (no silent "No changes").
    execute_plan(plan, backend)
    again = make_plan(connections(limit), backend)
    assert again.changes == [] and any("max-connections 0" in w for w in again.warnings), again.warnings


def test_a_limit_already_on_the_server_counts_and_one_the_plan_removes_does_not() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(connections(0), backend), backend)
    unlimited = load_topology_text("vhosts: [{name: cv, queues: [{name: q1}]}]")  # the limit is not in the file
    assert any("vhost 'cv': max-connections 0" in r for r in make_plan(unlimited, backend, locked=True).refusals)
    raised = make_plan(connections(5), backend, locked=True)
    assert raised.refusals == [] and not any("max-connections" in w for w in raised.warnings)
    gone = make_plan(load_topology_text("vhosts: [{name: cv, state: absent}]"), backend, locked=True)
    assert gone.refusals == []


def test_a_connection_limit_outside_the_plans_scope_is_not_its_business() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(connections(0, "other"), backend), backend)
    plan = make_plan(connections(1), backend, locked=True)
    assert plan.refusals == [] and not any("'other'" in w for w in plan.warnings)


def users(limit: int, vhosts: int) -> Topology:
    names = "".join(f"  - name: v{i}\n" for i in range(vhosts))
    return load_topology_text(
        f"users:\n  - name: rabbitadmin\n    limits: {{max-connections: {limit}}}\nvhosts:\n{names}", "u.yaml"
    )


@pytest.mark.parametrize(("limit", "vhosts", "blocked"), [(1, 2, True), (2, 2, False), (0, 1, True), (1, 1, False)])
def test_the_connecting_users_connection_limit_must_leave_one_connection_per_vhost(
    limit: int, vhosts: int, blocked: bool
) -> None:
    backend = MemoryBackend(user="rabbitadmin")
    plan = make_plan(users(limit, vhosts), backend, locked=True)
    refused = [r for r in plan.refusals if "max-connections" in r]
    if not blocked:
        assert refused == []
        return
    assert len(refused) == 1 and refused[0].startswith(f"u.yaml:3: user 'rabbitadmin': max-connections {limit}")
    assert f"apply lock's {vhosts} AMQP connection(s)" in refused[0], refused
    assert backend.calls == []
    # Another user's limit is not the lock's business.
    assert make_plan(users(limit, vhosts), MemoryBackend(user="guest"), locked=True).refusals == []


def test_the_ctl_transports_lock_needs_no_connection() -> None:
    class NodeLocked(MemoryBackend):  # a backend that takes the lock itself (rabbitmqctl eval), as the ctl one
        def try_lock(self, vhost: str, arguments: dict[str, object]) -> None:
            return None

    plan = make_plan(connections(0), NodeLocked(), locked=True)
    assert plan.refusals == [] and not any("max-connections" in w for w in plan.warnings)
