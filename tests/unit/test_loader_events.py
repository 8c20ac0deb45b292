"""The loader's two paths give the same result (issue 19.4): a file built straight from parser events
(no node tree held, for memory) and the same file composed into nodes first. Same values, same types,
same lines, same problems; what the events path leaves to the nodes falls back to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import (
    LocatedDict,
    LocatedList,
    _NeedsNodes,
    declared_vhosts,
    declared_vhosts_of,
    parse_document,
    parse_events,
    parse_nodes,
)
from rabbitadmin.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]

# Files the events path builds itself.
BUILT_FROM_EVENTS = [
    "a: 1\nb: true\nc: null\nd: 1.5\ne: '1'\nf: \"yes\"\ng: ~\nh: 0x1F\ni: 2001-12-14\nj: .inf\nk: -0\n",
    "i: 2001-12-14\nt: 2001-12-14 21:59:43.10\nb: !!bool maybe\nbool: !!bool ON\n",  # problems
    "list: [1, two, {three: 3}, [4]]\nempty: {}\nnone: []\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "explicit: !!str 123\nnumber: !!int '7'\nbin: !!binary aGVsbG8=\nf: !!float '1'\n",
    "tagged: !!map {a: 1}\nseq: !!seq [1]\nlocal: ! 12\n",
    '{"json": [1, 2.5, "x", true, null], "nested": {"k": "v"}}',
    "- just\n- a\n- list\n",
    "plain scalar",
    "",
    "---\n",
    "# only a comment\n",
    "1: int key\n2.5: float key\nfalse: bool key\nnull: null key\n",
    "vhosts:\n  - name: v\n    queues:\n\n      - {name: q, durable: true}\n"
    "      - name: r\n        arguments: {x-max-length: 10}\n",
    "n: " + "9" * 101 + "\nm: " + "1" * 100 + "\n",  # a number too long is a problem with its line
    "deep: " + "[" * 63 + "]" * 63 + "\n",  # as deep as MAX_DEPTH allows
    "a: 1\n---\nb: 2\n",  # two documents
    "a: [1, 2\nb: 3\n",  # a syntax error
    "a: {b: c\n",
    "x: 2001-02-30\n",  # a date Python cannot hold
    "ü: ß\n'quoted key': \"\\u00e9\"\n",
]

# Files only the node path builds (the events path says so, and parse_document falls back).
LEFT_TO_NODES = [
    "a: 1\na: 2\n",  # a duplicate key
    "? [a]\n: 1\n",  # an unhashable key
    "omap: !!omap [{a: 1}, {b: 2}]\n",
    "set: !!set {a, b}\n",
    "deep: " + "[" * 64 + "]" * 64 + "\n",  # deeper than MAX_DEPTH
    "a: 1\ntrue: 2\n1: 3\n",  # true == 1: a duplicate key
    "x: *undefined\n",
    "x: !custom [1]\n",
    "k: <<\n<<: {a: 1}\n",  # merge keys, even without anchors: the node path flattens them
    "m: !!map []\ns: !!seq {}\n",  # a collection under another kind's tag: a problem at its line
]


def snapshot(value: Any) -> Any:
    """Values with their types and every line the located containers hold."""
    if isinstance(value, LocatedDict):
        items = [(snapshot(k), snapshot(v), value.line_of(k)) for k, v in value.items()]
        return ("dict", value.line, items)
    if isinstance(value, LocatedList):
        return ("list", value.line, [(snapshot(v), value.line_of(i)) for i, v in enumerate(value)])
    return (type(value).__name__, value)


def outcome(parse: Any, text: str) -> Any:
    try:
        return ("ok", snapshot(parse(text, "t.yaml")))
    except TopologyError as exc:
        return ("problems", [(p.message, p.line, p.column) for p in exc.problems])


@pytest.mark.parametrize("text", BUILT_FROM_EVENTS)
def test_the_events_path_gives_what_the_node_path_gives(text: str) -> None:
    assert outcome(parse_events, text) == outcome(parse_nodes, text)


@pytest.mark.parametrize("text", LEFT_TO_NODES)
def test_what_the_events_path_cannot_build_falls_back_to_the_nodes(text: str) -> None:
    with pytest.raises(_NeedsNodes):
        parse_events(text, "t.yaml")
    assert outcome(parse_document, text) == outcome(parse_nodes, text)


# Scalars starting with every character a YAML 1.1 resolver starts with, and others, plain and quoted, as keys
# and values, each text twice (the events path remembers what the resolver said of a plain scalar's text and
# takes a string without asking the resolver when no resolver starts with its first character).
_RESOLVER_TEXTS = [
    "name", "q.0000001", "no", "No", "NO", "n", "null", "Null", "nul", "y", "yes", "Yes", "on", "On", "off", "o",
    "true", "t", "false", "f", "F", "T", "O", "Y", "N", "~", "=", "<<", "<", "!", "&x", "*", "+1", "-1", "-", ".5",
    "1e3", ".", "0", "010", "0x1F", "1_000", "1:30", "2001", "9", "x", "Z", "é", "[", "_",
]  # fmt: skip


def _scalar_texts() -> list[str]:
    lines = []
    for index, text in enumerate(_RESOLVER_TEXTS * 2):
        quoted = "'" + text + "'"
        plain = quoted if text[0] in "!&*[" or text in ("<<", "=") else text  # those two: tags with no constructor
        for key, value in ((plain, plain), (quoted, quoted), (plain, quoted), (quoted, plain)):
            lines.append(f"- {{{key}: {value}, k{index}: {plain}}}")
    return ["\n".join(lines) + "\n"]


@pytest.mark.parametrize("text", _scalar_texts())
def test_plain_and_quoted_scalars_resolve_the_same_both_ways(text: str) -> None:
    events, nodes = outcome(parse_events, text), outcome(parse_nodes, text)
    assert events == nodes
    assert "('WrittenInt', 8)" in str(nodes) and "('bool', True)" in str(nodes)  # YAML 1.1: 010 is 8, yes true


def test_a_resolver_added_to_the_loader_is_honoured_on_the_events_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first-character shortcut is read off the loader's resolvers when it is made, not fixed at import."""
    from rabbitadmin import loader

    class Loader(loader._LocatedLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:null", __import__("re").compile(r"^q\.\d+$"), list("q"))
    monkeypatch.setattr(loader, "_LocatedLoader", Loader)
    document = parse_events("a: q.10\nb: 'q.10'\n", "t.yaml")
    assert document == {"a": None, "b": "q.10"}


def test_a_bool_constructor_set_on_the_loader_is_honoured_on_the_events_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Booleans are looked up without a node only while the loader keeps PyYAML's own bool constructor."""
    from rabbitadmin import loader

    class Loader(loader._LocatedLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:bool", lambda self, node: f"bool {node.value}")
    monkeypatch.setattr(loader, "_LocatedLoader", Loader)
    assert parse_events("a: yes\nb: !!bool 'off'\n", "t.yaml") == {"a": "bool yes", "b": "bool off"}


@pytest.mark.parametrize(
    "path",
    [ROOT / "topology.yaml", *sorted((ROOT / "src/rabbitadmin/tutorials/presets").glob("*.yaml"))],
    ids=lambda p: p.name,
)
def test_the_project_files_load_the_same_both_ways(path: Path) -> None:
    text = path.read_text()
    assert outcome(parse_document, text) == outcome(parse_nodes, text)


SCOPES = [
    "vhosts: [{name: a}, {name: b, state: absent}]",
    "users: [{name: u}]",
    "vhosts:\n  - queues: [{name: q}]\n    name: late\n",
    "vhosts: [{name: 123}]",
    "vhosts: [{name: !!str 123}]",
    "vhosts: {name: a}",
    "vhosts: [a]",
    "vhosts: [{queues: []}]",
    "rabbit_version: '3.10'\nvhosts: [{name: a}]",
    "- not a mapping",
    "",
]


@pytest.mark.parametrize("text", SCOPES)
def test_the_scope_read_off_the_document_is_the_one_read_off_the_nodes(text: str) -> None:
    assert declared_vhosts_of(parse_nodes(text, "t.yaml")) == declared_vhosts(
        yaml.compose(text, Loader=yaml.SafeLoader)
    )


def test_a_consumed_document_validates_to_the_same_topology_and_a_kept_one_is_untouched(tmp_path: Path) -> None:
    text = (ROOT / "topology.yaml").read_text()
    kept = parse_document(text, "t.yaml")
    before = snapshot(kept)
    environ = {"MYUSER_PASSWORD": "not-a-real-password"}
    plain = validate_document(kept, "t.yaml", base_dir=ROOT, environ=environ, resolve_secrets=False)
    assert snapshot(kept) == before, "consume=False leaves the caller's document as it was"
    consumed = parse_document(text, "t.yaml")
    again = validate_document(consumed, "t.yaml", base_dir=ROOT, environ=environ, resolve_secrets=False, consume=True)
    assert list(again) == list(plain) and again.absent == plain.absent
    assert [o.origin for o in again] == [o.origin for o in plain]
    assert all(item is None for item in consumed["vhosts"]), "each validated item was let go"
