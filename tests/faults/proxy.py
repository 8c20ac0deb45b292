"""A small HTTP-aware TCP proxy on loopback, in front of the REAL session node, that injects faults.

It forwards every request to the broker and relays the broker's answer, except for the requests a test
told it to spoil (``inject``): the next ``count`` requests whose method and path match get

- ``cut``: the broker's answer, cut after ``at`` bytes (head included), then the connection closed;
- ``short_length``: the broker's answer with its Content-Length rewritten to half the body;
- ``reset_before``: a TCP reset before anything is forwarded (the broker never sees the request);
- ``reset_after``: the request forwarded and answered by the broker, then a TCP reset instead of the answer;
- ``status``: a canned answer with HTTP ``status`` (502, 503, 504), not forwarded;
- ``not_json``: a canned ``200 OK`` HTML page, not forwarded;
- ``stall``: nothing forwarded, nothing answered, the connection held open for ``seconds``;
- ``hold``: the request forwarded; the broker's answer (if one comes) held back until ``release`` is set
  (at most ``seconds``), then a TCP reset: the answer is lost with its node whenever the test kills it.

No fake server stands in for the broker: every answer that is not canned is the broker's own.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Match = Callable[[str, str], bool]


def any_request(_method: str, _path: str) -> bool:
    return True


@dataclass
class Fault:
    kind: str
    count: int
    match: Match = any_request
    at: int = 100
    status: int = 503
    seconds: float = 30.0
    release: threading.Event = field(default_factory=threading.Event)
    hits: list[str] = field(default_factory=list)


@dataclass
class Seen:
    method: str
    path: str
    fault: str | None


class FaultProxy:
    """Start with ``FaultProxy(port).start()``; ``url`` is its address; ``stop()`` closes it."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, kind: str, count: int = 1, match: Match = any_request, **options: Any) -> Fault:
        fault = Fault(kind, count, match, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.seen.clear()

    def _take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.match(method, path):
                    fault.count -= 1
                    fault.hits.append(f"{method} {path}")
                    self.seen.append(Seen(method, path, fault.kind))
                    return fault
            self.seen.append(Seen(method, path, None))
        return None

    # -- one client connection ---------------------------------------------------------------------------
    def _serve(self, client: socket.socket) -> None:
        client.settimeout(120)
        reader = client.makefile("rb")
        try:
            while True:
                request = _read_message(reader, is_response=False)
                if request is None:
                    return
                head, _ = request
                method, path = head.split(b" ", 2)[:2]
                fault = self._take(method.decode(), path.decode().split("?")[0])
                if not self._answer(client, request, fault):
                    return
        except (OSError, ValueError):
            return
        finally:
            reader.close()
            client.close()

    def _answer(self, client: socket.socket, request: tuple[bytes, bytes], fault: Fault | None) -> bool:
        """Answer one request; False when the client connection is finished."""
        kind = fault.kind if fault else None
        if kind == "reset_before":
            _reset(client)
            return False
        if kind == "stall":
            time.sleep(fault.seconds if fault else 0)
            return False
        if kind == "status":
            code = int(fault.status) if fault else 503
            body = b'{"error":"proxy","reason":"canned"}'
            reason = {502: "Bad Gateway", 503: "Service Unavailable"}.get(code, "Gateway Timeout")
            client.sendall(_canned(code, reason, body, "application/json"))
            return True
        if kind == "not_json":
            client.sendall(_canned(200, "OK", b"<html><body>Sign in to the corporate proxy</body></html>", "text/html"))
            return True
        head, body = request
        with socket.create_connection(self.upstream, timeout=120) as upstream:
            upstream.sendall(head + body)
            answer = _read_message(upstream.makefile("rb"), is_response=True)
        if answer is None:
            _reset(client)
            return False
        answer_head, answer_body = answer
        if kind == "hold" and fault is not None:
            fault.release.wait(fault.seconds)
            _reset(client)
            return False
        if kind == "reset_after":
            _reset(client)
            return False
        if kind == "cut":
            whole = answer_head + answer_body
            client.sendall(whole[: int(fault.at) if fault else 0])
            client.shutdown(socket.SHUT_RDWR)
            return False
        if kind == "short_length":
            short = max(1, len(answer_body) // 2)
            answer_head = _set_length(answer_head, short)
            client.sendall(answer_head + answer_body)
            return False
        client.sendall(answer_head + answer_body)
        return True


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _canned(status: int, reason: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _headers(head: bytes) -> dict[bytes, bytes]:
    result = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        result[name.strip().lower()] = value.strip()
    return result


def _set_length(head: bytes, length: int) -> bytes:
    lines = [
        line if not line.lower().startswith(b"content-length:") else b"content-length: " + str(length).encode()
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines)


def _read_message(reader, *, is_response: bool) -> tuple[bytes, bytes] | None:  # type: ignore[no-untyped-def]
    """One HTTP/1.1 message: (head with its blank line, body as sent). None at end of stream."""
    lines = []
    while True:
        line = reader.readline(65536)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    head = b"".join(lines)
    headers = _headers(head.rstrip(b"\r\n"))
    if b"content-length" in headers:
        body = reader.read(int(headers[b"content-length"]))
        return head, body
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size_line = reader.readline()
            chunks.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data = reader.read(size + 2)
            chunks.append(data)
            if size == 0:
                return head, b"".join(chunks)
    status = head.split(b" ", 2)[1] if is_response else b""
    if is_response and status not in (b"204", b"304") and not status.startswith(b"1"):
        return head, reader.read()  # delimited by the end of the connection
    return head, b""
