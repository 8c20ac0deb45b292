"""The engine's front door: what the CLI, the Ansible module and the tutorials call to plan and apply.

    with EngineSession(connect, lock=LockOptions(lambda backend: AmqpTransport(settings))) as session:
        plan = session.plan_file("topology.yaml", prune=False)  # reads the server while the file validates
        ...                                                      # render it, check it, ask
        result = session.apply_plan(plan, allow_data_loss=False, stop=event, progress=callback)

``connect()`` builds the backend (``cli_support.make_backend``, or ``HttpBackend(settings)``); it runs once,
on whichever thread needs the backend first. With ``lock``, the per-vhost apply lock (``apply_lock``) of
every vhost in the plan's scope (and of every vhost a definitions file only refers to) is taken before the
server is read and held until the session closes, so what the plan read cannot change under the apply. A
plan-only caller (``rabbitadmin plan``, check mode) passes no lock, or calls ``plan_file``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from rabbitadmin.backends.base import Backend
from rabbitadmin.engine.apply import ApplyResult, Progress, execute_plan
from rabbitadmin.engine.apply_lock import ApplyLock, LockTransport, WaitNotice
from rabbitadmin.engine.plan import Plan
from rabbitadmin.engine.planner import make_plan
from rabbitadmin.engine.prefetch import StatePrefetch
from rabbitadmin.engine.replicas import replica_warnings
from rabbitadmin.loader import load_topology, load_topology_text
from rabbitadmin.model import Topology

#: Times a plan re-reads the server after locking vhosts another apply created meanwhile.
_LATE_LOCK_ROUNDS = 3


@dataclass(frozen=True)
class LockOptions:
    """The per-vhost apply lock an apply session takes (see ``apply_lock``).

    ``transport(backend)``: how the lock is taken for that backend, called once, at the first lock
    (``backends.factory.lock_transport``: on the node through rabbitmqctl for the ctl transport, over AMQP
    for HTTP; or ``lambda _: AmqpTransport(settings)``). ``timeout``: seconds to wait for a
    vhost whose lock another apply holds (0: fail at once), then ``ApplyLocked`` naming the holder.
    ``on_wait(vhost, holder)``: called once per vhost when waiting starts (holder None: not readable).
    """

    transport: Callable[[Backend], LockTransport]
    timeout: float = 30.0
    on_wait: WaitNotice | None = None


class EngineSession:
    """One plan and (optionally) its apply against one backend; see the module docstring.

    ``on_warning(text)`` receives the topology's warnings (e.g. an argument only some RabbitMQ versions
    refuse); None drops them. Leaving the ``with`` block (or ``close``) releases the locks and closes the
    backend.
    """

    def __init__(
        self,
        connect: Callable[[], Backend],
        *,
        lock: LockOptions | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self._lock_options = lock
        self._lock = None if lock is None else ApplyLock(None, timeout=lock.timeout, on_wait=lock.on_wait)
        self._on_warning = on_warning
        self._prefetch = StatePrefetch(connect, before_read=None if lock is None else self._take_locks)

    def __enter__(self) -> EngineSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def backend(self) -> Backend:
        """The backend (built now if not yet); raises what building it raised (e.g. ``ConnectionFailed``)."""
        return self._prefetch.backend()

    def load_file(
        self,
        path: str | Path,
        *,
        environ: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        definitions_vhost: str | None = None,
    ) -> Topology:
        """Load and validate a topology file (YAML or definitions JSON) while the server it names is read.

        ``environ``: where ``{env: NAME}`` password sources are read (default: the process environment).
        ``variables``: values for ``${name}`` references (``variables.py``).
        ``definitions_vhost``: the file is a per-vhost definitions export for this vhost.
        Raises ``TopologyError`` (every problem, with file and line); a read error is raised by ``plan``.
        """
        return load_topology(
            path,
            on_scope=self._prefetch.start,
            environ=environ,
            variables=variables,
            definitions_vhost=definitions_vhost,
            on_vhost=self._prefetch.vhost_seen,
        )

    def load_text(
        self, text: str, filename: str = "<topology>", *, environ: Mapping[str, str] | None = None
    ) -> Topology:
        """``load_file`` for a topology given as text; ``filename`` names it in problems."""
        prefetch = self._prefetch
        return load_topology_text(
            text, filename, on_scope=prefetch.start, environ=environ, on_vhost=prefetch.vhost_seen
        )

    def plan(self, desired: Topology, *, prune: bool = False) -> Plan:
        """The plan that makes the server match ``desired`` (writes nothing but the lock queues).

        Uses the state read while ``desired`` loaded when it was read for exactly its scope, else reads now.
        With a lock: takes the lock of every vhost in scope (and of every vhost a definitions file only refers
        to) first. Raises ``ApplyLocked``, ``LockUnavailable``, ``ConnectionFailed`` and the backend's other
        errors.
        """
        for warning in desired.warnings:
            if self._on_warning is not None:
                self._on_warning(str(warning))
        scope = desired.vhosts_in_scope()
        backend = self.backend
        actual = self._prefetch.state_for(scope)
        if self._lock is None:
            return self._with_cluster_warnings(make_plan(desired, backend, prune=prune, state=actual))
        if actual is None:
            self._take_locks(backend, frozenset(scope))
            actual = backend.read_state(scope)
        # A vhost that did not exist when the locks were taken but exists at the read (another apply just
        # created it) is locked and the state read again.
        for _ in range(_LATE_LOCK_ROUNDS):
            late = self._lock.unlocked({key[0] for key in actual.vhosts} & scope)
            if not late:
                break
            self._lock.acquire(late)
            actual = backend.read_state(scope)
        # The vhosts a definitions file only refers to are written too (its queues and bindings there): locked
        # as any vhost in scope, before ``make_plan`` reads them. One that does not exist is refused by the plan.
        referenced = desired.referenced_vhosts()
        if referenced:
            self._take_locks(backend, frozenset(referenced))
        plan = make_plan(desired, backend, prune=prune, state=actual, locked=True)
        return self._with_cluster_warnings(plan)

    def _with_cluster_warnings(self, plan: Plan) -> Plan:
        """``plan`` with a warning per queue it creates asking for more members than the cluster has nodes
        (``engine.replicas``); the backend is asked its node count only then, and only if it can tell."""
        cluster_size = getattr(self.backend, "cluster_size", None)
        if cluster_size is not None:
            plan.warnings.extend(replica_warnings(plan, cluster_size))
        return plan

    def plan_file(
        self,
        path: str | Path,
        *,
        prune: bool = False,
        environ: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        definitions_vhost: str | None = None,
    ) -> Plan:
        """``load_file`` then ``plan``. A prune plan counts what it deletes: the backend is told before it reads."""
        self._prefetch.read_depths = prune
        desired = self.load_file(path, environ=environ, variables=variables, definitions_vhost=definitions_vhost)
        return self.plan(desired, prune=prune)

    def apply_plan(
        self,
        plan: Plan,
        *,
        allow_data_loss: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        import_progress: Callable[[int, int], None] | None = None,
    ) -> ApplyResult:
        """Carry ``plan`` out (``apply.execute_plan``) with this session's backend, under its locks.

        Vhosts the plan creates are locked as soon as they exist. ``progress(count, what)`` after each
        step; once ``stop`` is set no new request starts. ``import_progress(seen, size)``: while a bulk
        import runs, how many of its objects the server shows (backends that can tell: HTTP). Raises
        ``Refused`` (data loss without ``allow_data_loss``), ``PartialApply`` (``ApplyInterrupted`` after
        ``stop``) with the result.
        """
        if import_progress is not None and hasattr(self.backend, "on_import_progress"):
            self.backend.on_import_progress = import_progress
        return execute_plan(
            plan,
            self.backend,
            allow_data_loss=allow_data_loss,
            progress=progress,
            on_vhosts_created=None if self._lock is None else self._lock.acquire_created,
            interrupt=stop,
        )

    def close(self) -> None:
        """Release the apply locks and close the backend (idempotent)."""
        try:
            self._prefetch.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def _take_locks(self, backend: Backend, vhosts: Collection[str]) -> None:
        """Lock ``vhosts``: on the node with a backend that has its own lock (ctl), else over AMQP."""
        assert self._lock is not None and self._lock_options is not None
        if self._lock.transport is None:
            self._lock.transport = self._lock_options.transport(backend)
        self._lock.read_holder = getattr(backend, "lock_holder", None)
        self._lock.acquire(vhosts)


def plan_file(
    path: str | Path,
    connect: Callable[[], Backend],
    *,
    prune: bool = False,
    on_warning: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Plan:
    """Plan a topology file against the server ``connect()`` reaches (read during validation), no lock;
    the backend is closed on return. Raises what ``EngineSession.load_file`` and ``plan`` raise."""
    with EngineSession(connect, on_warning=on_warning) as session:
        return session.plan_file(path, prune=prune, environ=environ, variables=variables)
