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
