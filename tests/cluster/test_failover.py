"""Failover across a cluster's URLs, on the real 3-node cluster of tests/cluster (one per server version).

- An apply given every node's URL (``RABBITADMIN_URLS``) whose node is killed mid-apply (``SIGKILL`` to its
  Erlang VM) goes on through another node, says which one took over, and converges; a quorum queue keeps
  every confirmed message.
- A plan read through node 2, node 2 stopped, the apply writes through node 3 and is right; the quorum queue
  keeps its majority and its messages; a command whose first URL is the stopped node plans through another.

Each test stops one node and leaves every node running again (``all_nodes_back``); every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from rabbitadmin.backends.factory import TransportOptions, lock_transport
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import EngineSession, LockOptions
from rabbitadmin.model import Secret
from rabbitadmin.sandbox_cluster import SandboxCluster

from ..conftest import CliRunner
from ..faults.proxy import FaultProxy
from .conftest import NODES, node_env
from .helpers import api, beam_pid, big_topology, consume_all, info_of, publish_confirmed, quoted, wait_for, write


def cluster_env(cluster: SandboxCluster, first: int) -> dict[str, str]:
    """Node ``first``'s environment (as ``sandbox env`` gives node 1's) plus every node in RABBITADMIN_URLS."""
    urls = [info_of(cluster, i).url for i in range(1, NODES + 1)]
    return {**node_env(cluster, first), "RABBITADMIN_URLS": ",".join(urls)}


def test_apply_fails_over_when_the_node_serving_it_is_killed(
    cluster: SandboxCluster, tmp_path: Path, vhost: str, all_nodes_back: None
) -> None:
    through_all = CliRunner(cluster_env(cluster, 1))
    start = write(tmp_path, big_topology(vhost, 0), "start.yaml")
    assert through_all("apply", str(start), "--yes").returncode == 0
    kept = [f"entry {i}".encode() for i in range(100)]
    publish_confirmed(info_of(cluster, 2), vhost, "ledger", kept)

    path = write(tmp_path, big_topology(vhost, 150), "big.yaml")
    victim = info_of(cluster, 1)
    # Node 1 is reached through a proxy that holds back the answer to the import until the node is dead: the
    # import request is lost with its node whether the server had finished it or not (without it, an import
    # that ended between the last look and the kill left nothing to fail over: a flaky test).
    proxy = FaultProxy(victim.http_port).start()
    is_import = lambda method, where: method == "POST" and where == "/api/definitions"  # noqa: E731
    lost = proxy.inject("hold", match=is_import, seconds=600)
    others = [info_of(cluster, i).url for i in range(2, NODES + 1)]
    env = {**cluster_env(cluster, 1), "RABBITADMIN_URL": proxy.url, "RABBITADMIN_URLS": ",".join([proxy.url, *others])}
    apply = subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", "apply", str(path), "--yes", "-o", "json"],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        observer = info_of(cluster, 3)
        listing = f"/api/queues/{quoted(vhost)}?columns=name"
        wait_for(lambda: len(api(observer, listing)) > 10, 300, "the import to begin")
        os.kill(beam_pid(victim), signal.SIGKILL)
        lost.release.set()
        stdout, stderr = apply.communicate(timeout=600)
    finally:
        lost.release.set()
        if apply.poll() is None:
            apply.kill()
            apply.communicate(timeout=30)
        proxy.stop()
    assert lost.hits == ["POST /api/definitions"], "the apply sent its import through node 1"
    assert apply.returncode == 0, stdout + stderr
    report = json.loads(stdout)
    assert report["result"]["ok"] and not report["result"]["failed"]
    takeover = report["failovers"]
    assert takeover and takeover[0]["from"] == proxy.url, takeover
    assert takeover[0]["to"] in others
    assert f"continuing through {takeover[0]['to']}" in stderr

    # Converged: nothing left to do through node 3, every object there, every confirmed message kept.
    planned = CliRunner(node_env(cluster, 3))("plan", str(path), "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert len(api(info_of(cluster, 3), listing)) == 151
    assert consume_all(info_of(cluster, 2), vhost, "ledger") == kept


def test_plan_read_from_a_node_that_leaves_is_applied_through_another(
    cluster: SandboxCluster, tmp_path: Path, vhost: str, all_nodes_back: None
) -> None:
    base = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "orders", "type": "quorum"}]}]})
    assert CliRunner(node_env(cluster, 1))("apply", str(base), "--yes").returncode == 0
    before = [f"before {i}".encode() for i in range(50)]
    publish_confirmed(info_of(cluster, 2), vhost, "orders", before)

    second, third = info_of(cluster, 2), info_of(cluster, 3)
    moves: list[tuple[str, str, str]] = []
    settings = ConnectionSettings(
        url=second.url,
        other_urls=(third.url,),
        user=second.user,
        password=Secret(second.password()),
        amqp_port=second.amqp_port,
        timeout=60,
        on_failover=lambda *move: moves.append(move),
    )
    backend = HttpBackend(settings)
    lock = LockOptions(lambda b: lock_transport(TransportOptions("http", lambda: settings), b), timeout=60)
    path = write(tmp_path, big_topology(vhost, 20), "more.yaml")
    with EngineSession(lambda: backend, lock=lock) as session:
        plan = session.plan_file(path)
        assert backend.client.current_url == second.url and len(plan.changes) == 61
        assert cluster.stop_node(2), "node 2 was running"
        result = session.apply_plan(plan)
    assert result.ok, result.to_dict()
    assert [(a, b) for a, b, _ in moves] == [(second.url, third.url)]

    planned = CliRunner(node_env(cluster, 1))("plan", str(path), "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    # The quorum queue kept its majority (2 of 3): it takes confirmed writes and gives back every message.
    after = [f"after {i}".encode() for i in range(50)]
    publish_confirmed(third, vhost, "orders", after)
    assert consume_all(third, vhost, "orders") == before + after

    # A command whose first URL is the stopped node goes through the next one and says so.
    through_all = CliRunner(cluster_env(cluster, 2))
    again = through_all("plan", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"note: {second.url} is unreachable" in again.stderr
    listed = through_all("queues", "list", "--vhost", vhost, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    orders = next(q for q in json.loads(listed.stdout) if q["name"] == "orders")
    assert orders["members"] == sorted(info_of(cluster, i).nodename for i in range(1, NODES + 1))
    assert orders["leader"] in orders["online"] and second.nodename not in orders["online"]
    assert sorted(orders["online"]) == sorted([info_of(cluster, 1).nodename, third.nodename])
