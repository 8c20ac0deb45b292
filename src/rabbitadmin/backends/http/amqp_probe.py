"""Exact queue depths over AMQP: a passive declare answers with the queue's current message count.

The management API's ``messages`` comes from statistics emitted every few seconds, so it can be stale or
missing for a queue created or filled moments ago. Before destroying a queue, ask the queue itself.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rabbitadmin.backends.base import QueueDepth
from rabbitadmin.connection import DEFAULT_AMQP_PORT, ConnectionSettings
from rabbitadmin.model import Key, Queue


def connect_failures() -> tuple[type[BaseException], ...]:
    """What ``pika.BlockingConnection(...)`` raises when it cannot connect: pika's ``AMQPError`` family, and
    its connection workflow's own exceptions, which are not of that family (a server that accepts TCP and
    never answers ends in ``AMQPConnectorStackTimeout``, pika 1.3), and ``OSError``."""
    import pika.exceptions
    from pika.adapters.utils.connection_workflow import AMQPConnectorException

    return (pika.exceptions.AMQPError, AMQPConnectorException, OSError)


def handshake_dropped(exc: BaseException) -> str | None:
    """Why ``pika.BlockingConnection(...)`` failed, in words, when the TCP stream was lost part-way through the
    AMQP handshake (a busy broker past its ``handshake_timeout``, a middlebox, a port that is not AMQP); None
    when it failed otherwise (the broker refused, nothing listened, a timeout).

    pika (``connection.py``, ``_on_stream_terminated``) names a lost stream by the handshake stage it was lost
    in: ``IncompatibleProtocolError`` before ``connection.start``, ``ProbableAuthenticationError`` after it,
    ``ProbableAccessDeniedError`` after ``connection.tune``, each wrapping the repr of the real cause. A broker's
    refusal is a ``connection.close`` (RabbitMQ closes with 403 ACCESS_REFUSED on a bad login, as pika asks
    with ``authentication_failure_close``), wrapped as ``ConnectionClosedByBroker``: that is not a drop.
    """
    import pika.exceptions

    if isinstance(exc, pika.exceptions.IncompatibleProtocolError):
        return (
            "the server closed the connection before answering the AMQP protocol header (not an AMQP port, or a "
            "busy broker)"
        )
    staged = (pika.exceptions.ProbableAuthenticationError, pika.exceptions.ProbableAccessDeniedError)
    cause = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, pika.exceptions.StreamLostError) or (
        isinstance(exc, staged) and not cause.startswith(pika.exceptions.ConnectionClosedByBroker.__name__)
    ):
        return (
            "the connection was lost during the AMQP handshake, after the server answered (a busy broker ends "
            "handshakes that take longer than its handshake_timeout)"
        )
    return None


def connection_parameters(settings: ConnectionSettings, vhost: str, *, timeout: float = 5) -> Any:
    """``pika.ConnectionParameters`` for ``vhost`` on the server ``settings`` name (its host, the AMQP port)."""
    import pika

    password = settings.password.reveal() if settings.password else ""
    return pika.ConnectionParameters(
        host=settings.host,
        port=settings.amqp_port or DEFAULT_AMQP_PORT,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(settings.user, password),
        connection_attempts=1,
        socket_timeout=timeout,
        blocked_connection_timeout=timeout,
    )


def live_depths(settings: ConnectionSettings, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
    """Ready-message and consumer counts by queue key; queues that could not be asked are left out."""
    import pika
    import pika.exceptions

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # failures are expected and handled here
    by_vhost: dict[str, list[Queue]] = defaultdict(list)
    for queue in queues:
        by_vhost[queue.vhost].append(queue)
    depths: dict[Key, QueueDepth] = {}
    for vhost, members in by_vhost.items():
        try:
            connection = pika.BlockingConnection(connection_parameters(settings, vhost))
        except connect_failures():
            continue
        try:
            for queue in members:
                try:
                    channel = connection.channel()
                    frame = channel.queue_declare(queue.name, passive=True)
                    depths[queue.key] = QueueDepth(int(frame.method.message_count), int(frame.method.consumer_count))
                    channel.close()
                except pika.exceptions.AMQPError:
                    if not connection.is_open:
                        break
        finally:
            if connection.is_open:
                connection.close()
    return depths
