"""One real 3-node RabbitMQ cluster per server version for the whole session, started through the real
``rabbitadmin sandbox start --nodes 3`` command and stopped at the end even when tests fail."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from rabbitadmin.sandbox_cluster import SandboxCluster

from ..conftest import CliRunner, ctl_env
from ..integration.test_sandbox import node_processes
from .helpers import info_of, quoted

NODES = 3
#: Seconds a whole cluster start may take on a busy 2-core machine (boot, two joins, membership check).
START_TIMEOUT = 900


def sandbox_cli(*args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``rabbitadmin sandbox ARGS`` as a subprocess, without a terminal, bounded by ``timeout`` s."""
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "sandbox", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def cluster(rabbitmq_version: str, node_root: Path) -> Iterator[SandboxCluster]:
    directory = node_root / f"cluster-{rabbitmq_version}" / "cluster"
    box = SandboxCluster(directory)
    names: list[str] = []
    try:
        started = sandbox_cli(
            "start", "--nodes", str(NODES), "--dir", str(directory), "--rabbitmq", rabbitmq_version, "-o", "json"
        )
        assert started.returncode == 0, f"the cluster did not start:\n{started.stdout}\n{started.stderr}"
        names = [node["nodename"] for node in json.loads(started.stdout)["nodes"]]
        yield box
    finally:
        stopped = sandbox_cli("stop", "--dir", str(directory), timeout=300)
        left_behind = directory.exists()
        box.stop()  # every node, even when the start, a test or the command failed
    assert stopped.returncode == 0, stopped.stderr
    assert not left_behind, "sandbox stop removes the cluster's directory"
    assert not [name for name in names if node_processes(name)], "sandbox stop leaves no node process behind"


def node_env(cluster: SandboxCluster, index: int) -> dict[str, str]:
    """The environment pointing ``rabbitadmin`` at node ``index`` of ``cluster`` (HTTP API, AMQP, and the ctl
    settings for ``--backend ctl``)."""
    info = cluster.node(index).status().info
    assert info is not None
    return {
        "RABBITADMIN_URL": info.url,
        "RABBITADMIN_USER": info.user,
        "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
        "RABBITADMIN_AMQP_PORT": str(info.amqp_port),
        **ctl_env(info),
    }


@pytest.fixture
def through(cluster: SandboxCluster) -> Callable[[int], CliRunner]:
    """``through(2)("apply", "t.yaml", "--yes")`` runs the real command against node 2."""
    return lambda index: CliRunner(node_env(cluster, index))


@pytest.fixture
def vhost(cluster: SandboxCluster) -> Iterator[str]:
    name = f"cluster-{secrets.token_hex(3)}"
    yield name
    info = info_of(cluster, 1)
    requests.delete(f"{info.url}/api/vhosts/{quoted(name)}", auth=(info.user, info.password()), timeout=60)


@pytest.fixture
def all_nodes_back(cluster: SandboxCluster) -> Iterator[None]:
    """After the test, every node runs again (a fault test that failed half-way must not break the next)."""
    yield
    for index in range(1, NODES + 1):
        if cluster.node(index).status().state != "running":
            cluster.start_node(index)
