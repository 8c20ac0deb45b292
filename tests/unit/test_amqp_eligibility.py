"""The rules that send a create batch's exchanges, queues and bindings as AMQP declares or by import (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from pika.compat import long

from rabbitadmin.backends.amqp_eligibility import (
    CreateWith,
    amqp_arguments,
    amqp_value,
    argument_eligible,
    object_eligible,
    split_batch,
)
from rabbitadmin.backends.declares import phases_of
from rabbitadmin.model import Binding, Exchange, Permission, Policy, Queue, TopologyObject, User

V = "v"
FULL = {V}


def queue(name: str = "q", **arguments: Any) -> Queue:
    return Queue(V, name, arguments=arguments)


def binding(source: str = "e", destination: str = "q", kind: str = "queue", **arguments: Any) -> Binding:
    return Binding(V, source, kind, destination, arguments=arguments)


@pytest.mark.parametrize(
    ("value", "eligible"),
    [
        (1, True),
        (-(2**63), True),
        (2**63 - 1, True),
        (2**63, False),  # beyond a signed 64-bit long
        (-(2**63) - 1, False),
        ("text", True),
        ("", True),
        (True, True),
        (False, True),
        (0.5, False),  # pika 1.x cannot encode a float; the import makes a double
        (1.0, False),
        (None, False),
        ([], True),
        ([1, "a", True], True),
        ([1, 0.5], False),
        ({}, True),
        ({"b": 1, "a": [2]}, True),
        ({"a": {"b": None}}, False),
        ([{f"k{n}": n for n in range(33)}], False),  # a nested table of 33 keys: hash-ordered on the server
        ([{f"k{n}": n for n in range(32)}], True),
    ],
)
def test_argument_values(value: Any, eligible: bool) -> None:
    assert argument_eligible(value) is eligible


def test_a_top_level_table_of_any_size_is_eligible() -> None:
    # The server sorts the top-level table (measured: 40 keys in reverse order give the import's key).
    assert object_eligible(binding(**{f"k{n:02d}": "v" for n in range(40)}), FULL)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, long(5)),
        ("s", "s"),
        (True, True),
        ([1, {"b": 2, "a": 1}], [long(1), {"a": long(1), "b": long(2)}]),
    ],
)
def test_amqp_values(value: Any, expected: Any) -> None:
    converted = amqp_value(value)
    assert converted == expected
    assert repr(converted) == repr(expected)  # same order of nested keys


def test_integers_become_long_and_booleans_stay_booleans() -> None:
    converted = amqp_value([7, True, {"n": 2**40}])
    assert type(converted[0]) is long and type(converted[1]) is bool and type(converted[2]["n"]) is long
    assert list(amqp_value({"z": 1, "a": 2})) == ["a", "z"]
    assert list(amqp_arguments({"z": 1, "a": 2})) == ["a", "z"]


def test_amqp_value_refuses_what_is_not_eligible() -> None:
    with pytest.raises(ValueError, match="float"):
        amqp_value(0.5)


@pytest.mark.parametrize(
    ("obj", "eligible"),
    [
        (Exchange(V, "e", "topic"), True),
        (Exchange(V, "e", arguments={"alternate-exchange": "ae"}), True),
        (Exchange(V, "e", arguments={"w": 0.1}), False),
        (queue(), True),
        (queue(**{"x-max-length": 10}), True),
        (Queue(V, "qq", "quorum", arguments={"x-delivery-limit": 3}), True),
        (queue(**{"x-weight": 1.5}), False),
        (Queue("other", "q"), False),  # a vhost without full permissions (or missing)
        (binding(), True),
        (binding(kind="exchange", destination="e2"), True),
        (binding(**{"x-match": "all", "n": 1}), True),
        (binding(n=None), False),
        (binding(source="amq.topic"), False),  # amq.* names go by import
        (binding(destination="amq.fanout", kind="exchange"), False),
        (binding(source=""), False),  # the default exchange: AMQP refuses bindings to it
        (User("u"), False),
        (Permission("u", V, ".*", ".*", ".*"), False),
        (Policy(V, "p", ".*", {"max-length": 1}), False),
    ],
)
def test_objects(obj: TopologyObject, eligible: bool) -> None:
    assert object_eligible(obj, FULL) is eligible


def split(objects: list[TopologyObject], mode: CreateWith = CreateWith.amqp, **facts: Any) -> Any:
    options: dict[str, Any] = {"mode": mode, "full_access": FULL, "threshold": 3, "reachable": True, **facts}
    return split_batch(objects, **options)


BATCH: list[TopologyObject] = [Exchange(V, "e"), queue("q1"), queue("q2"), binding(destination="q1")]


def test_an_eligible_batch_goes_whole() -> None:
    result = split(BATCH)
    assert result.amqp == BATCH and result.rest == [] and result.why is None


def test_import_mode_never_uses_amqp() -> None:
    result = split(BATCH, CreateWith.import_)
    assert result.amqp == [] and result.rest == BATCH


def test_an_unreachable_port_sends_everything_by_import() -> None:
    result = split(BATCH, reachable=False)
    assert result.amqp == [] and "not reachable" in str(result.why)


def test_a_vhost_without_full_access_goes_by_import() -> None:
    assert split(BATCH, full_access=set()).amqp == []


@pytest.mark.parametrize(("threshold", "by_amqp"), [(4, True), (5, False)])
def test_auto_needs_the_threshold(threshold: int, by_amqp: bool) -> None:
    result = split(BATCH, CreateWith.auto, threshold=threshold)
    assert (result.amqp == BATCH) is by_amqp
    assert result.rest == ([] if by_amqp else BATCH)


def test_amqp_mode_ignores_the_size() -> None:
    assert split(BATCH[:1], CreateWith.amqp, threshold=1000).amqp == BATCH[:1]


def test_auto_counts_only_eligible_objects() -> None:
    batch = [*BATCH, User("u"), Permission("u", V, ".*", ".*", ".*")]
    assert split(batch, CreateWith.auto, threshold=5).amqp == []
    assert split(batch, CreateWith.auto, threshold=4).amqp == BATCH


def test_other_kinds_stay_with_the_import() -> None:
    batch = [*BATCH, User("u"), Policy(V, "p", ".*", {"max-length": 1})]
    result = split(batch)
    assert result.amqp == BATCH and result.rest == batch[4:]


def test_a_binding_to_an_object_the_import_creates_goes_by_import_too() -> None:
    late_queue = queue("late", w=0.5)
    late_exchange = Exchange(V, "late.e", arguments={"w": 0.5})
    to_queue, from_exchange = binding(destination="late"), binding(source="late.e", destination="q1")
    to_exchange = binding(destination="late.e", kind="exchange")
    same_name_exchange = binding(destination="late", kind="exchange")  # an exchange named like the queue
    batch = [*BATCH, late_queue, late_exchange, to_queue, from_exchange, to_exchange, same_name_exchange]
    result = split(batch)
    assert result.rest == [late_queue, late_exchange, to_queue, from_exchange, to_exchange]
    assert result.amqp == [*BATCH, same_name_exchange]


def test_phases_are_exchanges_then_queues_then_bindings() -> None:
    mixed: list[Any] = [
        binding(),
        queue("q1"),
        Exchange(V, "e"),
        binding(kind="exchange", destination="e2"),
        queue("q2"),
    ]
    assert phases_of(mixed) == [[mixed[2]], [mixed[1], mixed[4]], [mixed[0], mixed[3]]]
    assert phases_of([queue()]) == [[queue()]]


def test_create_with_reaches_the_ctl_backend() -> None:
    """``--create-with`` is the ctl backend's choice too (declares on the node): the factory passes it on, with
    the notice, and the default stays ``auto`` at the shared threshold."""
    from rabbitadmin.backends.amqp_eligibility import AMQP_THRESHOLD
    from rabbitadmin.backends.ctl.backend import CtlBackend
    from rabbitadmin.backends.factory import TransportOptions, engine_backend

    def no_settings() -> Any:
        raise AssertionError("the ctl transport never asks for HTTP settings")

    notices: list[str] = []
    for mode in CreateWith:
        options = TransportOptions("ctl", no_settings, {"node": "rabbit@nowhere"}, create_with=mode.value,
                                   notice=notices.append)  # fmt: skip
        made = engine_backend(options)
        assert isinstance(made, CtlBackend)
        assert made.create_with is mode and made.amqp_threshold == AMQP_THRESHOLD
        assert made.on_notice == notices.append
