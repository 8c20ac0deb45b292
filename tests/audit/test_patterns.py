"""How permission patterns match names, and what a pattern grants (unit level; test_ground_truth.py checks
these against the broker over AMQP, test_pattern_dialect.py against the node's own Erlang ``re``)."""

from __future__ import annotations

import warnings

import pytest

from rabbitadmin.audit.patterns import (
    PROBE_NAMES,
    grants_all,
    grants_nothing,
    means_nothing,
    names_that_matter,
    pattern_error,
    pattern_is_valid,
    pattern_matches,
)


def test_patterns_are_unanchored_searches() -> None:
    assert pattern_matches("q", "queue", "myq.x")
    assert not pattern_matches("^q", "queue", "myq")
    assert pattern_matches("^q\\.a$", "queue", "q.a")
    assert not pattern_matches("^q\\.a$", "queue", "q.ab")


def test_empty_pattern_and_default_exchange() -> None:
    assert not pattern_matches("", "exchange", "")  # "" is checked as amq.default, and "" means ^$
    assert not pattern_matches("", "queue", "q")
    assert pattern_matches("^amq\\.default$", "exchange", "")
    assert not pattern_matches("^$", "exchange", "")


# (pattern, name, matches): PCRE constructs Python's re does not have, and byte-mode matching.
PCRE_CASES = [
    ("\\p{L}+", "abc", True),
    ("\\p{L}+", "123", False),
    ("(?<svc>svc)\\.", "svc.jobs", True),
    ("(?<svc>svc)\\.", "svcjobs", False),
    ("\\Qa.b\\E", "xa.by", True),
    ("\\Qa.b\\E", "axb", False),
    ("^[[:alpha:]]+$", "abc", True),
    ("^[[:alpha:]]+$", "ab1", False),
    ("^[[:digit:]]+$", "123", True),
    ("(?i)^JOBS$", "jobs", True),
    ("^a(?#comment)b$", "ab", True),
    ("^(?|(a)|(b))$", "b", True),
    ("^a++$", "aaa", True),
    ("^\\h$", " ", True),
    # The server gives re neither pattern nor name as unicode: a 2-byte UTF-8 letter is two "characters".
    ("^.$", "é", False),
    ("^..$", "é", True),
    ("^é$", "é", True),
    ("^\\w+$", "é", False),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), PCRE_CASES)
def test_pcre_dialect(pattern: str, name: str, expected: bool) -> None:
    assert pattern_matches(pattern, "queue", name) is expected


@pytest.mark.parametrize(
    "pattern", ["(unclosed", "[", "a{2,1}", "*", "(?<n>a)(?<n>b)", "\\", "(?<=a+)b", "\\p{NoSuchProperty}"]
)
def test_invalid_patterns(pattern: str) -> None:
    assert not pattern_is_valid(pattern)
    assert "not a valid regular expression" in (pattern_error(pattern) or "")


def test_valid_patterns_compile_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python's re warns "Possible nested set" for [[:alpha:]]
        for pattern in ("^(?!amq\\.).*", "[[:alpha:]]+", "\\p{L}+", "(?<n>x)", "\\Qa.b\\E", ""):
            assert pattern_is_valid(pattern), pattern


NAMES = names_that_matter(["jobs", "amq.default", "logs"])
FULL = [".*", "^.*$", ".*.*", "(.*)", ".+", "^.+$", "(?s).*", "^(.*)$", ".?", "", "x*"]


@pytest.mark.parametrize("pattern", FULL)
def test_spellings_of_full_access_give_one_verdict(pattern: str) -> None:
    # "" is the exception: it grants nothing; "x*" matches the empty string at every position.
    assert grants_all(pattern, NAMES) is (pattern != "")


@pytest.mark.parametrize("pattern", ["^(?!amq\\.).*", "^[a-z]+$", "^\\w+", "jobs", "^[^é]*$"])
def test_partial_patterns_are_not_full_access(pattern: str) -> None:
    assert not grants_all(pattern, NAMES)
    assert not grants_nothing(pattern, NAMES)


@pytest.mark.parametrize(
    ("pattern", "nothing", "deliberate"),
    [
        ("", True, True),
        ("^$", True, True),
        ("^$|^$", True, True),
        ("^jbos$", True, False),  # a typo: grants nothing, by accident
        ("(?!)", True, False),
        ("^jobs$", False, False),
        ("^amq\\.gen", False, False),  # only server-named queues: the probes stand for them
    ],
)
def test_grants_nothing(pattern: str, nothing: bool, deliberate: bool) -> None:
    assert grants_nothing(pattern, NAMES) is nothing
    assert means_nothing(pattern, NAMES) is deliberate


def test_probes_cover_what_clients_name() -> None:
    assert "amq.default" in PROBE_NAMES and any(n.startswith("amq.gen-") for n in PROBE_NAMES)
    assert "" not in names_that_matter(["", "jobs"])
    assert all("\n" not in n for n in PROBE_NAMES)
