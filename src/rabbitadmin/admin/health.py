"""``rabbitadmin overview`` and ``rabbitadmin health-check``: what a server is, and whether it is well.

``health-check`` exits 0 when every check passed, 1 when one failed (the server answered: unhealthy), 3
when the server cannot be asked at all, 10 when it did not answer in time, 2 for a bad option: the codes
monitoring systems need to tell "down" from "unhealthy" from "misconfigured" (docs/health-check.md).
"""

from __future__ import annotations

from typing import Any

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import cell
from rabbitadmin.backends.daily_ops import DEFAULT_CHECKS, HEALTH_CHECKS, OBJECT_TOTALS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, emit_json
from rabbitadmin.errors import ExitCode, UsageError
from rabbitadmin.render import print_table
from rabbitadmin.suggest import unknown_value


def overview(ctx: typer.Context, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Show the server: versions, nodes, object counts, messages and alarms."""
    with admin_session(ctx) as ops:
        data = ops.overview()
    if output is OutputFormat.json:
        emit_json(data)
        return
    print(_overview_text(data))


def _overview_text(data: dict[str, Any]) -> str:
    nodes = ", ".join(
        f"{n['name']} ({n.get('type') or '?'}, {'running' if n.get('running') else 'NOT RUNNING'})"
        for n in data["nodes"]
    )
    totals = data["object_totals"]
    messages = data["messages"]
    alarms = ", ".join(f"{a['resource']} on {a['node']}" for a in data["alarms"]) or "none"
    lines = [
        ("cluster", f"{data['cluster_name']} (RabbitMQ {data['rabbitmq_version']}, Erlang {data['erlang_version']})"),
        ("nodes", nodes),
        ("objects", ", ".join(f"{totals.get(key, '?')} {key}" for key in OBJECT_TOTALS)),
        ("messages", f"{cell(messages['total'])} (ready {cell(messages['ready'])}, "
                     f"unacked {cell(messages['unacked'])})"),
        ("alarms", alarms),
    ]
    return "\n".join(f"{label:<9} {text}" for label, text in lines)


CHECKS_ARGUMENT = typer.Argument(
    None, help=f"Checks to run (default: {', '.join(DEFAULT_CHECKS)}); any of: {', '.join(HEALTH_CHECKS)}."
)


def health_check(
    ctx: typer.Context,
    checks: list[str] | None = CHECKS_ARGUMENT,
    port: list[int] | None = typer.Option(None, "--port", help="Also check a listener on this port (repeatable)."),
    protocol: list[str] | None = typer.Option(
        None, "--protocol", help="Also check a listener for this protocol: amqp, http, mqtt, ... (repeatable)."
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Run the server's health checks; exit 0 if all pass, 1 if one fails, 3 if the server cannot be asked."""
    with admin_session(ctx) as ops:
        wanted = _wanted(checks, port or [], protocol or [])
        results = [ops.health_check(name, argument) for name, argument in wanted]
    healthy = all(result.ok for result in results)
    if output is OutputFormat.json:
        emit_json({"healthy": healthy, "checks": [result.to_row() for result in results]})
    else:
        rows = [result.to_row() for result in results]
        print_table(("check", "status", "reason"), [[row["check"], row["status"], row["reason"]] for row in rows])
    if not healthy:
        raise typer.Exit(int(ExitCode.ERROR))


def _wanted(checks: list[str] | None, ports: list[int], protocols: list[str]) -> list[tuple[str, str | None]]:
    """(check, argument) pairs; ``UsageError`` (exit 2) for an unknown check or one missing its argument."""
    names = list(checks or ([] if ports or protocols else DEFAULT_CHECKS))
    wanted: list[tuple[str, str | None]] = []
    for name in names:
        if name not in HEALTH_CHECKS:
            raise UsageError(unknown_value("health check", name, HEALTH_CHECKS))
        needs = HEALTH_CHECKS[name].argument
        if needs is not None:
            raise UsageError(f"the {name} check needs a {needs}: use --{needs} instead")
        wanted.append((name, None))
    wanted += [("port-listener", str(port)) for port in ports]
    wanted += [("protocol-listener", name) for name in protocols]
    return wanted

