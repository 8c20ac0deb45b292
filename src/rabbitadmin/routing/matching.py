"""How one exchange type matches one binding against one message, as the broker does it.

Sources (rabbitmq-server, deps/rabbit/src): ``rabbit_exchange_type_direct`` (routing key equals binding
key), ``rabbit_exchange_type_fanout`` (every binding), ``rabbit_exchange_type_topic`` with the trie of
``rabbit_db_topic`` (words split on ``.``; ``*`` one word, ``#`` zero or more), and
``rabbit_exchange_type_headers`` (``x-match`` all/any/all-with-x/any-with-x; values compared with Erlang's
``==`` up to RabbitMQ 3.12, with ``=:=`` from 3.13: ``exact``). Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

X_MATCH_MODES = ("all", "any", "all-with-x", "any-with-x")
#: From this version the headers exchange compares values with ``=:=`` (``match/2`` of
#: ``rabbit_exchange_type_headers`` since 3.13.0, "Message Containers"): ``1`` no longer matches ``1.0``.
EXACT_HEADER_VALUES_FROM = (3, 13)


def exact_header_values(version: tuple[int, ...] | None) -> bool:
    """Whether a server of ``version`` compares header values exactly; None (unknown, e.g. a file): as 3.12."""
    return version is not None and version >= EXACT_HEADER_VALUES_FROM


def split_words(key: str) -> list[str]:
    """A topic routing or binding key as the broker splits it: on every ``.``, keeping empty words.

    The empty key has no words at all (``split_topic_key(<<>>, [], []) -> []``), while ``"."`` has two
    empty ones and ``"a."`` ends with one.
    """
    return key.split(".") if key else []


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Whether a topic binding key matches a routing key (``*`` exactly one word, ``#`` zero or more).

    Only a whole word ``*`` or ``#`` is a wildcard: ``a*`` or ``#x`` are literal words. Dynamic
    programming over (pattern word, key word) positions: linear in their product, never exponential.
    """
    pattern, words = split_words(binding_key), split_words(routing_key)
    # reachable[j]: the first i pattern words can consume exactly the first j key words.
    reachable = [True] + [False] * len(words)
    for part in pattern:
        if part == "#":
            for j in range(1, len(words) + 1):  # any number of words: a running "or"
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            for j in range(len(words), 0, -1):
                reachable[j] = reachable[j - 1] and (part == "*" or part == words[j - 1])
            reachable[0] = False
    return reachable[len(words)]


def x_match_mode(arguments: Mapping[str, Any]) -> str:
    """The binding's ``x-match`` mode; ``all`` when absent (or not one of the four, as the server's
    ``parse_x_match`` falls back for bindings made before it validated them)."""
    mode = arguments.get("x-match", "all")
    return mode if isinstance(mode, str) and mode in X_MATCH_MODES else "all"


def values_equal(pattern: Any, value: Any, *, exact: bool = False) -> bool:
    """Erlang ``==`` (``exact``: ``=:=``) between a binding value and a header value, as decoded from AMQP
    field tables.

    Numbers compare by value across integer and float types (``1 == 1.0``), unless ``exact`` (``1 =/= 1.0``,
    RabbitMQ 3.13 and later); booleans are atoms, never equal to numbers; strings compare by content. Arrays
    and tables compare element by element with the same rule. (Inside an array the server also compares each
    element's AMQP type, which depends on the publishing client's encoding: an array of integers may differ
    between clients; not modelled.)
    """
    if isinstance(pattern, bool) or isinstance(value, bool):
        return isinstance(pattern, bool) and isinstance(value, bool) and pattern == value
    if isinstance(pattern, int | float) and isinstance(value, int | float):
        return pattern == value and (not exact or isinstance(pattern, float) == isinstance(value, float))
    if isinstance(pattern, list) and isinstance(value, list):
        return len(pattern) == len(value) and all(
            values_equal(p, v, exact=exact) for p, v in zip(pattern, value, strict=True)
        )
    if isinstance(pattern, dict) and isinstance(value, dict):
        return pattern.keys() == value.keys() and all(values_equal(pattern[k], value[k], exact=exact) for k in pattern)
    return type(pattern) is type(value) and bool(pattern == value)


def headers_match(arguments: Mapping[str, Any], headers: Mapping[str, Any], *, exact: bool = False) -> bool:
    """Whether a headers-exchange binding (its ``arguments``) matches a message's ``headers``.

    ``x-match`` itself never takes part; other ``x-`` keys take part only in the ``-with-x`` modes. A
    binding value of ``None`` (AMQP void) asks only for the header's presence. ``all`` with nothing left
    to compare matches every message; ``any`` with nothing left matches none. ``exact``: see ``values_equal``.
    """
    mode = x_match_mode(arguments)
    with_x = mode.endswith("-with-x")
    results = (
        key in headers and (expected is None or values_equal(expected, headers[key], exact=exact))
        for key, expected in arguments.items()
        if key != "x-match" and (with_x or not key.startswith("x-"))
    )
    return any(results) if mode.startswith("any") else all(results)


def binding_matches(
    exchange_type: str,
    binding_key: str,
    arguments: Mapping[str, Any],
    routing_key: str,
    headers: Mapping[str, Any],
    *,
    exact: bool = False,
) -> bool:
    """Whether one binding of an exchange of a built-in ``exchange_type`` takes the message (``exact``: header
    values compared as RabbitMQ 3.13 and later do, ``values_equal``).

    Raises ``ValueError`` for any other type (plugin types such as ``x-consistent-hash`` route by rules
    this module does not know).
    """
    if exchange_type == "direct":
        return binding_key == routing_key
    if exchange_type == "fanout":
        return True
    if exchange_type == "topic":
        return topic_matches(binding_key, routing_key)
    if exchange_type == "headers":
        return headers_match(arguments, headers, exact=exact)
    raise ValueError(f"unknown exchange type {exchange_type!r}")
