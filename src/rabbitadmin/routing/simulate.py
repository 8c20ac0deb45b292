"""Where a published message goes: the broker's routing walk, computed offline over a ``Topology``.

Follows ``rabbit_exchange:route/2`` (rabbitmq-server, deps/rabbit/src/rabbit_exchange.erl): the default
exchange delivers to the queue named by the routing key; any other exchange is walked with its
exchange-to-exchange bindings, each exchange visited once (loops end), and an exchange whose *own*
bindings matched nothing hands the message to its ``alternate-exchange`` argument if that exchange
exists. Policies are not modelled: an alternate exchange set by a policy is not seen. Exclusive queues
(owned by one connection, such as an apply lock) are left out, as are bindings to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rabbitadmin.errors import NoSuchVhost, PublishRefused
from rabbitadmin.kinds import BUILTIN_EXCHANGE_TYPES, BUILTIN_EXCHANGES
from rabbitadmin.model import Binding, Exchange, Queue, Topology
from rabbitadmin.routing.matching import binding_matches, exact_header_values

ALTERNATE_EXCHANGE = "alternate-exchange"


@dataclass(frozen=True)
class Message:
    """What routing looks at: the routing key and the headers (AMQP field table values as Python values)."""

    routing_key: str = ""
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """The outcome of one publish.

    ``queues``: the queues the message lands in, sorted, each once. ``exchanges``: the exchanges it went
    through, in the order visited, the published-to one first. ``unknown``: exchanges of a type this
    simulator does not know (plugin types) that the message reached; when not empty, ``queues`` is only
    what the known part of the walk found.
    """

    queues: tuple[str, ...]
    exchanges: tuple[str, ...]
    unknown: tuple[tuple[str, str], ...] = ()

    @property
    def unroutable(self) -> bool:
        """No queue takes the message (a ``mandatory`` publish comes back with basic.return)."""
        return not self.queues

    @property
    def complete(self) -> bool:
        """Every exchange on the way was of a type simulated here."""
        return not self.unknown

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"queues": [...], "exchanges": [...], "unroutable": bool}`` plus ``unknown_types``
        (``[{"exchange": name, "type": type}]``) when a plugin type was reached."""
        payload: dict[str, Any] = {
            "queues": list(self.queues),
            "exchanges": list(self.exchanges),
            "unroutable": self.unroutable,
        }
        if self.unknown:
            payload["unknown_types"] = [{"exchange": n, "type": t} for n, t in self.unknown]
        return payload


class Router:
    """The routing tables of one vhost of a topology, built once and asked many times.

    Includes the exchanges every vhost has (the default one and ``amq.*``) when the topology leaves them out.
    ``server_version``: the RabbitMQ version whose rules apply where versions differ (headers exchanges compare
    ``1`` and ``1.0`` as equal up to 3.12, not from 3.13: ``matching.exact_header_values``); None: 3.12's.
    """

    def __init__(self, topology: Topology, vhost: str, *, server_version: tuple[int, ...] | None = None) -> None:
        self.vhost = vhost
        self.exact = exact_header_values(server_version)
        self.exchanges: dict[str, Exchange] = {
            name: Exchange(vhost=vhost, name=name, type=type_, internal=internal)
            for name, type_, internal in BUILTIN_EXCHANGES
        }
        self.exchanges.update({ex.name: ex for ex in topology.exchanges.values() if ex.vhost == vhost})
        self.queues: dict[str, Queue] = {
            q.name: q for q in topology.queues.values() if q.vhost == vhost and not q.exclusive
        }
        self.bindings: dict[str, list[Binding]] = defaultdict(list)
        for binding in routable_bindings(topology, vhost, self.queues):
            self.bindings[binding.source].append(binding)

    def route(self, exchange: str, message: Message) -> Route:
        """Route ``message`` published to ``exchange``. Raises ``PublishRefused`` when the broker would
        close the channel instead (no such exchange: 404; an internal exchange: 403)."""
        start = self.exchanges.get(exchange)
        if start is None:
            raise PublishRefused(f"no exchange {exchange!r} in vhost {self.vhost!r} (the broker answers 404 NOT_FOUND)")
        if start.internal:
            raise PublishRefused(
                f"exchange {exchange!r} is internal: only other exchanges may route to it "
                "(the broker answers 403 ACCESS_REFUSED)"
            )
        if exchange == "":  # the default exchange: the queue named by the routing key, if there is one
            hit = (message.routing_key,) if message.routing_key in self.queues else ()
            return Route(queues=hit, exchanges=("",))
        queues: set[str] = set()
        visited = [exchange]
        seen = {exchange}
        unknown: list[tuple[str, str]] = []
        work = [start]
        while work:
            current = work.pop(0)
            if current.type not in BUILTIN_EXCHANGE_TYPES:
                unknown.append((current.name, current.type))
                continue
            destinations = [
                b
                for b in self.bindings.get(current.name, ())
                if binding_matches(
                    current.type, b.routing_key, b.arguments, message.routing_key, message.headers, exact=self.exact
                )
            ]
            if not destinations:  # only the exchange's own bindings count, not what happens further on
                alternate = current.arguments.get(ALTERNATE_EXCHANGE)
                if isinstance(alternate, str):
                    destinations = [Binding(self.vhost, current.name, "exchange", alternate)]
            for binding in destinations:
                if binding.destination_type == "queue":
                    queues.add(binding.destination)
                elif binding.destination not in seen and binding.destination in self.exchanges:
                    seen.add(binding.destination)
                    visited.append(binding.destination)
                    work.append(self.exchanges[binding.destination])
        return Route(queues=tuple(sorted(queues)), exchanges=tuple(visited), unknown=tuple(unknown))


def routable_bindings(topology: Topology, vhost: str, queues: Mapping[str, Queue]) -> Iterable[Binding]:
    """The bindings of ``vhost`` that can carry messages: not to an exclusive (or absent) queue."""
    for binding in topology.bindings.values():
        if binding.vhost == vhost and (binding.destination_type == "exchange" or binding.destination in queues):
            yield binding


def route(
    topology: Topology, vhost: str, exchange: str, message: Message, *, server_version: tuple[int, ...] | None = None
) -> Route:
    """One-off ``Router(topology, vhost, server_version=...).route(exchange, message)``; see ``Router``."""
    if vhost not in {key[0] for key in topology.vhosts}:
        raise NoSuchVhost(f"vhost {vhost!r} is not in the topology (or on the server, with --live)")
    return Router(topology, vhost, server_version=server_version).route(exchange, message)
