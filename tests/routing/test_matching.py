"""Pure unit tests of the per-type matching rules (cases from the server's own semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from rabbitadmin.routing.matching import (
    binding_matches,
    exact_header_values,
    headers_match,
    split_words,
    topic_matches,
    values_equal,
)


@pytest.mark.parametrize(
    ("key", "words"),
    [("", []), (".", ["", ""]), ("a", ["a"]), ("a.", ["a", ""]), (".a", ["", "a"]), ("a..b", ["a", "", "b"])],
)
def test_split_words_keeps_empty_words_but_the_empty_key_has_none(key: str, words: list[str]) -> None:
    assert split_words(key) == words


TOPIC_CASES: list[tuple[str, str, bool]] = [
    ("quick.orange.rabbit", "*.orange.*", True),
    ("quick.orange.rabbit", "*.*.rabbit", True),
    ("lazy.orange.elephant", "lazy.#", True),
    ("quick.orange.fox", "*.*.rabbit", False),
    ("lazy.brown.fox", "lazy.#", True),
    ("quick.brown.fox", "*.orange.*", False),
    ("orange", "*.orange.*", False),
    ("quick.orange.male.rabbit", "*.*.rabbit", False),
    ("lazy.orange.male.rabbit", "lazy.#", True),
    ("lazy", "lazy.#", True),  # '#' matches zero words
    ("", "#", True),
    ("", "", True),
    ("", "*", False),  # the empty key has no word for '*'
    ("a", "", False),
    (".", "*.*", True),  # two empty words
    (".", "*", False),
    (".", "#", True),
    ("a.", "a.*", True),
    ("a.", "a", False),
    (".a", "*.a", True),
    ("a..b", "a.*.b", True),
    ("a..b", "a.#.b", True),
    ("a.b", "a.#.b", True),
    ("a.b", "#.#", True),
    ("", "#.#", True),
    ("a.b.c", "#.b.#", True),
    ("a.c", "#.b.#", False),
    ("a.b", "a.b.#", True),
    ("a.b", "#.a.b", True),
    ("a.b", "a.#.#.b", True),
    ("ab", "a*", False),  # only a whole word is a wildcard
    ("a*", "a*", True),
    ("x.#", "x.#", True),
    ("x.y", "x.#y", False),
    ("a.b", "*.#.*", True),
    ("a", "*.#.*", False),
    ("a.b.c.d", "#.*.c.#", True),
]


@pytest.mark.parametrize(("routing_key", "binding_key", "expected"), TOPIC_CASES)
def test_topic_matching(routing_key: str, binding_key: str, expected: bool) -> None:
    assert topic_matches(binding_key, routing_key) is expected


def _reference_topic(pattern: list[str], words: list[str]) -> bool:
    """The trie walk written as plain recursion (slow, obviously right) to check the table version."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_reference_topic(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and (head in ("*", words[0])) and _reference_topic(rest, words[1:])


def test_topic_matching_agrees_with_plain_recursion_on_every_short_pattern() -> None:
    alphabet = ["a", "b", "", "*", "#"]
    keys = ["", "a", "b", ".", "a.b", "a..b", "b.a.", ".a", "a.a.a", "a.b.a.b"]
    patterns = [""] + [".".join(p) for p in _words(alphabet, 3)]
    for pattern in patterns:
        for key in keys:
            expected = _reference_topic(pattern.split(".") if pattern else [], key.split(".") if key else [])
            assert topic_matches(pattern, key) is expected, (pattern, key)


def _words(alphabet: list[str], most: int) -> list[list[str]]:
    out: list[list[str]] = [[w] for w in alphabet]
    frontier = out
    for _ in range(most - 1):
        frontier = [[*p, w] for p in frontier for w in alphabet]
        out += frontier
    return out


HEADER_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"x-match": "all", "a": "1", "b": "2"}, {"a": "1", "b": "2", "c": "3"}, True),
    ({"x-match": "all", "a": "1", "b": "2"}, {"a": "1"}, False),
    ({"a": "1", "b": "2"}, {"a": "1"}, False),  # all is the default
    ({"x-match": "any", "a": "1", "b": "2"}, {"a": "1"}, True),
    ({"x-match": "any", "a": "1", "b": "2"}, {"a": "2"}, False),
    ({"x-match": "any", "a": "1"}, {}, False),
    ({"x-match": "all"}, {}, True),  # nothing to compare: all matches everything
    ({"x-match": "any"}, {"a": 1}, False),  # ... and any nothing
    ({"x-match": "all", "a": 1}, {"a": 1.0}, True),  # Erlang ==: 1 == 1.0
    ({"x-match": "all", "a": 1}, {"a": "1"}, False),  # a number is not a string
    ({"x-match": "all", "a": True}, {"a": 1}, False),  # booleans are atoms
    ({"x-match": "all", "a": True}, {"a": True}, True),
    ({"x-match": "all", "a": False}, {"a": True}, False),
    ({"x-match": "all", "a": None}, {"a": "anything"}, True),  # void: presence only
    ({"x-match": "all", "a": None}, {"b": "x"}, False),
    ({"x-match": "all", "a": "x"}, {"a": None}, False),
    ({"x-match": "all", "x-tenant": "t1"}, {}, True),  # x- keys ignored ...
    ({"x-match": "any", "x-tenant": "t1"}, {"x-tenant": "t1"}, False),
    ({"x-match": "all-with-x", "x-tenant": "t1"}, {}, False),  # ... except in the -with-x modes
    ({"x-match": "all-with-x", "x-tenant": "t1"}, {"x-tenant": "t1"}, True),
    ({"x-match": "any-with-x", "x-tenant": "t1", "a": "1"}, {"x-tenant": "t1"}, True),
    ({"x-match": "any-with-x", "x-tenant": "t1"}, {"x-tenant": "t2"}, False),
    ({"x-match": "all-with-x"}, {"x-match": "any"}, True),  # x-match itself never takes part
    ({"x-match": "all", "a": [1, "b"]}, {"a": [1, "b"]}, True),
    ({"x-match": "all", "a": [1, "b"]}, {"a": [1]}, False),
    ({"x-match": "all", "a": {"k": 1}}, {"a": {"k": 1}}, True),
    ({"x-match": "all", "a": "é"}, {"a": "é"}, True),
]


@pytest.mark.parametrize(("arguments", "headers", "expected"), HEADER_CASES)
def test_headers_matching(arguments: dict[str, Any], headers: dict[str, Any], expected: bool) -> None:
    assert headers_match(arguments, headers) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1, 1.0, True), (0, False, False), (1, True, False), ("1", 1, False), (2.5, 2.5, True), ("a", "a", True)],
)
def test_values_compare_like_erlang(a: Any, b: Any, expected: bool) -> None:
    assert values_equal(a, b) is expected
    assert values_equal(b, a) is expected


def test_direct_and_fanout_and_unknown_types() -> None:
    assert binding_matches("direct", "k", {}, "k", {})
    assert not binding_matches("direct", "k", {}, "K", {})
    assert not binding_matches("direct", "*", {}, "k", {})  # no wildcards in direct
    assert binding_matches("fanout", "ignored", {}, "anything", {})
    with pytest.raises(ValueError, match="unknown exchange type"):
        binding_matches("x-consistent-hash", "1", {}, "k", {})


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1, 1.0, False),
        (1, 1, True),
        (2.5, 2.5, True),
        (1, True, False),
        ([1], [1.0], False),
        ({"a": 1}, {"a": 1}, True),
    ],
)
def test_values_compare_exactly_from_rabbitmq_3_13(a: object, b: object, expected: bool) -> None:
    # rabbit_exchange_type_headers:match/2 compares with =:= from 3.13 (v3.10.8's headers_match/5 with ==).
    assert values_equal(a, b, exact=True) is expected
    assert values_equal(b, a, exact=True) is expected


def test_which_versions_compare_header_values_exactly() -> None:
    assert not exact_header_values(None) and not exact_header_values((3, 10, 8)) and not exact_header_values((3, 12))
    assert exact_header_values((3, 13, 0)) and exact_header_values((4, 0, 5))
    assert headers_match({"k": 1.0}, {"k": 1}) and not headers_match({"k": 1.0}, {"k": 1}, exact=True)
