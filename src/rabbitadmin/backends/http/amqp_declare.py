"""Exchanges, queues and bindings created by AMQP declares pipelined over the channels of one connection.

One thread, pika's callback API (``SelectConnection``): each of K channels sends its next declare when the
previous one is answered (its ``-Ok``), so K declares are in flight at once and no thread waits for the
GIL. Exchanges first, then queues, then bindings (to queues and to exchanges); each phase is finished
before the next starts. Measured (docs/benchmarks.md, ``bench_amqp_declare.py``): W(10000) took 0.63x the
definitions import's time with 32 channels, W(1000) 1.37x, hence the size threshold in the backend.

Arguments are sent as ``amqp_eligibility.amqp_arguments`` types them (as the import would), queues with
their ``x-queue-type``; only objects ``amqp_eligibility`` accepted may be given here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from rabbitadmin.backends.amqp_eligibility import Declarable, amqp_arguments
from rabbitadmin.backends.declares import DeclareOutcome, phases_of
from rabbitadmin.definitions import to_definition
from rabbitadmin.model import Binding, Exchange, Queue

#: Channels of the connection when the caller does not say (32-64 measured alike at W(10000)).
DEFAULT_CHANNELS = 32
#: How often the loop looks at the stop event and at declares waiting for their answer (seconds).
TICK = 0.1
#: The connection's name as the management UI and ``GET /api/connections`` show it.
CONNECTION_NAME = "rabbitadmin apply: declares"
# A channel closed with this code was closed by us (normal shutdown), not by a refused declare.
REPLY_SUCCESS = 200


def declare_pipelined(
    parameters: Any,
    objects: Sequence[Declarable],
    *,
    channels: int = DEFAULT_CHANNELS,
    timeout: float = 60.0,
    stop: threading.Event | None = None,
    on_declared: Callable[[Declarable], None] | None = None,
) -> DeclareOutcome:
    """Declare ``objects`` (exchanges, queues and bindings of the vhost ``parameters`` names) in phases over
    ``channels`` channels of one connection; returns what was done (never raises for server or network
    faults: they are in the outcome).

    ``parameters``: ``pika.ConnectionParameters`` (``amqp_probe.connection_parameters``; its credentials are
    never put in the outcome). ``timeout`` (seconds) bounds opening the connection and each declare's wait for
    its answer. ``stop`` set: no new declare is sent, the ones in flight are given ``timeout`` to answer.
    ``on_declared(obj)`` is called (on this thread) as each ``-Ok`` arrives.
    """
    import pika

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # faults are reported through the outcome
    parameters.stack_timeout = timeout
    parameters.client_properties = {"connection_name": CONNECTION_NAME}  # operators see who it is
    run = _Pipeline(phases_of(objects), max(1, channels), timeout, stop, on_declared)
    if not run.phases:
        run.outcome.connected = True
        return run.outcome
    connection = pika.SelectConnection(
        parameters,
        on_open_callback=run.on_open,
        on_open_error_callback=run.on_open_error,
        on_close_callback=run.on_connection_closed,
    )
    try:
        connection.ioloop.start()
    finally:
        if not connection.is_closed:  # an exception left the loop (a callback raised, a second Ctrl-C)
            run.closing = True
            run.abort()
            connection.ioloop.call_later(TICK, connection.ioloop.stop)  # bounded: let the abort complete
            connection.ioloop.start()
    return run.outcome


class _Pipeline:
    """The state of one run; every method runs on the ioloop's thread."""

    def __init__(
        self,
        phases: list[list[Declarable]],
        channels: int,
        timeout: float,
        stop: threading.Event | None,
        on_declared: Callable[[Declarable], None] | None,
    ) -> None:
        self.phases = phases
        self.channels = min(channels, max(len(p) for p in phases)) if phases else 0
        self.timeout = timeout
        self.stop = stop
        self.on_declared = on_declared
        self.outcome = DeclareOutcome()
        self.connection: Any = None
        self.opened: list[Any] = []
        self.phase = 0
        self.waiting: deque[Declarable] = deque()
        # Channel number -> (object, monotonic time sent) for each declare waiting for its answer.
        self.in_flight: dict[int, tuple[Declarable, float]] = {}
        self.stopping = False
        self.closing = False
        self.opened_at = 0.0

    # -- connection and channels -------------------------------------------------------------------------
    def on_open(self, connection: Any) -> None:
        self.connection = connection
        self.outcome.connected = True
        # No more channels than the server allows (channel_max, negotiated when the connection opened).
        self.channels = max(1, min(self.channels, connection.params.channel_max or self.channels))
        self.opened_at = time.monotonic()
        for _ in range(self.channels):
            connection.channel(on_open_callback=self.on_channel_open)
        connection.ioloop.call_later(TICK, self.tick)

    def on_open_error(self, connection: Any, error: BaseException | str) -> None:
        # pika's messages name the host, port and the server's reason, never the credentials.
        self.outcome.error = f"cannot open an AMQP connection: {error!s}"
        self.outcome.timed_out = "timeout" in str(error).lower()
        connection.ioloop.stop()

    def on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if not self.closing and self.outcome.error is None:
            self.outcome.error = f"the AMQP connection was lost: {reason!s}"
        self.outcome.unanswered.extend(obj for obj, _sent in self.in_flight.values())
        self.in_flight.clear()
        connection.ioloop.stop()

    def on_channel_open(self, channel: Any) -> None:
        channel.add_on_close_callback(self.on_channel_closed)
        self.opened.append(channel)
        if len(self.opened) == self.channels:
            self.start_phase()

    def on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        if self.closing and getattr(reason, "reply_code", None) == REPLY_SUCCESS:
            return
        import pika.exceptions

        # Refused by the server (its channel.close names the reason), or closed with a lost connection.
        by_server = isinstance(reason, pika.exceptions.ChannelClosedByBroker)
        flying = self.in_flight.pop(channel.channel_number, None)
        if flying is not None and by_server:
            self.outcome.refused.append((flying[0], str(reason)))
        elif flying is not None:
            self.outcome.unanswered.append(flying[0])
        if self.outcome.error is None:
            what = "the server closed an AMQP channel" if by_server else "the AMQP connection was lost"
            self.outcome.error = f"{what}: {reason!s}"
        self.stopping = True  # the other channels' declares in flight may still answer
        self.opened = [c for c in self.opened if c is not channel]
        self.finish_if_idle()

    # -- sending -----------------------------------------------------------------------------------------
    def start_phase(self) -> None:
        self.waiting = deque(self.phases[self.phase])
        for channel in list(self.opened):
            self.send_next(channel)

    def send_next(self, channel: Any) -> None:
        if self.stop is not None and self.stop.is_set():
            self.stopping = True
            self.outcome.stopped = True
        if self.stopping or not self.waiting:
            self.finish_if_idle()
            return
        obj = self.waiting.popleft()
        self.in_flight[channel.channel_number] = (obj, time.monotonic())
        answered = lambda _frame: self.on_answer(channel)  # noqa: E731
        entry = to_definition(obj)
        arguments = amqp_arguments(entry["arguments"])
        if isinstance(obj, Exchange):
            channel.exchange_declare(
                obj.name, obj.type, durable=obj.durable, auto_delete=obj.auto_delete, internal=obj.internal,
                arguments=arguments, callback=answered,
            )  # fmt: skip
        elif isinstance(obj, Queue):
            channel.queue_declare(
                obj.name, durable=obj.durable, auto_delete=obj.auto_delete, arguments=arguments, callback=answered
            )
        elif isinstance(obj, Binding) and obj.destination_type == "exchange":
            channel.exchange_bind(obj.destination, obj.source, obj.routing_key, arguments=arguments, callback=answered)
        elif isinstance(obj, Binding):
            channel.queue_bind(obj.destination, obj.source, obj.routing_key, arguments=arguments, callback=answered)
        else:  # amqp_eligibility lets nothing else through
            raise TypeError(f"a {obj.kind} cannot be declared over AMQP")

    def on_answer(self, channel: Any) -> None:
        flying = self.in_flight.pop(channel.channel_number, None)
        if flying is not None:
            self.outcome.declared.append(flying[0])
            if self.on_declared is not None:
                self.on_declared(flying[0])
        self.send_next(channel)

    def finish_if_idle(self) -> None:
        """The phase (or the run, when stopping) is over once nothing waits for an answer."""
        if self.in_flight or self.closing:
            return
        if not self.stopping and not self.waiting and self.phase + 1 < len(self.phases):
            self.phase += 1
            self.start_phase()
            return
        if self.stopping or not self.waiting:
            self.close()

    def tick(self) -> None:
        """Every ``TICK`` s: notice ``stop``, and give up on a declare unanswered for ``timeout`` s."""
        if self.closing:
            return
        if self.stop is not None and self.stop.is_set() and not self.stopping:
            self.stopping = self.outcome.stopped = True
            self.finish_if_idle()
        now = time.monotonic()
        unopened = len(self.opened) < self.channels and not self.stopping and now - self.opened_at > self.timeout
        if unopened or any(now - sent > self.timeout for _obj, sent in self.in_flight.values()):
            what = "the channels did not open" if unopened else "a declare had no answer"
            self.outcome.error = f"{what} within {self.timeout:g} s"
            self.outcome.timed_out = True
            self.outcome.unanswered.extend(obj for obj, _sent in self.in_flight.values())
            self.in_flight.clear()
            self.close(abort=True)
            return
        self.connection.ioloop.call_later(TICK, self.tick)

    def close(self, *, abort: bool = False) -> None:
        """Close the connection: politely (``Connection.Close``, whose answer gets ``timeout`` s), or at once
        (``abort``: after a timeout the server's answers may never come)."""
        self.closing = True
        connection = self.connection
        if connection is None or connection.is_closed:
            return
        if abort:
            self.abort()
            return
        if connection.is_open:
            connection.close()
        connection.ioloop.call_later(self.timeout, self.abort)

    def abort(self) -> None:
        """Drop the TCP connection without the closing handshake; ``on_connection_closed`` then stops the loop."""
        connection = self.connection
        if connection is None or connection.is_closed:
            return
        import pika.exceptions

        # pika has no public abort: this is what its own heartbeat checker calls when the peer goes silent.
        drop = getattr(connection, "_terminate_stream", None)
        if drop is None:
            connection.ioloop.stop()
        else:
            drop(pika.exceptions.StreamLostError(f"no answer within {self.timeout:g} s"))
