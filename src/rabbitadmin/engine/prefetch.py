"""Reading the server while the topology file is still being validated.

A plan needs two things: the file's topology and the server's state. Reading a large vhost keeps the
server busy for about a second while the client only waits; validating the same file keeps the client's
CPU busy for about half a second. The vhosts to read are known as soon as the file is parsed, so the read
can start then, on a background thread, and the two overlap (``loader.load_topology(on_scope=...)``).

Nothing changes for correctness: the read is the same ``read_state`` call, made a few hundred
milliseconds earlier, and its result is used only if validation ends with exactly the scope it was made
for. Its errors (connection refused, bad credentials) are raised only when the state is asked for, so an
invalid file still reports its own problems first. The thread is a daemon: a process that stops early
(invalid file, Ctrl-C) does not wait for a read nobody needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection

from rabbitadmin.backends.base import Backend
from rabbitadmin.model import Topology
from rabbitadmin.threads import helper_thread


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

    def backend(self) -> Backend:
        """The backend (built now if the background read has not built it); raises what building raised."""
        with self._connect_lock:
            if self._backend is None and self._connect_error is None:
                try:
                    self._backend = self._connect()
                except BaseException as exc:  # kept for the caller's thread: re-raised below
                    self._connect_error = exc
            if self._connect_error is not None:
                raise self._connect_error
            assert self._backend is not None
            return self._backend

    def start(self, vhosts: frozenset[str]) -> None:
        """Begin reading the state of ``vhosts`` (and the global objects) in the background."""
        if self._thread is not None:
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

    def state_for(self, vhosts: Collection[str]) -> Topology | None:
        """The state read in the background if it was read for exactly ``vhosts``, else None.

        Waits for the read to finish; raises what the read raised.
        """
        if self._thread is None or self._scope != frozenset(vhosts):
            return None
        self._thread.join()
        if self._read_error is not None:
            raise self._read_error
        return self._state

    def close(self) -> None:
        """Close the backend if it was built (a read still running is abandoned)."""
        with self._connect_lock:
            backend = self._backend
        if backend is not None and (self._thread is None or not self._thread.is_alive()):
            backend.close()
