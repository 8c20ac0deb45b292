"""Reading the server while the topology file is still being parsed and validated.

A plan needs two things: the file's topology and the server's state. Reading a large vhost keeps the
server busy for a second or two while the client only waits; parsing and validating the same file keeps
the client's CPU busy for about a second. So the read starts as early as the file allows, on background
threads, and the two overlap:

- with a backend that can read vhost by vhost (``begin_read``: HTTP), each vhost's listings start as soon as
  the parser reaches its name (``loader``'s ``on_vhost``; measured on W(10000), the vhost's name comes
  half a second before the parse ends), and the state is assembled for whatever scope validation ends
  with: vhosts named but not in it are dropped, vhosts in it but never named are read then;
- otherwise (ctl, or a lock to take first), the whole read starts once the scope is known from the parsed
  file (``on_scope``), and is used only if validation ends with exactly that scope.

Nothing changes for correctness: the read is the same listings, made earlier. Its errors (connection
refused, bad credentials) are raised only when the state is asked for, so an invalid file still reports
its own problems first. The threads are daemons and their requests are abandoned on close: a process that
stops early (invalid file, Ctrl-C) does not wait for a read nobody needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Protocol

from rabbitadmin.backends.base import Backend
from rabbitadmin.model import Topology
from rabbitadmin.threads import helper_thread


class StateRead(Protocol):
    """A read of the state whose vhosts are named while it runs (``backends.http.state_read.StateRead``)."""

    def add_vhost(self, name: str) -> None: ...

    def result(self, vhosts: Collection[str] | None) -> Topology: ...

    def close(self) -> None: ...


class StatePrefetch:
    """One optional background ``read_state``; see the module docstring.

    ``connect`` builds the backend; it runs at most once, on whichever thread needs the backend first.
    ``before_read(backend, vhosts)`` runs on the reading thread just before the read (``apply`` takes its
    locks there, so that what it reads cannot change under it); what it raises is raised like a read error.
    """

    def __init__(
        self, connect: Callable[[], Backend], before_read: Callable[[Backend, frozenset[str]], None] | None = None
    ) -> None:
        self._connect = connect
        self._before_read = before_read
        self._backend: Backend | None = None
        self._connect_error: BaseException | None = None
        self._connect_lock = threading.Lock()
        self._scope: frozenset[str] | None = None
        self._thread: threading.Thread | None = None
        self._state: Topology | None = None
        self._read_error: BaseException | None = None
        self._stream: StateRead | None = None
        self._streams = before_read is None  # False once the backend is known not to read vhost by vhost
        #: A plan that counts messages (``--prune``) is coming: a backend that can list the queues' counts beside
        #: the state read (HTTP's ``read_depths``) is told so when it is built, before its first read.
        self.read_depths = False

    def backend(self) -> Backend:
        """The backend (built now if the background read has not built it); raises what building raised."""
        with self._connect_lock:
            if self._backend is None and self._connect_error is None:
                try:
                    self._backend = self._connect()
                except BaseException as exc:  # kept for the caller's thread: re-raised below
                    self._connect_error = exc
                if self.read_depths and self._backend is not None and hasattr(self._backend, "read_depths"):
                    self._backend.read_depths = True
            if self._connect_error is not None:
                raise self._connect_error
            assert self._backend is not None
            return self._backend

    def vhost_seen(self, name: str) -> None:
        """A vhost the file names, as the parser reaches it: its listings start now where the backend can read
        vhost by vhost and no lock is to be taken first; else nothing happens until ``start``."""
        self._stream_vhosts((name,))

    def start(self, vhosts: frozenset[str]) -> None:
        """Begin reading the state of ``vhosts`` (and the global objects) in the background."""
        if self._stream_vhosts(vhosts) or self._thread is not None:
            return
        self._scope = vhosts
        self._thread = helper_thread(self._read, "rabbitadmin-prefetch")
        self._thread.start()

    def _read(self) -> None:
        try:
            backend = self.backend()
            if self._before_read is not None and self._scope is not None:
                self._before_read(backend, self._scope)
            self._state = backend.read_state(self._scope)
        except BaseException as exc:
            self._read_error = exc

    def _stream_vhosts(self, names: Collection[str]) -> bool:
        """Name ``names`` to the vhost-by-vhost read (begun at the first name); False where there is none."""
        if not self._streams:
            return False
        if self._stream is None:
            try:
                backend = self.backend()  # builds it only (no request): cheap on the parser's thread
            except Exception:  # raised again when the state is asked for
                self._streams = False
                return False
            begin_read = getattr(backend, "begin_read", None)
            if begin_read is None:
                self._streams = False
                return False
            self._stream = begin_read()
        for name in names:
            self._stream.add_vhost(name)
        return True

    def state_for(self, vhosts: Collection[str]) -> Topology | None:
        """The state of ``vhosts`` read in the background: from the vhost-by-vhost read whatever its names, else
        the read made for exactly ``vhosts`` (None if it was made for another scope, or none was made).

        Waits for the read to finish; raises what the read raised.
        """
        if self._stream is not None:
            return self._stream.result(vhosts)
        if self._thread is None or self._scope != frozenset(vhosts):
            return None
        self._thread.join()
        if self._read_error is not None:
            raise self._read_error
        return self._state

    def close(self) -> None:
        """Close the backend if it was built. A read still running is abandoned: a backend that holds what must
        not outlive the command (the ctl backend's copy of the Erlang cookie, its rabbitmqctl processes) is told
        so (``abandon``); the others are left to the read (the process ends)."""
        if self._stream is not None:
            self._stream.close()
        with self._connect_lock:
            backend = self._backend
        if backend is None:
            return
        if self._thread is None or not self._thread.is_alive():
            backend.close()
            return
        abandon = getattr(backend, "abandon", None)
        if abandon is not None:
            abandon()
