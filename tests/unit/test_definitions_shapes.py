"""Each row of ``definitions_input``'s tables, offline: a definitions file with that one field wrong is refused (or
warned about) at its own place, file, line and field, and the rest of the file is read as before. What each server
version does with the same files: tests/integration/test_definitions_shapes.py and test_definitions_nulls.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.definitions_input import OBJECT_ONLY
from rabbitadmin.errors import ExitCode, TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Topology

from ..conftest import CliRunner
from ..definitions_shapes import (
    DROP,
    EMPTY,
    IGNORED,
    NULL_SECTIONS,
    OBJECT_SAMPLES,
    REFUSED,
    SERVER_EXCHANGE_BINDINGS,
    SKIPPED,
    STORED,
    TAGS,
    UNDEFINED,
    Case,
    Skipped,
    document,
    entries,
    every_null,
)


def text_of(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line holding ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def refused(text: str) -> list[Any]:
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "defs.json")
    return caught.value.problems


def expected_line(case: Case, text: str) -> int:
    """The field's own line; for a missing one, the line of the mapping that lacks it (an entry's ``{``, on the
    line after its section's ``[`` in ``json.dumps(indent=1)``; a value's, on its key's line)."""
    *outer, key = case.field.split(".")
    if case.value != DROP:
        shown = case.value if not isinstance(case.value, (list, dict)) or not case.value else "["
        return line_of(text, f'"{key}": {shown if shown == "[" else json.dumps(shown)}')
    if outer:
        return line_of(text, f'"{outer[-1]}": {{')
    return line_of(text, f'"{section_key(case)}": [') + 1


def section_key(case: Case) -> str:
    return case.path.split("[", 1)[0]


@pytest.mark.parametrize("case", REFUSED + STORED + every_null(), ids=lambda c: c.id)
def test_a_wrong_field_is_refused_at_its_place(case: Case) -> None:
    text = text_of(case.document())
    problems = refused(text)
    assert [p.field for p in problems] == [case.path], problems
    (problem,) = problems
    assert case.said in problem.message
    assert problem.line == expected_line(case, text), (problem, text)
    assert str(problem).startswith(f"defs.json:{problem.line}: {case.path}: ")


def test_every_object_only_row_has_its_wrong_values() -> None:
    assert sorted(OBJECT_SAMPLES) == sorted((kind, field) for kind, fields in OBJECT_ONLY.items() for field in fields)


@pytest.mark.parametrize("section", NULL_SECTIONS)
def test_a_null_section_is_refused_as_the_server_fails_on_it(section: str) -> None:
    doc = {"rabbit_version": "3.10.8", "vhosts": [{"name": "v"}], section: None}
    text = text_of(doc)
    (problem,) = refused(text)
    assert (problem.field, problem.line) == (section, line_of(text, f'"{section}": null'))
    assert "is null: the server's import fails on it (HTTP 500" in problem.message


@pytest.mark.parametrize("case", UNDEFINED, ids=lambda c: c.id)
def test_a_field_the_server_stores_as_undefined_is_written_with_the_default_and_said(case: Case) -> None:
    text = text_of(case.document())
    topology = load_topology_text(text, "defs.json")
    (warning,) = [w for w in topology.warnings if w.field == case.path]
    assert case.said in warning.message and warning.line == line_of(text, f'"{section_key(case)}": [') + 1
    if case.kind == "exchanges":
        assert topology.exchanges[("v", "x")].auto_delete is False
    else:
        assert [b.routing_key for b in topology.bindings.values()] == [""]


@pytest.mark.parametrize(("kind", "written", "stored", "kept"), TAGS)
def test_duplicate_and_empty_tags_are_set_once_and_said(
    kind: str, written: Any, stored: list[str], kept: list[str]
) -> None:
    text = text_of(document(kind, "tags", written))
    topology = load_topology_text(text, "defs.json")
    (warning,) = [w for w in topology.warnings if w.field == f"{kind}[0].tags"]
    assert warning.line == line_of(text, '"tags":')
    assert f"as given ({stored})" in warning.message and f"once and no empty one ({kept})" in warning.message
    objects = topology.users if kind == "users" else topology.vhosts
    assert sorted(next(iter(objects.values())).tags or ()) == sorted(kept)


def test_tags_without_duplicates_are_not_said() -> None:
    for kind in ("users", "vhosts"):
        for tags in (["a", "b"], "a, b", "", []):
            topology = load_topology_text(text_of(document(kind, "tags", tags)), "defs.json")
            assert not [w for w in topology.warnings if w.field == f"{kind}[0].tags"], (kind, tags)


def test_a_vhosts_metadata_counts_only_without_its_own_field() -> None:
    # rabbit_definitions:add_vhost/2 reads the entry's description and tags first, metadata's without them.
    metadata = {"tags": ["b", "b"], "description": 5}
    doc = {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "v", "tags": ["a"], "description": "d", "metadata": metadata}],
    }
    topology = load_topology_text(text_of(doc), "defs.json")
    assert not topology.warnings and topology.vhosts[("v",)].tags == ("a",)
    doc["vhosts"][0].pop("tags")
    topology = load_topology_text(text_of(doc), "defs.json")
    assert [w.field for w in topology.warnings] == ["vhosts[0].metadata.tags"]
    doc["vhosts"][0].pop("description")
    text = text_of(doc)
    (problem,) = refused(text)
    assert (problem.field, problem.line) == ("vhosts[0].metadata.description", line_of(text, '"description": 5'))


@pytest.mark.parametrize("where", ["tags", "metadata.tags"])
def test_a_vhosts_null_tags_clear_them_as_the_import_does(where: str) -> None:
    topology = load_topology_text(text_of(document("vhosts", where, None)), "defs.json")
    assert topology.vhosts[("v",)].tags == ()


@pytest.mark.parametrize("case", EMPTY, ids=lambda c: c.id)
def test_an_empty_list_where_the_import_reads_an_empty_object_is_taken_so(case: Case) -> None:
    topology = load_topology_text(text_of(case.document()), "defs.json")
    assert not topology.warnings
    if case.kind == "vhost-limits":
        assert not topology.vhost_limits and topology.vhosts
    else:
        (made,) = getattr(topology, case.kind).values()
        assert made.arguments == {}


def test_yaml_text_as_written_is_a_string() -> None:
    # A routing key written 010 in a YAML file is the text 010 (loader.WrittenInt), not a number: not refused.
    text = ("rabbit_version: 3.10.8\nvhosts: [{name: v}]\nexchanges: [{vhost: v, name: x, type: direct, durable: true,"
            " auto_delete: false}]\nqueues: [{vhost: v, name: q}]\nbindings: [{vhost: v, source: x, destination: q,"
            " destination_type: queue, routing_key: 010}]\n")  # fmt: skip
    topology = load_topology_text(text, "defs.yaml")
    assert [b.routing_key for b in topology.bindings.values()] == ["010"]


@pytest.mark.parametrize("name", ["internal_cluster_id", "cluster_tags"])
def test_the_nodes_own_global_parameters_are_left_out_without_a_word(name: str) -> None:
    """In every whole-server export: a warning there would fail ``validate --strict`` on every export."""
    doc = {"rabbit_version": "4.0.5", "global_parameters": [{"name": "cluster_name", "value": "c"},
           {"name": name, "value": "x"}]}  # fmt: skip
    topology: Topology = load_topology_text(text_of(doc), "defs.json")
    assert list(topology.global_parameters) == [("cluster_name",)]
    assert topology.warnings == []


def test_a_good_file_of_every_kind_reads_without_a_word() -> None:
    made = entries("v", "u")
    doc = {"rabbit_version": "3.10.8", "users": [made["users"]], "vhosts": [made["vhosts"]],
           "exchanges": [made["exchanges"]], "queues": [made["queues"]], "bindings": [made["bindings"]],
           "policies": [made["policies"]], "parameters": [made["operator_policy"], made["vhost-limits"]]}  # fmt: skip
    topology = load_topology_text(text_of(doc), "defs.json")
    assert not topology.warnings
    assert topology.operator_policies and topology.vhost_limits and topology.bindings


def test_validate_names_every_such_problem_at_once_and_exits_2(tmp_path: Path) -> None:
    # One file with a wrong field of each table: `validate` (the step `plan` and `apply` start with) lists them all,
    # each at its file, line and field, and exits 2.
    made = entries("v", "u")
    doc = {
        "rabbit_version": "3.10.8",
        "users": [{**made["users"], "hashing_algorithm": None}],
        "vhosts": [{**made["vhosts"], "tracing": None}],
        "exchanges": [{**made["exchanges"], "auto_delete": None}],
        "queues": [made["queues"]],
        "bindings": [{**made["bindings"], "routing_key": 5}],
        "parameters": [{**made["vhost-limits"], "name": "other"}, {**made["operator_policy"], "value": []}],
        "policies": None,
    }
    path = tmp_path / "defs.json"
    path.write_text(text_of(doc))
    result = CliRunner({})("validate", str(path))
    assert result.returncode == ExitCode.INVALID, result.stderr
    text = path.read_text()
    for field, needle in (
        ("users[0].hashing_algorithm", '"hashing_algorithm": null'),
        ("vhosts[0].tracing", '"tracing": null'),
        ("exchanges[0].auto_delete", '"auto_delete": null'),
        ("bindings[0].routing_key", '"routing_key": 5'),
        ("parameters[0].name", '"name": "other"'),
        ("parameters[1].value", '"value": []'),
        ("policies", '"policies": null'),
    ):
        assert f"{path}:{line_of(text, needle)}: {field}: " in result.stderr, (field, result.stderr)
    assert "7 problems" in result.stderr


@pytest.mark.parametrize("case", IGNORED, ids=[c.id for c in IGNORED])
def test_a_field_the_import_ignores_is_left_out_with_one_warning_at_it(case: Case) -> None:
    text = text_of(case.document())
    topology = load_topology_text(text, "defs.json")
    [warning] = topology.warnings
    assert (warning.file, warning.field) == ("defs.json", case.path) and case.said in warning.message
    assert warning.line == line_of(text, f'"{case.field}": {json.dumps(case.value)}')
    kind = {"policies": "policy"}.get(case.kind, case.kind.removesuffix("s"))
    assert len(topology.objects[kind]) == 1 and not any(topology.absent.values())  # made, without the field


def test_an_unknown_section_is_left_out_with_one_warning_at_it() -> None:
    text = text_of({**document("queues", "name", "q"), "some_future_section": [{"a": 1}], "other": 3})
    topology = load_topology_text(text, "defs.json")
    assert [(w.field, w.line) for w in topology.warnings] == [
        ("some_future_section", line_of(text, '"some_future_section"')),
        ("other", line_of(text, '"other"')),
    ]
    assert all("the server's import ignores it too" in w.message for w in topology.warnings)
    assert [q.name for q in topology.queues.values()] == ["q"]


@pytest.mark.parametrize("case", SKIPPED, ids=[c.id for c in SKIPPED])
def test_an_object_the_import_skips_is_left_out_with_a_warning_at_it(case: Skipped) -> None:
    text = text_of(case.document())
    topology = load_topology_text(text, "defs.json")
    said = {w.field: w for w in topology.warnings}
    assert case.path in said and case.said in said[case.path].message
    assert "rabbitadmin leaves it out too" in said[case.path].message
    key, value = next(iter(case.entry.items()))  # the entry's first line, after its "{"
    assert said[case.path].line == line_of(text, f'"{key}": {json.dumps(value)}') - 1
    assert len(topology.warnings) == 1 + (case.with_queue is not None)
    assert [q.name for q in topology.queues.values()] == ["q"] and [e.name for e in topology.exchanges.values()] == [
        "x"
    ]
    assert not topology.bindings


def test_bindings_of_the_servers_own_exchanges_are_taken_without_a_word() -> None:
    doc = {**document("queues", "name", "q"), "exchanges": [entries("v", "u")["exchanges"]],
           "bindings": [{**b, "vhost": "v"} for b in SERVER_EXCHANGE_BINDINGS]}  # fmt: skip
    topology = load_topology_text(text_of(doc), "defs.json")
    assert not topology.warnings and len(topology.bindings) == 2
