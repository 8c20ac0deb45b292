"""StatePrefetch's bookkeeping: which read is used, when errors surface, what is built once.

The backend here is a plain object recording calls (no server is involved: reading a real node in the
background is covered by every integration test that runs ``plan`` or ``apply``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any, cast

import pytest

from rabbitadmin.backends.base import Backend
from rabbitadmin.engine.prefetch import StatePrefetch
from rabbitadmin.errors import ConnectionFailed
from rabbitadmin.model import Topology, Vhost


class RecordingBackend:
    def __init__(self, fail: Exception | None = None, gate: threading.Event | None = None) -> None:
        self.reads: list[frozenset[str] | None] = []
        self.fail = fail
        self.gate = gate
        self.closed = False

    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        if self.gate is not None:
            self.gate.wait(5)
        self.reads.append(None if vhosts is None else frozenset(vhosts))
        if self.fail is not None:
            raise self.fail
        topology = Topology()
        for name in vhosts or ():
            topology.add(Vhost(name))
        return topology

    def close(self) -> None:
        self.closed = True


def prefetch_over(backend: RecordingBackend, built: list[int] | None = None) -> StatePrefetch:
    def connect() -> Backend:
        if built is not None:
            built.append(1)
        return cast(Backend, backend)

    return StatePrefetch(connect)


def test_the_background_read_is_used_for_the_same_scope() -> None:
    backend = RecordingBackend()
    prefetch = prefetch_over(backend)
    prefetch.start(frozenset({"a", "b"}))
    state = prefetch.state_for({"b", "a"})
    assert state is not None and set(state.vhosts) == {("a",), ("b",)}
    assert backend.reads == [frozenset({"a", "b"})]


@pytest.mark.parametrize("validated", [{"a"}, {"a", "b", "c"}, set()])
def test_a_read_for_another_scope_is_not_used(validated: set[str]) -> None:
    backend = RecordingBackend()
    prefetch = prefetch_over(backend)
    prefetch.start(frozenset({"a", "b"}))
    assert prefetch.state_for(validated) is None


def test_without_a_start_there_is_nothing_to_use() -> None:
    assert prefetch_over(RecordingBackend()).state_for({"a"}) is None


def test_a_failed_read_raises_only_when_the_state_is_asked_for() -> None:
    failure = ConnectionFailed("cannot connect to http://127.0.0.1:9: refused")
    prefetch = prefetch_over(RecordingBackend(fail=failure))
    prefetch.start(frozenset({"a"}))  # does not raise: the file may still turn out invalid
    with pytest.raises(ConnectionFailed) as caught:
        prefetch.state_for({"a"})
    assert caught.value is failure


def test_a_backend_that_cannot_be_built_fails_on_the_callers_thread() -> None:
    def connect() -> Backend:
        raise ConnectionFailed("no password given")

    prefetch = StatePrefetch(connect)
    prefetch.start(frozenset({"a"}))
    with pytest.raises(ConnectionFailed, match="no password"):
        prefetch.state_for({"a"})
    with pytest.raises(ConnectionFailed, match="no password"):
        prefetch.backend()


def test_the_backend_is_built_once_and_closed_after_the_read() -> None:
    built: list[int] = []
    gate = threading.Event()
    backend = RecordingBackend(gate=gate)
    prefetch = prefetch_over(backend, built)
    prefetch.start(frozenset({"a"}))
    prefetch.start(frozenset({"a"}))  # a second start is ignored
    assert prefetch.backend() is cast(Any, backend)
    prefetch.close()
    assert not backend.closed, "a read still running keeps its backend"
    gate.set()
    assert prefetch.state_for({"a"}) is not None
    prefetch.close()
    assert backend.closed and built == [1] and backend.reads == [frozenset({"a"})]


class RecordingRead:
    """A vhost-by-vhost read (``prefetch.StateRead``) that records what it was told."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def add_vhost(self, name: str) -> None:
        self.log.append(f"add {name}")

    def result(self, vhosts: Collection[str] | None) -> Topology:
        self.log.append(f"result {sorted(vhosts or ())}")
        topology = Topology()
        for name in vhosts or ():
            topology.add(Vhost(name))
        return topology

    def close(self) -> None:
        self.log.append("close")


class StreamingBackend(RecordingBackend):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def begin_read(self) -> RecordingRead:
        self.log.append("begin")
        return RecordingRead(self.log)


def test_vhosts_named_while_parsing_are_read_at_once_and_the_validated_scope_decides() -> None:
    backend = StreamingBackend()
    prefetch = prefetch_over(backend)
    prefetch.vhost_seen("a")
    assert backend.log == ["begin", "add a"], "the first name begins the read and its vhost's listings"
    prefetch.vhost_seen("b")
    prefetch.start(frozenset({"a", "b"}))  # the parsed scope: names already told are not read twice here
    state = prefetch.state_for({"a", "c"})  # validation ended with another scope: it is the one read
    assert state is not None and set(state.vhosts) == {("a",), ("c",)}
    assert backend.log[:3] == ["begin", "add a", "add b"] and backend.log[-1] == "result ['a', 'c']"
    assert sorted(backend.log[3:-1]) == ["add a", "add b"], "the parsed scope is named too (a read adds once)"
    assert backend.reads == [], "no whole read on top of the vhost-by-vhost one"
    prefetch.close()
    assert backend.log[-1] == "close" and backend.closed


def test_a_scope_known_only_after_parsing_begins_the_vhost_by_vhost_read_then() -> None:
    backend = StreamingBackend()
    prefetch = prefetch_over(backend)
    prefetch.start(frozenset({"a"}))  # the node path (anchors, variables) tells no name before this
    assert prefetch.state_for({"a"}) is not None
    assert backend.log == ["begin", "add a", "result ['a']"] and backend.reads == []


def test_with_a_lock_to_take_first_names_wait_for_the_whole_read() -> None:
    backend = StreamingBackend()
    locked: list[frozenset[str]] = []
    prefetch = StatePrefetch(lambda: cast(Backend, backend), before_read=lambda _b, scope: locked.append(scope))
    prefetch.vhost_seen("a")
    assert backend.log == [], "nothing may be read before the lock is held"
    prefetch.start(frozenset({"a"}))
    assert prefetch.state_for({"a"}) is not None
    assert locked == [frozenset({"a"})] and backend.reads == [frozenset({"a"})] and backend.log == []


def test_a_backend_without_a_vhost_by_vhost_read_waits_for_the_scope() -> None:
    backend = RecordingBackend()
    prefetch = prefetch_over(backend)
    prefetch.vhost_seen("a")
    prefetch.start(frozenset({"a"}))
    assert prefetch.state_for({"a"}) is not None and backend.reads == [frozenset({"a"})]


@pytest.mark.parametrize("prune", [True, False])
def test_a_prune_plan_tells_the_backend_before_its_first_read(prune: bool, tmp_path: Any) -> None:
    """``read_depths`` (HTTP: list the queues' counts beside the state read) must be set before the read the
    file's loading starts, so the engine sets it from ``plan_file(prune=...)`` as the backend is built."""
    from rabbitadmin.backends.memory import MemoryBackend
    from rabbitadmin.engine.session import EngineSession

    seen: list[bool] = []

    class Counting(MemoryBackend):
        read_depths = False

        def read_state(self, vhosts: Collection[str] | None) -> Topology:
            seen.append(self.read_depths)
            return super().read_state(vhosts)

    backend = Counting()
    path = tmp_path / "t.yaml"
    path.write_text("vhosts: [{name: v, queues: [{name: q}]}]\n", encoding="utf-8")
    with EngineSession(lambda: cast(Backend, backend)) as session:
        session.plan_file(path, prune=prune)
    assert seen and set(seen) == {prune}
