"""Big plans (issue 16.5): ``--summary`` counts per vhost, kind and action, and the first line of a plan that
changes nothing: "No changes: the server matches" only when nothing is refused, on every path that renders a
plan (plan, apply, tutorial provision and the Ansible module all print through ``render_plan``).

The pager is proven on a pseudo-terminal in tests/integration/test_plan_terminal.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Plan
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import hash_password
from rabbitadmin.render import NO_CHANGES, NOTHING_APPLICABLE, render_plan, summary_rows

HASH = hash_password("review")
BASE = f"""
vhosts:
  - name: a
    queues: [{{name: q1}}, {{name: q2}}]
    exchanges: [{{name: ex}}]
    bindings: [{{source: ex, destination: q1}}]
  - name: b
    default_queue_type: classic
    queues: [{{name: q1, type: classic}}]
users:
  - {{name: app, password_hash: {HASH}, limits: {{max-connections: 3}}}}
  - {{name: guest}}
permissions:
  - {{user: app, vhost: a, configure: '', write: '.*', read: '.*'}}
  - {{user: guest, vhost: a, configure: '.*', write: '.*', read: '.*'}}
"""


def plan_of(text: str, backend: MemoryBackend, *, prune: bool = False) -> Plan:
    return make_plan(load_topology_text(text, "t.yaml"), backend, prune=prune)


@pytest.fixture
def server() -> MemoryBackend:
    backend = MemoryBackend()
    execute_plan(plan_of(BASE, backend), backend)
    return backend


# -- --summary ---------------------------------------------------------------------------------------------
def test_summary_counts_per_vhost_kind_and_action(server: MemoryBackend) -> None:
    edited = BASE.replace("queues: [{name: q1}, {name: q2}]", "queues: [{name: q1, type: quorum}, {name: q3}]")
    edited = edited.replace("max-connections: 3", "max-connections: 4")
    plan = plan_of(edited + "  - {user: app, vhost: b, configure: '', write: '', read: ''}\n", server, prune=True)
    columns = ["vhost", "kind", "create", "update", "replace", "delete"]
    rows = [dict(zip(columns, row, strict=True)) for row in summary_rows(plan)]
    assert {(r["vhost"], r["kind"]): (r["create"], r["update"], r["replace"], r["delete"]) for r in rows} == {
        ("(global)", "user_limit"): ("0", "1", "0", "0"),
        ("a", "queue"): ("1", "0", "1", "1"),  # q3 created, q1 replaced, q2 pruned
        ("a", "binding"): ("1", "0", "0", "0"),  # ex -> q1 again after the replace
        ("b", "permission"): ("1", "0", "0", "0"),
    }
    assert sum(int(cell) for row in summary_rows(plan) for cell in row[2:]) == len(plan.changes)


def test_summary_text_is_a_table_instead_of_one_line_per_change() -> None:
    plan = plan_of(BASE, MemoryBackend())
    text = render_plan(plan, summary=True)
    lines = text.splitlines()
    assert lines[0].startswith("Plan for vhosts 'a', 'b'")
    header = lines[1].split()
    assert header == ["VHOST", "KIND", "CREATE", "UPDATE", "REPLACE", "DELETE"]
    assert ["a", "queue", "2", "0", "0", "0"] in [line.split() for line in lines]
    assert "+ create" not in text and lines[-1].startswith("Summary: ")
    assert len(lines) == 2 + len(summary_rows(plan)) + 1


# -- "No changes" only when nothing is refused ---------------------------------------------------------------
# Every way a plan can come out with no change and a refusal (the diff drops the refused change).
REFUSED_AND_EMPTY: dict[str, str] = {
    "a vhost's default queue type": BASE.replace("default_queue_type: classic", "default_queue_type: quorum"),
    "the connecting user's permissions": BASE.replace("configure: '.*', write: '.*'", "configure: '', write: '.*'"),
    "the connecting user's password": BASE.replace("{name: guest}", f"{{name: guest, password_hash: {HASH}}}"),
    "the connecting user's administrator tag": BASE.replace("{name: guest}", "{name: guest, tags: [monitoring]}"),
    "deleting the connecting user": BASE.replace("{name: guest}", "{name: guest, state: absent}").replace(
        "  - {user: guest, vhost: a, configure: '.*', write: '.*', read: '.*'}\n", ""
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_AND_EMPTY))
@pytest.mark.parametrize("summary", [False, True])
def test_a_refused_plan_never_says_the_server_matches(case: str, summary: bool, server: MemoryBackend) -> None:
    plan = plan_of(REFUSED_AND_EMPTY[case], server)
    assert plan.refusals and plan.is_empty, (case, plan.refusals, plan.changes)
    text = render_plan(plan, summary=summary)
    assert "the server matches" not in text
    assert text.splitlines()[1] == NOTHING_APPLICABLE and "refused:" in text


@pytest.mark.parametrize("summary", [False, True])
def test_a_clean_plan_says_the_server_matches(summary: bool, server: MemoryBackend) -> None:
    plan = plan_of(BASE, server)
    assert plan.is_empty and not plan.refusals
    assert render_plan(plan, summary=summary).splitlines()[1] == NO_CHANGES


def test_a_plan_with_changes_and_refusals_has_no_status_line(server: MemoryBackend) -> None:
    edited = REFUSED_AND_EMPTY["a vhost's default queue type"].replace("{name: q2}]", "{name: q2}, {name: q9}]")
    text = render_plan(plan_of(edited, server))
    assert NO_CHANGES not in text and NOTHING_APPLICABLE not in text and "+ create queue 'q9'" in text


def test_only_render_plan_words_the_status_line() -> None:
    """Every command that prints a plan (plan, apply, tutorial provision, the Ansible module) goes through
    ``render_plan``; no other code writes "the server matches", so the rule above holds for all of them."""
    root = Path(__file__).resolve().parents[2]
    sources = [*(root / "src").rglob("*.py"), *(root / "ansible").rglob("*.py")]
    writers = [p.relative_to(root).as_posix() for p in sources if "server matches" in p.read_text(encoding="utf-8")]
    assert writers == ["src/rabbitadmin/render.py"]
    for printer in (
        "src/rabbitadmin/cli.py",
        "src/rabbitadmin/tutorials/cli.py",
        "ansible/library/rabbitadmin_topology.py",
    ):
        assert "render_plan(" in (root / printer).read_text(encoding="utf-8"), printer
