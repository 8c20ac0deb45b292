"""An exchange of a type the server lacks (a plugin's, not enabled) is refused by the plan, before any write:
the server would answer "unknown exchange type" (HTTP 400) in the middle of the apply."""

from __future__ import annotations

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import BatchFailed, Refused
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Exchange, Topology

TEXT = """vhosts:
  - name: v
    exchanges:
      - {name: ring, type: x-consistent-hash}
      - {name: t, type: topic}
"""


def load(text: str) -> Topology:
    return load_topology_text(text, "t.yaml")


def test_a_type_the_server_lacks_is_refused_naming_its_plugin_and_nothing_is_written() -> None:
    backend = MemoryBackend()
    plan = make_plan(load(TEXT), backend)
    assert plan.refusals == [
        "t.yaml:4: exchange 'ring' in vhost 'v': the server has no exchange type 'x-consistent-hash' (it has direct, "
        "fanout, headers, topic); it comes with the rabbitmq_consistent_hash_exchange plugin"
    ]
    with pytest.raises(Refused):
        execute_plan(plan, backend)
    assert ("v",) not in backend.snapshot().vhosts


def test_a_type_the_server_has_is_planned_and_created() -> None:
    backend = MemoryBackend(exchange_types=("direct", "fanout", "topic", "headers", "x-consistent-hash"))
    plan = make_plan(load(TEXT), backend)
    assert plan.refusals == []
    execute_plan(plan, backend)
    assert backend.snapshot().exchanges[("v", "ring")].type == "x-consistent-hash"


def test_the_server_is_asked_only_for_a_type_other_than_its_own_four() -> None:
    asked: list[str] = []

    class Counting(MemoryBackend):
        def exchange_types(self) -> set[str] | None:
            asked.append("types")
            return super().exchange_types()

    make_plan(load("vhosts: [{name: v, exchanges: [{name: t, type: topic}]}]"), Counting())
    assert asked == []
    make_plan(load(TEXT), Counting())
    assert asked == ["types"]


def test_a_server_that_does_not_say_decides_itself() -> None:
    class Silent(MemoryBackend):
        def exchange_types(self) -> set[str] | None:
            return None

    backend = Silent()
    plan = make_plan(load(TEXT), backend)
    assert plan.refusals == []
    with pytest.raises(Exception) as caught:  # the memory server refuses it as RabbitMQ does, part-way
        execute_plan(plan, backend)
    assert "unknown exchange type 'x-consistent-hash'" in str(caught.value)


def test_the_memory_server_refuses_an_unknown_type_as_rabbitmq_does() -> None:
    backend = MemoryBackend()
    backend.create([load("vhosts: [{name: v}]").vhosts[("v",)]])
    with pytest.raises(BatchFailed) as caught:
        backend.create([Exchange("v", "ring", "x-consistent-hash")])
    assert "HTTP 400: precondition_failed: unknown exchange type 'x-consistent-hash'" in str(caught.value)
