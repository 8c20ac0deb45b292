"""Check routing against a live server without touching its applications' queues or messages.

Design (docs/verify.md): the exchanges and bindings of each vhost under test are copied into a *scratch
vhost* (``rabbitadmin-verify-<random>``) created for the run, with one plain empty classic queue per real
(non-exclusive) queue of the same name. Test messages are published there, on one AMQP connection, with
``mandatory`` and publisher confirms; once the server confirms, each scratch queue is read with
``basic.get`` to see which ones got the message. The scratch vhost is deleted at the end, whatever happens.
No message is ever published in a real vhost, so no consumer sees a test message and no real queue
changes. Alternate exchanges set by a policy are copied too (only the ``alternate-exchange`` key).

The connected user needs the administrator tag (to create and delete a vhost and grant itself access).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from rabbitadmin.backends.http.amqp_probe import connect_failures, connection_parameters, handshake_dropped
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.backends.import_wait import import_wait
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import to_definitions
from rabbitadmin.errors import ConnectionFailed, ProbeError
from rabbitadmin.kinds import is_server_owned_exchange
from rabbitadmin.model import Exchange, Queue, Topology, TopologyObject
from rabbitadmin.routing.expect import Expectation, Outcome
from rabbitadmin.routing.simulate import ALTERNATE_EXCHANGE, Route, routable_bindings

SCRATCH_PREFIX = "rabbitadmin-verify-"
CONFIRM_TIMEOUT = 30.0  # seconds: AMQP socket/blocked-connection timeouts for the probe connection


def scratch_objects(source: Topology, vhost: str, scratch: str) -> list[TopologyObject]:
    """The routing of ``vhost`` re-created in ``scratch``: its exchanges as they are (type, internal,
    arguments; not durable), a plain classic non-durable queue per non-exclusive queue, its bindings."""
    objects: list[TopologyObject] = []
    for ex in source.exchanges.values():
        if ex.vhost == vhost and not is_server_owned_exchange(ex.name):
            objects.append(replace(ex, vhost=scratch, durable=False, auto_delete=False, origin=None))
    queues = {q.name: q for q in source.queues.values() if q.vhost == vhost and not q.exclusive}
    for name in queues:
        # Queue arguments are dropped on purpose: a TTL or length limit would lose the probe message.
        objects.append(Queue(vhost=scratch, name=name, type="classic", durable=False))
    for b in routable_bindings(source, vhost, queues):
        objects.append(replace(b, vhost=scratch, properties_key=None, origin=None))
    return objects


def policy_alternates(client: HttpClient, vhost: str, exchanges: Sequence[Exchange]) -> dict[str, str]:
    """The ``alternate-exchange`` a policy gives each exchange of ``vhost`` (highest priority wins, as the
    server picks policies; an exchange's own argument takes precedence, so those are left out)."""
    import re

    policies = client.get_or_none(api_path("policies", vhost)) or []
    chosen: dict[str, str] = {}
    for ex in exchanges:
        if ALTERNATE_EXCHANGE in ex.arguments:
            continue
        matching = [
            p
            for p in policies
            if p.get("apply-to") in ("exchanges", "all") and re.search(p.get("pattern", ""), ex.name)
        ]
        matching.sort(key=lambda p: p.get("priority", 0), reverse=True)
        if matching and isinstance(matching[0].get("definition", {}).get(ALTERNATE_EXCHANGE), str):
            chosen[ex.name] = matching[0]["definition"][ALTERNATE_EXCHANGE]
    return chosen


@contextmanager
def scratch_vhost(client: HttpClient, objects_for: Any) -> Iterator[str]:
    """Create a scratch vhost, grant the connected user full access, import ``objects_for(name)`` (a
    callable giving the objects for the scratch name) and yield the name; delete the vhost afterwards."""
    name = SCRATCH_PREFIX + secrets.token_hex(6)
    client.put(api_path("vhosts", name), {"description": "rabbitadmin verify: temporary, safe to delete"})
    try:
        client.put(
            api_path("permissions", name, client.settings.user), {"configure": ".*", "write": ".*", "read": ".*"}
        )
        objects = objects_for(name)
        if objects:
            # The answer comes when all of it is in: the wait grows with the vhost (import_wait).
            client.post(
                api_path("definitions"), to_definitions(objects), wait=import_wait(client.settings.timeout, objects)
            )
        yield name
    finally:
        client.delete(api_path("vhosts", name))


@dataclass
class Prober:
    """Publishes test messages into one vhost and says which of ``queues`` got each one."""

    settings: ConnectionSettings
    vhost: str
    queues: Sequence[str]

    def __post_init__(self) -> None:
        import pika

        logging.getLogger("pika").setLevel(logging.CRITICAL)
        try:
            self.connection = pika.BlockingConnection(
                connection_parameters(self.settings, self.vhost, timeout=CONFIRM_TIMEOUT)
            )
        except connect_failures() as exc:
            reason = handshake_dropped(exc) or repr(exc)  # pika calls a drop a "probable authentication error"
            raise ConnectionFailed(f"cannot open an AMQP connection to vhost {self.vhost!r}: {reason}") from None
        self.channel = self._open_channel()

    def _open_channel(self) -> Any:
        channel = self.connection.channel()
        channel.confirm_delivery()
        return channel

    def publish(self, exchange: str, routing_key: str, headers: dict[str, Any]) -> tuple[str, ...] | str:
        """Publish one message (mandatory, confirmed) and return the sorted queues that got it, or the
        broker's refusal (e.g. ``403 ACCESS_REFUSED ...`` for an internal exchange) as a string."""
        import pika

        properties = pika.BasicProperties(headers=headers or None)
        try:
            self.channel.basic_publish(exchange, routing_key, b"rabbitadmin routing probe", properties, mandatory=True)
        except pika.exceptions.UnroutableError:
            pass  # returned: no queue took it; the gets below find nothing
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.channel = self._open_channel()
            return f"{exc.reply_code} {exc.reply_text}"
        except pika.exceptions.UnsupportedAMQPFieldException:
            raise ProbeError(
                f"headers {headers!r}: the AMQP client (pika) cannot send one of these values (floats, for one)"
            ) from None
        except pika.exceptions.AMQPError as exc:
            raise ProbeError(f"publishing the test message failed: {exc!r}") from None
        reached = []
        for queue in self.queues:
            method, _props, _body = self.channel.basic_get(queue, auto_ack=True)
            if method is not None:
                reached.append(queue)
                if method.message_count:  # never expected: one message at a time; keep the queue empty
                    self.channel.queue_purge(queue)
        return tuple(sorted(reached))

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def verify_live(settings: ConnectionSettings, live: Topology, expectations: Sequence[Expectation]) -> list[Outcome]:
    """Check each expectation on a scratch copy of its vhost as the server has it now (``live``: the
    server's state of those vhosts, e.g. from ``HttpBackend.read_state``)."""
    outcomes: list[Outcome] = []
    client = HttpClient(settings)
    try:
        for vhost in sorted({e.vhost for e in expectations}):
            wanted = [e for e in expectations if e.vhost == vhost]
            if (vhost,) not in live.vhosts:
                outcomes += [Outcome(e, None, f"vhost {vhost!r} does not exist on the server") for e in wanted]
                continue
            outcomes += _verify_vhost(client, settings, live, vhost, wanted)
    finally:
        client.close()
    return outcomes


def _verify_vhost(
    client: HttpClient, settings: ConnectionSettings, live: Topology, vhost: str, wanted: Sequence[Expectation]
) -> list[Outcome]:
    exchanges = [ex for ex in live.exchanges.values() if ex.vhost == vhost]
    alternates = policy_alternates(client, vhost, exchanges)

    def objects_for(scratch: str) -> list[TopologyObject]:
        objects = scratch_objects(live, vhost, scratch)
        return [
            replace(o, arguments={**o.arguments, ALTERNATE_EXCHANGE: alternates[o.name]})
            if isinstance(o, Exchange) and o.name in alternates
            else o
            for o in objects
        ]

    queues = sorted(q.name for q in live.queues.values() if q.vhost == vhost and not q.exclusive)
    outcomes = []
    with scratch_vhost(client, objects_for) as scratch:
        prober = Prober(settings, scratch, queues)
        try:
            for e in wanted:
                got = prober.publish(e.exchange, e.routing_key, e.headers)
                if isinstance(got, str):
                    outcomes.append(Outcome(e, None, f"{e.describe()}: the server refused the publish: {got}"))
                else:
                    outcomes.append(Outcome(e, Route(queues=got, exchanges=())))
        finally:
            prober.close()
    return outcomes
