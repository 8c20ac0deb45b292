"""Command line: ``route``, ``verify``, ``graph`` and ``report``; ``register(app)`` adds them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, cli_state, emit_json, err, error_boundary, make_backend
from rabbitadmin.errors import ExitCode, UsageError
from rabbitadmin.model import Topology
from rabbitadmin.server_versions import parse_version

LIVE_OPTION = typer.Option(False, "--live", help="Read the live server instead of a topology file.")
OUTPUT_FILE_OPTION = typer.Option(None, "--output-file", help="Write here instead of stdout.")


def read_source(ctx: typer.Context, file: Path | None, live: bool, vhosts: list[str] | None = None) -> Topology:
    """The topology to look at: the file (its ``expect:`` section read but not checked) or the server."""
    return _read(ctx, file, live, vhosts, with_version=False)[0]


def read_source_and_version(
    ctx: typer.Context, file: Path | None, live: bool, vhosts: list[str] | None = None
) -> tuple[Topology, tuple[int, ...] | None]:
    """``read_source``, with the server's RabbitMQ version when live (None from a file)."""
    return _read(ctx, file, live, vhosts, with_version=True)


def _read(
    ctx: typer.Context, file: Path | None, live: bool, vhosts: list[str] | None, *, with_version: bool
) -> tuple[Topology, tuple[int, ...] | None]:
    # The version costs a request (over ctl a rabbitmqctl run): asked only by the commands that use it.
    if (file is None) == (not live):
        raise UsageError("give a topology FILE or --live (not both)")
    if file is not None:
        from rabbitadmin.loader import load_topology
        from rabbitadmin.routing.expect import offline_check_skipped

        with offline_check_skipped():
            return load_topology(file, resolve_secrets=False), None
    backend = make_backend(cli_state(ctx))
    try:
        state = backend.read_state(vhosts or None)
        return state, parse_version(backend.server_facts()[0]) if with_version else None
    finally:
        backend.close()


def parse_header(text: str) -> tuple[str, Any]:
    """``name=value``; the value is read as a YAML scalar, as in a topology file: ``n=5`` is the integer 5,
    ``n='"5"'`` the string, ``flag=true`` a boolean, ``k=`` or ``k=~`` void (None)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--header {text!r}: expected NAME=VALUE")
    try:
        parsed = yaml.safe_load(value) if value else None
    except yaml.YAMLError:
        raise UsageError(f"--header {text!r}: the value is not a YAML scalar") from None
    if isinstance(parsed, dict | list) or not isinstance(parsed, str | int | float | bool | type(None)):
        parsed = value  # dates and the like stay text
    return name, parsed


def _one_vhost(topology: Topology, vhost: str | None, live: bool) -> str:
    if vhost is not None:
        return vhost
    if live:
        return "/"
    names = sorted(key[0] for key in topology.vhosts)
    if len(names) != 1:
        raise UsageError(f"the topology has {len(names)} vhosts ({', '.join(names)}): say which with --vhost")
    return names[0]


def route_command(
    ctx: typer.Context,
    args: list[str] = typer.Argument(
        ...,
        metavar="[FILE] EXCHANGE [ROUTING_KEY]",
        help="FILE unless --live; '' is the default exchange; put -- before a key that starts with a dash.",
    ),
    live: bool = LIVE_OPTION,
    vhost: str | None = typer.Option(None, "--vhost", help="The vhost (default: the file's only one; live: /)."),
    header: list[str] = typer.Option([], "--header", help="A message header NAME=VALUE (repeatable)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Where a message would go: the queues it reaches and the exchanges it passes, computed offline."""
    from rabbitadmin.routing.simulate import Message, route

    with error_boundary(output):
        expected = (1, 2) if live else (2, 3)
        if len(args) not in expected:
            raise UsageError("usage: route FILE EXCHANGE [ROUTING_KEY]  or  route --live EXCHANGE [ROUTING_KEY]")
        file = None if live else Path(args[0])
        exchange, *rest = args if live else args[1:]
        headers = dict(parse_header(h) for h in header)
        topology, version = read_source_and_version(ctx, file, live, [vhost] if vhost else None)
        name = _one_vhost(topology, vhost, live)
        result = route(topology, name, exchange, Message(rest[0] if rest else "", headers), server_version=version)
    if output is OutputFormat.json:
        emit_json(result.to_dict())
    else:
        for n, t in result.unknown:
            err(f"warning: exchange {n!r} has type {t!r}, unknown to the simulator: its routing is not shown")
        print("unroutable" if result.unroutable else "\n".join(result.queues))
        err(f"through: {' -> '.join(repr(x) for x in result.exchanges)}")


def verify_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Topology file with an expect: section."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check the file's expect: section against the live server, on a scratch copy of each vhost."""
    from rabbitadmin.routing.verify import verify_live

    with error_boundary(output):
        desired = read_source(ctx, file, False)
        expectations = desired.expectations
        if not expectations:
            raise UsageError(f"{file} has no expect: section")
        state = cli_state(ctx)
        live = read_source(ctx, None, True, sorted({e.vhost for e in expectations}))
        outcomes = verify_live(state.settings, live, expectations)
    failed = [o for o in outcomes if not o.passed]
    if output is OutputFormat.json:
        emit_json({"passed": not failed, "expectations": [o.to_dict() for o in outcomes]})
    else:
        for o in outcomes:
            where = str(o.expectation.origin) if o.expectation.origin else o.expectation.path
            print(
                f"{'ok  ' if o.passed else 'FAIL'} {where}: "
                + (o.explain() if not o.passed else f"{o.expectation.describe()} {o.expectation.wanted()}")
            )
        print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(int(ExitCode.FINDINGS))


def graph_command(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="Topology file (or --live)."),
    live: bool = LIVE_OPTION,
    fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid, dot, svg or html."),
    vhost: list[str] = typer.Option([], "--vhost", help="Only this vhost (repeatable)."),
    focus_name: str | None = typer.Option(None, "--focus", help="Only what is near this exchange or queue."),
    depth: int = typer.Option(2, "--depth", min=0, help="With --focus: how many edges away, either direction."),
    output_file: Path | None = OUTPUT_FILE_OPTION,
) -> None:
    """Draw the topology: exchanges, queues, bindings (keys on edges), alternate and dead-letter edges."""
    from rabbitadmin.routing.graph import GraphFormat, build, focus, render

    with error_boundary():
        try:
            graph_format = GraphFormat(fmt)
        except ValueError:
            raise UsageError("--format must be mermaid, dot, svg or html") from None
        topology = read_source(ctx, file, live, vhost)
        graph = build(topology, vhost or None)
        if focus_name is not None:
            graph = focus(graph, focus_name, depth)
        text = render(graph, graph_format)
    _write(text, output_file)


def report_command(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="Topology file (or --live)."),
    live: bool = LIVE_OPTION,
    output_file: Path | None = OUTPUT_FILE_OPTION,
) -> None:
    """One HTML page: the topology picture, the access matrix as a heat map, the audit findings."""
    from rabbitadmin.routing.report import render_report

    with error_boundary():
        findings = None
        if live and file is None:
            from rabbitadmin.audit.cli import run_audit

            # The same findings as `rabbitadmin audit`: node settings and deprecations included.
            topology, report = run_audit(ctx)
            findings = report.findings
        else:
            topology = read_source(ctx, file, live)
        title = f"RabbitMQ report: {file}" if file is not None else f"RabbitMQ report: {cli_state(ctx).settings.url}"
        text = render_report(topology, title, findings)
    _write(text, output_file)


def _write(text: str, output_file: Path | None) -> None:
    if output_file is None:
        sys.stdout.write(text)
    else:
        output_file.write_text(text, encoding="utf-8")
        err(f"wrote {output_file}")


def register(app: typer.Typer) -> None:
    """Add ``route``, ``verify``, ``graph`` and ``report`` to ``app``."""
    app.command("route")(route_command)
    app.command("verify")(verify_command)
    app.command("graph")(graph_command)
    app.command("report")(report_command)
