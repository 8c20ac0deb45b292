"""Facts shared by both transports' everyday read-outs: health checks, overview and listing shapes.

The health checks are the server's own (``rabbit_mgmt_wm_health_check_*`` behind
``/api/health/checks/...``, and ``rabbitmq-diagnostics check_*`` for the ctl transport; see
https://www.rabbitmq.com/docs/monitoring#health-checks). Each check has one name here, the one in the API
path, and the diagnostics command that does the same on the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rabbitadmin.definitions_input import PER_VHOST_SECTIONS

Row = dict[str, Any]


@dataclass(frozen=True)
class HealthCheck:
    """One server health check: its API path under ``/api/health/checks/`` and its diagnostics command.

    ``argument``: what the check needs (``port``, ``protocol``), or None.
    """

    name: str
    diagnostics: str
    argument: str | None = None
    summary: str = ""


HEALTH_CHECKS: dict[str, HealthCheck] = {
    check.name: check
    for check in (
        HealthCheck("alarms", "check_alarms", summary="no resource alarm in the cluster (memory, disk)"),
        HealthCheck("local-alarms", "check_local_alarms", summary="no resource alarm on this node"),
        HealthCheck("virtual-hosts", "check_virtual_hosts", summary="every vhost runs on this node"),
        HealthCheck(
            "node-is-quorum-critical",
            "check_if_node_is_quorum_critical",
            summary="stopping this node would leave no quorum queue without a majority",
        ),
        HealthCheck(
            "node-is-mirror-sync-critical",
            "check_if_node_is_mirror_sync_critical",
            summary="stopping this node would leave no classic mirrored queue without a synchronised mirror",
        ),
        HealthCheck("port-listener", "check_port_listener", "port", "a listener on this port"),
        HealthCheck("protocol-listener", "check_protocol_listener", "protocol", "a listener for this protocol"),
    )
}
#: What ``health-check`` runs when no check is named.
DEFAULT_CHECKS = ("alarms", "local-alarms", "virtual-hosts", "node-is-quorum-critical")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``ok``; ``reason``: the server's words when it failed (or a note)."""

    check: str
    argument: str | None
    ok: bool
    reason: str = ""

    def to_row(self) -> Row:
        return {
            "check": self.check if self.argument is None else f"{self.check} {self.argument}",
            "status": "ok" if self.ok else "failed",
            "reason": self.reason,
        }


#: The listings added for the everyday commands, in display order (see ``admin_ops.COLUMNS``).
DAILY_COLUMNS: dict[str, tuple[str, ...]] = {
    "policies": ("vhost", "name", "kind", "pattern", "apply_to", "priority", "definition"),
    "feature_flags": ("name", "state", "stability", "provided_by", "desc"),
    "plugins": ("name", "enabled", "running", "version"),
}

#: The object counts of an overview, the same keys on both transports.
OBJECT_TOTALS = ("vhosts", "users", "connections", "channels", "exchanges", "queues", "consumers")


def plugin_version(value: Any) -> str | None:
    """A plugin's version as text: rabbitmq-plugins' JSON gives an Erlang string as a list of character codes."""
    if isinstance(value, list) and all(isinstance(c, int) for c in value):
        return "".join(chr(c) for c in value)
    return None if value is None else str(value)


def policy_row(data: Row, kind: str) -> Row:
    """A policies listing row from the server's policy fields (``apply-to`` over both transports)."""
    return {
        "vhost": data.get("vhost"),
        "name": data.get("name"),
        "kind": kind,
        "pattern": data.get("pattern"),
        "apply_to": data.get("apply-to", data.get("apply_to")),
        "priority": data.get("priority"),
        "definition": data.get("definition"),
    }


def vhost_definitions(document: dict[str, Any], vhost: str) -> dict[str, Any]:
    """The shape of ``GET /api/definitions/{vhost}`` cut from a whole-server export ``document``: its
    ``rabbit_version`` and the vhost's queues, exchanges, bindings, policies and parameters, each without its
    ``vhost`` field, as RabbitMQ 4.0's ``rabbit_mgmt_wm_definitions:vhost_definitions/3`` strips it (3.10.8's
    keeps it on policies and parameters; an import into one vhost reads both). The caller checks that the
    vhost exists: for one that does not, this is an empty document."""
    one: dict[str, Any] = {"rabbit_version": document.get("rabbit_version") or document.get("rabbitmq_version")}
    for section in PER_VHOST_SECTIONS:
        one[section] = [
            {k: v for k, v in item.items() if k != "vhost"}
            for item in document.get(section, [])
            if isinstance(item, dict) and item.get("vhost") == vhost
        ]
    return one


def with_vhost_metadata(document: dict[str, Any], vhost_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A definitions export whose vhost entries carry their description, tags and default queue type.

    RabbitMQ 3.10.8's ``GET /api/definitions`` lists vhosts by name only, and its own import of such an
    entry clears the vhost's description and tags (``rabbit_definitions:add_vhost/2``): exporting then
    importing would lose them. ``vhost_rows`` are the server's vhost listing (``GET /api/vhosts`` or
    ``rabbitmqctl list_vhosts name description tags default_queue_type``); an entry that has them already
    is left as the server wrote it.
    """
    by_name = {str(row.get("name")): row for row in vhost_rows}
    vhosts = document.get("vhosts")
    if not isinstance(vhosts, list):
        return document
    completed = []
    for entry in vhosts:
        row = by_name.get(str(entry.get("name"))) if isinstance(entry, dict) else None
        if row is None or "metadata" in entry or "description" in entry:
            completed.append(entry)
            continue
        tags = row.get("tags") or []
        tags = [t for t in tags.split(",") if t] if isinstance(tags, str) else list(tags)
        metadata: dict[str, Any] = {"description": row.get("description") or "", "tags": tags}
        queue_type = row.get("default_queue_type")
        if queue_type not in (None, "", "undefined"):
            metadata["default_queue_type"] = queue_type
        completed.append({**entry, "description": metadata["description"], "tags": tags, "metadata": metadata})
    return {**document, "vhosts": completed}
