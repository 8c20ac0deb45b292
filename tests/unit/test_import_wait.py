"""How long a definitions import may take: the base timeout plus an allowance per object (backends/import_wait.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rabbitadmin
from rabbitadmin.backends.import_wait import REPLICATED_WEIGHT, SECONDS_PER_OBJECT, import_wait, import_weight
from rabbitadmin.model import Binding, Exchange, Queue, TopologyObject, User


def test_an_empty_import_waits_the_base_timeout() -> None:
    assert import_wait(60.0, []) == 60.0


def test_every_plain_object_adds_the_same_allowance() -> None:
    objects: list[TopologyObject] = [
        Exchange("v", "e", "direct"),
        Queue("v", "q"),
        Binding("v", "e", "queue", "q", "k"),
        User("u"),
    ]
    assert import_weight(objects) == 4
    assert import_wait(5.0, objects) == pytest.approx(5.0 + 4 * SECONDS_PER_OBJECT)


@pytest.mark.parametrize(
    ("queue_type", "weight"), [("classic", 1), ("quorum", REPLICATED_WEIGHT), ("stream", REPLICATED_WEIGHT)]
)
def test_replicated_queues_weigh_more(queue_type: str, weight: int) -> None:
    assert import_weight([Queue("v", "q", type=queue_type)]) == weight


def test_w10000_on_the_default_timeout_is_allowed_what_a_busy_cluster_needs_ten_times_over() -> None:
    # W(10000): 1,000 exchanges, 10,000 queues, 10,000 bindings, 100 users and 100 permissions.
    objects: list[TopologyObject] = [Queue("v", f"q{i}") for i in range(21_200)]
    busy_cluster_seconds = 21_200 * 0.006  # 12,310 objects in 74 s, measured
    assert import_wait(60.0, objects) >= 10 * busy_cluster_seconds


def _import_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls sending a definitions import: ``.post(api_path("definitions"), ...)`` and
    ``.run(["import_definitions", ...], ...)``."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        first = node.args[0]
        if node.func.attr == "post" and isinstance(first, ast.Call) and getattr(first.func, "id", "") == "api_path":
            if [a.value for a in first.args if isinstance(a, ast.Constant)] == ["definitions"]:
                found.append(node)
        elif node.func.attr == "run" and isinstance(first, ast.List) and first.elts:
            head = first.elts[0]
            if isinstance(head, ast.Constant) and head.value == "import_definitions":
                found.append(node)
    return found


def test_every_definitions_import_the_tool_sends_is_given_an_import_wait() -> None:
    """The kind, not the case: an import sent with the bare timeout fails once it grows (the busy-cluster
    apply did). Every call site in the package passes ``wait=``."""
    package = Path(rabbitadmin.__file__).parent
    calls = {
        f"{path.relative_to(package)}:{call.lineno}": call
        for path in sorted(package.rglob("*.py"))
        for call in _import_calls(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert len(calls) >= 4  # the HTTP import and its failover resend, verify's scratch vhost, the ctl imports
    assert [where for where, call in calls.items() if not any(k.arg == "wait" for k in call.keywords)] == []
