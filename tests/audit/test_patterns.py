"""How permission patterns match names (unit level; the ground-truth test checks these against the broker)."""

from __future__ import annotations

from rabbitadmin.audit.patterns import pattern_is_valid, pattern_matches


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


def test_invalid_patterns() -> None:
    assert not pattern_is_valid("(unclosed")
    assert pattern_is_valid("^(?!amq\\.).*")
