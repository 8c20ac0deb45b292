"""A deadline for the head of an HTTP answer (status line and headers), not only for each read of it.

requests' read timeout bounds each read of the socket: a server or proxy that sends its head a byte every few
seconds never exceeds it, and http.client reads up to 100 header lines of 64 KiB each. The body is bounded by
``client._read_within``; the head is bounded here: while a request's deadline is set (``bounded``), the
connection that waits for the answer's head asks a watchdog thread to shut its socket down at the deadline.
The blocked read then ends, and the client reports a timeout (``HttpClient._send``).

urllib3 2.x reads the head in ``HTTPConnection.getresponse()``; the connection classes here wrap it, and the
adapter (``DeadlineAdapter``) makes its pools use them, for direct and proxied connections alike.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

#: The monotonic time by which the answer being waited for in this thread must have its head (None: unbounded).
_DEADLINE: ContextVar[float | None] = ContextVar("rabbitadmin_http_deadline", default=None)


@contextmanager
def bounded(deadline: float) -> Iterator[None]:
    """Requests sent by this thread inside the block must have their answers' heads by ``deadline``
    (``time.monotonic()``); at the deadline their sockets are shut down."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class _Watchdog:
    """One daemon thread that calls each armed function once its time has come, unless cancelled first.
    A cancelled entry stays in the heap until its time (bounded: requests a second times the timeout)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._pending: set[int] = set()
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, when: float, action: Callable[[], None]) -> int:
        """Call ``action`` at ``when`` (monotonic) from the watchdog's thread; the number cancels it."""
        number = next(self._counter)
        with self._wake:
            heapq.heappush(self._due, (when, number, action))
            self._pending.add(number)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rabbitadmin-http-deadline", daemon=True)
                self._thread.start()
            self._wake.notify()
        return number

    def cancel(self, number: int) -> None:
        with self._wake:
            self._pending.discard(number)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and self._due[0][1] not in self._pending:
                    heapq.heappop(self._due)  # cancelled
                if not self._due:
                    self._wake.wait()
                    continue
                when, number, action = self._due[0]
                left = when - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._due)
                self._pending.discard(number)
            action()  # outside the lock: shutting a socket down never waits for it


_WATCHDOG = _Watchdog()


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


def _head_within(connection: HTTPConnection, read_head: Callable[[], HTTPResponse]) -> HTTPResponse:
    """``read_head()`` (urllib3 2.x ``getresponse``: the status line and headers) with this thread's deadline
    armed on ``connection``'s socket."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return read_head()
    number = _WATCHDOG.arm(deadline, lambda: _shut(connection))
    try:
        return read_head()
    finally:
        _WATCHDOG.cancel(number)


class _Connection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # urllib3 overrides http.client too
        return _head_within(self, super().getresponse)


class _TlsConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # urllib3 overrides http.client too
        return _head_within(self, super().getresponse)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


_POOLS: dict[str, Any] = {"http": _Pool, "https": _TlsPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections honour ``bounded``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
