"""The everyday read-outs and actions through the node's command line tools (mixed into ``CtlAdmin``).

``rabbitmqctl`` answers the overview (``cluster_status``: versions, nodes, alarms), connections
(``close_connection PID REASON``), policies, feature flags and definitions; ``rabbitmq-diagnostics``
runs the health checks (``check_*``: exit 0 passed, 69 failed, with the server's words on stdout);
``rabbitmq-plugins`` lists, enables and disables plugins on a running node. The two others are found next
to the configured rabbitmqctl (same directory, same prefix, node and cookie), so ``--ctl-prefix 'ssh
host'`` reaches them too. They take the node option after the command (``-n`` before it is refused by
3.10.8's rabbitmq-diagnostics).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from rabbitadmin.backends.ctl.definitions_read import DefinitionsReader
from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.backends.daily_ops import (
    HEALTH_CHECKS,
    OBJECT_TOTALS,
    CheckResult,
    Row,
    plugin_version,
    policy_row,
    vhost_definitions,
    with_vhost_metadata,
)
from rabbitadmin.errors import CtlError, UnknownVhost, UsageError
from rabbitadmin.suggest import no_such
from rabbitadmin.threads import worker_pool

#: rabbitmq-diagnostics' exit code for a check that ran and failed (sysexits EX_UNAVAILABLE).
CHECK_FAILED = 69
#: Its exit code for a command or option it does not know (EX_USAGE).
USAGE = 64


def sibling(executable: str, tool: str) -> str:
    """``tool`` in the directory of ``executable`` (``/usr/lib/rabbitmq/bin/rabbitmqctl`` ->
    ``/usr/lib/rabbitmq/bin/rabbitmq-plugins``), or plain ``tool`` when rabbitmqctl is taken from PATH."""
    path = PurePosixPath(executable)
    return tool if str(path.parent) in ("", ".") else str(path.parent / tool)


class CtlDailyOps:
    """Overview, health checks, connections close, policies, feature flags, plugins, definitions."""

    ctl: Rabbitmqctl
    definitions: DefinitionsReader
    list_vhosts: Callable[[], list[Row]]
    _per_vhost: Callable[[str | None, Callable[[str], list[Row]]], list[Row]]

    def _tool(self, tool: str, args: list[str], *, formatter: bool = False, env: dict[str, str] | None = None) -> str:
        """Run rabbitmq-diagnostics or rabbitmq-plugins like rabbitmqctl (``env``: extra variables)."""
        environ = {**(os.environ if self.ctl.env is None else self.ctl.env), **env} if env else self.ctl.env
        runner = dataclasses.replace(self.ctl, executable=sibling(self.ctl.executable, tool), node=None, env=environ)
        node = ["-n", self.ctl.node] if self.ctl.node else []
        fmt = ["--formatter", "json"] if formatter else []
        try:
            return runner.run([args[0], *fmt, *node, *args[1:]])
        finally:
            if runner._home != self.ctl._home:  # its own copy of the cookie: remove it
                runner.close()

    def _plugins(self, args: list[str], *, formatter: bool = False) -> str:
        """rabbitmq-plugins with the node's own enabled-plugins file and plugin directories.

        rabbitmq-plugins reads and writes the enabled_plugins file at the path of its own environment, not
        the node's: it lists a node whose file lives elsewhere (a sandbox, a custom RABBITMQ_ENABLED_PLUGINS_FILE)
        as having nothing enabled, and refuses to enable ("target node ... uses a different path"; 3.10.8).
        So the node is asked first (``rabbitmq-plugins directories``) where they are. Through a remote prefix
        (ssh, docker) the variables cannot be passed: the remote tool's own settings are used.
        """
        env = None
        if self.ctl.shares_files:
            where = json.loads(self._tool("rabbitmq-plugins", ["directories"], formatter=True) or "{}")
            env = {
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(where.get("enabled_plugins_file") or ""),
                "RABBITMQ_PLUGINS_DIR": str(where.get("plugins_dir") or ""),
            }
            env = {key: value for key, value in env.items() if value}
        return self._tool("rabbitmq-plugins", args, formatter=formatter, env=env)

    def overview(self) -> Row:
        jobs: dict[str, Callable[[], Any]] = {
            "status": lambda: self.ctl.json(["cluster_status"]),
            "vhosts": lambda: self.ctl.json(["list_vhosts", "name"]),
            "users": lambda: self.ctl.json(["list_users"]),
            "connections": lambda: self.ctl.json(["list_connections", "name"]),
            "channels": lambda: self.ctl.json(["list_channels", "name"]),
        }
        with worker_pool(len(jobs), on_interrupt=self.ctl.stop_running) as pool:
            futures = {key: pool.submit(job) for key, job in jobs.items()}
            got = {key: future.result() for key, future in futures.items()}
        vhosts = [v["name"] for v in got["vhosts"]]

        def per_vhost(command: str, columns: list[str]) -> list[Row]:
            def fetch(name: str) -> list[Row]:
                rows: list[Row] = self.ctl.json([command, f"--vhost={name}", *columns])
                return rows

            return self._per_vhost(None, fetch) if vhosts else []

        queues = per_vhost("list_queues", ["name", "messages", "messages_ready", "messages_unacknowledged"])
        counts = {
            "vhosts": len(vhosts),
            "users": len(got["users"]),
            "connections": len(got["connections"]),
            "channels": len(got["channels"]),
            "exchanges": len(per_vhost("list_exchanges", ["name"])),
            "queues": len(queues),
            "consumers": len(per_vhost("list_consumers", ["consumer_tag"])),
        }
        status = got["status"]
        versions: dict[str, dict[str, Any]] = status.get("versions") or {}
        running = set(status.get("running_nodes") or [])
        disk = set(status.get("disk_nodes") or [])
        names = sorted(disk | set(status.get("ram_nodes") or []) | running)
        first = versions.get(self.ctl.node or "", next(iter(versions.values()), {}))

        def total(key: str) -> int:
            return sum(int(q.get(key) or 0) for q in queues)

        return {
            "cluster_name": status.get("cluster_name"),
            "node": self.ctl.node,
            "rabbitmq_version": first.get("rabbitmq_version"),
            "erlang_version": first.get("erlang_version"),
            "nodes": [_node(n, n in running, "disc" if n in disk else "ram", versions.get(n)) for n in names],
            "object_totals": {key: counts[key] for key in OBJECT_TOTALS},
            "messages": {
                "total": total("messages"),
                "ready": total("messages_ready"),
                "unacked": total("messages_unacknowledged"),
            },
            "alarms": [_alarm(a) for a in status.get("alarms") or []],
        }

    def health_check(self, name: str, argument: str | None = None) -> CheckResult:
        check = HEALTH_CHECKS[name]
        try:
            output = self._tool("rabbitmq-diagnostics", [check.diagnostics, *([argument] if argument else [])])
        except CtlError as exc:
            if exc.returncode == USAGE:  # a command this rabbitmq-diagnostics does not have
                raise UsageError(f"this server's rabbitmq-diagnostics has no {check.diagnostics!r} check") from None
            if exc.returncode != CHECK_FAILED:
                raise
            return CheckResult(check.name, argument, False, exc.reason)
        return CheckResult(check.name, argument, True, " ".join(output.split())[:200])

    def list_connection_names(self) -> list[Row]:
        rows: list[Row] = self.ctl.json(["list_connections", "name", "user", "vhost"])
        return rows

    def close_connection(self, name: str, reason: str) -> bool:
        # close_connection takes the connection's process id as text (<node.1.2.3>); the JSON listing writes
        # it as #PID<1.2.3>, which close_connection refuses (invalid_pid_syntax, 3.10.8): read the text table.
        table = self.ctl.run(["list_connections", "--no-table-headers", "pid", "name"])
        pids = [line.split("\t", 1)[0] for line in table.splitlines() if line.partition("\t")[2] == name]
        if not pids:
            return False
        for pid in pids:
            try:
                self.ctl.run(["close_connection", "--", pid, reason])
            except CtlError as exc:
                if not exc.not_found:
                    raise
        return True

    def list_policies(self, vhost: str | None = None) -> list[Row]:
        def fetch(name: str) -> list[Row]:
            rows: list[Row] = []
            for command, kind in (("list_policies", "policy"), ("list_operator_policies", "operator")):
                for p in self.ctl.json([command, f"--vhost={name}"]):
                    definition = p.get("definition")
                    if isinstance(definition, str):
                        definition = json.loads(definition or "{}")
                    rows.append(policy_row({**p, "vhost": name, "definition": definition}, kind))
            return rows

        return self._per_vhost(vhost, fetch)

    def list_feature_flags(self) -> list[Row]:
        rows: list[Row] = self.ctl.json(["list_feature_flags", "name", "state", "stability", "provided_by", "desc"])
        return rows

    def list_plugins(self) -> list[Row]:
        data = json.loads(self._plugins(["list"], formatter=True) or "{}")
        return [
            {
                "name": p.get("name"),
                "enabled": p.get("enabled"),
                "running": bool(p.get("running")),
                "version": plugin_version(p.get("running_version") or p.get("version")),
            }
            for p in data.get("plugins", [])
        ]

    def set_plugins(self, names: list[str], *, enable: bool) -> str:
        return self._plugins(["enable" if enable else "disable", "--", *names]).strip()

    def export_definitions(self, vhost: str | None = None) -> dict[str, Any]:
        data = self.definitions.read()
        if vhost is None:
            rows = self.ctl.json(["list_vhosts", "name", "description", "tags", "default_queue_type"])
            return with_vhost_metadata(data, rows if isinstance(rows, list) else [])
        names = [str(v.get("name")) for v in data.get("vhosts", []) if isinstance(v, dict)]
        if vhost not in names:  # the API answers 404 here; an empty document would read as an empty vhost
            raise UnknownVhost(no_such("vhost", vhost, names))
        return vhost_definitions(data, vhost)


def _node(name: str, running: bool, kind: str, version: dict[str, Any] | None) -> Row:
    return {"name": name, "running": running, "type": kind, "rabbitmq_version": (version or {}).get("rabbitmq_version")}


def _alarm(value: Any) -> Row:
    # cluster_status lists alarms as {"node": ..., "resource": ...} or as text, depending on the version.
    if isinstance(value, dict):
        return {"node": value.get("node"), "resource": value.get("resource") or value.get("type")}
    return {"node": None, "resource": str(value)}
