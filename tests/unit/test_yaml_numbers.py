"""Names that YAML reads as numbers keep the text written in the file.

YAML 1.1 (PyYAML's) reads an unquoted ``010`` as 8, ``0x10`` as 16, ``1_000`` as 1000, ``12:30`` as 750 and
``1.50`` as 1.5. A field that wants a string (a vhost, queue or exchange name, a routing key, a user) takes the
text as written: ``name: 010`` is the vhost ``010``, never ``8``. In a number field the YAML 1.1 readings
that YAML 1.2 and JSON read otherwise (octal, base 60) are refused with what was read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rabbitadmin.errors import TopologyError
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology, load_topology_text
from rabbitadmin.located import WrittenInt, ambiguous_number, as_written

WRITTEN = ["010", "0x10", "1_000", "12:30", "1.50", ".5", "0o7", "-0", "+1", "1e3", "42", "3.25"]


def nested(name: str, anchor: bool = False) -> str:
    """A topology with ``name`` unquoted in every string field; ``anchor`` sends it down the node path."""
    tag = "&args " if anchor else ""
    return (
        f"vhosts:\n  - name: {name}\n"
        f"    exchanges: [{{name: {name}, type: topic, arguments: {tag}{{}}}}]\n"
        f"    queues: [{{name: {name}}}]\n"
        f"    bindings: [{{source: {name}, destination: {name}, routing_key: {name}}}]\n"
        f"users:\n  - {{name: {name}, tags: [monitoring]}}\n"
        f"permissions:\n  - {{user: {name}, vhost: {name}, configure: '', write: '', read: ''}}\n"
    )


@pytest.mark.parametrize("anchor", [False, True], ids=["events-path", "node-path"])
@pytest.mark.parametrize("name", WRITTEN)
def test_every_string_field_takes_the_text_as_written(name: str, anchor: bool) -> None:
    topology = load_topology_text(nested(name, anchor), "t.yaml")
    assert [key[0] for key in topology.vhosts] == [name]
    assert [q.name for q in topology.queues.values()] == [name]
    assert [(e.vhost, e.name) for e in topology.exchanges.values()] == [(name, name)]
    [binding] = topology.bindings.values()
    assert (binding.source, binding.destination, binding.routing_key) == (name, name, name)
    assert [u.name for u in topology.users.values()] == [name]
    assert [key for key in topology.permissions] == [(name, name)]


@pytest.mark.parametrize("name", ["010", "0x10", "12:30", "1.50"])
def test_a_definitions_shaped_file_in_yaml_takes_names_as_written(name: str) -> None:
    text = (
        f"vhosts:\n  - name: {name}\nqueues:\n  - {{vhost: {name}, name: {name}, durable: true}}\n"
        f"exchanges:\n  - {{vhost: {name}, name: x, type: direct, durable: true}}\n"
        f"bindings:\n  - {{vhost: {name}, source: x, destination: {name}, destination_type: queue,"
        f" routing_key: {name}}}\n"
    )
    topology = load_topology_text(text, "defs.yaml")
    assert [q.vhost + "/" + q.name for q in topology.queues.values()] == [f"{name}/{name}"]
    assert [b.routing_key for b in topology.bindings.values()] == [name]


@pytest.mark.parametrize("name", ["010", "0x10", "1_000", "12:30", "1.50"])
def test_export_quotes_such_names_so_they_read_back_the_same(name: str, tmp_path: Path) -> None:
    topology = load_topology_text(nested(name), "t.yaml")
    path = tmp_path / "exported.yaml"
    path.write_text(yaml.safe_dump(export_document(topology), sort_keys=False))
    assert [key[0] for key in load_topology(path).vhosts] == [name]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "true"])
def test_a_name_yaml_reads_as_a_boolean_is_refused_with_the_fix(word: str) -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology_text(f"vhosts:\n  - name: {word}\n", "t.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (2, "vhosts[0].name")
    assert "boolean" in problem.message and "quote it" in problem.message


@pytest.mark.parametrize(
    ("written", "read", "why"),
    [("010", 8, "(octal): write 8, or 10 if that is meant"), ("1:10", 70, "(base 60): write 70")],
)
def test_a_number_field_refuses_what_only_yaml_1_1_reads_that_way(written: str, read: int, why: str) -> None:
    text = (
        "vhosts:\n  - name: a\n"
        f"    queues: [{{name: q, arguments: {{x-max-length: {written}}}}}]\n"
        f"    policies: [{{name: p, pattern: '.*', definition: {{max-length: {written}}}}}]\n"
    )
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml")
    fields = {p.field: p.message for p in caught.value.problems}
    for field in ("vhosts[0].queues[0].arguments.x-max-length", "vhosts[0].policies[0].definition.max-length"):
        assert f"YAML 1.1 reads {written} as {read} {why}" in fields[field]


def test_unambiguous_numbers_stay_numbers_in_number_fields() -> None:
    text = "vhosts:\n  - name: a\n    queues: [{name: q, arguments: {x-max-length: 1_000, x-message-ttl: 0x10}}]\n"
    [queue] = load_topology_text(text, "t.yaml").queues.values()
    assert queue.arguments == {"x-max-length": 1000, "x-message-ttl": 16}
    assert all(type(value) is int for value in queue.arguments.values())  # plain numbers in the model
    assert json.dumps(queue.arguments) == '{"x-max-length": 1000, "x-message-ttl": 16}'


def test_a_number_is_marked_only_when_its_text_differs() -> None:
    assert type(as_written(42, "42")) is int and type(as_written(1.5, "1.5")) is float
    marked = as_written(8, "010")
    assert isinstance(marked, WrittenInt) and marked == 8 and str(marked) == "010" and json.dumps(marked) == "8"
    assert ambiguous_number(as_written(16, "0x10")) is None and ambiguous_number(as_written(1000, "1_000")) is None
    assert ambiguous_number(8) is None
