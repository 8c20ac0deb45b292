"""The everyday read-outs and actions over the management API (mixed into ``HttpAdmin``).

Endpoints (RabbitMQ 3.10 and 4.0 management API): ``/api/overview``, ``/api/nodes``,
``/api/health/checks/*`` (200 ``{"status": "ok"}`` or 503 ``{"status": "failed", "reason": ...}``),
``DELETE /api/connections/{name}`` with an ``X-Reason`` header (the reason the client is given),
``/api/policies``, ``/api/operator-policies``, ``/api/feature-flags``, ``/api/definitions[/{vhost}]``.
The API cannot enable or disable plugins: only ``rabbitmq-plugins`` on the node can.
"""

from __future__ import annotations

import json
from typing import Any

from rabbitadmin.backends.daily_ops import (
    HEALTH_CHECKS,
    CheckResult,
    Row,
    policy_row,
    vhost_definitions,
    with_vhost_metadata,
)
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ConnectionFailed, Refused, ServerError, UsageError

#: Why plugins cannot be changed over HTTP, and what to do instead.
NO_PLUGIN_WRITES = (
    "the management API cannot enable or disable plugins (only rabbitmq-plugins on the node can): "
    "use --backend ctl, with the node's rabbitmqctl settings (--node, --rabbitmqctl, --ctl-prefix 'ssh host')"
)


class HttpDailyOps:
    """Overview, health checks, connections close, policies, feature flags, plugins, definitions."""

    client: HttpClient

    def overview(self) -> Row:
        data: dict[str, Any] = self.client.get(api_path("overview"))
        nodes: list[dict[str, Any]] = self.client.get(
            api_path("nodes"), {"columns": "name,running,type,uptime,mem_alarm,disk_free_alarm"}
        )
        totals = dict(data.get("object_totals") or {})
        totals["vhosts"] = len(self.client.get(api_path("vhosts"), {"columns": "name"}))
        totals["users"] = len(self.client.get(api_path("users"), {"columns": "name"}))
        alarms = [
            {"node": n["name"], "resource": resource}
            for n in nodes
            for resource, key in (("memory", "mem_alarm"), ("disk", "disk_free_alarm"))
            if n.get(key)
        ]
        queued = data.get("queue_totals") or {}
        return {
            "cluster_name": data.get("cluster_name"),
            "node": data.get("node"),
            "rabbitmq_version": data.get("rabbitmq_version"),
            "erlang_version": data.get("erlang_version"),
            "nodes": [
                {
                    "name": n["name"],
                    "running": bool(n.get("running")),
                    "type": n.get("type"),
                    # /api/nodes does not say a node's version; /api/overview says the answering node's.
                    "rabbitmq_version": data.get("rabbitmq_version") if n["name"] == data.get("node") else None,
                }
                for n in nodes
            ],
            "object_totals": totals,
            "messages": {
                "total": queued.get("messages"),
                "ready": queued.get("messages_ready"),
                "unacked": queued.get("messages_unacknowledged"),
            },
            "alarms": alarms,
        }

    def health_check(self, name: str, argument: str | None = None) -> CheckResult:
        check = HEALTH_CHECKS[name]
        path = api_path("health", "checks", name, *([argument] if argument is not None else []))
        response = self.client.request("GET", path, ok_statuses=(503, 404))
        if response.status_code == 404:  # 4.0.5 has no node-is-mirror-sync-critical (classic mirroring is gone)
            raise UsageError(f"this server has no {name!r} health check (GET {path} answered 404)")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 503:
            if not isinstance(body, dict) or body.get("status") != "failed":
                # A 503 without the check's answer is a proxy or a server that cannot answer: not a verdict.
                raise ConnectionFailed(f"GET {path}: HTTP 503 without a health check answer")
            return CheckResult(check.name, argument, False, _reason(body))
        return CheckResult(check.name, argument, True, str(body.get("reason", "")) if isinstance(body, dict) else "")

    def list_connection_names(self) -> list[Row]:
        rows: list[Row] = self.client.get(api_path("connections"), {"columns": "name,user,vhost"})
        return rows

    def close_connection(self, name: str, reason: str) -> bool:
        response = self.client.request(
            "DELETE", api_path("connections", name), ok_statuses=(404,), headers={"X-Reason": reason}
        )
        return response.status_code != 404

    def list_policies(self, vhost: str | None = None) -> list[Row]:
        rows: list[Row] = []
        for collection, kind in (("policies", "policy"), ("operator-policies", "operator")):
            path = api_path(collection, vhost) if vhost is not None else api_path(collection)
            rows += [policy_row(p, kind) for p in self.client.get_or_none(path) or []]
        return rows

    def list_feature_flags(self) -> list[Row]:
        rows: list[Row] = self.client.get(api_path("feature-flags"))
        return rows

    def list_plugins(self) -> list[Row]:
        # The API knows each node's enabled plugins (not the ones that could be enabled).
        nodes: list[dict[str, Any]] = self.client.get(api_path("nodes"), {"columns": "name,enabled_plugins"})
        names = sorted({p for n in nodes for p in n.get("enabled_plugins") or []})
        return [{"name": p, "enabled": "enabled", "running": True, "version": None} for p in names]

    def set_plugins(self, names: list[str], *, enable: bool) -> str:
        raise Refused(NO_PLUGIN_WRITES)

    def export_definitions(self, vhost: str | None = None) -> dict[str, Any]:
        """``GET /api/definitions`` (with each vhost's description, tags and default queue type), or with
        ``vhost`` ``GET /api/definitions/{vhost}``. RabbitMQ 4.0.x answers the latter with a bare 500 for a
        vhost named with non-ASCII letters (its export's ``explanation`` cannot hold the name); for a vhost that
        exists, the same objects are then cut from the whole-server export (``vhost_definitions``). Raises
        ``ServerError`` (404: no such vhost), ``ConnectionFailed``."""
        if vhost is None:
            data: dict[str, Any] = self.client.get(api_path("definitions"))
            rows = self.client.get(api_path("vhosts"), {"columns": "name,description,tags,default_queue_type"})
            return with_vhost_metadata(data, rows or [])
        try:
            one: dict[str, Any] = self.client.get(api_path("definitions", vhost))
        except ServerError as exc:
            if exc.status != 500 or self.client.get_or_none(api_path("vhosts", vhost)) is None:
                raise
            return vhost_definitions(self.client.get(api_path("definitions")), vhost)
        return one


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    extra = {k: v for k, v in body.items() if k not in ("status", "reason")}
    text = str(reason) if reason else "failed"
    return f"{text} {json.dumps(extra, sort_keys=True)}" if extra else text
