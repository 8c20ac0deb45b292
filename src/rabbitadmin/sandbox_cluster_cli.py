"""The ``sandbox`` commands' cluster side: ``start --nodes N``, ``status`` of a cluster, ``stop-node`` and
``start-node``. Thin: the work is in ``sandbox_cluster``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, emit_json, err, error_boundary
from rabbitadmin.errors import ExitCode, SandboxError
from rabbitadmin.sandbox_cluster import ClusterStatus, SandboxCluster, open_sandbox


def status_payload(status: ClusterStatus) -> dict[str, Any]:
    """The JSON shape of a cluster's status: state, version, every node, and the membership seen."""
    members = {m.name: m.running for m in status.members}
    return {
        "state": status.state,
        "rabbitmq": status.rabbitmq,
        "nodes": [
            {
                "index": node.index,
                "state": node.state,
                **(node.info.public() if node.info else {}),
                "member": (node.info.nodename in members) if node.info and members else None,
                "running_in_cluster": members.get(node.info.nodename) if node.info and members else None,
            }
            for node in status.nodes
        ],
        "urls": [node.info.url for node in status.nodes if node.info],
        "members_seen_from": status.seen_from,
        "members": [{"name": m.name, "running": m.running} for m in status.members],
    }


def print_status(status: ClusterStatus) -> None:
    payload = status_payload(status)
    print(f"{status.state}  ({len(status.nodes)}-node cluster, RabbitMQ {status.rabbitmq})")
    print(f"{'node':5} {'state':8} {'in cluster':11} {'nodename':34} {'url':24} amqp_port")
    for node in payload["nodes"]:
        in_cluster = {True: "running", False: "down", None: "?"}[node["running_in_cluster"]]
        if node["member"] is False:
            in_cluster = "not member"
        print(
            f"{node['index']:<5} {node['state']:8} {in_cluster:11} {node.get('nodename', '-'):34} "
            f"{node.get('url', '-'):24} {node.get('amqp_port', '-')}"
        )
    if status.seen_from is None:
        print("membership: unknown (no node runs)")
    else:
        print(f"membership as node {status.seen_from} sees it (GET /api/nodes)")
    if status.nodes and status.nodes[0].info:
        print(f"password_file  {status.nodes[0].info.password_file}")


def start(cluster: SandboxCluster, output: OutputFormat, dir_arg: str) -> None:
    """``sandbox start --nodes N``: start (or report) the cluster and show it."""
    with error_boundary(output):
        already = cluster.status().state == "running"
        cluster.start()
        status = cluster.status()
    if output is OutputFormat.json:
        emit_json({**status_payload(status), "already_running": already})
        return
    err("already running" if already else "started")
    print_status(status)
    err(f'point rabbitadmin at it with:  eval "$(rabbitadmin sandbox env{dir_arg})"  (node 1; RABBITADMIN_URLS: all)')


def status(cluster: SandboxCluster, output: OutputFormat) -> None:
    """``sandbox status`` of a cluster: exit 0 only when every node runs in the cluster."""
    with error_boundary(output):
        current = cluster.status()
    if output is OutputFormat.json:
        emit_json(status_payload(current))
    else:
        print_status(current)
    if current.state != "running":
        raise typer.Exit(int(ExitCode.ERROR))


def _cluster(directory: Path | None) -> SandboxCluster:
    opened = open_sandbox(directory)
    if not isinstance(opened, SandboxCluster):
        raise SandboxError(
            f"no sandbox cluster in {opened.directory}: start one with `rabbitadmin sandbox start --nodes 3`"
        )
    return opened


def register(sandbox_app: typer.Typer, dir_option: Any) -> None:
    """Add ``stop-node`` and ``start-node`` to the ``sandbox`` command group."""

    @sandbox_app.command("stop-node")
    def stop_node(
        index: int = typer.Argument(..., help="The node's number, 1 to N (as `sandbox status` lists them)."),
        directory: Path | None = dir_option,
    ) -> None:
        """Stop one node of the sandbox cluster, keeping its data and membership (for fault tests)."""
        with error_boundary():
            was_running = _cluster(directory).stop_node(index)
        err(f"node {index} stopped" if was_running else f"node {index} was not running")

    @sandbox_app.command("start-node")
    def start_node(
        index: int = typer.Argument(..., help="The node's number, 1 to N."),
        directory: Path | None = dir_option,
        output: OutputFormat = OUTPUT_OPTION,
    ) -> None:
        """Start one node of the sandbox cluster again and wait until it runs in the cluster."""
        with error_boundary(output):
            cluster = _cluster(directory)
            cluster.start_node(index)
            current = cluster.status()
        if output is OutputFormat.json:
            emit_json(status_payload(current))
            return
        err(f"node {index} started")
        print_status(current)
