"""Plans for many objects stay linear in them (issue 19.3): each change's message count is matched to
it by identity, not by comparing it with every other destroyed change (n x n dataclass comparisons made
most of a 3,000-queue ``plan --prune``). Proven by counting comparisons, never by timing."""

from __future__ import annotations

from typing import Any

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action, Change
from rabbitadmin.loader import load_topology_text

V = "v1"


def document(queues: int) -> str:
    names = "".join(f"      - name: q.{i:05d}\n" for i in range(queues))
    return f"vhosts:\n  - name: {V}\n    queues:\n{names}" if queues else f"vhosts:\n  - name: {V}\n"


@pytest.mark.parametrize("queues", [1, 50, 600])
def test_a_prune_plan_compares_changes_at_most_linearly(queues: int, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryBackend()
    full = make_plan(load_topology_text(document(queues), "t.yaml"), backend)
    execute_plan(full, backend)
    backend.set_messages(V, "q.00000", 7, consumers=2)
    comparisons = 0
    equal = Change.__eq__

    def counting_eq(self: Change, other: Any) -> Any:
        nonlocal comparisons
        comparisons += 1
        return equal(self, other)

    monkeypatch.setattr(Change, "__eq__", counting_eq)
    plan = make_plan(load_topology_text(document(0), "t.yaml"), backend, prune=True)
    deletes = {c.key[1]: c for c in plan.changes if c.action is Action.DELETE and c.kind == "queue"}
    assert len(deletes) == queues
    assert (deletes["q.00000"].messages_at_risk, deletes["q.00000"].consumers) == (7, 2)
    assert all(c.messages_at_risk == 0 for name, c in deletes.items() if name != "q.00000")
    assert comparisons <= queues, f"{comparisons} comparisons of changes for {queues} deletes"
