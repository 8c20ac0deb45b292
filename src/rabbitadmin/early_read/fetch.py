"""One listing fetched before ``requests`` is loaded, with the standard library's ``http.client``.

Only what a plan's read can use as it is: a 200 answer with a JSON body, or a 404 (``not_found``: what a
read of an API the server lacks, or of a vhost that is gone, takes as "none"). Any other fault (no
connection, a refusal, a reset, a body cut short, an answer that is not JSON) leaves no answer, and the read
sends the request again itself, through the client that reports such faults (``backends.http.client``):
those are cheap to try again. A timeout is not (``TimedOut``): no answer within the settings' timeout of the
request's start (for the first of a connection, before it was opened, as the client counts), whether the
socket's read timed out or the reader's wait reached that deadline, is the request's one wait spent; the
client reports it as its own timeout instead of waiting a second one. So is the wait of an answer queued
behind it on the same connection, never sent, and a TLS handshake with no answer in time (the client's own
timeout too). A connection not opened (even for want of time) is a fault: the client retries connections.

Nothing is printed or logged; the password is sent only in the ``Authorization`` header, as ``requests``
sends it. Opening the connection waits at most ``connection.CONNECT_TIMEOUT`` (as the client does), each
read at most the settings' timeout; the thread blocks SIGINT and SIGTERM, which stay the main thread's
(``threads.py``).

TLS as ``requests`` does it: the context is urllib3's own (``create_urllib3_context``: TLS 1.2 at least, no
host name taken from the certificate's CN, ...), verifying against the CA bundle given (``--ca-bundle``),
else the one ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, else ``certifi``'s; nothing under
``--insecure``; the client certificate and key given, if any. A key that needs a passphrase makes the
early read give up (OpenSSL would ask for it on the terminal).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from rabbitadmin.backends.http.paths import Listing
from rabbitadmin.connection import CONNECT_TIMEOUT, ConnectionSettings
from rabbitadmin.threads import helper_thread

HTTP_OK = 200
HTTP_NOT_FOUND = 404


class TimedOut(NamedTuple):
    """No answer within the timeout: ``listing`` is the request that got none (the one waited for, or the one
    before it on the same connection, which it was queued behind), ``seconds`` the timeout."""

    listing: Listing
    seconds: float


class _Turn:
    """Answers fetched one after the other over one connection, and where that stands (under ``changed``).

    ``at``: the index of the answer being fetched (``len(answers)``: the connection is done with); ``deadline``:
    that answer's, its request's start plus the timeout (the first's start is before the connection is
    opened, as the client counts its own); ``timed_out``: the index of the answer whose read timed out.
    """

    def __init__(self, answers: Sequence[EarlyAnswer], timeout: float) -> None:
        self.answers = answers
        self.timeout = timeout
        self.changed = threading.Condition()
        self.at = 0
        self.deadline = time.monotonic() + timeout
        self.connecting = True
        self.timed_out: int | None = None

    def advance(self, to: int, *, timed_out: bool = False) -> None:
        """Answer ``at`` is done (all of them from ``to`` on, when ``to`` is past the next one): the next one's
        request starts now. ``timed_out``: answer ``at`` got no answer in time."""
        with self.changed:
            if timed_out and self.timed_out is None:
                self.timed_out = self.at
            self.at = max(self.at, to)
            self.deadline = time.monotonic() + self.timeout
            self.changed.notify_all()

    def connected(self) -> None:
        with self.changed:
            self.connecting = False
            self.changed.notify_all()

    def wait_for(self, index: int) -> TimedOut | None:
        """Wait until answer ``index`` is done (None) or its request is out of time (``TimedOut``): at the
        deadline of the answer being fetched, it or one ahead of it has had its whole timeout. A connection
        still being opened at the deadline is waited for (bounded by the connect timeout, at most the
        timeout): not opened, it is a fault the client sends again, as it retries connections."""
        with self.changed:
            while True:
                if self.timed_out is not None and index >= self.timed_out:
                    return TimedOut(self.answers[self.timed_out].listing, self.timeout)
                if self.at > index:
                    return None
                left = self.deadline - time.monotonic()
                if left <= 0 and not self.connecting:
                    return TimedOut(self.answers[self.at].listing, self.timeout)
                self.changed.wait(left if left > 0 else None)


class EarlyAnswer:
    """The answer to one GET of ``listing`` from ``url`` with ``settings`` (``tls``: the context for an https
    URL, ``tls_context``; an https URL without one is never sent).

    ``start()`` fetches it on a daemon thread of its own (``fetch_in_turn`` fetches several over one);
    ``wait()`` waits for it until the request's own deadline (its start plus the settings' timeout, the most
    the client would have waited) and says whether it timed out (see the module docstring); then ``body()``
    gives the JSON body (bytes), or None when there is none to use, and ``not_found()`` whether the answer
    was a 404 (both wait as ``wait`` does).
    """

    def __init__(
        self, settings: ConnectionSettings, url: str, listing: Listing, tls: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.url = url
        self.listing = listing
        self.tls = tls
        self._turn: _Turn | None = None  # set once its thread runs
        self._index = 0
        self._body: bytes | None = None
        self._status = 0

    def start(self) -> None:
        fetch_in_turn([self])

    def wait(self) -> TimedOut | None:
        """Wait for the answer; ``TimedOut`` when it is not in by its deadline, or its read timed out."""
        return None if self._turn is None else self._turn.wait_for(self._index)

    def body(self) -> bytes | None:
        return self._body if self._turn is not None and self.wait() is None else None

    def not_found(self) -> bool:
        """Whether the server answered 404 (waits as ``body`` does)."""
        return self._turn is not None and self.wait() is None and self._status == HTTP_NOT_FOUND

    def _fetch(self, connection: http.client.HTTPConnection) -> None:
        """Send the GET on ``connection`` and keep a usable answer; raises for a fault of the connection."""
        split = urlsplit(self.url)
        connection.request("GET", self._target(split.path), headers=self._headers())
        response = connection.getresponse()
        kind = response.getheader("content-type", "")
        body = response.read()  # the whole answer, so that the connection can carry the next; IncompleteRead if cut
        if response.status == HTTP_NOT_FOUND:
            self._status = response.status
        elif response.status == HTTP_OK and "json" in kind and body:
            self._body = body

    def _target(self, base_path: str) -> str:
        query = urlencode(self.listing.params)
        return base_path.rstrip("/") + self.listing.path + (f"?{query}" if query else "")

    def _headers(self) -> dict[str, str]:
        password = self.settings.password.reveal() if self.settings.password is not None else ""
        # latin-1, as requests' HTTPBasicAuth encodes a str user and password
        token = base64.b64encode(f"{self.settings.user}:{password}".encode("latin-1")).decode("ascii")
        # Accept as requests sends it: 3.10.8 answers a route it lacks (its 404) with 406 to application/json.
        # identity: gzip saves nothing on a loopback server and the body is read whole anyway.
        return {"Authorization": f"Basic {token}", "Accept": "*/*", "Accept-Encoding": "identity"}


def fetch_in_turn(answers: Sequence[EarlyAnswer]) -> None:
    """Fetch ``answers`` (the same settings, URL and TLS context) one after the other over one connection, on
    one daemon thread: each is ready as soon as its own answer is in. The first fault ends the connection and
    leaves the answers not yet fetched without a body (a timeout: timed out, see the module docstring).
    Raises ``RuntimeError`` when the thread cannot start (then none of them is started)."""
    if not answers:
        return
    turn = _Turn(answers, answers[0].settings.timeout)
    thread = helper_thread(lambda: _run(turn), "rabbitadmin-early-read")
    thread.start()
    for index, answer in enumerate(answers):
        answer._turn, answer._index = turn, index


def _run(turn: _Turn) -> None:
    try:
        with contextlib.suppress(Exception):  # any fault: the read sends the requests left itself, and reports it
            _fetch_all(turn)
    finally:
        turn.connected()  # a connection never opened is done with too
        turn.advance(len(turn.answers))


def _fetch_all(turn: _Turn) -> None:
    answers = turn.answers
    connection = _connection(answers[0])
    if connection is None:
        return
    try:
        try:
            connection.connect()
        except TimeoutError:
            # HTTPSConnection keeps the TCP socket when its TLS handshake fails: opened, then no answer in time,
            # which urllib3 reports as a read timeout (the client's RequestTimeout). Not opened at all (no
            # socket): a connection the client retries, as it does its own.
            if connection.sock is not None:
                turn.connected()
                turn.advance(len(answers), timed_out=True)
            raise
        assert connection.sock is not None
        connection.sock.settimeout(turn.timeout)  # each answer, as the client's read timeout
        turn.connected()
        for index, answer in enumerate(answers):
            try:
                answer._fetch(connection)
            except TimeoutError:  # socket.timeout: the request's wait is spent, and those queued behind it
                turn.advance(len(answers), timed_out=True)
                raise
            turn.advance(index + 1)
    finally:
        connection.close()


def _connection(first: EarlyAnswer) -> http.client.HTTPConnection | None:
    split = urlsplit(first.url)
    host, port = split.hostname or "localhost", split.port
    connect_within = min(CONNECT_TIMEOUT, first.settings.timeout)
    if split.scheme == "https" and first.tls is not None:
        return http.client.HTTPSConnection(host, port, timeout=connect_within, context=first.tls)
    if split.scheme == "http":
        return http.client.HTTPConnection(host, port, timeout=connect_within)
    return None  # never https in the clear


def tls_context(settings: ConnectionSettings, environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context ``requests`` would verify with (see the module docstring): urllib3's, verifying
    against ``--ca-bundle`` (a file or a directory), else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``
    (``requests.Session.merge_environment_settings``), else ``certifi``'s bundle; not verifying under
    ``--insecure``. With ``--client-cert``, the certificate and its key (``--client-key``, or in the same
    file). Raises ``OSError`` or ``ssl.SSLError`` for a bundle or a certificate it cannot load, or a key
    that needs a passphrase."""
    from urllib3.util.ssl_ import create_urllib3_context  # only for https: requests loads it anyway

    if not settings.verify_tls:
        context = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    else:
        context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
        bundle = settings.ca_bundle or environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
        if not bundle:
            import certifi  # what requests' DEFAULT_CA_BUNDLE_PATH names

            bundle = certifi.where()
        if os.path.isdir(bundle):
            context.load_verify_locations(capath=bundle)
        else:
            context.load_verify_locations(cafile=bundle)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key or None, password=_no_passphrase)
    return context


def _no_passphrase() -> str:
    # Only the main client may ask for a passphrase (OpenSSL's own prompt would otherwise ask here).
    raise ssl.SSLError("the client key needs a passphrase")
