"""AMQP plumbing shared by the tutorial runners: connecting as the tutorial user, passive declarations
that explain what to do when an object is missing, and a consume loop that stops after N messages or
S idle seconds.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from rabbitadmin.backends.http.amqp_probe import connect_failures, handshake_dropped
from rabbitadmin.errors import ConnectionFailed, NotProvisioned, RabbitAdminError, UsageError
from rabbitadmin.model import Secret
from rabbitadmin.urls import redact_url

AMQP_NOT_FOUND = 404
AMQP_ACCESS_REFUSED = 403

# pika's message callback arguments: delivery method, properties, body.
Handler = Callable[[BlockingChannel, Any, pika.BasicProperties, bytes], None]


@dataclass(frozen=True)
class AmqpTarget:
    """Where and as whom a runner connects."""

    host: str
    port: int
    vhost: str
    user: str
    password: Secret
    scenario: str  # named in the "provision first" hint

    def parameters(self) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            host=self.host,
            port=self.port,
            virtual_host=self.vhost,
            credentials=pika.PlainCredentials(self.user, self.password.reveal(), erase_on_connect=True),
            connection_attempts=1,
            blocked_connection_timeout=60,
        )

    @property
    def hint(self) -> str:
        vhost = f" --vhost {self.vhost}" if self.vhost != "myproject" else ""
        return f"run `rabbitadmin tutorial provision {self.scenario}{vhost}` first"


@dataclass(frozen=True)
class Limits:
    """When a consumer stops by itself: after ``count`` messages, or ``timeout`` seconds without one."""

    count: int | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError("--count must be at least 1")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")


def say(line: str) -> None:
    """Print a runner's output line now: scripts and tests read it through a pipe as it happens."""
    print(line, flush=True)


def shown(body: bytes) -> str:
    """A message body as the introduction prints it: the text's repr, quotes included."""
    return repr(body.decode("utf-8", errors="replace"))


def connect(target: AmqpTarget) -> pika.BlockingConnection:
    """Open a connection, turning pika's failures into ``ConnectionFailed`` with a useful message."""
    where = f"{redact_url(f'amqp://{target.host}:{target.port}/')} (vhost {target.vhost!r}, user {target.user!r})"
    try:
        try:
            return pika.BlockingConnection(target.parameters())
        except pika.exceptions.AMQPError as exc:
            dropped = handshake_dropped(exc)
            if dropped is None:
                raise
            # pika names a lost stream after the handshake stage ("probable authentication error"): not a refusal.
            raise ConnectionFailed(f"{where}: {dropped}; is --amqp-port right? else try again") from None
    except (pika.exceptions.ProbableAuthenticationError, pika.exceptions.AuthenticationError):
        raise ConnectionFailed(f"{where}: login refused; {target.hint}, or check MYUSER_PASSWORD") from None
    except pika.exceptions.ProbableAccessDeniedError:
        raise ConnectionFailed(f"{where}: access to the vhost refused; {target.hint}") from None
    except pika.exceptions.ConnectionClosedByBroker as exc:
        raise ConnectionFailed(f"{where}: the server closed the connection: {exc.reply_text}; {target.hint}") from None
    except connect_failures() as exc:  # AMQPConnectionError, a handshake that never ends, a socket error
        reason = str(exc) or type(exc).__name__
        raise ConnectionFailed(f"{where}: cannot connect ({reason}); is the AMQP port right (--amqp-port)?") from None


def require_queue(channel: BlockingChannel, target: AmqpTarget, queue: str) -> None:
    """Declare ``queue`` passively: it must exist already (the preset creates it)."""
    _passive(lambda: channel.queue_declare(queue=queue, passive=True), f"queue {queue!r}", target)


def require_exchange(channel: BlockingChannel, target: AmqpTarget, exchange: str) -> None:
    """Declare ``exchange`` passively: it must exist already (the preset creates it)."""
    _passive(lambda: channel.exchange_declare(exchange=exchange, passive=True), f"exchange {exchange!r}", target)


def _passive(declare: Callable[[], object], what: str, target: AmqpTarget) -> None:
    try:
        declare()
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == AMQP_NOT_FOUND:
            raise NotProvisioned(f"{what} does not exist in vhost {target.vhost!r}: {target.hint}") from None
        if exc.reply_code == AMQP_ACCESS_REFUSED:
            raise NotProvisioned(f"user {target.user!r} may not use {what}: {exc.reply_text}; {target.hint}") from None
        raise RabbitAdminError(f"the server refused to declare {what}: {exc.reply_text}") from None


def consume(
    connection: pika.BlockingConnection,
    channel: BlockingChannel,
    queue: str,
    handler: Handler,
    *,
    limits: Limits,
    auto_ack: bool,
    ready_line: str,
) -> int:
    """Deliver messages from ``queue`` to ``handler`` until a limit is reached; return how many came.

    ``ready_line`` is printed once the server has registered the consumer, so whoever reads it knows that
    messages published from then on will reach this consumer. Without limits this runs until Ctrl-C (or
    SIGTERM), which ``session`` turns into a clean exit.
    """
    # With --count, an auto-ack consumer would lose what the server pushed beyond the count: take one
    # message at a time and acknowledge it ourselves instead.
    acks_for_handler = auto_ack and limits.count is not None
    if acks_for_handler:
        channel.basic_qos(prefetch_count=1)
    received = 0
    last_message = time.monotonic()

    def on_message(ch: BlockingChannel, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        nonlocal received, last_message
        if limits.count is not None and received >= limits.count:
            return  # already done: left unacknowledged, the server requeues it when we cancel
        handler(ch, method, properties, body)
        if acks_for_handler:
            ch.basic_ack(delivery_tag=method.delivery_tag)
        received += 1
        last_message = time.monotonic()

    tag = channel.basic_consume(queue, on_message, auto_ack=auto_ack and not acks_for_handler)
    say(ready_line)
    while limits.count is None or received < limits.count:
        if limits.timeout is not None:
            idle = time.monotonic() - last_message
            if idle >= limits.timeout:
                break
            connection.process_data_events(time_limit=min(0.5, limits.timeout - idle))
        else:
            connection.process_data_events(time_limit=0.5)
    channel.basic_cancel(tag)
    return received


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def session(target: AmqpTarget) -> Iterator[tuple[pika.BlockingConnection, BlockingChannel]]:
    """A connection and a channel, closed on the way out; Ctrl-C and SIGTERM end it quietly."""
    previous = signal.signal(signal.SIGTERM, _terminate)  # scripts stop consumers with a plain `kill`
    # A process started in the background by a shell inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: take Ctrl-C back so that an interrupt always stops the consumer.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    connection = connect(target)
    try:
        yield connection, connection.channel()
    except KeyboardInterrupt:
        print(" [*] Interrupted", file=sys.stderr, flush=True)
    except pika.exceptions.ChannelClosedByBroker as exc:  # e.g. the queue was deleted under a consumer
        raise RabbitAdminError(f"the server closed the channel: {exc.reply_text}") from None
    except pika.exceptions.ConnectionClosedByBroker as exc:
        raise ConnectionFailed(f"the server closed the connection: {exc.reply_text}") from None
    except pika.exceptions.AMQPConnectionError as exc:
        raise ConnectionFailed(f"lost the connection to the server ({exc or type(exc).__name__})") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        with suppress(pika.exceptions.AMQPError):
            if connection.is_open:
                connection.close()
