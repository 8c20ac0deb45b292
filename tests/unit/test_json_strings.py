"""JSON strings YAML reads otherwise (``json_strings``): a definitions file reads as a JSON parser reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rabbitadmin.early_read.vhost_names import vhost_names
from rabbitadmin.errors import TopologyError
from rabbitadmin.json_strings import json_strings_for_yaml, lone_surrogate
from rabbitadmin.loader import load_topology, parse_document

# Any character a Python str holds but a lone surrogate (which no UTF-8 file can carry).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats(allow_nan=False, allow_infinity=False) | _TEXT
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@example({"\x7f": None}, False, None)  # DEL raw in an all-ASCII document (found by a fresh run)
@given(st.dictionaries(_TEXT, _VALUES, max_size=4), st.booleans(), st.sampled_from([None, 2, "\t"]))
def test_any_json_document_reads_as_json_reads_it(document: dict[str, Any], ascii_only: bool, indent: Any) -> None:
    """Whatever Python's json writes (escaped or raw, compact, indented, tabs), the loader reads the same values.

    A definitions marker keeps ``${`` literal, as in any definitions file.
    """
    written = json.dumps({"rabbit_version": "3.10.8", **document}, ensure_ascii=ascii_only, indent=indent)
    assert parse_document(written, "f.json") == json.loads(written)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('"q-\\ud83d\\ude00"', "q-\U0001f600"),
        ('"\\uD83D\\uDE00\\ud83d\\udc07"', "\U0001f600\U0001f407"),  # two pairs, either case
        ('"a\u2028b\u2029c\u0085d"', "a\u2028b\u2029c\u0085d"),  # kept, not folded into spaces as YAML 1.1 does
        ('"del\u007f c1\u0080\u009f nonchar\ufffe\uffff"', "del\u007f c1\u0080\u009f nonchar\ufffe\uffff"),
        ('"del\u007f"', "del\u007f"),  # DEL in an all-ASCII file (a case hypothesis found: {"\x7f": null})
        ('"\\\\ud83d"', "\\ud83d"),  # an escaped backslash, then text
        ('"\\\\\\ud83d\\ude00"', "\\\U0001f600"),  # an escaped backslash, then a pair
        ("q-\\ud83d\\ude00", "q-\\ud83d\\ude00"),  # plain scalar: the twelve characters are text in YAML
        ("'q-\\ud83d\\ude00'", "q-\\ud83d\\ude00"),  # single-quoted: the same
    ],
)
def test_a_string_reads_as_json_and_yaml_mean_it(written: str, value: str) -> None:
    assert parse_document(f"key: {written}\n", "f.yaml") == {"key": value}


def test_comments_and_other_scalars_are_not_rewritten() -> None:
    text = 'a: "\\ud83d\\ude00"  # "\\ud83d\\ude00"\nb: \'\\ud83d\\ude00\'\n'
    rewritten = json_strings_for_yaml(text)
    assert rewritten == 'a: "\\U0001F600"  # "\\ud83d\\ude00"\nb: \'\\ud83d\\ude00\'\n'
    assert json_strings_for_yaml("a: plain\n") == "a: plain\n"


@pytest.mark.parametrize(
    ("written", "half", "column"),
    [('"q-\\ud83d x"', "\\ud83d", 9), ('"q-\\ude00"', "\\ude00", 9), ('"\\ude00\\ud83d"', "\\ude00", 7)],
)
def test_half_a_pair_is_refused_with_its_place(written: str, half: str, column: int) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document(f"a: 1\nkey: {written}\n", "f.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, column)
    assert problem.message.startswith(f"{half} is half of a UTF-16 surrogate pair")


def test_lone_surrogate_names_only_a_surrogate_escape() -> None:
    assert lone_surrogate('"\\udbff"', 3) == "\\udbff"
    assert lone_surrogate('"\\u00e9"', 3) is None
    assert lone_surrogate('"\\udbff"', 2) is None


def test_a_raw_character_yaml_refuses_outside_a_string_is_still_refused() -> None:
    with pytest.raises(TopologyError) as caught:
        parse_document("key: a\u007fb\n", "f.yaml")
    assert "control characters are not allowed" in caught.value.problems[0].message


def test_lines_after_a_rewritten_string_are_the_files(tmp_path: Path) -> None:
    """Problems found after the rewrite still name the file's own lines."""
    document = {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "/"}],
        "queues": [
            {"name": "q-\U0001f600\u2028", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}},
            {"name": "bad", "vhost": "/", "durable": "maybe", "auto_delete": False, "arguments": {}},
        ],
    }
    written = json.dumps(document, indent=2).replace("\\u2028", "\u2028")
    path = tmp_path / "definitions.json"
    path.write_text(written, encoding="utf-8")
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    (problem,) = caught.value.problems
    assert problem.line == written.split("\n").index('      "durable": "maybe",') + 1


def test_the_early_read_reads_the_names_the_loader_reads() -> None:
    document = {"vhosts": [{"name": "v-\U0001f407"}, {"name": "w\u2028x"}, {"name": "/"}], "queues": []}
    for ascii_only in (True, False):
        written = json.dumps(document, ensure_ascii=ascii_only)
        assert vhost_names(written, 4) == ["v-\U0001f407", "w\u2028x", "/"]
