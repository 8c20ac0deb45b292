"""How RabbitMQ matches a permission pattern against a resource name.

The internal auth backend runs ``re:run(Name, Pattern, [{capture, none}])``: an unanchored PCRE search, so
``q`` matches ``myq``; only ``^``/``$`` anchor. An empty pattern is replaced by ``^$`` (it matches only the
empty name, and the default exchange is checked under the name ``amq.default``, so ``""`` grants nothing).
Python's ``re.search`` has the same semantics for the patterns people write; a PCRE-only construct that
Python cannot compile is reported as not understood rather than guessed.
"""

from __future__ import annotations

import re
from functools import lru_cache

DEFAULT_EXCHANGE_ALIAS = "amq.default"


class PatternError(ValueError):
    """A permission pattern Python's ``re`` cannot evaluate (invalid, or PCRE-only syntax)."""


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled form of a permission pattern, with RabbitMQ's empty-pattern rule applied."""
    try:
        return re.compile(pattern if pattern != "" else "^$")
    except re.error as exc:
        raise PatternError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc


def permission_name(kind: str, name: str) -> str:
    """The name the server checks: the default exchange ``""`` is checked as ``amq.default``."""
    return DEFAULT_EXCHANGE_ALIAS if kind == "exchange" and name == "" else name


def pattern_matches(pattern: str, kind: str, name: str) -> bool:
    """True if ``pattern`` grants access to the resource ``kind``/``name`` (unanchored search)."""
    return compile_pattern(pattern).search(permission_name(kind, name)) is not None


def pattern_is_valid(pattern: str) -> bool:
    """True if the pattern compiles."""
    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True
