"""A server that answers a byte at a time never exceeds the timeout of one read: the whole answer is bounded by
``--timeout`` too (``HttpClient``: no answer within it is ``RequestTimeout``, exit 10; a write's is
``AnswerLost``). The peer is a socket that drips, standing for a fault of the network or a proxy, not a broker
(what a broker answers is tested against real nodes in tests/integration and tests/faults)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.connection import resolve_settings
from rabbitadmin.errors import AnswerLost, ExitCode, RequestTimeout


@pytest.fixture(params=["body", "head"])
def dripping_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An HTTP server that drips one byte every 0.2 s: its body after sending its head at once, or its head
    itself (status line and headers, which http.client reads a line at a time: up to 100 lines of 64 KiB)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n"

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                if request.param == "body":
                    conn.sendall(head + b"\r\n[")
                    dripped = b" "
                else:
                    conn.sendall(head)
                    dripped = b"x"  # part of a header line that never ends
                    conn.sendall(b"x-padding: ")
                while not stop.is_set():
                    conn.sendall(dripped)
                    time.sleep(0.2)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def test_a_dripping_answer_is_a_timeout_not_a_hang(dripping_url: str) -> None:
    client = HttpClient(resolve_settings(url=dripping_url, user="u", password="p", timeout=1.0, environ={}))
    started = time.monotonic()
    try:
        with pytest.raises(RequestTimeout) as raised:
            client.get("/api/vhosts")
    finally:
        client.close()
    assert time.monotonic() - started < 10  # about the timeout: each read alone never exceeded it
    assert raised.value.exit_code is ExitCode.TIMEOUT
    assert "no answer" in str(raised.value) and "within 1s" in str(raised.value)


def test_a_write_whose_answer_drips_is_an_answer_lost(dripping_url: str) -> None:
    client = HttpClient(resolve_settings(url=dripping_url, user="u", password="p", timeout=1.0, environ={}))
    try:
        with pytest.raises(AnswerLost) as raised:
            client.put("/api/vhosts/v", {})
    finally:
        client.close()
    assert raised.value.exit_code is ExitCode.TIMEOUT
