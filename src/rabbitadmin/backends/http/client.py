"""A thin, thread-safe client for the RabbitMQ management HTTP API.

Every path segment is percent-encoded with nothing left safe, so vhost ``/`` becomes ``%2F`` and names
with spaces, ``#``, ``%`` or non-ASCII characters reach the server intact. Each thread gets its own
keep-alive ``requests.Session``. Errors carry the server's reason, the method and the path, never the
request body (which may hold a password hash), and name the server through ``redact_url``.

Transport faults (documented in docs/connection.md and docs/exit-codes.md):

- A connection that cannot be opened is retried by urllib3's ``Retry`` mounted on the adapter (nothing
  was sent, so this is safe for writes too); then ``ConnectionFailed`` (exit 3).
- A GET answered 502/503/504 is retried by the same ``Retry``, with backoff; then ``ConnectionFailed``.
- A GET whose answer is reset or cut short (a body shorter than its Content-Length, or JSON that ends
  early) is retried with tenacity (``READ_ATTEMPTS`` tries within ``READ_RETRY_SECONDS``); then
  ``ConnectionFailed`` (reset, cut) or ``MalformedResponse`` (exit 1, JSON that never parses).
- A GET answered with something that is not JSON at all (an HTML page: the URL is not the API) is not
  retried: ``MalformedResponse``.
- No answer within ``timeout``: ``RequestTimeout`` (exit 10); not retried (it would multiply the wait). Nor
  is a GET the early read sent and got no answer to in time (``early_read.fetch.TimedOut``): its wait is spent, and
  the client reports it as its own timeout (``_early_timeout``) instead of sending it again; an early read's
  other faults (refused, reset, cut) are sent again here, as cheap to retry.
- A write (PUT, POST, DELETE) is never re-sent once it may have reached the server: when its answer is
  lost (reset, cut, timeout, 502/503/504, an answer that is not the API's) it raises ``AnswerLost``, and
  the backend reads the object back to say whether it was done.

Failover (a cluster: ``ConnectionSettings.urls`` lists several nodes; docs/clusters.md): requests go to one
node, the first that answers. When the node in use cannot be connected to (nothing was sent, so this is
safe for writes too), or a GET finds it unavailable (502/503/504 on every try, its answers reset or cut on
every try, no answer within ``timeout``), the client moves to the next node and sends the request there;
every thread follows. Each move is told to ``settings.on_failover(from, to, reason)`` and counted in
``failovers``. A write whose answer was lost is not re-sent here: the backend reads it back (through the
node now in use; settle.py). The waits stay bounded: each node is tried at most once per request.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from rabbitadmin import early_read
from rabbitadmin.connection import CONNECT_TIMEOUT, ConnectionSettings
from rabbitadmin.early_read.fetch import TimedOut
from rabbitadmin.errors import (
    AnswerLost,
    ConnectionFailed,
    ExitCode,
    MalformedResponse,
    RabbitAdminError,
    RequestTimeout,
    ServerError,
)
from rabbitadmin.server_reason import json_reason, readable_reason
from rabbitadmin.urls import redact_url

if TYPE_CHECKING:
    import requests
    from urllib3.util.retry import Retry

JSON = Any

#: A GET whose answer was reset or cut is tried at most this many times, for at most this long.
READ_ATTEMPTS = 4
READ_RETRY_SECONDS = 30.0
#: Connections refused (or not opened) are retried this many times; GETs answered 502/503/504 too.
CONNECT_RETRIES = 3
GATEWAY_RETRIES = 3
GATEWAY_STATUSES = frozenset({502, 503, 504})

#: How a lost write's message ends until the write is read back (``settle``).
MAYBE_CARRIED_OUT = "it may or may not have been carried out"
#: Answers any user whose credentials the server accepts.
WHOAMI = "/api/whoami"


def retry_policy() -> Retry:
    """urllib3's ``Retry`` for the adapter: connections not opened (any method), GETs answered 502/503/504.

    Resets and timeouts after a request was sent are not retried here (``read=False``): GETs are retried a
    level up, where a body cut short is seen too, and writes are never re-sent.
    """
    from urllib3.util.retry import Retry

    return Retry(
        total=CONNECT_RETRIES + GATEWAY_RETRIES,
        connect=CONNECT_RETRIES,
        read=False,
        status=GATEWAY_RETRIES,
        other=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=GATEWAY_STATUSES,
        backoff_factor=0.25,
        backoff_max=2.0,
        raise_on_status=False,
        respect_retry_after_header=False,  # a proxy's Retry-After could exceed any bound we promise
    )


class _Transient(Exception):
    """A GET's answer was reset or cut: worth another try; ``error`` is what to raise when tries run out."""

    def __init__(self, error: RabbitAdminError) -> None:
        super().__init__(str(error))
        self.error = error


class _NodeDown(Exception):
    """The node in use cannot be reached: worth sending to another node; ``error`` is what to raise else."""

    def __init__(self, error: RabbitAdminError, reason: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.reason = reason


class HttpClient:
    """Sends requests to the node in use of ``settings.urls``; see the module docstring."""

    def __init__(self, settings: ConnectionSettings, pool_size: int = 32) -> None:
        self.settings = settings
        self._local = threading.local()
        self._pool_size = pool_size
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._urls = tuple(url.rstrip("/") for url in settings.urls)
        self._current = 0
        #: How many times the client moved to another node (a write sent before a move went to the old one).
        self.failovers = 0

    @property
    def current_url(self) -> str:
        """The URL of the node in use (without credentials)."""
        return self._urls[self._current]

    def _move_on(self, failed: int, tried: set[int], reason: str) -> bool:
        """After node ``failed`` could not be reached: make another untried node current (unless another
        thread already did); False when every node was tried."""
        with self._lock:
            if self._current != failed and self._current not in tried:
                return True
            for step in range(1, len(self._urls)):
                candidate = (failed + step) % len(self._urls)
                if candidate not in tried:
                    self._current = candidate
                    self.failovers += 1
                    if self.settings.on_failover is not None:
                        self.settings.on_failover(
                            redact_url(self._urls[failed]), redact_url(self._urls[candidate]), reason
                        )
                    return True
            return False

    def _on_any_node(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: JSON,
        ok_statuses: tuple[int, ...],
        parse: bool,
        headers: dict[str, str] | None = None,
        wait: float | None = None,
        down_already: frozenset[int] = frozenset(),
    ) -> tuple[requests.Response, JSON]:
        """``_send`` to the node in use, moving on to the next node while one cannot be reached (not to those of
        ``down_already``: a node whose early answer timed out was tried once for this request)."""
        tried: set[int] = set(down_already)
        while True:
            index = self._current
            try:
                return self._send(self._urls[index], method, path, params, body, ok_statuses, parse, headers, wait)
            except _NodeDown as down:
                tried.add(index)
                self._move_on_or_raise(index, tried, down)

    def _move_on_or_raise(self, index: int, tried: set[int], down: _NodeDown) -> None:
        """After node ``index`` could not be reached for a request: make an untried node current, or raise
        ``down``'s error (saying that no node answered, for a cluster) when every node was tried."""
        if self._move_on(index, tried, down.reason):
            return
        if len(self._urls) > 1:
            every = ", ".join(redact_url(url) for url in self._urls)
            raise type(down.error)(f"{down.error}; no node of the cluster answered ({every})") from None
        raise down.error from None

    @property
    def _cert(self) -> str | tuple[str, str] | None:
        if not self.settings.client_cert:
            return None
        if self.settings.client_key:
            return (self.settings.client_cert, self.settings.client_key)
        return self.settings.client_cert

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            # requests (with urllib3 and tenacity) is loaded by the first request sent: a plan whose every GET
            # the early read answered never loads it (about 50 ms of start-up).
            import requests

            from rabbitadmin.backends.http.deadline import DeadlineAdapter

            session = requests.Session()
            password = self.settings.password.reveal() if self.settings.password else ""
            session.auth = (self.settings.user, password)
            adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=self._pool_size, max_retries=retry_policy())
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["content-type"] = "application/json"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: JSON = None,
        ok_statuses: tuple[int, ...] = (),
        headers: dict[str, str] | None = None,
        wait: float | None = None,
    ) -> requests.Response:
        """Send one request; raise ``ServerError`` unless it succeeded or its status is in ``ok_statuses``.

        Transport faults raise as the module docstring says (``ConnectionFailed``, ``RequestTimeout``,
        ``MalformedResponse``, and ``AnswerLost`` for a write). ``headers``: extra request headers (e.g. the
        ``X-Reason`` of a connection close). ``wait``: seconds to wait for this write's answer instead of
        ``--timeout`` (a definitions import answers when all of it is done; see ``import_wait``).
        """
        return self._call(
            method, path, params=params, body=body, ok_statuses=ok_statuses, parse=False, headers=headers, wait=wait
        )[0]

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: JSON = None,
        ok_statuses: tuple[int, ...] = (),
        parse: bool,
        headers: dict[str, str] | None = None,
        wait: float | None = None,
        down_already: frozenset[int] = frozenset(),
    ) -> tuple[requests.Response, JSON]:
        if method != "GET":
            return self._on_any_node(method, path, params, body, ok_statuses, parse, headers, wait)
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

        for round_no in range(len(self._urls)):
            retrying = Retrying(
                stop=stop_after_attempt(READ_ATTEMPTS) | stop_after_delay(READ_RETRY_SECONDS),
                wait=wait_exponential(multiplier=0.25, max=2.0),
                retry=retry_if_exception_type(_Transient),
                reraise=True,
            )
            try:
                return retrying(
                    self._on_any_node, method, path, params, body, ok_statuses, parse, headers, None, down_already
                )
            except _Transient as exc:
                tries = retrying.statistics.get("attempt_number", READ_ATTEMPTS)
                error = type(exc.error)(f"{exc.error} (tried {tries} times)")
            # Answers reset or cut on every try: the node may be going down; another node may answer.
            index = self._current
            moved = self._move_on(index, {index, *down_already}, "its answers were reset or cut")
            if round_no == len(self._urls) - 1 or not moved:
                raise error from None
        raise AssertionError("unreachable: the last round returns or raises")

    def _send(
        self,
        base_url: str,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: JSON,
        ok_statuses: tuple[int, ...],
        parse: bool,
        headers: dict[str, str] | None = None,
        wait: float | None = None,
    ) -> tuple[requests.Response, JSON]:
        where = f"{method} {path}"
        shown = redact_url(base_url)
        timeout = self.settings.timeout if wait is None else wait
        write = method != "GET"
        allowed = "--timeout" if wait is None else "--timeout and the request's size"
        no_answer = f"{where}: no answer from {shown} within {timeout:g}s ({allowed})"
        session = self._session()
        import requests  # loaded by _session already: a name lookup
        from urllib3.exceptions import NewConnectionError, ReadTimeoutError

        from rabbitadmin.backends.http.deadline import bounded

        started = time.monotonic()
        try:
            # verify and cert go on each request: requests lets REQUESTS_CA_BUNDLE override session-level values.
            # ``timeout`` bounds each read; ``bounded`` the answer's whole head (a head sent a byte at a time).
            with bounded(started + timeout):
                response = session.request(
                    method,
                    base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                    verify=self.settings.verify,
                    cert=self._cert,
                    stream=True,
                )
            # The body as it arrives (chunk_size None: what each read brings, not requests' 10 KB at a time, each
            # of which must win the GIL back while another thread is busy: a 2 MB listing took twice as long).
            # ``timeout`` bounds each read, not the whole answer: a server that sends a byte a second would
            # never be done. The whole answer must be in within ``timeout`` of the request's start too.
            response._content = _read_within(response, started + timeout)
        except requests.exceptions.SSLError as exc:
            raise ConnectionFailed(
                f"TLS handshake with {shown} failed ({_tls_reason(exc)}); check the CA bundle "
                "(--ca-bundle) and client certificate (--client-cert, --client-key), or --insecure to skip verification"
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise _NodeDown(
                ConnectionFailed(
                    f"cannot connect to {shown}: no connection within {min(CONNECT_TIMEOUT, timeout):.0f}s "
                    f"({CONNECT_RETRIES + 1} attempts); is the host reachable?"
                ),
                "no connection within the connect timeout",
            ) from None
        except (requests.exceptions.ReadTimeout, _TooSlow):
            raise _lost_or(write, no_answer, timeout=True, hung=f"no answer within {timeout:g}s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            if time.monotonic() >= started + timeout:  # a head cut at the deadline may read as a short body
                raise _lost_or(write, no_answer, timeout=True, hung=f"no answer within {timeout:g}s") from None
            cut = f"{where}: the answer from {shown} was cut short (the connection closed mid-body)"
            raise _lost_or(write, cut) from None
        except requests.exceptions.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
            if isinstance(reason, NewConnectionError):
                raise _NodeDown(
                    ConnectionFailed(
                        f"cannot connect to {shown} ({CONNECT_RETRIES + 1} attempts; is the management plugin "
                        "enabled and the URL right?)"
                    ),
                    "connection refused",
                ) from None
            if isinstance(reason, ReadTimeoutError):
                raise _lost_or(write, no_answer, timeout=True, hung=f"no answer within {timeout:g}s") from None
            if time.monotonic() >= started + timeout:  # the head was not in by the deadline: its socket was shut
                raise _lost_or(write, no_answer, timeout=True, hung=f"no answer within {timeout:g}s") from None
            reset = f"{where}: the connection to {shown} was reset before the answer was complete"
            raise _lost_or(write, reset) from None
        status = response.status_code
        if status == 401:
            if path != WHOAMI and self._credentials_accepted(base_url):
                raise ServerError(method, path, status, self._access_refused(response))
            raise ConnectionFailed(f"the server refused the credentials of user {self.settings.user!r} ({where})")
        if status in GATEWAY_STATUSES and status not in ok_statuses:
            answer = f"HTTP {status} {response.reason or ''}".rstrip()
            if write:
                raise AnswerLost(f"{where}: {shown} answered {answer}: {MAYBE_CARRIED_OUT}")
            raise _NodeDown(
                ConnectionFailed(
                    f"{where}: {shown} answered {answer} on every attempt ({GATEWAY_RETRIES + 1}): the server, or "
                    "a proxy in front of it, is unavailable"
                ),
                f"it answered {answer}",
            )
        if status >= 400 and status not in ok_statuses:
            raise ServerError(method, path, status, _reason(response))
        payload: JSON = None
        if parse and not write and not response.content and status < 300:
            # Every listing and object has a JSON body: an empty one means the answer was cut in its head.
            raise _Transient(ConnectionFailed(f"{where}: the answer from {shown} was cut short (no body)"))
        if response.content and (parse or write):
            try:
                payload = response.json()
            except ValueError:
                payload = self._unreadable(where, shown, response, write)
        return response, payload

    def _credentials_accepted(self, base_url: str) -> bool:
        """Whether ``GET /api/whoami`` answers: a 401 elsewhere is then about what the user may do, not who it is
        (the management API answers 401 to both)."""
        try:
            self._send(base_url, "GET", WHOAMI, None, None, (), parse=False)
        except (RabbitAdminError, _Transient, _NodeDown):
            return False  # unsure: the 401 stays what it always meant
        return True

    def _access_refused(self, response: requests.Response) -> str:
        return (
            f"access refused to user {self.settings.user!r} ({_reason(response)}), whose credentials are valid: it "
            "lacks the tag or the permissions in the vhost this needs (the management API asks for permissions in "
            "a vhost to change its objects, administrators included: a permissions entry for the user, or "
            "rabbitmqctl set_permissions)"
        )

    def _unreadable(self, where: str, shown: str, response: requests.Response, write: bool) -> JSON:
        """An answer whose body does not parse: cut JSON is worth another try; anything else is not the API."""
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        size = len(response.content)
        if write:
            raise AnswerLost(
                f"{where}: the answer ({kind}, {size} bytes) is not the management API's: {MAYBE_CARRIED_OUT}"
            )
        if "json" in kind:
            raise _Transient(MalformedResponse(f"{where}: the answer ({size} bytes of JSON) was cut short or bad"))
        raise MalformedResponse(
            f"{where}: the answer is not JSON ({kind}, {size} bytes): is {shown} the management "
            "API (the URL, a proxy in between)?"
        )

    def get(self, path: str, params: dict[str, str] | None = None) -> JSON:
        """The JSON answer to ``GET path?params``: the early read's when it sent this very request with these
        settings to this node (``early_read.take``), else asked now. Raises as ``request`` does: an early
        request that got no answer in time is this request's timeout (``_early_timeout``)."""
        index = self._current
        taken = early_read.take(self.settings, self._urls[index], path, params, True)
        down = self._early_timeout(index, taken)
        if isinstance(taken, early_read.Taken) and taken.found:
            return taken.payload
        return self._call("GET", path, params=params, parse=True, down_already=down)[1]

    def get_or_none(self, path: str, params: dict[str, str] | None = None) -> JSON:
        """``get``, but None where the server answers 404 (a vhost that is gone, an API it lacks)."""
        index = self._current
        taken = early_read.take(self.settings, self._urls[index], path, params, True)
        down = self._early_timeout(index, taken)
        if isinstance(taken, early_read.Taken):
            return taken.payload if taken.found else None
        response, payload = self._call("GET", path, params=params, ok_statuses=(404,), parse=True, down_already=down)
        return None if response.status_code == 404 else payload

    def _early_timeout(self, index: int, taken: object) -> frozenset[int]:
        """For an early answer that timed out (``early_read.fetch.TimedOut``): the request's one wait is spent on node
        ``index``, so it is not sent there again. Raises the client's own ``RequestTimeout`` (the same message,
        naming the request that got no answer: the one asked for, or the one it was queued behind on the
        early read's connection), or for a cluster moves on to the next node, as a timeout of ``_send`` does,
        and returns the nodes tried (empty for anything else: the request is sent as usual)."""
        if not isinstance(taken, TimedOut):
            return frozenset()
        shown = redact_url(self._urls[index])
        message = f"GET {taken.listing.path}: no answer from {shown} within {taken.seconds:g}s (--timeout)"
        tried = {index}
        self._move_on_or_raise(index, tried, _NodeDown(RequestTimeout(message), f"no answer within {taken.seconds:g}s"))
        return frozenset(tried)

    def put(self, path: str, body: JSON) -> None:
        self.request("PUT", path, body=body)

    def post(self, path: str, body: JSON, wait: float | None = None) -> requests.Response:
        return self.request("POST", path, body=body, wait=wait)

    def delete(self, path: str, params: dict[str, str] | None = None) -> bool:
        """Delete; False when it was already gone (404), which reaches the desired state too."""
        response = self.request("DELETE", path, params=params, ok_statuses=(404,))
        return response.status_code != 404


class _TooSlow(Exception):
    """The answer's body was still arriving when the request's time was up."""


def _read_within(response: requests.Response, deadline: float) -> bytes:
    """``response``'s whole body, read as it arrives (``read1``: what one read of the socket brings, each read
    bounded by the read timeout); raises ``_TooSlow`` once ``deadline`` (monotonic) has passed, and what
    ``Response.iter_content`` raises for a body cut, undecodable or timed out (requests' own translation of
    urllib3's errors, so that the caller's handling is the same)."""
    import requests
    from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

    chunks = []
    try:
        while chunk := response.raw.read1(1 << 20, decode_content=True):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                response.close()
                raise _TooSlow
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    return b"".join(chunks)


def _lost_or(write: bool, message: str, *, timeout: bool = False, hung: str = "") -> Exception:
    """A lost answer: ``AnswerLost`` for a write; for a GET, a timeout (worth another node, not another try
    on the same one: it would multiply the wait) or a fault worth retrying."""
    code = ExitCode.TIMEOUT if timeout else ExitCode.CONNECTION
    if write:
        return AnswerLost(f"{message}: {MAYBE_CARRIED_OUT}", code)
    if timeout:
        return _NodeDown(RequestTimeout(message), hung or "no answer in time")
    return _Transient(ConnectionFailed(message))


def _tls_reason(exc: Exception) -> str:
    """The innermost SSL error's own words (certificate problems say what is wrong), without the URL."""
    text = str(exc)
    marker = text.rfind("SSLError(")
    if marker >= 0:
        text = text[marker + len("SSLError(") :]
    return text.strip("()'\" ")[:200] or type(exc).__name__


def _reason(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason or "no reason given"
    if isinstance(payload, dict):
        reason = payload.get("reason") or payload.get("error")
        if reason:
            return readable_reason(json_reason(reason))
    return str(payload)[:300]
