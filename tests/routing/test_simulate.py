"""Pure unit tests of the routing walk: chains, loops, alternate exchanges, internal and default exchanges."""

from __future__ import annotations

from typing import Any

import pytest

from rabbitadmin.errors import NoSuchVhost, PublishRefused
from rabbitadmin.model import Binding, Exchange, Queue, Topology, Vhost
from rabbitadmin.routing.simulate import Message, route

V = "v"


def topo(
    exchanges: list[tuple[str, str, dict[str, Any]]] = (),
    queues: list[str] = (),  # type: ignore[assignment]
    bindings: list[tuple[str, str, str, str]] = (),
    internal: tuple[str, ...] = (),  # type: ignore[assignment]
    exclusive: tuple[str, ...] = (),
) -> Topology:
    t = Topology()
    t.add(Vhost(V))
    for name, type_, args in exchanges:
        t.add(Exchange(V, name, type_, arguments=args, internal=name in internal))
    for name in queues:
        t.add(Queue(V, name, exclusive=name in exclusive))
    for source, dest_type, dest, key in bindings:
        t.add(Binding(V, source, dest_type, dest, key))
    return t


def r(t: Topology, exchange: str, key: str = "", **headers: Any) -> tuple[list[str], list[str], bool]:
    result = route(t, V, exchange, Message(key, headers))
    return list(result.queues), list(result.exchanges), result.unroutable


def test_default_exchange_routes_to_the_queue_named_by_the_key() -> None:
    t = topo(queues=["hello"])
    assert r(t, "", "hello") == (["hello"], [""], False)
    assert r(t, "", "nope") == ([], [""], True)


def test_direct_exchange_delivers_once_per_queue() -> None:
    t = topo(
        [("d", "direct", {})],
        ["q1", "q2"],
        [("d", "queue", "q1", "k"), ("d", "queue", "q1", "k2"), ("d", "queue", "q2", "k")],
    )
    assert r(t, "d", "k") == (["q1", "q2"], ["d"], False)
    assert r(t, "d", "k2") == (["q1"], ["d"], False)
    assert r(t, "d", "x")[2] is True


def test_exchange_to_exchange_chains_and_loops_end() -> None:
    t = topo(
        [("a", "fanout", {}), ("b", "topic", {}), ("c", "fanout", {})],
        ["qa", "qc"],
        [
            ("a", "exchange", "b", ""),
            ("b", "exchange", "c", "x.#"),
            ("c", "exchange", "a", ""),
            ("c", "queue", "qc", ""),
            ("b", "exchange", "b", "#"),
            ("a", "queue", "qa", ""),
        ],
    )
    assert r(t, "a", "x.y") == (["qa", "qc"], ["a", "b", "c"], False)
    assert r(t, "a", "y") == (["qa"], ["a", "b"], False)
    assert r(t, "c", "y") == (["qa", "qc"], ["c", "a", "b"], False)


def test_alternate_exchange_only_when_the_exchanges_own_bindings_match_nothing() -> None:
    t = topo(
        [("main", "direct", {"alternate-exchange": "ae"}), ("ae", "fanout", {}), ("dead", "direct", {})],
        ["q", "unrouted"],
        [("main", "queue", "q", "k"), ("ae", "queue", "unrouted", ""), ("main", "exchange", "dead", "to-dead")],
    )
    assert r(t, "main", "k") == (["q"], ["main"], False)
    assert r(t, "main", "other") == (["unrouted"], ["main", "ae"], False)
    # A binding to an exchange that routes nowhere still counts as routed for main: no alternate.
    assert r(t, "main", "to-dead") == ([], ["main", "dead"], True)


def test_alternate_exchange_that_does_not_exist_or_loops_back() -> None:
    t = topo(
        [
            ("a", "direct", {"alternate-exchange": "missing"}),
            ("b", "direct", {"alternate-exchange": "c"}),
            ("c", "direct", {"alternate-exchange": "b"}),
        ]
    )
    assert r(t, "a", "k") == ([], ["a"], True)
    assert r(t, "b", "k") == ([], ["b", "c"], True)


def test_internal_exchange_refuses_publishes_but_routes_from_others() -> None:
    t = topo(
        [("front", "fanout", {}), ("inner", "fanout", {})],
        ["q"],
        [("front", "exchange", "inner", ""), ("inner", "queue", "q", "")],
        internal=("inner",),
    )
    with pytest.raises(PublishRefused, match="internal"):
        r(t, "inner")
    assert r(t, "front") == (["q"], ["front", "inner"], False)
    with pytest.raises(PublishRefused, match="internal"):
        r(t, "amq.rabbitmq.trace")


def test_unknown_exchange_and_vhost() -> None:
    t = topo()
    with pytest.raises(PublishRefused, match="no exchange"):
        r(t, "nope")
    with pytest.raises(NoSuchVhost):
        route(t, "other", "", Message("k"))


def test_builtin_exchanges_exist_on_every_vhost() -> None:
    t = topo(queues=["q"], bindings=[("amq.topic", "queue", "q", "a.*"), ("amq.match", "queue", "q", "")])
    assert r(t, "amq.topic", "a.b")[0] == ["q"]
    assert r(t, "amq.direct", "q")[2] is True
    assert r(t, "amq.headers")[2] is True
    assert r(t, "amq.match")[0] == ["q"]  # a headers binding without arguments: all of nothing


def test_headers_exchange_in_a_chain() -> None:
    t = topo([("h", "headers", {}), ("f", "fanout", {})], ["q"], [("f", "exchange", "h", "")])
    t.add(Binding(V, "h", "queue", "q", "", {"x-match": "any", "kind": "pdf", "size": 1}))
    assert r(t, "f", "", kind="pdf")[0] == ["q"]
    assert r(t, "f", "", size=1.0)[0] == ["q"]
    assert r(t, "f", "", size="1")[2] is True


def test_plugin_exchange_types_are_reported_as_unknown() -> None:
    t = topo(
        [("f", "fanout", {}), ("hash", "x-consistent-hash", {})],
        ["q"],
        [("f", "exchange", "hash", ""), ("hash", "queue", "q", "1")],
    )
    result = route(t, V, "f", Message("k"))
    assert result.unknown == (("hash", "x-consistent-hash"),)
    assert not result.complete
    assert result.to_dict()["unknown_types"] == [{"exchange": "hash", "type": "x-consistent-hash"}]


def test_exclusive_queues_are_left_out() -> None:
    t = topo(
        [("f", "fanout", {})], ["q", "lock"], [("f", "queue", "lock", ""), ("f", "queue", "q", "")], exclusive=("lock",)
    )
    assert r(t, "f")[0] == ["q"]
    assert r(t, "", "lock")[2] is True


def test_json_shape() -> None:
    t = topo([("f", "fanout", {})], ["q"], [("f", "queue", "q", "")])
    assert route(t, V, "f", Message()).to_dict() == {"queues": ["q"], "exchanges": ["f"], "unroutable": False}
