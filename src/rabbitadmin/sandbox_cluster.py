"""A private RabbitMQ cluster on this machine: N sandbox nodes joined into one cluster.

Layout of the cluster's directory::

    cluster.json            the cluster's name, node count and RabbitMQ version
    admin.password          the administrator's password (0600), the same on every node
    .erlang.cookie          the shared Erlang cookie (0600): nodes only talk to nodes with the same cookie
    node1/ node2/ ...       one ``Sandbox`` directory per node (its own ports, data, logs, config)

Node ``i`` is named ``<cluster name>-<i>@localhost`` and listens on its own free AMQP, management and
Erlang distribution ports on 127.0.0.1; all register with the machine's one epmd. Forming the cluster
follows RabbitMQ's clustering guide (https://www.rabbitmq.com/docs/clustering): every node boots on its
own, then each node from 2 on runs ``rabbitmqctl stop_app``, ``join_cluster <node 1>``, ``start_app``;
every step has a timeout. A node that is already a member (a restart with kept data, ``start_node``)
is not joined again: it finds its peers itself.

    cluster = SandboxCluster(Path("/tmp/c"), nodes=3, rabbitmq="4.0")
    cluster.start()                  # idempotent
    cluster.urls()                   # every node's management URL, node 1 first
    cluster.stop_node(2); cluster.start_node(2)
    cluster.stop()                   # every node, then the directory

Users, vhosts and every other definition are cluster-wide (one metadata store), so the administrator
and password from node 1's first boot hold on every node after the join.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from rabbitadmin.errors import SandboxError
from rabbitadmin.sandbox import (
    DEFAULT_VERSION,
    PASSWORD_FILE,
    STATE_FILE,
    VERSIONS,
    Sandbox,
    SandboxInfo,
    default_directory,
    make_private_dir,
    read_state_file,
    write_private,
)

CLUSTER_FILE = "cluster.json"
COOKIE_FILE = ".erlang.cookie"
#: Seconds one rabbitmqctl step of a join (stop_app, join_cluster, start_app) may take.
CTL_STEP_TIMEOUT = 120.0
MAX_NODES = 9

T = TypeVar("T")


@dataclass(frozen=True)
class ClusterState:
    """What ``cluster.json`` holds."""

    name: str
    nodes: int
    rabbitmq: str
    #: The TLS directory the nodes serve the management API with (see ``Sandbox``), kept for restarts.
    tls_dir: str | None = None


@dataclass(frozen=True)
class Member:
    """A cluster member as a running node's ``GET /api/nodes`` reports it."""

    name: str
    running: bool


@dataclass(frozen=True)
class NodeStatus:
    """One node: its index (1-based), its sandbox state ("running", "stopped", "crashed") and info."""

    index: int
    state: str
    info: SandboxInfo | None


@dataclass(frozen=True)
class ClusterStatus:
    """``state``: "running" (every node runs and every member is running in the cluster), "degraded"
    (some nodes run), "crashed" (none runs, some died) or "stopped" (none runs, or nothing there).

    ``members``: the membership as one running node sees it (``GET /api/nodes``), empty when none runs;
    ``seen_from``: that node's index.
    """

    state: str
    nodes: tuple[NodeStatus, ...]
    members: tuple[Member, ...]
    seen_from: int | None
    rabbitmq: str | None = None


def is_cluster_directory(directory: Path) -> bool:
    return (directory / CLUSTER_FILE).is_file()


def open_sandbox(
    directory: Path | None,
    *,
    nodes: int | None = None,
    management: bool = True,
    tls_dir: Path | None = None,
    rabbitmq: str | None = None,
    plugins: tuple[str, ...] | None = None,
) -> Sandbox | SandboxCluster:
    """The single node or the cluster kept in ``directory`` (default ``default_directory()``).

    ``nodes``: None takes what the directory holds (a single node if nothing); 1 asks for a single node,
    more for a cluster. Raises ``SandboxError`` when the directory holds the other kind, or a cluster of
    another size.
    """
    where = (directory or default_directory()).resolve()
    if plugins and (is_cluster_directory(where) or (nodes is not None and nodes > 1)):
        raise SandboxError("--plugins is for a single node (a cluster enables only the management plugin)")
    if is_cluster_directory(where):
        if nodes == 1:
            held = SandboxCluster(where).read_state()
            raise SandboxError(
                f"{where} holds a {held.nodes if held else 'multi'}-node cluster: stop it first "
                "(rabbitadmin sandbox stop), or use another --dir for a single node"
            )
        cluster = SandboxCluster(where, nodes=nodes, rabbitmq=rabbitmq, tls_dir=tls_dir, management=management)
        cluster.check_directory()
        return cluster
    if nodes is not None and nodes > 1:
        cluster = SandboxCluster(where, nodes=nodes, rabbitmq=rabbitmq, tls_dir=tls_dir, management=management)
        cluster.check_directory()
        return cluster
    return Sandbox(where, management=management, tls_dir=tls_dir, rabbitmq=rabbitmq, plugins=plugins)


class SandboxCluster:
    """N private nodes in one cluster, in ``directory``; see the module docstring."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        nodes: int | None = None,
        rabbitmq: str | None = None,
        tls_dir: Path | None = None,
        management: bool = True,
    ) -> None:
        """``nodes``: 2 to ``MAX_NODES``; None keeps the size of the cluster this directory holds (else 3).

        ``rabbitmq``: as for ``Sandbox``. The management plugin is required: membership is read from it.
        """
        if rabbitmq is not None and rabbitmq not in VERSIONS:
            raise SandboxError(f"unknown RabbitMQ version {rabbitmq!r} for a sandbox: use one of {', '.join(VERSIONS)}")
        if nodes is not None and not 2 <= nodes <= MAX_NODES:
            raise SandboxError(f"a sandbox cluster has 2 to {MAX_NODES} nodes, not {nodes}")
        if not management:
            raise SandboxError("a sandbox cluster needs the management plugin on every node (drop --no-management)")
        self.directory = (directory or default_directory()).resolve()
        self.requested_nodes = nodes
        self.rabbitmq = rabbitmq
        self.tls_dir = tls_dir

    # -- state -------------------------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.directory / CLUSTER_FILE

    def read_state(self) -> ClusterState | None:
        raw = read_state_file(self._state_path)
        return None if raw is None else ClusterState(**raw)

    def check_directory(self) -> None:
        """Refuse a directory holding a single node, or a cluster of another size or version."""
        if (self.directory / STATE_FILE).is_file():
            raise SandboxError(
                f"{self.directory} holds a single sandbox node: stop it first (rabbitadmin sandbox stop), "
                "or use another --dir for the cluster"
            )
        state = self.read_state()
        if state is None:
            return
        if self.requested_nodes is not None and self.requested_nodes != state.nodes:
            raise SandboxError(
                f"{self.directory} holds a {state.nodes}-node cluster: stop it first (rabbitadmin sandbox stop), "
                f"or use another --dir for {self.requested_nodes} nodes"
            )
        if self.rabbitmq is not None and self.rabbitmq != state.rabbitmq:
            raise SandboxError(
                f"{self.directory} holds a RabbitMQ {state.rabbitmq} cluster: stop it first "
                f"(rabbitadmin sandbox stop), or use another --dir for {self.rabbitmq}"
            )

    def _require_state(self) -> ClusterState:
        state = self.read_state()
        if state is None:
            raise SandboxError(f"no sandbox cluster in {self.directory}: run `rabbitadmin sandbox start --nodes 3`")
        return state

    def node(self, index: int) -> Sandbox:
        """The ``Sandbox`` of node ``index`` (1-based). Raises ``SandboxError`` for an unknown index."""
        state = self._require_state()
        return self._node(state, index)

    def _node(self, state: ClusterState, index: int) -> Sandbox:
        if not 1 <= index <= state.nodes:
            raise SandboxError(f"the cluster in {self.directory} has nodes 1 to {state.nodes}, not {index}")
        return Sandbox(
            self.directory / f"node{index}",
            rabbitmq=state.rabbitmq,
            tls_dir=Path(state.tls_dir) if state.tls_dir else None,
            nodename=f"{state.name}-{index}@localhost",
        )

    def nodes(self) -> list[Sandbox]:
        state = self._require_state()
        return [self._node(state, i) for i in range(1, state.nodes + 1)]

    def infos(self) -> list[SandboxInfo]:
        """Every node's info (ports, name), node 1 first; a node that never started is left out."""
        return [status.info for status in (box.status() for box in self.nodes()) if status.info is not None]

    def urls(self) -> list[str]:
        """Every node's management URL, node 1 first."""
        return [info.url for info in self.infos()]

    # -- life cycle --------------------------------------------------------------------------------------
    def start(self, timeout: float = 300.0) -> list[SandboxInfo]:
        """Start every node and form the cluster, or return the running one. Raises ``SandboxError``.

        Nodes boot in parallel; nodes 2.. that are not yet members join node 1. ``timeout`` bounds each
        phase (boot, each join step, the final membership check).
        """
        self.check_directory()
        state = self.read_state() or ClusterState(
            name=f"rabbitadmin-{secrets.token_hex(3)}",
            nodes=self.requested_nodes or 3,
            rabbitmq=self.rabbitmq or DEFAULT_VERSION,
            tls_dir=str(self.tls_dir.resolve()) if self.tls_dir else None,
        )
        fresh = self.read_state() is None
        make_private_dir(self.directory)
        self._write_shared_secrets(state)
        if fresh:
            write_private(self._state_path, json.dumps(asdict(state), indent=2))
        boxes = [self._node(state, i) for i in range(1, state.nodes + 1)]
        try:
            infos = _in_parallel([functools.partial(box.start, timeout) for box in boxes])
            self._join_strays(boxes, timeout)
            self._wait_members(boxes, boxes, timeout)
        except BaseException:
            if fresh:
                # Leave nothing running, but keep the logs for the error message and a look afterwards.
                _in_parallel([functools.partial(box.stop, keep_data=True) for box in boxes])
            raise
        return infos

    def stop(self, *, keep_data: bool = False) -> bool:
        """Stop every node (in parallel); remove the directory unless ``keep_data``. True if any node ran."""
        state = self.read_state()
        was_running = False
        if state is not None:
            boxes = [self._node(state, i) for i in range(1, state.nodes + 1)]
            was_running = any(_in_parallel([lambda box=box: box.stop(keep_data=True) for box in boxes]))  # type: ignore[misc]
        if not keep_data and self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)
        return was_running

    def stop_node(self, index: int) -> bool:
        """Stop node ``index`` (SIGTERM, then SIGKILL after 30 s), keeping its data and membership.

        The other nodes keep running; quorum queues keep working while a majority of their members runs.
        True if the node was running.
        """
        return self.node(index).stop(keep_data=True)

    def start_node(self, index: int, timeout: float = 300.0) -> SandboxInfo:
        """Start node ``index`` again (on its old ports when free) and wait until it runs in the cluster.

        A node that is a member rejoins by itself; one that is not (its start was interrupted before the
        join) joins a running member. Raises ``SandboxError``.
        """
        state = self._require_state()
        box = self._node(state, index)
        info = box.start(timeout)
        boxes = [self._node(state, i) for i in range(1, state.nodes + 1)]
        self._join_strays(boxes, timeout)
        running = [b for b in boxes if b.status().state == "running"]
        self._wait_members(boxes, running, timeout)
        return info

    def status(self) -> ClusterStatus:
        state = self.read_state()
        if state is None:
            return ClusterStatus("stopped", (), (), None)
        boxes = [self._node(state, i) for i in range(1, state.nodes + 1)]
        nodes = tuple(NodeStatus(i, s.state, s.info) for i, s in enumerate((b.status() for b in boxes), start=1))
        members: tuple[Member, ...] = ()
        seen_from = None
        for node in nodes:
            if node.state == "running" and node.info is not None:
                with contextlib.suppress(SandboxError):
                    members = tuple(self._members(node.info))
                    seen_from = node.index
                    break
        running = [n for n in nodes if n.state == "running"]
        if len(running) == len(nodes) and len(members) == len(nodes) and all(m.running for m in members):
            overall = "running"
        elif running:
            overall = "degraded"
        else:
            overall = "stopped" if all(n.state == "stopped" for n in nodes) else "crashed"
        return ClusterStatus(overall, nodes, members, seen_from, state.rabbitmq)

    def env_exports(self) -> str:
        """Node 1's ``Sandbox.env_exports`` lines, then ``RABBITADMIN_URLS``: every node's URL, comma-separated."""
        boxes = self.nodes()
        return boxes[0].env_exports() + f"\nexport RABBITADMIN_URLS={','.join(self.urls())}"

    # -- internals ---------------------------------------------------------------------------------------
    def _write_shared_secrets(self, state: ClusterState) -> None:
        """One password and one Erlang cookie for the whole cluster, copied into every node's directory."""
        password = self.directory / PASSWORD_FILE
        cookie = self.directory / COOKIE_FILE
        if not password.exists():
            write_private(password, secrets.token_urlsafe(24) + "\n")
        if not cookie.exists():
            write_private(cookie, secrets.token_hex(16).upper())
        for i in range(1, state.nodes + 1):
            node_dir = self.directory / f"node{i}"
            node_dir.mkdir(exist_ok=True)
            os.chmod(node_dir, 0o700)
            for shared in (password, cookie):
                copy = node_dir / shared.name
                if not copy.exists():
                    write_private(copy, shared.read_text())

    def _members(self, info: SandboxInfo, timeout: float = 10.0) -> list[Member]:
        """The cluster's members as node ``info`` sees them (``GET /api/nodes``). Raises ``SandboxError``."""
        import requests  # here: cli.py imports this module, and a plan need not load requests (early_read)

        try:
            response = requests.get(
                f"{info.url}/api/nodes?columns=name,running",
                auth=(info.user, info.password()),
                timeout=timeout,
                verify=info.ca_file or True,
                cert=info.client_cert,
            )
            response.raise_for_status()
            rows = response.json()
        except (requests.RequestException, ValueError, OSError) as exc:
            raise SandboxError(f"cannot read the cluster's members from {info.url}: {exc}") from exc
        return [Member(str(row["name"]), bool(row.get("running"))) for row in rows]

    def _join_strays(self, boxes: list[Sandbox], timeout: float) -> None:
        """Join every running node that is alone (sees no other member) to the first running member."""
        statuses = [(box, box.status()) for box in boxes]
        live = [(box, s.info) for box, s in statuses if s.state == "running" and s.info is not None]
        if len(live) < 2:
            return
        seed = live[0][1]
        for box, info in live[1:]:
            names = {m.name for m in self._members(info)}
            if seed.nodename in names:
                continue
            if len(names) > 1:
                raise SandboxError(
                    f"node {info.nodename} belongs to another cluster ({', '.join(sorted(names))}): "
                    "stop the sandbox and start it again"
                )
            for args in (["stop_app"], ["join_cluster", seed.nodename], ["start_app"]):
                _ctl(box, info, args, min(timeout, CTL_STEP_TIMEOUT))
            box.wait_ready(timeout)

    def _wait_members(self, boxes: list[Sandbox], observers: list[Sandbox], timeout: float) -> None:
        """Wait until each observer's ``GET /api/nodes`` lists every node of ``boxes``, the running ones
        (``observers``) as running. Raises ``SandboxError`` after ``timeout`` s with what was last seen."""
        expected = {info.nodename for info in (b.status().info for b in boxes) if info is not None}
        running = {info.nodename for info in (b.status().info for b in observers) if info is not None}
        deadline = time.monotonic() + timeout
        last: dict[str, object] = {}
        while True:
            pending = False
            for box in observers:
                info = box.status().info
                if info is None:
                    continue
                try:
                    members = self._members(info)
                except SandboxError as exc:
                    last[info.nodename] = str(exc)
                    pending = True
                    continue
                last[info.nodename] = {m.name: m.running for m in members}
                seen = {m.name for m in members}
                up = {m.name for m in members if m.running}
                if seen != expected or not running <= up:
                    pending = True
            if not pending:
                return
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"the cluster did not form within {timeout:.0f}s: expected members {sorted(expected)}, "
                    f"running {sorted(running)}; each node saw {json.dumps(last)}"
                )
            time.sleep(0.5)


def _ctl(box: Sandbox, info: SandboxInfo, args: list[str], timeout: float) -> None:
    """Run ``rabbitmqctl -n <node> ARGS`` for ``box`` within ``timeout`` s (its whole process group is
    killed past it). Raises ``SandboxError`` with rabbitmqctl's output when it fails."""
    command = [*box.ctl_command(), *args]
    process = subprocess.Popen(
        command,
        env=box.server_env(info),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: a timeout kills rabbitmqctl's Erlang VM too
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        raise SandboxError(
            f"rabbitmqctl {' '.join(args)} on {info.nodename} did not finish within {timeout:.0f}s"
        ) from None
    if process.returncode != 0:
        raise SandboxError(
            f"rabbitmqctl {' '.join(args)} on {info.nodename} failed (exit {process.returncode}):\n{output.strip()}"
        )


def _in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads; their results in order, or the first error once all have finished."""
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
