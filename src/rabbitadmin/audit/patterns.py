"""How RabbitMQ matches a permission pattern against a resource name, and what a pattern grants.

The internal auth backend (``rabbit_auth_backend_internal:check_resource_access/4``) runs
``re:run(Name, Pattern, [{capture, none}])``: Erlang's ``re``, which is PCRE, in an unanchored search, so
``q`` matches ``myq``; only ``^``/``$`` anchor. An empty pattern is replaced by ``^$``; the default exchange
is checked under the name ``amq.default``. Neither the pattern nor the name is given the ``unicode`` option,
so both are matched as bytes (the UTF-8 encoding of the name): ``.`` is one byte and ``\\p{L}`` sees bytes as
Latin-1 code points. The pattern is validated when it is set by ``re:compile`` of the same bytes
(``validate_regexp``, answered 400 ``invalid_regexp``).

Here the same dialect is used: PCRE2 (the ``pcre2`` binding) in byte mode, without UTF. Erlang/OTP up to 27
(RabbitMQ 3.10 runs on OTP 24-25, 4.0 on 26-27) ships PCRE 8.4x; OTP 28 moved to PCRE2 10.4x. The two differ
only at edges no permission pattern is likely to reach (PCRE2 refuses ``\\K`` inside a look-around and
``\\C`` in some places; see docs/access.md); such a pattern is reported invalid here.

Effect, not spelling: :func:`grants_all` and :func:`grants_nothing` decide over the names that matter (the
existing objects plus :data:`PROBE_NAMES`), so ``.*``, ``^.*$``, ``(.*)`` and ``.+`` give one verdict, and
``""`` and ``^$`` another.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from rabbitadmin.errors import PatternError
from rabbitadmin.kinds import BUILTIN_EXCHANGES

DEFAULT_EXCHANGE_ALIAS = "amq.default"
#: A name the server generates for ``queue.declare`` with an empty name (``amq.gen-`` and 22 characters).
SAMPLE_GENERATED_QUEUE = "amq.gen-JzTY20BRgKO-HjmUJj0wLg"
#: Names a client may use that no topology lists: arbitrary names (with dots, dashes, spaces, slashes,
#: non-ASCII letters), the queues the server names, the default exchange and the ``amq.*`` exchanges.
#: Names with line breaks are left out: rabbitadmin refuses them, and ``$`` treats them specially.
PROBE_NAMES: tuple[str, ...] = (
    "x",
    "Z",
    "0",
    "any.name",
    "any-name_1",
    "Any Name",
    "a/b#c?d",
    "é-名前",
    *(exchange.name or DEFAULT_EXCHANGE_ALIAS for exchange in BUILTIN_EXCHANGES),
    SAMPLE_GENERATED_QUEUE,
)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """The compiled (byte-mode PCRE2) form of a permission pattern, with the empty-pattern rule applied.

    Raises ``PatternError`` with PCRE's own message (position and reason) if it does not compile.
    """
    import pcre2  # 20 ms: only commands that meet a pattern pay it

    try:
        return pcre2.compile(pattern.encode("utf-8") if pattern != "" else b"^$")
    except pcre2.LibraryError as exc:
        raise PatternError(f"not a valid regular expression (PCRE, as the server compiles it): {exc}") from exc


def pattern_error(pattern: str) -> str | None:
    """Why the server would refuse ``pattern`` (PCRE's message), or None if it compiles."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def pattern_is_valid(pattern: str) -> bool:
    """True if the pattern compiles."""
    return pattern_error(pattern) is None


def permission_name(kind: str, name: str) -> str:
    """The name the server checks: the default exchange ``""`` is checked as ``amq.default``."""
    return DEFAULT_EXCHANGE_ALIAS if kind == "exchange" and name == "" else name


def name_matches(pattern: str, name: str) -> bool:
    """True if the unanchored search of ``pattern`` finds a match in the checked ``name`` (bytes, as the
    server does). Raises ``PatternError`` for a pattern that does not compile."""
    return compile_pattern(pattern).search(name.encode("utf-8")) is not None


def pattern_matches(pattern: str, kind: str, name: str) -> bool:
    """True if ``pattern`` grants access to the resource ``kind``/``name`` (unanchored search)."""
    return name_matches(pattern, permission_name(kind, name))


def names_that_matter(checked_names: Iterable[str]) -> tuple[str, ...]:
    """The existing names (as checked: see :func:`permission_name`) plus :data:`PROBE_NAMES`, sorted."""
    return tuple(sorted({*checked_names, *PROBE_NAMES} - {""}))


def grants_all(pattern: str, names: Iterable[str]) -> bool:
    """True if ``pattern`` matches every one of ``names`` (see :func:`names_that_matter`): full access over
    everything a client can name, whatever the spelling (``.*``, ``^.*$``, ``.+``, ``(.*)``)."""
    return all(name_matches(pattern, name) for name in names)


def grants_nothing(pattern: str, names: Iterable[str]) -> bool:
    """True if ``pattern`` matches none of ``names``: it grants nothing that exists or that a client would
    try (``""`` and ``^$`` do so by design; a typo does so by accident, see :func:`means_nothing`)."""
    return not any(name_matches(pattern, name) for name in names)


def means_nothing(pattern: str, names: Iterable[str]) -> bool:
    """True for the deliberate spellings of "no access": a pattern that grants nothing and matches only the
    empty name, which the server never checks (``""`` is replaced by ``^$``; ``^$`` itself)."""
    return grants_nothing(pattern, names) and name_matches(pattern, "")
