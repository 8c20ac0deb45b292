"""Exact queue depths over AMQP: a passive declare answers with the queue's current message count.

The management API's ``messages`` comes from statistics emitted every few seconds, so it can be stale or
missing for a queue created or filled moments ago. Before destroying a queue, ask the queue itself.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from rabbitadmin.connection import DEFAULT_AMQP_PORT, ConnectionSettings
from rabbitadmin.model import Key, Queue


def ready_counts(settings: ConnectionSettings, queues: Sequence[Queue]) -> dict[Key, int]:
    """Ready-message counts by queue key; queues that could not be asked are left out."""
    import pika
    import pika.exceptions

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # failures are expected and handled here
    password = settings.password.reveal() if settings.password else ""
    by_vhost: dict[str, list[Queue]] = defaultdict(list)
    for queue in queues:
        by_vhost[queue.vhost].append(queue)
    counts: dict[Key, int] = {}
    for vhost, members in by_vhost.items():
        params = pika.ConnectionParameters(
            host=settings.host,
            port=settings.amqp_port or DEFAULT_AMQP_PORT,
            virtual_host=vhost,
            credentials=pika.PlainCredentials(settings.user, password),
            connection_attempts=1,
            socket_timeout=5,
            blocked_connection_timeout=5,
        )
        try:
            connection = pika.BlockingConnection(params)
        except pika.exceptions.AMQPError:
            continue
        try:
            for queue in members:
                try:
                    channel = connection.channel()
                    frame = channel.queue_declare(queue.name, passive=True)
                    counts[queue.key] = int(frame.method.message_count)
                    channel.close()
                except pika.exceptions.AMQPError:
                    if not connection.is_open:
                        break
        finally:
            if connection.is_open:
                connection.close()
    return counts
