"""A raw TCP forwarder on loopback in front of the REAL session node's AMQP port, that cuts or stalls each
connection once the client has sent a given number of bytes (for faults part-way through AMQP declares), or
when the client's n-th read arrives, before it is passed on (for a handshake cut at a chosen stage: read 1 is
the protocol header, 2 connection.start-ok, 3 connection.tune-ok; each waits for the server's answer).

``drop``: both sockets are closed with a TCP RST, as a crashed peer or a middlebox would. ``stall``: the
server's answers are no longer passed on (the connection stays open, the client waits). Connections that
send fewer bytes (a short probe) pass untouched.
"""

from __future__ import annotations

import socket
import struct
import threading


class AmqpCut:
    """``AmqpCut(upstream_port, after=4000, mode="drop").start()``; ``port`` is its address; ``stop()``.
    ``at_read=n`` instead of ``after``: cut when the client's n-th read arrives, without passing it on.
    ``first``: cut only the first that many connections (None: every one); later ones pass untouched."""

    def __init__(
        self,
        upstream_port: int,
        *,
        after: int | None = None,
        at_read: int | None = None,
        mode: str,
        first: int | None = None,
    ) -> None:
        assert mode in ("drop", "stall") and (after is None) != (at_read is None)
        self.upstream_port, self.after, self.mode, self.first = upstream_port, after, mode, first
        self.at_read = at_read
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    def start(self) -> AmqpCut:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._closed.set()
        self.listener.close()
        for sock in self._sockets:
            _reset(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            server.settimeout(None)
            self._sockets += [client, server]
            stalled = threading.Event()
            self.accepted += 1
            cut = self.first is None or self.accepted <= self.first
            after, at_read = (self.after, self.at_read) if cut else (None, None)
            threading.Thread(target=self._up, args=(client, server, stalled, after, at_read), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, stalled), daemon=True).start()

    def _up(
        self,
        client: socket.socket,
        server: socket.socket,
        stalled: threading.Event,
        after: int | None,
        at_read: int | None,
    ) -> None:
        sent = reads = 0
        while True:
            try:
                data = client.recv(65536)
                if not data:
                    return
                reads += 1
                if reads != at_read:
                    server.sendall(data)
            except OSError:
                return
            sent += len(data)
            if (reads == at_read or (after is not None and sent >= after)) and not stalled.is_set():
                self.cuts += 1
                if self.mode == "drop":
                    _reset(client)
                    _reset(server)
                    return
                stalled.set()

    def _down(self, server: socket.socket, client: socket.socket, stalled: threading.Event) -> None:
        while True:
            try:
                data = server.recv(65536)
                if not data:
                    return
                if not stalled.is_set():
                    client.sendall(data)
            except OSError:
                return


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
