"""Pure engine: conditional deletes in the apply loop, and the apply lock's bookkeeping (no broker here;
the same behaviour against real nodes is in tests/integration/test_safety_routing.py and test_apply_lock.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from rabbitadmin.backends.base import QueueDepth
from rabbitadmin.engine.apply import ApplyResult, execute_plan
from rabbitadmin.engine.apply_lock import ApplyLock, Holder
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import ApplyLocked, ExitCode, LockVhostMissing, MessagesArrived, PartialApply, Refused
from rabbitadmin.model import Binding, Exchange, Key, Queue, Topology, TopologyObject, Vhost

V = "v"


class RecordingBackend:
    """Records calls; queues named in ``full`` refuse a conditional delete, as the server does."""

    name = "fake"
    parallelism = 1
    bulk_threshold = 1000

    def __init__(self, full: Sequence[str] = ()) -> None:
        self.full = set(full)
        self.calls: list[tuple[str, Any, bool]] = []

    def connected_user(self) -> str | None:
        return None

    def read_state(self, vhosts: Any) -> Topology:
        raise NotImplementedError

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
        return {}

    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        return None

    def create(
        self,
        objects: Sequence[TopologyObject],
        progress: Callable[[Sequence[TopologyObject]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        for obj in objects:
            self.calls.append(("create", obj.key, False))
        if progress is not None:
            progress(objects)

    def update(self, obj: TopologyObject) -> None:
        self.calls.append(("update", obj.key, False))

    def delete(self, obj: TopologyObject, *, if_empty: bool = False, if_unused: bool = False) -> None:
        self.calls.append(("delete", obj.key, if_empty))
        if if_empty and isinstance(obj, Queue) and obj.name in self.full:
            raise MessagesArrived(f"messages arrived after the plan: queue {obj.name!r}")

    def close(self) -> None:
        pass


def topo(*objects: TopologyObject) -> Topology:
    result = Topology()
    for obj in objects:
        result.add(obj)
    return result


SERVER = topo(
    Vhost(V, description="", tags=()),
    Exchange(V, "e"),
    Queue(V, "late", messages=0),
    Queue(V, "idle", messages=0),
    Queue(V, "jobs", arguments={"x-max-length": 5}, messages=0),
    Binding(V, "e", "queue", "jobs", "k"),
)
DESIRED = topo(Vhost(V), Exchange(V, "e"), Queue(V, "jobs"), Queue(V, "new"), Binding(V, "e", "queue", "jobs", "k"))


@pytest.mark.parametrize(("allow_data_loss", "conditional"), [(False, True), (True, False)])
def test_queue_deletes_are_conditional_unless_data_loss_is_allowed(allow_data_loss: bool, conditional: bool) -> None:
    backend = RecordingBackend()
    execute_plan(compute_plan(DESIRED, SERVER, prune=True), backend, allow_data_loss=allow_data_loss)
    deletes = {key[1]: flag for action, key, flag in backend.calls if action == "delete"}
    assert deletes == {"late": conditional, "idle": conditional, "jobs": conditional}


def test_a_kept_delete_lets_the_rest_go_on_and_exits_9() -> None:
    backend = RecordingBackend(full=["late"])
    with pytest.raises(PartialApply) as caught:
        execute_plan(compute_plan(DESIRED, SERVER, prune=True), backend)
    result = caught.value.result
    assert caught.value.exit_code is ExitCode.MESSAGES_ARRIVED
    assert [c.key[1] for c, _ in result.kept] == ["late"]
    assert sorted(c.key[1] for c in result.done if c.kind == "queue") == ["idle", "jobs", "new"]
    assert not result.failed and not result.not_attempted and not result.ok
    assert "kept: queue 'late'" in str(caught.value) and "--allow-data-loss" in str(caught.value)


def test_a_kept_replace_is_not_created_again() -> None:
    backend = RecordingBackend(full=["jobs"])
    with pytest.raises(PartialApply) as caught:
        execute_plan(compute_plan(DESIRED, SERVER), backend)
    assert ("create", (V, "jobs"), False) not in backend.calls
    assert ("create", (V, "new"), False) in backend.calls
    [(change, _)] = caught.value.result.kept
    assert change.action is Action.REPLACE
    assert caught.value.result.to_dict()["kept"][0]["reason_kept"].startswith("messages arrived")


def test_a_failure_outranks_a_kept_queue_in_the_exit_code() -> None:
    result = ApplyResult()
    plan = compute_plan(DESIRED, SERVER, prune=True)
    result.kept.append((plan.changes[0], "messages arrived"))
    assert PartialApply(result).exit_code is ExitCode.MESSAGES_ARRIVED
    result.failed.append((plan.changes[1], "HTTP 500"))
    assert PartialApply(result).exit_code is ExitCode.PARTIAL


@pytest.mark.parametrize("queue_type", ["quorum", "stream"])
def test_deleting_a_queue_that_cannot_be_deleted_if_empty_needs_the_flag(queue_type: str) -> None:
    server = topo(Vhost(V, description="", tags=()), Queue(V, "q", type=queue_type, messages=0))
    plan = compute_plan(topo(Vhost(V)), server, prune=True)
    [change] = plan.changes
    assert change.conditional is False and change.loses_messages
    with pytest.raises(Refused, match="cannot delete a quorum queue or a stream on condition"):
        execute_plan(plan, RecordingBackend())
    vhost_plan = compute_plan(Topology(absent={**Topology().absent, "vhost": {(V,): None}}), server)
    assert vhost_plan.changes[0].conditional is False


def test_new_vhosts_are_created_alone_then_the_hook_runs_before_anything_in_them() -> None:
    backend = RecordingBackend()
    seen: list[list[str]] = []

    def hook(names: list[str]) -> None:
        seen.append(names)
        backend.calls.append(("hook", tuple(names), False))

    desired = topo(Vhost("new"), Queue("new", "q"), Exchange("new", "e"))
    execute_plan(compute_plan(desired, Topology()), backend, on_vhosts_created=hook)
    assert seen == [["new"]]
    assert [c[0] for c in backend.calls][:2] == ["create", "hook"] and backend.calls[0][1] == ("new",)


def test_a_hook_that_raises_stops_the_apply_with_its_exit_code() -> None:
    def hook(names: list[str]) -> None:
        raise ApplyLocked("vhost 'new' is locked")

    desired = topo(Vhost("new"), Queue("new", "q"))
    with pytest.raises(PartialApply) as caught:
        execute_plan(compute_plan(desired, Topology()), RecordingBackend(), on_vhosts_created=hook)
    assert caught.value.exit_code is ExitCode.LOCKED
    assert [c.kind for c in caught.value.result.done] == ["vhost"]
    assert [c.kind for c in caught.value.result.not_attempted] == ["queue"]


# -- the lock's bookkeeping, over a transport that plays the broker's answers -----------------------------
class FakeHeld:
    def __init__(self, log: list[str], vhost: str) -> None:
        self.log, self.vhost = log, vhost

    def release(self) -> None:
        self.log.append(f"release {self.vhost}")


class ScriptedTransport:
    """``busy`` vhosts answer RESOURCE_LOCKED ``busy[vhost]`` times; ``missing`` vhosts do not exist."""

    def __init__(self, busy: dict[str, int] | None = None, missing: Sequence[str] = ()) -> None:
        self.busy = dict(busy or {})
        self.missing = set(missing)
        self.log: list[str] = []
        self.arguments: dict[str, Any] = {}

    def try_lock(self, vhost: str, arguments: dict[str, Any]) -> FakeHeld | None:
        self.log.append(f"try {vhost}")
        self.arguments = arguments
        if vhost in self.missing:
            raise LockVhostMissing(vhost)
        if self.busy.get(vhost, 0) > 0:
            self.busy[vhost] -= 1
            return None
        return FakeHeld(self.log, vhost)


def test_vhosts_are_locked_in_name_order_and_missing_ones_are_remembered() -> None:
    transport = ScriptedTransport(missing=["b"])
    with ApplyLock(transport, timeout=0) as lock:
        lock.acquire(["c", "a", "b"])
        assert lock.held == {"a", "c"} and lock.missing == {"b"}
        assert transport.log == ["try a", "try b", "try c"]
    assert sorted(entry for entry in transport.log if entry.startswith("release")) == ["release a", "release c"]
    assert transport.arguments["x-queue-type"] == "classic"
    assert Holder.from_arguments(transport.arguments) == lock.holder


def test_a_busy_lock_is_retried_until_free() -> None:
    transport = ScriptedTransport(busy={"a": 2})
    notices: list[tuple[str, Holder | None]] = []
    holder = Holder("h", 7, "u", "2026-01-01T00:00:00Z")
    lock = ApplyLock(transport, timeout=30, read_holder=lambda _v: holder, on_wait=lambda v, h: notices.append((v, h)))
    lock.acquire(["a"])
    assert lock.held == {"a"} and transport.log.count("try a") == 3
    assert notices == [("a", holder)]  # said once, with who holds it


def test_a_lock_busy_past_the_timeout_names_its_holder() -> None:
    holder = Holder("host-1", 4242, "ops", "2026-01-01T00:00:00Z")
    lock = ApplyLock(ScriptedTransport(busy={"a": 10**6}), timeout=0, read_holder=lambda _v: holder)
    with pytest.raises(ApplyLocked, match=r"pid 4242 on host host-1 \(user ops, since 2026-01-01T00:00:00Z\)"):
        lock.acquire(["a"])
    assert ApplyLocked.exit_code is ExitCode.LOCKED


def test_a_new_vhost_locked_by_someone_else_is_not_waited_for() -> None:
    lock = ApplyLock(ScriptedTransport(busy={"new": 1}), timeout=3600)
    with pytest.raises(ApplyLocked, match="did not exist when this apply planned"):
        lock.acquire_created(["new"])


@pytest.mark.parametrize(
    "arguments",
    [
        None,
        {},
        {"rabbitadmin-host": "h"},
        {"rabbitadmin-host": "h", "rabbitadmin-pid": "x", "rabbitadmin-user": "u", "rabbitadmin-started": "t"},
    ],
)
def test_a_holder_that_cannot_be_read_is_none(arguments: dict[str, Any] | None) -> None:
    assert Holder.from_arguments(arguments) is None
