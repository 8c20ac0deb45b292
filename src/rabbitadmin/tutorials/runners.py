"""The introduction's twelve programs for pika 1.x, with its arguments and its output lines.

Each program takes the connection target, its positional arguments and the consumer limits. Named queues
and exchanges are declared passively (the preset owns them); exclusive, server-named queues and their
bindings belong to the consumer that uses them, as in the introduction.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from rabbitadmin.errors import RabbitAdminError, RpcFailed, UsageError
from rabbitadmin.tutorials.amqp import (
    AmqpTarget,
    Limits,
    consume,
    require_exchange,
    require_queue,
    say,
    session,
    shown,
)

WAITING_MESSAGES = " [*] Waiting for messages. To exit press CTRL+C"
WAITING_LOGS = " [*] Waiting for logs. To exit press CTRL+C"
MAX_FIB = 35  # the server computes fib naively, as in the introduction: keep each request under seconds


RunnerFunction = Callable[[AmqpTarget, list[str], Limits], None]


@dataclass(frozen=True)
class Program:
    """One runner: the scenario it belongs to, its usage line, and whether it consumes."""

    name: str
    scenario: str
    usage: str
    consumer: bool
    run: RunnerFunction


def _publish(channel: BlockingChannel, exchange: str, routing_key: str, body: str, **kwargs: Any) -> None:
    try:
        channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body.encode("utf-8"), **kwargs)
    except pika.exceptions.UnroutableError:
        raise RabbitAdminError(f"the server could not route the message to {routing_key!r}") from None
    except pika.exceptions.NackError:
        raise RabbitAdminError("the server refused the message (negative publisher confirm)") from None


# -- 1. Hello World --------------------------------------------------------------------------------------
def send(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Publish 'Hello World!' (or the arguments) to the queue ``hello``."""
    message = " ".join(args) or "Hello World!"
    with session(target) as (_connection, channel):
        require_queue(channel, target, "hello")
        channel.confirm_delivery()  # return only once the broker has the message
        _publish(channel, "", "hello", message, mandatory=True)
        say(f" [x] Sent {message!r}")


def receive(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Print the messages of the queue ``hello``."""
    with session(target) as (connection, channel):
        require_queue(channel, target, "hello")

        def show(ch: BlockingChannel, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
            say(f" [x] Received {shown(body)}")

        consume(connection, channel, "hello", show, limits=limits, auto_ack=True, ready_line=WAITING_MESSAGES)


# -- 2. Work queues --------------------------------------------------------------------------------------
def new_task(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Publish a persistent task to ``task_queue``; each dot in it is one second of work."""
    message = " ".join(args) or "Hello World!"
    with session(target) as (_connection, channel):
        require_queue(channel, target, "task_queue")
        channel.confirm_delivery()  # a confirmed persistent message is on disk: it survives a restart
        properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
        _publish(channel, "", "task_queue", message, properties=properties, mandatory=True)
        say(f" [x] Sent {message!r}")


def worker(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Take tasks from ``task_queue`` one at a time, sleep a second per dot, then acknowledge."""
    with session(target) as (connection, channel):
        require_queue(channel, target, "task_queue")

        def work(ch: BlockingChannel, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
            say(f" [x] Received {shown(body)}")
            connection.sleep(body.count(b"."))  # sleeps while still answering heartbeats
            ch.basic_ack(delivery_tag=method.delivery_tag)
            say(" [x] Done")  # after the ack: whoever reads "Done" knows the task is settled

        channel.basic_qos(prefetch_count=1)  # fair dispatch: no new task until this one is acknowledged
        consume(connection, channel, "task_queue", work, limits=limits, auto_ack=False, ready_line=WAITING_MESSAGES)


# -- 3 to 5: exchanges -----------------------------------------------------------------------------------
def _emit(target: AmqpTarget, exchange: str, routing_key: str, message: str, line: str) -> None:
    with session(target) as (_connection, channel):
        require_exchange(channel, target, exchange)
        channel.confirm_delivery()
        _publish(channel, exchange, routing_key, message)
        say(line)


def _receive_logs(target: AmqpTarget, exchange: str, binding_keys: list[str], limits: Limits, with_key: bool) -> None:
    with session(target) as (connection, channel):
        require_exchange(channel, target, exchange)
        # A server-named queue that lives as long as this connection: the runner's own, not the preset's.
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        for key in binding_keys:
            channel.queue_bind(exchange=exchange, queue=queue, routing_key=key)

        def show(ch: BlockingChannel, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
            say(f" [x] {method.routing_key!r}:{shown(body)}" if with_key else f" [x] {shown(body)}")

        consume(connection, channel, queue, show, limits=limits, auto_ack=True, ready_line=WAITING_LOGS)


def emit_log(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Publish a message to the fanout exchange ``logs``."""
    message = " ".join(args) or "info: Hello World!"
    _emit(target, "logs", "", message, f" [x] Sent {message!r}")


def receive_logs(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Print every message published to ``logs``."""
    _receive_logs(target, "logs", [""], limits, with_key=False)


def _key_and_message(args: list[str], default_key: str) -> tuple[str, str]:
    # As in the introduction: the first argument is the key only when a message follows it.
    key = args[0] if len(args) > 1 else default_key
    return key, " ".join(args[1:]) or "Hello World!"


def _keyed_runners(exchange: str, default_key: str, usage: str) -> tuple[RunnerFunction, RunnerFunction]:
    """The emit/receive pair of a scenario whose messages carry a routing key (routing, topics)."""

    def emit(target: AmqpTarget, args: list[str], limits: Limits) -> None:
        key, message = _key_and_message(args, default_key)
        _emit(target, exchange, key, message, f" [x] Sent {key!r}:{message!r}")

    def receive_keyed(target: AmqpTarget, args: list[str], limits: Limits) -> None:
        if not args:
            raise UsageError(f"Usage: rabbitadmin tutorial run {usage}")
        _receive_logs(target, exchange, args, limits, with_key=True)

    return emit, receive_keyed


# emit_log_direct [SEVERITY MESSAGE...] / receive_logs_direct SEVERITY...: keys are severities.
emit_log_direct, receive_logs_direct = _keyed_runners(
    "direct_logs", "info", "receive_logs_direct [info] [warning] [error]"
)
# emit_log_topic [KEY MESSAGE...] / receive_logs_topic PATTERN...: `*` matches one word, `#` any number.
emit_log_topic, receive_logs_topic = _keyed_runners(
    "topic_logs", "anonymous.info", "receive_logs_topic [binding_key]..."
)


# -- 6. RPC ----------------------------------------------------------------------------------------------
def fib(n: int) -> int:
    """The introduction's deliberately slow Fibonacci: the 'remote work' the server does."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def rpc_server(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Answer fib(n) requests from ``rpc_queue`` on each request's reply queue."""
    with session(target) as (connection, channel):
        require_queue(channel, target, "rpc_queue")

        def on_request(ch: BlockingChannel, method: Any, props: pika.BasicProperties, body: bytes) -> None:
            try:
                n = int(body)
                if not 0 <= n <= MAX_FIB:
                    raise ValueError
            except ValueError:
                response = f"error: expected a whole number from 0 to {MAX_FIB}, got {shown(body)}"
                print(f" [!] {response}", file=sys.stderr, flush=True)
            else:
                say(f" [.] fib({n})")
                response = str(fib(n))
            if props.reply_to:
                reply = pika.BasicProperties(correlation_id=props.correlation_id)
                ch.basic_publish(exchange="", routing_key=props.reply_to, properties=reply, body=response.encode())
            ch.basic_ack(delivery_tag=method.delivery_tag)

        channel.basic_qos(prefetch_count=1)  # spread requests over several servers
        ready = " [x] Awaiting RPC requests"
        consume(connection, channel, "rpc_queue", on_request, limits=limits, auto_ack=False, ready_line=ready)


def rpc_client(target: AmqpTarget, args: list[str], limits: Limits) -> None:
    """Ask for fib(n) of each argument (default 30) at once; match answers by correlation id."""
    try:
        numbers = [int(a) for a in args] if args else [30]
    except ValueError:
        raise UsageError("Usage: rabbitadmin tutorial run rpc_client [N]...  (whole numbers)") from None
    with session(target) as (connection, channel):
        require_queue(channel, target, "rpc_queue")
        callback_queue = channel.queue_declare(queue="", exclusive=True).method.queue
        responses: dict[str, bytes] = {}
        pending: set[str] = set()

        def on_response(ch: BlockingChannel, method: Any, props: pika.BasicProperties, body: bytes) -> None:
            if props.correlation_id in pending:
                responses[props.correlation_id] = body
            else:  # a late answer to an earlier run, or not ours at all: the correlation id tells
                print(f" [!] ignoring a reply with unknown correlation id {props.correlation_id!r}", file=sys.stderr)

        channel.basic_consume(queue=callback_queue, on_message_callback=on_response, auto_ack=True)
        requests: list[tuple[str, int]] = []
        for n in numbers:
            corr_id = str(uuid.uuid4())
            requests.append((corr_id, n))
            pending.add(corr_id)
            say(f" [x] Requesting fib({n})")
            props = pika.BasicProperties(reply_to=callback_queue, correlation_id=corr_id)
            channel.basic_publish(exchange="", routing_key="rpc_queue", properties=props, body=str(n).encode())
        last_progress = time.monotonic()
        while len(responses) < len(requests):
            before = len(responses)
            connection.process_data_events(time_limit=0.2)
            if len(responses) > before:
                last_progress = time.monotonic()
            elif limits.timeout is not None and time.monotonic() - last_progress > limits.timeout:
                raise RpcFailed(
                    f"no answer within {limits.timeout:g} s: is `rabbitadmin tutorial run rpc_server` running?"
                )
        for corr_id, n in requests:
            answer = responses[corr_id].decode("utf-8", errors="replace")
            try:
                say(f" [.] Got {int(answer)!r}")
            except ValueError:
                raise RpcFailed(f"fib({n}): the server answered: {answer}") from None


PROGRAMS: dict[str, Program] = {
    p.name: p
    for p in (
        Program("send", "hello-world", "send [MESSAGE...]", False, send),
        Program("receive", "hello-world", "receive", True, receive),
        Program("new_task", "work-queues", "new_task [MESSAGE...]  (each dot is a second of work)", False, new_task),
        Program("worker", "work-queues", "worker", True, worker),
        Program("emit_log", "publish-subscribe", "emit_log [MESSAGE...]", False, emit_log),
        Program("receive_logs", "publish-subscribe", "receive_logs", True, receive_logs),
        Program("emit_log_direct", "routing", "emit_log_direct [SEVERITY MESSAGE...]", False, emit_log_direct),
        Program("receive_logs_direct", "routing", "receive_logs_direct SEVERITY...", True, receive_logs_direct),
        Program("emit_log_topic", "topics", "emit_log_topic [ROUTING_KEY MESSAGE...]", False, emit_log_topic),
        Program("receive_logs_topic", "topics", "receive_logs_topic BINDING_KEY...", True, receive_logs_topic),
        Program("rpc_server", "rpc", "rpc_server", True, rpc_server),
        Program("rpc_client", "rpc", "rpc_client [N...]  (default 30)", False, rpc_client),
    )
}


def get_program(name: str) -> Program:
    """The runner called ``name``; ``UsageError`` listing them otherwise."""
    try:
        return PROGRAMS[name]
    except KeyError:
        raise UsageError(f"no runner called {name!r}; choose one of: {', '.join(PROGRAMS)}") from None
