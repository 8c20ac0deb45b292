"""The routing simulator against a real broker: random topologies and messages, zero disagreements.

Each example builds a topology of every exchange type (exchange-to-exchange bindings, alternate exchanges,
internal exchanges, headers bindings with typed values), imports it into a fresh vhost of the session
node, publishes each random message with ``mandatory`` and publisher confirms, reads which queues got it
(``basic.get`` on every queue) and compares with ``Router.route``. Bounded: 30 topologies x 10 messages.
On failure hypothesis prints the falsifying example and a ``@reproduce_failure`` blob to replay it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import PublishRefused
from rabbitadmin.model import Binding, Exchange, Queue, Topology, TopologyObject, Vhost
from rabbitadmin.routing.simulate import Message, Router
from rabbitadmin.routing.verify import Prober, scratch_vhost
from rabbitadmin.server_versions import parse_version

pytestmark = pytest.mark.integration

TYPES = ("direct", "fanout", "topic", "headers")
WORDS = ("a", "b", "", "*", "#")
KEY_WORDS = ("a", "b", "")
HEADER_KEYS = ("k1", "k2", "x-k")
# Typed values: a string, integers, a float equal to an integer (binding side only: pika 1.x cannot encode
# a float header), booleans, void (presence only).
MESSAGE_VALUES = ("1", 1, 2, True, False, None, "é", -(2**40))
# The management API refuses null binding arguments (HTTP 400 null_not_allowed): void only in messages.
BINDING_VALUES = (*(v for v in MESSAGE_VALUES if v is not None), 1.0, 2.5)
BUILTIN_SOURCES = ("amq.topic", "amq.headers", "amq.fanout")

words = st.lists(st.sampled_from(WORDS), min_size=0, max_size=3).map(".".join)
routing_keys = st.lists(st.sampled_from(KEY_WORDS), min_size=0, max_size=3).map(".".join)
binding_headers = st.dictionaries(st.sampled_from(HEADER_KEYS), st.sampled_from(BINDING_VALUES), max_size=3)
message_headers = st.dictionaries(st.sampled_from(HEADER_KEYS), st.sampled_from(MESSAGE_VALUES), max_size=3)


def copied_into(model: Topology, scratch: str) -> list[TopologyObject]:
    """The model's objects (its vhost left out) moved into the vhost ``scratch``, for ``scratch_vhost``."""
    return [replace(o, vhost=scratch) for o in model if not isinstance(o, Vhost)]


@st.composite
def topologies(draw: st.DrawFn) -> tuple[list[Exchange], list[str], list[Binding]]:
    count = draw(st.integers(1, 5))
    names = [f"e{i}" for i in range(count)]
    exchanges = []
    for name in names:
        arguments: dict[str, Any] = {}
        if draw(st.booleans()) and draw(st.booleans()):
            arguments["alternate-exchange"] = draw(st.sampled_from([*names, "missing"]))
        exchanges.append(
            Exchange(
                "v", name, draw(st.sampled_from(TYPES)), internal=draw(st.integers(0, 4)) == 0, arguments=arguments
            )
        )
    queues = [f"q{i}" for i in range(draw(st.integers(1, 4)))]
    types = {ex.name: ex.type for ex in exchanges} | {
        "amq.topic": "topic",
        "amq.headers": "headers",
        "amq.fanout": "fanout",
    }
    bindings = []
    for _ in range(draw(st.integers(0, 10))):
        source = draw(st.sampled_from([*names, *BUILTIN_SOURCES]))
        to_exchange = draw(st.integers(0, 3)) == 0
        destination = draw(st.sampled_from(names if to_exchange else queues))
        arguments = {}
        if types[source] == "headers":
            arguments = dict(draw(binding_headers))
            mode = draw(st.sampled_from([None, "all", "any", "all-with-x", "any-with-x"]))
            if mode is not None:
                arguments["x-match"] = mode
        key = draw(words) if types[source] in ("topic", "direct") else ""
        bindings.append(Binding("v", source, "exchange" if to_exchange else "queue", destination, key, arguments))
    return exchanges, queues, bindings


@st.composite
def messages(draw: st.DrawFn, exchanges: list[str], queues: list[str]) -> tuple[str, Message]:
    exchange = draw(st.sampled_from([*exchanges, "", *BUILTIN_SOURCES]))
    key = draw(st.one_of(routing_keys, st.sampled_from(queues))) if exchange == "" else draw(routing_keys)
    return exchange, Message(key, draw(message_headers))


@settings(
    max_examples=30,
    deadline=timedelta(seconds=90),
    database=None,
    print_blob=True,
    # No shrinking: each example costs a vhost on a real node, and shrinking one took over five minutes.
    # The falsifying example is printed whole, with a blob and a seed to replay it.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(topo=topologies(), data=st.data())
def test_simulator_agrees_with_the_broker(
    settings: ConnectionSettings,
    rabbitmq_version: str,
    topo: tuple[list[Exchange], list[str], list[Binding]],
    data: st.DataObject,
) -> None:
    exchanges, queues, bindings = topo
    model = Topology()
    model.add(Vhost("v"))
    for obj in [*exchanges, *(Queue("v", q) for q in queues), *bindings]:
        model.add(obj)
    sent = [data.draw(messages([e.name for e in exchanges], queues)) for _ in range(10)]

    # The node's version chooses the rules where versions differ (headers values: 1 == 1.0 up to 3.12).
    router = Router(model, "v", server_version=parse_version(rabbitmq_version))
    client = HttpClient(settings)
    disagreements = []
    try:
        with scratch_vhost(client, lambda scratch: copied_into(model, scratch)) as scratch:
            prober = Prober(settings, scratch, queues)
            try:
                for exchange, message in sent:
                    got = prober.publish(exchange, message.routing_key, dict(message.headers))
                    try:
                        expected: tuple[str, ...] | str = router.route(exchange, message).queues
                    except PublishRefused:
                        expected = "refused"
                    broker = "refused" if isinstance(got, str) else got
                    if broker != expected:
                        disagreements.append((exchange, message, f"broker {got}", f"simulator {expected}"))
            finally:
                prober.close()
    finally:
        client.close()
    assert not disagreements, f"topology {exchanges} {queues} {bindings}: {disagreements}"


def test_a_float_binding_value_matches_an_equal_integer_header_up_to_3_12_only(
    settings: ConnectionSettings, rabbitmq_version: str
) -> None:
    # Found by the property test above on 4.0: RabbitMQ 3.10's headers exchange compares values with Erlang's ==
    # (1.0 == 1), 3.13 and later with =:= (rabbit_exchange_type_headers:match/2). The simulator follows the
    # version it is given; here the node's.
    model = Topology()
    model.add(Vhost("v"))
    model.add(Exchange("v", "h", "headers"))
    model.add(Queue("v", "q"))
    model.add(Binding("v", "h", "queue", "q", "", {"x-match": "all", "k": 1.0}))
    version = parse_version(rabbitmq_version)
    assert version is not None
    router = Router(model, "v", server_version=version)
    client = HttpClient(settings)
    try:
        with scratch_vhost(client, lambda scratch: copied_into(model, scratch)) as scratch:
            prober = Prober(settings, scratch, ["q"])
            try:
                got = {value: prober.publish("h", "", {"k": value}) for value in (1, 2)}
            finally:
                prober.close()
    finally:
        client.close()
    expected_for_1 = () if version >= (3, 13) else ("q",)
    assert got == {1: expected_for_1, 2: ()}
    assert {value: router.route("h", Message("", {"k": value})).queues for value in (1, 2)} == got
