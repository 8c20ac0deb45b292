"""The apply lock: one apply at a time per vhost, held by the broker itself and gone with its holder.

An exclusive queue belongs to the AMQP connection that declared it: a second declare of it from another
connection is refused with ``RESOURCE_LOCKED`` (405), and the broker deletes it when the connection closes,
whatever ended the process (``kill -9`` included: the kernel closes the socket). So an apply declares the
exclusive queue ``rabbitadmin.apply-lock`` in every vhost it is about to read and write, over its own AMQP
connection per vhost, and keeps the connections open (a thread answers the broker's heartbeats) until it
ends. The queue's arguments name the holder (host, process id, operating-system user, start time), which
``GET /api/queues/{vhost}/rabbitadmin.apply-lock`` or ``rabbitmqctl list_queues name arguments`` shows;
RabbitMQ stores arguments it does not know without checking them, and checks exclusivity before any
argument (``rabbit_amqqueue:assert_equivalence/5``), so a holder's own arguments never block the lock.

The lock needs the AMQP port (``RABBITADMIN_AMQP_PORT``, default 5672) on the management URL's host and the
``configure`` permission on the queue name in each vhost. Plans, exports, audits and access matrices never
see the queue (``is_apply_lock``); ``queues list`` does.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rabbitadmin.backends.http.amqp_probe import connect_failures, connection_parameters, handshake_dropped
from rabbitadmin.connection import DEFAULT_AMQP_PORT, ConnectionSettings
from rabbitadmin.errors import ApplyLocked, LockUnavailable, LockVhostMissing
from rabbitadmin.threads import helper_thread

#: AMQP connection attempts for the lock when the handshake fails (a refusal is not tried again).
CONNECT_ATTEMPTS = 3
#: The lock queue's name in every vhost (not ``amq.*``: clients may not declare those names).
LOCK_QUEUE = "rabbitadmin.apply-lock"
_PREFIX = "rabbitadmin-"
#: Seconds between two attempts while another apply holds the lock.
POLL_INTERVAL = 0.5
_RESOURCE_LOCKED = 405
_ACCESS_REFUSED = 403
_INTERNAL_ERROR = 541


def is_apply_lock(name: str) -> bool:
    """True for the apply lock's queue, which only the lock itself may touch."""
    return name == LOCK_QUEUE


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: readable by anyone who can list queues, and free of secrets."""

    host: str
    pid: int
    user: str
    started: str  # UTC, ISO 8601

    @classmethod
    def this_process(cls) -> Holder:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (containers)
            user = str(os.getuid())
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(socket.gethostname(), os.getpid(), user, started)

    def arguments(self) -> dict[str, Any]:
        """The lock queue's arguments that carry this holder."""
        return {
            f"{_PREFIX}host": self.host,
            f"{_PREFIX}pid": self.pid,
            f"{_PREFIX}user": self.user,
            f"{_PREFIX}started": self.started,
        }

    @classmethod
    def from_arguments(cls, arguments: dict[str, Any] | None) -> Holder | None:
        arguments = arguments or {}
        try:
            return cls(
                str(arguments[f"{_PREFIX}host"]),
                int(arguments[f"{_PREFIX}pid"]),
                str(arguments[f"{_PREFIX}user"]),
                str(arguments[f"{_PREFIX}started"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def __str__(self) -> str:
        return f"pid {self.pid} on host {self.host} (user {self.user}, since {self.started})"


HolderReader = Callable[[str], "Holder | None"]
WaitNotice = Callable[[str, "Holder | None"], None]


class Held(Protocol):
    """One vhost's lock, held until ``release``."""

    def release(self) -> None: ...


class LockTransport(Protocol):
    """How a lock queue is declared: over AMQP (``AmqpTransport``) or by rabbitmqctl (``CtlBackend``)."""

    def try_lock(self, vhost: str, arguments: dict[str, Any]) -> Held | None:
        """Declare the exclusive lock queue in ``vhost``: the held lock, or None if someone else holds it.

        Raises ``LockVhostMissing`` if the vhost does not exist, ``LockUnavailable`` if it cannot be tried.
        """
        ...


class _AmqpHeld:
    """A lock held over AMQP: the connection that owns the queue, and the thread that keeps it alive."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.stop = threading.Event()
        self.thread = helper_thread(self._keep, "rabbitadmin-apply-lock")
        self.thread.start()

    def _keep(self) -> None:
        # Only this thread uses the connection from now on (pika is not thread-safe): it answers
        # heartbeats until the apply ends, then closes the connection, which deletes the queue.
        # A lost connection has lost the lock: nothing to recover, the queue is gone with it.
        with contextlib.suppress(Exception):
            while not self.stop.is_set() and self.connection.is_open:
                self.connection.process_data_events(time_limit=0.5)
        _close_quietly(self.connection)

    def release(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):  # wakes the keeper now rather than at its next turn
            self.connection.add_callback_threadsafe(lambda: None)
        self.thread.join(10)


def _dropped(*_delivery: object) -> None:
    """The lock queue's consumer: a message published to it carries nothing for rabbitadmin."""


def queue_limit_refusal(vhost: str, server_words: str) -> LockUnavailable:
    """The error for a lock queue the server refused because ``vhost`` is at its max-queues (over AMQP: 406
    PRECONDITION_FAILED; on the node, 4.0: ``{error, queue_limit_exceeded, ...}``), in the server's words."""
    return LockUnavailable(
        f"cannot take the apply lock of vhost {vhost!r}: {server_words} (the lock is one exclusive queue while "
        "the apply runs); allow one more queue, or pass --no-lock"
    )


def _broker_words(exc: Exception) -> str:
    """The broker's reason in a pika connection refusal (its args end with the reply text)."""
    texts = [str(arg) for arg in exc.args if isinstance(arg, str)]
    return texts[-1] if texts else str(exc)


class AmqpTransport:
    """The lock queue declared over AMQP with the connection settings (the management URL's host, the AMQP
    port, the same user)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        logging.getLogger("pika").setLevel(logging.CRITICAL)  # failures are turned into our own errors

    def try_lock(self, vhost: str, arguments: dict[str, Any]) -> Held | None:
        import pika.exceptions

        connection = self._connect(vhost)
        try:
            channel = connection.channel()
            channel.queue_declare(LOCK_QUEUE, durable=False, exclusive=True, auto_delete=False, arguments=arguments)
            # A queue with a consumer is in use: a policy's ``expires`` (an ``.*`` clean-up policy, say) would
            # otherwise delete the lock queue once it has been unused that long, and with it the lock. Nothing is
            # published there; anything that is, is dropped.
            channel.basic_consume(LOCK_QUEUE, _dropped, auto_ack=True, exclusive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            _close_quietly(connection)
            if exc.reply_code == _RESOURCE_LOCKED:
                return None
            if exc.reply_code == _ACCESS_REFUSED:
                raise LockUnavailable(
                    f"cannot take the apply lock of vhost {vhost!r}: user {self.settings.user!r} may not declare "
                    f"the queue {LOCK_QUEUE!r} there (it needs the configure permission on that name); grant it, "
                    "or pass --no-lock"
                ) from None
            if "queue limit" in str(exc.reply_text):  # the vhost's max-queues is reached: the lock is one more queue
                raise queue_limit_refusal(vhost, str(exc.reply_text)) from None
            raise LockUnavailable(f"cannot take the apply lock of vhost {vhost!r}: {exc.reply_text}") from None
        except pika.exceptions.ConnectionClosedByBroker as exc:
            _close_quietly(connection)
            if exc.reply_code == _INTERNAL_ERROR:
                # RabbitMQ 4.0 words RESOURCE_LOCKED with the vhost's name and a long explanation; past 255
                # bytes (a vhost name longer than about 14 bytes) the reply overflows AMQP's short string and
                # the broker closes the connection with 541 instead of the channel with 405 (its log says
                # method_field_shortstr_overflow). So a 541 here is read as "held": were it anything else, the
                # wait would end at the lock timeout with an error that names no holder.
                return None
            raise LockUnavailable(
                f"lost the AMQP connection while taking the apply lock of vhost {vhost!r} "
                f"(ConnectionClosedByBroker: {exc.reply_code} {exc.reply_text})"
            ) from None
        except pika.exceptions.AMQPError as exc:
            _close_quietly(connection)
            raise LockUnavailable(
                f"lost the AMQP connection while taking the apply lock of vhost {vhost!r} ({type(exc).__name__})"
            ) from None
        return _AmqpHeld(connection)

    def _connect(self, vhost: str) -> Any:
        import pika
        import pika.exceptions
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        params = connection_parameters(self.settings, vhost, timeout=max(5.0, self.settings.timeout))
        where = f"{self.settings.host}:{self.settings.amqp_port or DEFAULT_AMQP_PORT}"
        # A busy broker may drop the AMQP handshake at any of its stages (its handshake_timeout; seen at load
        # 10): tried again, a bounded number of times. A refusal, an unreachable port or a TCP timeout is final
        # at once (another try would only multiply the wait).
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: handshake_dropped(exc) is not None),
            stop=stop_after_attempt(CONNECT_ATTEMPTS),
            wait=wait_exponential(multiplier=1, max=4),
            reraise=True,
        )
        try:
            try:
                return retrying(pika.BlockingConnection, params)
            except pika.exceptions.AMQPError as exc:
                dropped = handshake_dropped(exc)
                if dropped is None:
                    raise
                # pika names a lost stream after the stage it was lost in ("probable authentication error"):
                # saying the credentials were refused would send the operator after the wrong fault.
                raise LockUnavailable(
                    f"cannot take the apply lock over AMQP at {where}, {CONNECT_ATTEMPTS} tries: {dropped}; try "
                    "again, or pass --no-lock to apply without it"
                ) from None
        except pika.exceptions.ProbableAuthenticationError:
            raise LockUnavailable(
                f"cannot take the apply lock over AMQP at {where}: the broker refused the credentials of "
                f"{self.settings.user!r}; pass --no-lock to apply without it"
            ) from None
        except (pika.exceptions.ConnectionClosedByBroker, pika.exceptions.ProbableAccessDeniedError) as exc:
            if "not found" in str(exc):
                raise LockVhostMissing(vhost) from None
            if "connection limit" in str(exc):  # the vhost's or the user's max-connections (rabbit_reader)
                raise LockUnavailable(
                    f"cannot take the apply lock of vhost {vhost!r} over AMQP at {where}: {_broker_words(exc)} (the "
                    "lock holds one AMQP connection while the apply runs); raise the limit, or pass --no-lock"
                ) from None
            # Its credentials were accepted: the user has no permissions in the vhost, which the writes need too.
            raise LockUnavailable(
                f"cannot take the apply lock of vhost {vhost!r} over AMQP at {where}: access refused to user "
                f"{self.settings.user!r}, which has no permissions in that vhost; the management API refuses "
                "that user's changes to the vhost's objects as well (administrators too): grant them (a "
                "permissions entry for the user, or rabbitmqctl set_permissions)"
            ) from None
        except connect_failures() as exc:
            raise LockUnavailable(
                f"cannot take the apply lock over AMQP at {where} ({type(exc).__name__}): the lock needs the "
                "AMQP port (a target's amqp_port in the targets file, else RABBITADMIN_AMQP_PORT); pass --no-lock "
                "to apply without it"
            ) from None


class ApplyLock:
    """The apply locks of one process, by vhost; ``release`` (or leaving the ``with`` block) gives them up.

    ``transport``: an ``AmqpTransport`` or the ctl backend; a ``ConnectionSettings`` means AMQP with them;
    None: set ``transport`` before the first ``acquire``.
    ``timeout``: seconds to wait for a lock another apply holds (0: fail at once). ``read_holder(vhost)``
    names the holder for the error message (None: unknown). ``on_wait(vhost, holder)`` is called once per
    vhost when waiting starts.
    """

    def __init__(
        self,
        transport: LockTransport | ConnectionSettings | None,
        *,
        timeout: float = 30.0,
        read_holder: HolderReader | None = None,
        on_wait: WaitNotice | None = None,
    ) -> None:
        self.transport = AmqpTransport(transport) if isinstance(transport, ConnectionSettings) else transport
        self.timeout = timeout
        self.read_holder = read_holder
        self.on_wait = on_wait
        self.holder = Holder.this_process()
        self._held: dict[str, Held] = {}
        self.missing: set[str] = set()

    def __enter__(self) -> ApplyLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    @property
    def held(self) -> set[str]:
        return set(self._held)

    def acquire(self, vhosts: Iterable[str], *, wait: bool = True) -> None:
        """Take the lock of every vhost in ``vhosts`` that exists, in name order (two applies over the same
        vhosts never wait for each other in a circle). Vhosts that do not exist are added to ``missing``.

        Raises ``ApplyLocked`` (another apply holds one past the timeout; locks taken so far are kept until
        ``release``) or ``LockUnavailable`` (the broker cannot be reached, or refuses this user).
        """
        for vhost in sorted(set(vhosts) - set(self._held)):
            self._acquire_one(vhost, self.timeout if wait else 0.0)

    def acquire_created(self, vhosts: Iterable[str]) -> None:
        """Take at once the lock of vhosts this apply has just created (``execute_plan``'s hook).

        Another apply holding one created it at the same time, from a plan made when it did not exist: this
        apply's plan no longer holds, so it does not wait but raises ``ApplyLocked``.
        """
        for vhost in sorted(set(vhosts) - set(self._held)):
            try:
                self._acquire_one(vhost, 0.0)
            except ApplyLocked as exc:
                raise ApplyLocked(
                    f"vhost {vhost!r} did not exist when this apply planned and another apply created it at the "
                    f"same time; nothing else was written in it: run the same command again ({exc})"
                ) from None

    def unlocked(self, vhosts: Collection[str]) -> set[str]:
        return set(vhosts) - set(self._held)

    def release(self) -> None:
        held, self._held = self._held, {}
        for lock in held.values():
            lock.release()

    def _acquire_one(self, vhost: str, timeout: float) -> None:
        arguments = {"x-queue-type": "classic", **self.holder.arguments()}  # a quorum default would refuse it
        deadline = time.monotonic() + timeout
        noticed = False
        if self.transport is None:
            raise ValueError("ApplyLock.transport is not set")
        while True:
            try:
                held = self.transport.try_lock(vhost, arguments)
            except LockVhostMissing:
                self.missing.add(vhost)
                return
            if held is not None:
                self.missing.discard(vhost)
                self._held[vhost] = held
                return
            if time.monotonic() >= deadline:
                holder = self.read_holder(vhost) if self.read_holder is not None else None
                who = str(holder) if holder is not None else "a holder that could not be read"
                raise ApplyLocked(
                    f"another apply holds the apply lock of vhost {vhost!r}: {who}; gave up after {timeout:g} s "
                    f"(--lock-timeout); the lock is the exclusive queue {LOCK_QUEUE!r}, gone when that apply ends"
                )
            if not noticed and self.on_wait is not None:
                self.on_wait(vhost, self.read_holder(vhost) if self.read_holder is not None else None)
            noticed = True
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(Exception):  # closing a connection that failed
        if connection.is_open:
            connection.close()
