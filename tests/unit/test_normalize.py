"""Canonical forms: what the server reports and what a file says compare equal when they mean the same."""

from __future__ import annotations

import pytest

from rabbitadmin.argument_rules import RULES, ArgumentRule
from rabbitadmin.definitions import queue_from_server, user_from_server, vhost_from_server
from rabbitadmin.normalize import as_integer, normalize_arguments, normalize_tags


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"x-message-ttl": "60000"}, {"x-message-ttl": 60000}),
        ({"x-message-ttl": 60000.0}, {"x-message-ttl": 60000}),
        ({"x-max-length": 10, "x-queue-type": "quorum"}, {"x-max-length": 10}),
        ({"x-single-active-consumer": "true"}, {"x-single-active-consumer": True}),
        ({"x-custom": 2.0}, {"x-custom": 2}),
        ({"x-custom": 2.5}, {"x-custom": 2.5}),
        ({"x-dead-letter-exchange": "dlx"}, {"x-dead-letter-exchange": "dlx"}),
        (None, {}),
    ],
)
def test_arguments(raw: dict[str, object] | None, expected: dict[str, object]) -> None:
    assert normalize_arguments(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), (5.0, 5), ("5", 5), ("-3", -3), (5.5, None), ("5s", None), (True, None)]
)
def test_as_integer(value: object, expected: int | None) -> None:
    assert as_integer(value) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [("b,a", ("a", "b")), (["b", "a", "b"], ("a", "b")), ("", ()), (None, ()), ("administrator", ("administrator",))],
)
def test_tags(tags: object, expected: tuple[str, ...]) -> None:
    assert normalize_tags(tags) == expected


def test_server_queue_type_and_injected_arguments() -> None:
    queue = queue_from_server({"name": "q", "type": "quorum", "arguments": {"x-queue-type": "quorum"}}, "v")
    assert queue.type == "quorum" and queue.arguments == {} and queue.messages is None
    queue = queue_from_server({"name": "q", "arguments": {}, "messages": 4}, "v")
    assert queue.type == "classic" and queue.messages == 4


def test_server_vhost_undefined_queue_type_and_metadata() -> None:
    vhost = vhost_from_server({"name": "v", "default_queue_type": "undefined", "metadata": {"tags": ["b", "a"]}})
    assert vhost.default_queue_type is None and vhost.tags == ("a", "b") and vhost.description == ""


def test_server_user_tags_as_list_or_string() -> None:
    assert user_from_server({"name": "u", "tags": ["x", "a"]}).tags == ("a", "x")
    assert user_from_server({"name": "u", "tags": "x,a", "password_hash": "h"}).tags == ("a", "x")


@pytest.mark.parametrize("rule", [r for r in RULES if r.value.kind == "integer"], ids=lambda r: f"{r.name}-{r.target}")
def test_every_whole_number_argument_of_the_rules_is_compared_as_a_number(rule: ArgumentRule) -> None:
    # The server reports some numbers as floats or text (management API stats, older exports): each
    # argument the server's rules call an integer must compare equal whatever its spelling.
    for spelling in (7, 7.0, "7"):
        assert normalize_arguments({rule.name: spelling}) == {rule.name: 7}


@pytest.mark.parametrize("rule", [r for r in RULES if r.value.kind == "boolean"], ids=lambda r: r.name)
def test_every_boolean_argument_of_the_rules_is_compared_as_a_boolean(rule: ArgumentRule) -> None:
    assert normalize_arguments({rule.name: "true"}) == {rule.name: True}
    assert normalize_arguments({rule.name: "False"}) == {rule.name: False}
