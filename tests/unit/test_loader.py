"""The located YAML loader: same values as PyYAML's safe loader, lines kept, scope read off the nodes."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.errors import TopologyError
from rabbitadmin.gc_pause import collector_paused, with_collector_paused
from rabbitadmin.loader import LocatedDict, LocatedList, declared_vhosts, load_topology, parse_document

ROOT = Path(__file__).resolve().parents[2]
#: The topology files the project ships.
PROJECT_FILES = [ROOT / "topology.yaml", *sorted((ROOT / "src/rabbitadmin/tutorials/presets").glob("*.yaml"))]

SAME_AS_SAFE_LOAD = [
    "a: 1\nb: true\nc: null\nd: 1.5\ne: '1'\nf: \"yes\"\ng: ~\nh: 0x1F\ni: '2001-12-14'\n",
    "list: [1, two, {three: 3}, [4]]\nempty: {}\nnone: []\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "base: &b {x: 1, y: [1, 2]}\ncopy: *b\n",
    "explicit: !!str 123\nnumber: !!int '7'\nyes: !!bool yes\nno: !!bool 'OFF'\nfloat: !!float '1'\n",
    '{"json": [1, 2.5, "x", true, null], "nested": {"k": "v"}}',
    "- just\n- a\n- list\n",
    "plain scalar",
    "",
]

#: Merge keys where PyYAML's safe_load reads what the YAML merge spec says.
MERGES = [
    "base: &b {a: 1, b: 1}\ntop: {<<: *b, b: 2, c: 2}\n",
    "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nboth: {<<: [*a, *b], w: 0}\nother: {<<: [*b, *a]}\n",
    "a: &a {p: 1}\nb: &b {<<: *a}\nc: &c {<<: [*b, *a], z: 3}\nd: {<<: *c}\ne: {<<: *c, p: 9}\n",
    "list: [{<<: {a: 1}, b: 2}, {<<: [{a: 1}, {a: 2, c: 3}]}]\n",
    "quoted: {'<<': {a: 1}}\n",
]


@pytest.mark.parametrize("text", SAME_AS_SAFE_LOAD + MERGES)
def test_values_are_those_of_pyyaml_safe_load(text: str) -> None:
    assert parse_document(text, "t.yaml") == yaml.safe_load(text)


#: Values of YAML's own types, which no JSON value is (every value reaches the server as JSON), each refused at
#: its place: a date, a timestamp, bytes, a set, ordered pairs, as values, keys and list items.
YAML_ONLY = [
    ("a: 2001-12-14\n", "a date (!!timestamp)", 1, 4),
    ("a:\n  b: 2001-12-14 21:59:43.10\n", "a timestamp (!!timestamp)", 2, 6),
    ("a: [x, !!binary aGk=]\n", "a binary value (!!binary)", 1, 8),
    ("a: !!set {x, y}\n", "a set (!!set)", 1, 4),
    ("a: !!omap [{x: 1}]\n", "a list of pairs (!!omap)", 1, 4),
    ("a: !!pairs [{x: 1}, {x: 2}]\n", "a list of pairs (!!pairs)", 1, 4),
    ("2001-12-14: x\n", "a date (!!timestamp)", 1, 1),
    ("vhosts:\n  - name: v\n    queues:\n      - {name: q, arguments: {x-expires-on: 2030-01-01}}\n", "a date", 4, 45),
]


@pytest.mark.parametrize(("text", "what", "line", "column"), YAML_ONLY)
def test_values_json_cannot_carry_are_refused_at_their_place(text: str, what: str, line: int, column: int) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document(text, "t.yaml")
    (problem,) = caught.value.problems
    assert problem.message.startswith(what) and "quote it" in problem.message
    assert (problem.line, problem.column) == (line, column)


def test_a_quoted_date_is_a_string() -> None:
    assert parse_document("a: '2001-12-14'\nb: \"2001-12-14 21:59:43.10\"\n", "t.yaml") == {
        "a": "2001-12-14",
        "b": "2001-12-14 21:59:43.10",
    }


#: Tagged values PyYAML's constructors fail on with errors of their own (KeyError, IndexError, AttributeError,
#: TypeError), and collections under another kind's tag, which PyYAML reads as something else (!!map "" as {}):
#: every pairing of a standard tag with each shape of value is read or refused at its place, never raised.
TAGS = ["bool", "int", "float", "binary", "timestamp", "null", "str", "map", "seq", "set", "omap", "pairs"]
SHAPES = ["maybe", '""', "[1]", "{a: 1}", "[[1, 2]]", "[{a: 1}]", "x", "0x", ".", "~", "[]", "{}", "1", "''"]


@pytest.mark.parametrize("tag", TAGS)
def test_a_tagged_value_is_read_or_refused_never_raised(tag: str) -> None:
    refused = 0
    for shape in SHAPES:
        text = f"a: !!{tag} {shape}\n"
        try:
            parse_document(text, "t.yaml")
        except TopologyError as exc:
            refused += 1
            assert all(p.line == 1 for p in exc.problems), (text, exc.problems)
    assert refused > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!bool maybe\n", "cannot read 'maybe' as !!bool"),
        ("a: !!int ''\n", "cannot read '' as !!int"),
        ("a: !!timestamp soon\n", "cannot read 'soon' as !!timestamp"),
        ("a: !!map [1]\n", "a sequence cannot be !!map"),
        ("a: !!map ''\n", "a scalar cannot be !!map"),
        ("a: !!seq {b: 1}\n", "a mapping cannot be !!seq"),
    ],
)
def test_what_a_tag_cannot_read_is_named(text: str, message: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document(text, "t.yaml")
    assert [(p.message, p.line, p.column) for p in caught.value.problems] == [(message, 1, 4)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A merged mapping that merges itself: its own keys win there, so they reach the mapping merging it
        # (PyYAML 6.0.4 flattens the pairs and keeps the first: top.b would be 1, mid's own b lost).
        (
            "base: &base {a: 1, b: 1}\nmid: &mid {<<: *base, b: 2, c: 2}\ntop: {<<: *mid, c: 3}\n",
            {"base": {"a": 1, "b": 1}, "mid": {"a": 1, "b": 2, "c": 2}, "top": {"a": 1, "b": 2, "c": 3}},
        ),
        # The earlier mapping of a list wins, whatever the keys (PyYAML 6.0.4 dedupes by the key string's
        # identity, so for keys Python does not intern the later mapping won).
        (
            "one: &one {x-max-length: 1, x-overflow: drop-head}\ntwo: &two {x-max-length: 2, x-message-ttl: 5}\n"
            "both: {<<: [*one, *two]}\n",
            {
                "one": {"x-max-length": 1, "x-overflow": "drop-head"},
                "two": {"x-max-length": 2, "x-message-ttl": 5},
                "both": {"x-max-length": 1, "x-overflow": "drop-head", "x-message-ttl": 5},
            },
        ),
        # An anchor set inside a merge value and used again: the same mapping at each use, no duplicate key.
        (
            "base: &base {n: q1, d: true}\nx: {<<: &mid {<<: *base, d: false}, n: qx}\ny: *mid\n",
            {"base": {"n": "q1", "d": True}, "x": {"n": "qx", "d": False}, "y": {"n": "q1", "d": False}},
        ),
        # Two merge keys in one mapping: the later one wins, as a later key does.
        ("two: {<<: {a: 1, b: 1}, b: 2, <<: {a: 3}}\n", {"two": {"a": 3, "b": 2}}),
    ],
)
def test_merge_keys_read_as_the_yaml_merge_spec_says(text: str, expected: dict[str, Any]) -> None:
    assert parse_document(text, "t.yaml") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: {<<: 5}\n", "expected a mapping or list of mappings for merging, but found scalar"),
        ("a: {<<: [{b: 1}, 5]}\n", "expected a mapping for merging, but found scalar"),
        ("a: &a {<<: *a}\n", "found a mapping merged into itself"),  # refused, never an endless loop
        ("a: {<<: {[x]: 1}}\n", "a mapping key must be a plain value"),
    ],
)
def test_a_merge_of_what_is_not_a_mapping_is_refused(text: str, problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document(text, "t.yaml")
    assert problem in str(caught.value) and "t.yaml:1" in str(caught.value)


def test_mappings_and_lists_know_their_lines() -> None:
    document = parse_document("top:\n  - name: a\n\n  - name: b\n    x: 1\n", "t.yaml")
    assert isinstance(document, LocatedDict) and document.line_of("top") == 1
    items = document["top"]
    assert isinstance(items, LocatedList) and [items.line_of(0), items.line_of(1)] == [2, 4]
    assert items[1].line == 4 and items[1].line_of("x") == 5


def test_an_alias_gives_the_same_object_and_a_recursive_one_is_refused() -> None:
    document = parse_document("a: &x {k: [1]}\nb: *x\n", "t.yaml")
    assert document["a"] is document["b"]
    with pytest.raises(TopologyError, match="recursive"):
        parse_document("a: &x [*x]\n", "t.yaml")


def test_duplicate_keys_and_unhashable_keys_are_problems_with_lines() -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document("a: 1\nb:\n  c: 1\n  c: 2\n? [1]\n: x\n", "t.yaml")
    messages = [(p.line, p.message) for p in caught.value.problems]
    assert (4, "duplicate key 'c' (first given on line 3)") in messages
    assert (5, "a mapping key must be a plain value") in messages


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document("a: [1, 2\nb: 3\n", "t.yaml")
    assert caught.value.problems[0].message.startswith("not valid YAML")
    assert caught.value.problems[0].line is not None


SCOPES: list[tuple[str, frozenset[str] | None]] = [
    ("vhosts: [{name: a}, {name: b, state: absent}]", frozenset({"a", "b"})),
    ("users: [{name: u}]", frozenset()),
    ("vhosts:\n  - queues: [{name: q}]\n    name: late\n", frozenset({"late"})),
    ("vhosts: [{name: 123}]", None),  # not a string: validation decides
    ("vhosts: {name: a}", None),
    ("vhosts: [a]", None),
    ("rabbit_version: '3.10'\nvhosts: [{name: a}]", None),  # definitions input
    ("- not a mapping", None),
]


@pytest.mark.parametrize(("text", "expected"), SCOPES)
def test_declared_vhosts_read_off_the_nodes(text: str, expected: frozenset[str] | None) -> None:
    assert declared_vhosts(yaml.compose(text, Loader=yaml.SafeLoader)) == expected


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: p.name)
def test_the_early_scope_is_the_validated_scope(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYUSER_PASSWORD", "not-a-real-password")
    seen: list[frozenset[str]] = []
    topology = load_topology(path, resolve_secrets=False, on_scope=seen.append)
    assert seen == [topology.vhosts_in_scope()]


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: p.name)
def test_each_vhost_name_is_told_as_the_parser_reaches_it(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYUSER_PASSWORD", "not-a-real-password")
    told: list[str | frozenset[str]] = []
    topology = load_topology(path, resolve_secrets=False, on_scope=told.append, on_vhost=told.append)
    names = [name for name in told if isinstance(name, str)]
    # On the events path (no anchors, no variables) every name comes before the parse ends, in the file's order.
    if "&" not in path.read_text():
        assert told[: len(names)] == names and set(names) == topology.vhosts_in_scope()


def test_vhost_names_are_told_before_the_rest_of_their_vhost_is_parsed(tmp_path: Path) -> None:
    """Only names in the top-level ``vhosts`` list, and before the parser reaches what follows them."""
    path = tmp_path / "t.yaml"
    path.write_text(
        "users: [{name: u, tags: [], password: {env: NOPE}}]\n"
        "permissions: [{user: u, vhost: elsewhere}]\n"
        "vhosts:\n"
        "  - name: first\n"
        "    queues: [{name: q}]\n"
        "    exchanges: [{name: x, arguments: {name: not-a-vhost}}]\n"
        "  - {description: the name comes last, name: second}\n"
        "  - name: 3\n"  # not a string: no vhost name to tell
        "  - name: [x]\n"
    )
    told: list[str | frozenset[str]] = []
    with pytest.raises(TopologyError):
        load_topology(path, resolve_secrets=False, on_vhost=told.append, on_scope=told.append)
    assert told == ["first", "second"], "names only (no scope: a non-string name leaves it to validation)"


def test_a_file_the_events_path_cannot_build_tells_its_scope_only(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("vhosts:\n  - name: a\n  - name: b\n    queues: [{name: q, arguments: &args {x-max-length: 1}}]\n")
    told: list[str | frozenset[str]] = []
    load_topology(path, on_vhost=told.append, on_scope=told.append)
    assert told == [frozenset({"a", "b"})]


def test_the_scope_hook_runs_before_validation_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("vhosts:\n  - name: v\n    queues: [{name: q, durable: perhaps}]\n")
    seen: list[frozenset[str]] = []
    with pytest.raises(TopologyError):
        load_topology(bad, on_scope=seen.append)
    assert seen == [frozenset({"v"})]


def test_the_collector_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner pause must not resume the collector early"
    assert gc.isenabled()

    @with_collector_paused
    def fails() -> Any:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "a collector the caller disabled stays disabled"
    finally:
        gc.enable()


def test_pauses_that_overlap_on_two_threads_resume_the_collector_when_the_last_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first pause has ended: this one still holds

    helper = threading.Thread(target=second)
    helper.start()
    with collector_paused():
        first_in.set()
        second_in.wait(5)
    first_out.set()
    helper.join(5)
    assert seen == [False] and gc.isenabled()


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e3", 1000.0), ("1.0e20", 1e20), ("1e-05", 1e-05), ("-2E+5", -200000.0), (".5e1", 5.0), ("1.5", 1.5),
     ('"1e3"', "1e3"), ("1e", "1e"), ("e3", "e3"), ("1_000", 1000)],
)  # fmt: skip
def test_numbers_with_an_exponent_are_floats_as_in_json(written: str, value: object, tmp_path: Path) -> None:
    """JSON and YAML 1.2 read ``1e3`` and ``1.0e20`` as floats (RabbitMQ's exports and Python's json write them
    so); PyYAML's YAML 1.1 rules made them strings. Quoted, it stays a string."""
    definitions = f'{{"rabbit_version": "4.0.5", "global_parameters": [{{"name": "g", "value": {written}}}]}}'
    for name, text in (("t.yaml", f"global_parameters:\n  - {{name: g, value: {written}}}\n"), ("d.json", definitions)):
        if name == "d.json" and written in ("1e", "e3", "1_000", ".5e1", "-2E+5"):
            continue  # not JSON
        path = tmp_path / name
        path.write_text(text)
        got = load_topology(path).global_parameters[("g",)].value
        assert got == value and isinstance(got, type(value)), (name, written, got)


@pytest.mark.parametrize("written", [".nan", ".inf", "-.inf", ".NaN", "+.Inf"])
def test_nan_and_infinity_are_refused_with_their_place(written: str, tmp_path: Path) -> None:
    """No JSON number holds them: the apply would fail part-way (over HTTP requests refuses to send it)."""
    path = tmp_path / "t.yaml"
    path.write_text(f"global_parameters:\n  - {{name: g, value: [1, {written}]}}\n")
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert "t.yaml:2" in str(info.value) and "not a number JSON can carry" in str(info.value)


class _Expanded(yaml.SafeDumper):
    """Writes every shared value out in full (no anchors, no aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


SHARED = {
    "a shared list of exchanges": "vhosts: [{name: a, exchanges: &xs [{name: x, type: topic}, {name: y}]},\n"
    "         {name: b, exchanges: *xs}]\n",
    "a shared queue mapping": "vhosts:\n  - name: a\n    queues: [&q {name: q, arguments: {x-max-length: 5}}]\n"
    "  - name: b\n    queues: [*q]\n",
    "shared arguments in one vhost": "vhosts:\n  - name: a\n    queues:\n"
    "      - {name: q1, arguments: &args {x-max-length: 5, x-overflow: reject-publish}}\n"
    "      - {name: q2, arguments: *args}\n",
    "a shared vhost body under merge keys": "vhosts:\n"
    "  - {name: a, <<: &base {exchanges: [{name: x}], queues: [{name: q}], description: d}}\n"
    "  - {<<: *base, name: b, description: own keys win}\n",
    "an inline merge, no anchor": "vhosts: [{name: a, queues: [{name: q, arguments: {<<: {x-max-length: 1}}}]}]\n",
    "a chain of merges used twice": "vhosts:\n  - name: a\n    queues:\n"
    "      - &base {name: qa1, arguments: {x-max-length: 10}}\n"
    "      - &mid {<<: *base, name: qa2}\n"
    "      - {<<: *mid, name: qm3}\n      - {<<: *mid, name: qm4, durable: false}\n",
    "shared bindings and permissions": "vhosts:\n  - name: a\n    exchanges: [{name: x}]\n    queues: [{name: q}]\n"
    "    bindings: &b [{source: x, destination: q, routing_key: k}]\n"
    "  - name: b\n    exchanges: [{name: x}]\n    queues: [{name: q}]\n    bindings: *b\n"
    "users: [{name: u, tags: []}]\n"
    "permissions: [&p {user: u, vhost: a, configure: '.*', write: '.*', read: '.*'}, {<<: *p, vhost: b}]\n",
}


@pytest.mark.parametrize("text", SHARED.values(), ids=SHARED.keys())
def test_a_value_shared_by_an_alias_reads_as_if_written_out_at_each_use(text: str, tmp_path: Path) -> None:
    aliased = tmp_path / "aliased.yaml"
    aliased.write_text(text)
    written_out = tmp_path / "written-out.yaml"
    written_out.write_text(yaml.dump(yaml.safe_load(text), Dumper=_Expanded))
    assert "&" not in written_out.read_text()
    expected = load_topology(written_out, resolve_secrets=False)
    assert load_topology(aliased, resolve_secrets=False).objects == expected.objects
    assert sum(len(objects) for objects in expected.objects.values()) >= 2, "a vhost and what is in it"


def test_merged_arguments_read_as_written_out_by_the_merge_spec(tmp_path: Path) -> None:
    merged = tmp_path / "merged.yaml"
    merged.write_text(
        "vhosts:\n  - name: a\n    queues:\n"
        "      - {name: q1, arguments: &one {x-max-length: 1, x-overflow: reject-publish}}\n"
        "      - {name: q2, arguments: {<<: [*one, &two {x-max-length: 2, x-message-ttl: 60000}]}}\n"
        "      - {name: q3, arguments: &three {<<: *two, x-max-length: 3}}\n"
        "      - {name: q4, arguments: {<<: *three, x-dead-letter-exchange: dlx}}\n"
    )
    written_out = tmp_path / "written-out.yaml"
    written_out.write_text(
        "vhosts:\n  - name: a\n    queues:\n"
        "      - {name: q1, arguments: {x-max-length: 1, x-overflow: reject-publish}}\n"
        "      - {name: q2, arguments: {x-max-length: 1, x-overflow: reject-publish, x-message-ttl: 60000}}\n"
        "      - {name: q3, arguments: {x-max-length: 3, x-message-ttl: 60000}}\n"
        "      - {name: q4, arguments: {x-max-length: 3, x-message-ttl: 60000, x-dead-letter-exchange: dlx}}\n"
    )
    assert load_topology(merged).objects == load_topology(written_out).objects


def test_a_merge_of_something_else_than_mappings_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("vhosts:\n  - name: a\n    queues: [{name: q, arguments: {<<: 5}}]\n")
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert "t.yaml:3" in str(caught.value) and "merging" in str(caught.value)
