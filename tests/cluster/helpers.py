"""Helpers of the cluster tests: each node's API and AMQP, confirmed publishing, bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import requests
import yaml

from rabbitadmin.sandbox import SandboxInfo
from rabbitadmin.sandbox_cluster import SandboxCluster


def info_of(cluster: SandboxCluster, index: int) -> SandboxInfo:
    info = cluster.node(index).status().info
    assert info is not None
    return info


def api(info: SandboxInfo, path: str) -> Any:
    response = requests.get(info.url + path, auth=(info.user, info.password()), timeout=30)
    response.raise_for_status()
    return response.json()


def quoted(vhost: str) -> str:
    return requests.utils.quote(vhost, safe="")


def write(tmp_path: Path, document: dict[str, Any], name: str = "topology.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def amqp(info: SandboxInfo, vhost: str) -> pika.BlockingConnection:
    credentials = pika.PlainCredentials(info.user, info.password())
    return pika.BlockingConnection(
        pika.ConnectionParameters(
            "127.0.0.1", info.amqp_port, vhost, credentials, socket_timeout=30, blocked_connection_timeout=60
        )
    )


def publish_confirmed(info: SandboxInfo, vhost: str, queue: str, bodies: list[bytes]) -> None:
    """Publish persistent messages with publisher confirms: each returns only once the queue has it."""
    with amqp(info, vhost) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2), mandatory=True)


def consume_all(info: SandboxInfo, vhost: str, queue: str, timeout: float = 60.0) -> list[bytes]:
    """Every message in ``queue`` (got and acknowledged), within ``timeout`` s."""
    bodies: list[bytes] = []
    deadline = time.monotonic() + timeout
    with amqp(info, vhost) as connection:
        channel = connection.channel()
        while time.monotonic() < deadline:
            method, _, body = channel.basic_get(queue)
            if method is None:
                break
            bodies.append(body)
            channel.basic_ack(method.delivery_tag)
    return bodies


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.5)


def beam_pid(info: SandboxInfo) -> int:
    """The Erlang VM (beam.smp) of node ``info``."""
    marker = f"RABBITMQ_NODENAME={info.nodename}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environment = (proc / "environ").read_bytes().split(b"\0")
            if b"beam.smp" in (proc / "cmdline").read_bytes() and marker in environment:
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no beam.smp process for {info.nodename}")


def big_topology(vhost: str, size: int) -> dict[str, Any]:
    """A quorum queue ``ledger``, and ``size`` direct exchanges, quorum queues and bindings."""
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": f"ex{i}", "type": "direct"} for i in range(size)],
                "queues": [{"name": "ledger", "type": "quorum"}]
                + [{"name": f"q{i}", "type": "quorum"} for i in range(size)],
                "bindings": [{"source": f"ex{i}", "destination": f"q{i}", "routing_key": f"k{i}"} for i in range(size)],
            }
        ]
    }
