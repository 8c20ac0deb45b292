"""A server that accepts connections and never answers costs a command one ``--timeout``, not two: no GET is sent
twice after it got no answer in time (docs/connection.md: a timeout is "not retried (it would multiply the
wait)"), the early read's included (``early_read``: a plan's GETs sent before ``requests`` loads; one that timed
out is the request's timeout, ``HttpClient._early_timeout``).

The peer is a listening socket that reads the requests and never answers: a fault of the network (a stopped
process behind a live listener, a firewall that lets the handshake through), not a broker. What is asserted is
what cannot depend on the machine's speed: how many times each request reached the peer, the exit code and the
message; never how long a run took.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from rabbitadmin import early_read
from rabbitadmin.backends.http.paths import VHOST_LISTING_KINDS, Listing, vhost_listing
from rabbitadmin.connection import resolve_settings
from rabbitadmin.early_read.fetch import EarlyAnswer, TimedOut, fetch_in_turn
from rabbitadmin.errors import ExitCode

TIMEOUT = "2"


class BlackHole:
    """A listener that accepts every connection, reads its requests and never answers: ``requests`` counts
    each request line received (method, path and query), ``connections`` the connections accepted."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.requests: Counter[str] = Counter()
        self.connections = 0
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed
                return
            reader = threading.Thread(target=self._read, args=(conn,), daemon=True)
            with self._lock:  # started before ``settle`` can see it: a thread not started cannot be joined
                self.connections += 1
                self._held.append(conn)
                self._readers.append(reader)
                reader.start()

    def _read(self, conn: socket.socket) -> None:
        pending = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:  # the client closed it (or exited)
                return
            pending += data
            while b"\r\n\r\n" in pending:  # GETs only: no body to skip
                head, pending = pending.split(b"\r\n\r\n", 1)
                with self._lock:
                    self.requests[head.split(b"\r\n", 1)[0].decode("latin-1")] += 1

    def settle(self) -> None:
        """Wait until every connection's requests are counted (the client exited: each read ends at EOF)."""
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.join(30)  # a bound for a broken test, not a measurement

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture(autouse=True)
def _no_answers_left() -> Iterator[None]:
    yield
    early_read.forget()


def command_env(*urls: str) -> dict[str, str]:
    """This environment without proxies or rabbitadmin settings (either would change what is sent), for ``urls``."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("RABBITADMIN")}
    env.update(RABBITADMIN_URLS=",".join(urls), RABBITADMIN_USER="u", RABBITADMIN_PASSWORD="p", NO_COLOR="1")
    return env


def topology(tmp_path: Path) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text("vhosts:\n  - name: v1\n    queues:\n      - name: q1\n  - name: v2\n")
    return path


COMMANDS = {
    "plan": ["plan", "{file}"],
    "plan --prune": ["plan", "--prune", "{file}"],
    "queues list": ["queues", "list"],
    "users list": ["users", "list"],
    "export": ["export"],
}


def test_each_command_sends_each_request_once_and_reports_one_timeout(tmp_path: Path) -> None:
    """Every command against its own black hole, all at once: each ends with the client's timeout (exit 10,
    naming the server and ``--timeout``), and no request reached the server twice. Before the early read's
    timeout counted, ``plan`` sent each of its first GETs again and waited a second timeout."""
    file = str(topology(tmp_path))
    holes = {name: BlackHole() for name in COMMANDS}
    try:
        runs = {
            name: subprocess.Popen(
                [sys.executable, "-m", "rabbitadmin", "--timeout", TIMEOUT, *(a.format(file=file) for a in argv)],
                env=command_env(holes[name].url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, argv in COMMANDS.items()
        }
        outcomes = {name: (run.wait(120), run.communicate()[1]) for name, run in runs.items()}
        for name, (code, stderr) in outcomes.items():
            hole = holes[name]
            hole.settle()
            assert code == ExitCode.TIMEOUT, (name, stderr)
            assert f"no answer from {hole.url} within {TIMEOUT}s (--timeout)" in stderr, (name, stderr)
            assert hole.requests, name
            twice = {line: n for line, n in hole.requests.items() if n > 1}
            assert not twice, (name, twice)
    finally:
        for hole in holes.values():
            hole.close()


def test_a_plan_that_times_out_early_moves_on_to_the_next_node_once(tmp_path: Path) -> None:
    """A cluster of two nodes that never answer: the early read's timeout on the first is the first node's try
    (the client moves on, as after a timeout of its own), the second is tried once, and the first is not tried
    again; the message says that no node answered."""
    first, second = BlackHole(), BlackHole()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "rabbitadmin", "--timeout", TIMEOUT, "plan", str(topology(tmp_path))],
            env=command_env(first.url, second.url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        first.settle()
        second.settle()
        assert run.returncode == ExitCode.TIMEOUT, run.stderr
        assert "no node of the cluster answered" in run.stderr
        assert first.requests and max(first.requests.values()) == 1, first.requests
        assert second.requests and max(second.requests.values()) == 1, second.requests
    finally:
        first.close()
        second.close()


def test_a_tls_handshake_with_no_answer_is_not_tried_again(tmp_path: Path) -> None:
    """Over https the black hole never answers the handshake (no request line ever arrives): the early read's
    handshake that got no answer in time is the request's timeout, as the client's own is, so the plan opens
    no connection besides the early read's (one per listing of each vhost named, one for the server's
    listings). Before, every read the early read had sent opened a connection of its own again."""
    hole = BlackHole()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "rabbitadmin", "--timeout", TIMEOUT, "plan", str(topology(tmp_path))],
            env=command_env(hole.url.replace("http:", "https:")),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        hole.settle()
        assert run.returncode == ExitCode.TIMEOUT, run.stderr
        assert f"no answer from {hole.url.replace('http:', 'https:')} within {TIMEOUT}s (--timeout)" in run.stderr
        assert hole.connections == len(VHOST_LISTING_KINDS) * 2 + 1  # two vhosts in the file
    finally:
        hole.close()


def test_an_answer_queued_behind_one_that_timed_out_timed_out_with_it(black_hole: BlackHole) -> None:
    """Three listings in turn over one connection: the first gets no answer, so the two behind it are never
    sent; all three are that first request's timeout (not "no answer", which the client would send again)."""
    settings_ = resolve_settings(url=black_hole.url, user="u", password="p", timeout=0.3, environ={})
    listings = [vhost_listing(kind, "v") for kind in ("exchange", "queue", "binding")]
    answers = [EarlyAnswer(settings_, black_hole.url, listing) for listing in listings]
    fetch_in_turn(answers)
    for answer in reversed(answers):  # the last first: it waits for those ahead of it
        assert answer.wait() == TimedOut(listings[0], 0.3)
        assert answer.body() is None and not answer.not_found()
    for answer, listing in zip(answers, listings, strict=True):
        early_read._answers[early_read._key(black_hole.url, *listing)] = answer
    assert early_read.take(settings_, black_hole.url, *listings[1], True) == TimedOut(listings[0], 0.3)
    assert early_read.take(settings_, black_hole.url, *listings[2]) is None  # without ``timeouts``: no answer
    black_hole.close()
    black_hole.settle()
    assert black_hole.requests == Counter({f"GET {_target(listings[0])} HTTP/1.1": 1})


def test_a_refused_connection_is_no_answer_to_send_again() -> None:
    """A fault other than a timeout (here nothing listens) leaves no answer and no timeout: the client sends the
    request itself, as cheap to retry."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{free.getsockname()[1]}"
    free.close()  # nothing listens there now: refused
    settings_ = resolve_settings(url=url, user="u", password="p", timeout=5, environ={})
    listing = vhost_listing("queue", "v")
    answer = EarlyAnswer(settings_, url, listing)
    answer.start()
    assert answer.wait() is None and answer.body() is None
    early_read._answers[early_read._key(url, *listing)] = answer
    assert early_read.take(settings_, url, *listing, True) is None


def _target(listing: Listing) -> str:
    query = urlencode(listing.params)
    return listing.path + (f"?{query}" if query else "")


def test_an_answer_queued_behind_a_slow_one_has_its_own_timeout() -> None:
    """Listings in turn over one connection: the second's request starts when the first's answer is in, and gets
    a whole timeout from then (as the client gives each request), even past the first one's deadline. The
    server drips the first answer (each read well within the timeout, the whole past it), tells the test once
    the second request has reached it, and answers that one a little later."""
    second_sent = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 6\r\n\r\n"

    def answer_in_turn() -> None:
        conn, _ = server.accept()
        with conn:
            pending = b""
            for first in (True, False):
                while b"\r\n\r\n" not in pending:
                    pending += conn.recv(65536)
                pending = pending.split(b"\r\n\r\n", 1)[1]
                if first:
                    conn.sendall(head)
                    for byte in b"[    ]":
                        threading.Event().wait(0.3)
                        conn.sendall(bytes([byte]))
                else:
                    second_sent.set()
                    threading.Event().wait(0.2)  # the old shared deadline had passed: not waited for
                    conn.sendall(head + b"[    ]")
            conn.recv(1)  # until the client closes

    threading.Thread(target=answer_in_turn, daemon=True).start()
    settings_ = resolve_settings(url=url, user="u", password="p", timeout=1.0, environ={})
    answers = [EarlyAnswer(settings_, url, vhost_listing(kind, "v")) for kind in ("exchange", "queue")]
    try:
        fetch_in_turn(answers)
        assert second_sent.wait(30)
        assert answers[1].wait() is None and answers[1].body() == b"[    ]"
        assert answers[0].body() == b"[    ]"  # in, late: taken as it is (no reader waited past its deadline)
    finally:
        server.close()
