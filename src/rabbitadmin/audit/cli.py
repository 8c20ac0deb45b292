"""Command line: ``rabbitadmin audit`` and ``rabbitadmin access``; ``register(app)`` adds both."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

import typer

from rabbitadmin import fleet
from rabbitadmin.audit.access import PERMS, access_matrix, who_can, with_builtin_exchanges
from rabbitadmin.audit.node import NodeFacts
from rabbitadmin.audit.rules import DEFAULT_MAX_PRIVILEGED, RULES, Report, Severity, audit
from rabbitadmin.cli_support import (
    OUTPUT_OPTION,
    CliState,
    OutputFormat,
    cli_state,
    emit_json,
    error_boundary,
    make_backend,
)
from rabbitadmin.errors import ExitCode, UnknownExchange, UnknownQueue, UnknownUser, UnknownVhost, UsageError
from rabbitadmin.kinds import is_server_owned_exchange
from rabbitadmin.model import Topology
from rabbitadmin.suggest import no_such


class SeverityName(StrEnum):
    """Severity names for ``--fail-on`` (typer needs string choices)."""

    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


TOPOLOGY_OPTION = typer.Option(None, "--topology", "-t", help="Topology file (drift for audit; offline source).")
OFFLINE_OPTION = typer.Option(False, "--offline", help="Read only the topology file, not the server.")
MAX_PRIVILEGED_OPTION = typer.Option(
    DEFAULT_MAX_PRIVILEGED,
    "--max-privileged",
    min=0,
    help="RA019: more users than this hold administrator/policymaker.",
)


def _read(ctx: typer.Context, topology: Path | None, offline: bool) -> tuple[Topology, Topology | None]:
    """(what to audit, the desired topology for drift or None)."""
    topo, desired, _ = _read_with_node(cli_state(ctx), topology, offline, node=False)
    return topo, desired


def _read_with_node(
    state: CliState, topology: Path | None, offline: bool, *, node: bool
) -> tuple[Topology, Topology | None, NodeFacts | None]:
    """(what to audit, the desired topology for drift or None, the node's settings when ``node`` and live)."""
    from rabbitadmin.loader import load_topology

    if offline:
        if topology is None:
            raise UsageError("--offline needs --topology FILE")
        return with_builtin_exchanges(load_topology(topology, variables=state.variables)), None, None
    # Drift compares names only, so the file's password sources need not be resolvable here.
    desired = (
        load_topology(topology, resolve_secrets=False, variables=state.variables) if topology is not None else None
    )
    backend = make_backend(state)
    try:
        live = backend.read_state(None)
        facts = _node_facts(backend) if node else None
    finally:
        backend.close()
    return with_builtin_exchanges(live), desired, facts


def _node_facts(backend: object) -> NodeFacts:
    from rabbitadmin.audit import node
    from rabbitadmin.backends.ctl.backend import CtlBackend
    from rabbitadmin.backends.http.backend import HttpBackend

    if isinstance(backend, CtlBackend):
        return node.read_ctl(backend.ctl)
    assert isinstance(backend, HttpBackend)
    return node.read_http(backend.client)


def _deprecations(state: CliState, topo: Topology, offline: bool) -> list[tuple[str, str]]:
    """Deprecated features in use (rule RA023): the server's own report over HTTP on 4.0 and later, else
    the objects checked against RabbitMQ 4.0's deprecations (``server_versions.deprecated_in_use``)."""
    from rabbitadmin.server_versions import deprecated_in_use

    if offline:
        return deprecated_in_use(topo, None, None)
    backend = make_backend(state)
    try:
        used = getattr(backend, "deprecated_features_used", None)
        if used is None:
            return deprecated_in_use(topo, None, None)
        version, _ = backend.server_facts()
        return deprecated_in_use(topo, version, used())
    finally:
        backend.close()


def run_audit(
    ctx: typer.Context,
    *,
    topology: Path | None = None,
    offline: bool = False,
    ignore: Iterable[str] = (),
    max_privileged: int = DEFAULT_MAX_PRIVILEGED,
) -> tuple[Topology, Report]:
    """The audit ``rabbitadmin audit`` runs, for every command that shows findings (``report`` too), so
    they never disagree: (the audited topology with the built-in exchanges, the report).

    Live: the server's state, the node's settings (RA020-RA022) and its deprecated features in use (RA023);
    ``topology`` adds drift. ``offline``: ``topology`` alone. Raises what the backend raises.
    """
    state = cli_state(ctx)
    return run_audit_on(state, topology=topology, offline=offline, ignore=ignore, max_privileged=max_privileged)


def run_audit_on(
    state: CliState,
    *,
    topology: Path | None = None,
    offline: bool = False,
    ignore: Iterable[str] = (),
    max_privileged: int = DEFAULT_MAX_PRIVILEGED,
) -> tuple[Topology, Report]:
    """``run_audit`` for the target ``state`` reaches (one target of a fleet, ``fleet.audit_fleet``)."""
    topo, desired, facts = _read_with_node(state, topology, offline, node=True)
    report = audit(
        topo,
        desired=desired,
        ignore=ignore,
        node=facts,
        max_privileged=max_privileged,
        deprecated=_deprecations(state, topo, offline),
    )
    return topo, report


def audit_command(
    ctx: typer.Context,
    topology: Path | None = TOPOLOGY_OPTION,
    offline: bool = OFFLINE_OPTION,
    fail_on: SeverityName | None = typer.Option(None, "--fail-on", help="Exit 7 if a finding is at least this severe."),
    ignore: list[str] = typer.Option([], "--ignore", help="Rule id to leave out (repeatable), e.g. RA004."),
    max_privileged: int = typer.Option(
        DEFAULT_MAX_PRIVILEGED,
        "--max-privileged",
        min=0,
        help="RA019: more users than this with administrator/policymaker.",
    ),
    parallel_targets: int = fleet.PARALLEL_TARGETS_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Report permission and security findings (rule id, severity, objects, advice, source); with several
    targets, for each."""
    with error_boundary(output):
        unknown = [i for i in ignore if i.upper() not in RULES]
        if unknown:
            raise UsageError(f"unknown rule id(s) for --ignore: {', '.join(unknown)}")
        state = cli_state(ctx)
        if state.fleet is not None:

            def run(member: CliState) -> Report:
                options = {"topology": topology, "offline": offline, "ignore": ignore}
                return run_audit_on(member, **options, max_privileged=max_privileged)[1]  # type: ignore[arg-type]

            threshold = Severity[fail_on.value] if fail_on is not None else None
            raise typer.Exit(fleet.audit_fleet(state, run, fail_on=threshold, limit=parallel_targets, output=output))
        _, report = run_audit(ctx, topology=topology, offline=offline, ignore=ignore, max_privileged=max_privileged)
    if output is OutputFormat.json:
        emit_json({"findings": [f.to_dict() for f in report.findings]})
    elif not report.findings:
        print("no findings")
    else:
        columns = ("rule", "severity", "finding", "objects", "advice")
        _print_table(
            columns, [(f.rule, f.severity.name, f.message, "\n".join(f.objects), f.advice) for f in report.findings]
        )
    worst = report.worst()
    if fail_on is not None and worst is not None and worst >= Severity[fail_on.value]:
        raise typer.Exit(int(ExitCode.FINDINGS))


def access_command(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", "-u", help="Only this user."),
    vhost: str | None = typer.Option(None, "--vhost", help="Only this vhost (required with --who-can)."),
    who: str | None = typer.Option(None, "--who-can", help="Reverse query: configure, write or read."),
    exchange: str | None = typer.Option(None, "--exchange", help="With --who-can: this exchange."),
    queue: str | None = typer.Option(None, "--queue", help="With --who-can: this queue."),
    topology: Path | None = TOPOLOGY_OPTION,
    offline: bool = OFFLINE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Effective access: per user and vhost, which exchanges and queues they may configure, write, read."""
    with error_boundary(output):
        if who is not None and (who not in PERMS or vhost is None or (exchange is None) == (queue is None)):
            raise UsageError("--who-can configure|write|read needs --vhost and one of --exchange/--queue")
        topo, _ = _read(ctx, topology, offline)
        _check_names(topo, user=user, vhost=vhost, exchange=exchange if who else None, queue=queue if who else None)
    if who is not None and vhost is not None:
        kind, name = ("exchange", exchange) if exchange is not None else ("queue", queue or "")
        users = who_can(topo, who, kind, vhost, name)
        if output is OutputFormat.json:
            emit_json({"vhost": vhost, "kind": kind, "name": name, "permission": who, "users": users})
        else:
            print("\n".join(users) if users else f"nobody can {who} {kind} {name!r} in vhost {vhost!r}")
        return
    rows = access_matrix(topo, user=user, vhost=vhost)
    if output is OutputFormat.json:
        emit_json({"access": [r.to_dict() for r in rows]})
        return
    _print_table(
        ("user", "vhost", "kind", "name", "configure", "write", "read"),
        [
            (
                r.user,
                r.vhost,
                r.kind,
                r.name if r.name else "(default)",
                *("yes" if r.allows(p) else "-" for p in PERMS),
            )
            for r in rows
        ],
    )


def _check_names(
    topo: Topology, *, user: str | None, vhost: str | None, exchange: str | None, queue: str | None
) -> None:
    """``UnknownUser``/``UnknownVhost``/``UnknownExchange``/``UnknownQueue`` for a name the server (or file) does
    not have: an empty table would read as "no access" (issue 16.10). Server-owned exchanges always exist."""
    users = [key[0] for key in topo.of("user")]
    vhosts = [key[0] for key in topo.of("vhost")]
    if user is not None and user not in users:
        raise UnknownUser(no_such("user", user, users))
    if vhost is None:
        return
    if vhost not in vhosts:
        raise UnknownVhost(no_such("vhost", vhost, vhosts))
    where = f" in vhost {vhost!r}"
    exchanges = [key[1] for key in topo.of("exchange") if key[0] == vhost]
    if exchange is not None and not is_server_owned_exchange(exchange) and exchange not in exchanges:
        raise UnknownExchange(no_such("exchange", exchange, exchanges, where))
    queues = [key[1] for key in topo.of("queue") if key[0] == vhost]
    if queue is not None and queue not in queues:
        raise UnknownQueue(no_such("queue", queue, queues, where))


def _print_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    from rabbitadmin.render import print_table

    print_table(columns, rows)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` and ``access`` commands to ``app``."""
    app.command("audit")(audit_command)
    app.command("access")(access_command)
