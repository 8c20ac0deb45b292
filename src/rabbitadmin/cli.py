"""The ``rabbitadmin`` command line. Thin: it parses options, calls the library and renders results."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import MappingProxyType

import typer
import yaml

from rabbitadmin import __version__, fleet, interrupts, sandbox_cluster_cli
from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.factory import DEFAULT_TRANSPORT, TRANSPORTS, lock_transport
from rabbitadmin.cli_entry import LazyCommandsGroup, wants_json
from rabbitadmin.cli_entry import run as run_command
from rabbitadmin.cli_support import (
    LOCK_TIMEOUT_OPTION,
    NO_LOCK_OPTION,
    OUTPUT_OPTION,
    OutputFormat,
    cli_state,
    confirm_or_refuse,
    emit_json,
    err,
    error_boundary,
    export_format,
    lock_wait_notice,
    make_backend,
    stop_on_signals,
    transport_options,
)
from rabbitadmin.connection import cluster_urls
from rabbitadmin.engine import ApplyResult, EngineSession, LockOptions, check_safety, plan_file
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import ExitCode, TopologyError, UnknownVhost, UsageError
from rabbitadmin.export import definitions_document, export_document
from rabbitadmin.gc_pause import collector_paused
from rabbitadmin.loader import load_topology
from rabbitadmin.progress import ApplyProgress, activity
from rabbitadmin.render import make_console, plan_output, render_plan, render_result
from rabbitadmin.sandbox import Sandbox, write_private
from rabbitadmin.sandbox_cluster import MAX_NODES, SandboxCluster, open_sandbox
from rabbitadmin.suggest import no_such
from rabbitadmin.targets_cli import register as register_targets
from rabbitadmin.targets_cli import state_for, with_target
from rabbitadmin.uri_secrets import MASK


# -- command groups built in their own packages, loaded when one of their commands runs ----------------------
def _admin(app: typer.Typer) -> None:
    from rabbitadmin.admin import register

    register(app)


def _daily(app: typer.Typer) -> None:
    from rabbitadmin.admin import register_daily

    register_daily(app)  # overview, health-check, passwords, plugins, policies, feature-flags, definitions


def _audit(app: typer.Typer) -> None:
    from rabbitadmin.audit.cli import register

    register(app)


def _routing(app: typer.Typer) -> None:
    from rabbitadmin.routing.cli import register

    register(app)


def _schema(app: typer.Typer) -> None:
    from rabbitadmin.schema_cmd import schema

    app.command("schema")(schema)


def _tutorial(app: typer.Typer) -> None:
    from rabbitadmin.tutorials.cli import tutorial_app

    app.add_typer(tutorial_app, name="tutorial")


_ADMIN = ("users", "vhosts", "permissions", "queues", "exchanges", "bindings", "connections", "channels", "consumers")
_DAILY = ("overview", "health-check", "passwords", "plugins", "policies", "feature-flags", "definitions")


class RootGroup(LazyCommandsGroup):
    """The ``rabbitadmin`` group: an interrupt typer would end silently is one line and exit 130
    (``InterruptReportingGroup``); the commands a plan or an apply never runs are loaded on first use."""

    order = (
        *("validate", "plan", "apply", "export", "overview", "health-check", "audit", "access", "route", "verify"),
        *("graph", "report", "schema", "sandbox", *_ADMIN, "passwords", "plugins", "policies", "feature-flags"),
        *("definitions", "targets", "tutorial"),
    )
    lazy = MappingProxyType(
        {
            **dict.fromkeys(_ADMIN, _admin),
            **dict.fromkeys(_DAILY, _daily),
            **dict.fromkeys(("audit", "access"), _audit),
            **dict.fromkeys(("route", "verify", "graph", "report"), _routing),
            "schema": _schema,
            "tutorial": _tutorial,
        }
    )


app = typer.Typer(
    cls=RootGroup,
    name="rabbitadmin",
    help="Provision and administer RabbitMQ declaratively: validate, plan, apply, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="Run a private RabbitMQ node on this machine (free ports, own directory).")
app.add_typer(sandbox_app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"rabbitadmin {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    url: list[str] | None = typer.Option(
        None,
        "--url",
        envvar="RABBITADMIN_URL",
        help="Management API URL; repeat it for a cluster's nodes (first reachable used, failover to the next; "
        "RABBITADMIN_URLS: comma-separated).",
    ),
    user: str | None = typer.Option(None, "--user", "-u", envvar="RABBITADMIN_USER", help="User name."),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Password; prefer the RABBITADMIN_PASSWORD variable or --password-file (arguments show in ps).",
    ),
    password_file: str | None = typer.Option(
        None, "--password-file", envvar="RABBITADMIN_PASSWORD_FILE", help="Read the password from this file."
    ),
    ca_bundle: str | None = typer.Option(
        None, "--ca-bundle", envvar="RABBITADMIN_CA_BUNDLE", help="CA bundle to verify the server's TLS."
    ),
    client_cert: str | None = typer.Option(
        None, "--client-cert", envvar="RABBITADMIN_CLIENT_CERT", help="Client certificate (PEM)."
    ),
    client_key: str | None = typer.Option(
        None, "--client-key", envvar="RABBITADMIN_CLIENT_KEY", help="Client certificate key (PEM)."
    ),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the server's TLS certificate."),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0.001, help="Seconds to wait for each server response (default 60)."
    ),
    backend: str | None = typer.Option(
        None,
        "--backend",
        envvar="RABBITADMIN_BACKEND",
        help="; ".join(f"{name}: {what}" for name, what in TRANSPORTS.items())
        + f" (default {DEFAULT_TRANSPORT}, or the target's).",
    ),
    node: str | None = typer.Option(
        None, "--node", envvar="RABBITADMIN_NODE", help="ctl: the node name, e.g. rabbit@host."
    ),
    rabbitmqctl: str | None = typer.Option(
        None, "--rabbitmqctl", envvar="RABBITADMIN_RABBITMQCTL", help="ctl: the rabbitmqctl executable."
    ),
    ctl_prefix: str | None = typer.Option(
        None,
        "--ctl-prefix",
        envvar="RABBITADMIN_CTL_PREFIX",
        help="ctl: run rabbitmqctl through this command, e.g. 'ssh host' or 'docker exec c'.",
    ),
    erlang_cookie_file: str | None = typer.Option(
        None, "--erlang-cookie-file", envvar="RABBITADMIN_ERLANG_COOKIE_FILE", help="ctl: the node's Erlang cookie."
    ),
    ctl_timeout: float | None = typer.Option(
        None,
        "--ctl-timeout",
        envvar="RABBITADMIN_CTL_TIMEOUT",
        help="ctl: seconds each rabbitmqctl call may take before it is killed (exit 10); default 300.",
    ),
    target: list[str] = typer.Option(
        [],
        "--target",
        envvar="RABBITADMIN_TARGET",
        help="A named target from the targets file (see `rabbitadmin targets list`); options and "
        "RABBITADMIN_* variables override its values. Repeat it, or name a group, to plan, apply or audit "
        "several targets at once (docs/fleets.md).",
    ),
    var: list[str] = typer.Option(
        [], "--var", help="NAME=VALUE for ${NAME} in the topology (repeatable); wins over the target's vars."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global connection options; every command also reads them from RABBITADMIN_* variables."""
    given = dict(locals())  # the options as given (a command line option or its RABBITADMIN_* variable)
    url_source = ctx.get_parameter_source("url")
    if url_source is not None and url_source.name == "ENVIRONMENT":
        given["url"] = cluster_urls(os.environ)  # RABBITADMIN_URL first, then the others of RABBITADMIN_URLS
    # The command's -o is not parsed yet when this runs: read it off the arguments.
    with error_boundary(OutputFormat.json if wants_json(sys.argv[1:]) else None):
        ctx.obj = state_for(with_target(given, ctx))
        fleet.check_command(ctx.obj, ctx.invoked_subcommand)


# -- declarative commands -------------------------------------------------------------------------------
FILE_ARGUMENT = typer.Argument(..., help="Topology file: YAML topology or RabbitMQ definitions JSON.")
PRUNE_OPTION = typer.Option(
    False, "--prune", help="Also delete objects the file does not list, inside the vhosts it manages."
)
DATA_LOSS_OPTION = typer.Option(
    False, "--allow-data-loss", help="Allow deleting or replacing queues that hold messages."
)
SUMMARY_OPTION = typer.Option(
    False, "--summary", help="Counts per vhost, kind and action (a table) instead of one line per change."
)
NO_PAGER_OPTION = typer.Option(
    False, "--no-pager", help="Never page a plan longer than the terminal (PAGER chooses the pager otherwise)."
)


@app.command()
def validate(
    ctx: typer.Context,
    file: Path = FILE_ARGUMENT,
    skip_secrets: bool = typer.Option(
        False, "--skip-secrets", help="Do not require the password environment variables and files to exist."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Warnings are problems too (exit 2): e.g. a plain-text password in a definitions file, for CI.",
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check a topology offline: every problem at once, with file, line and field. Nothing is sent."""
    with error_boundary(output):
        state = cli_state(ctx)
        if state.fleet is not None:
            raise typer.Exit(
                fleet.validate_fleet(state, file, skip_secrets=skip_secrets, output=output, strict=strict)
            )
        topology = load_topology(file, resolve_secrets=not skip_secrets, variables=state.variables)
    counts = {kind: len(objs) for kind, objs in topology.objects.items()}
    absent = sum(len(keys) for keys in topology.absent.values())
    with error_boundary(output):
        if strict and topology.warnings:  # e.g. a plain-text password in a definitions file, for CI
            raise TopologyError(list(topology.warnings))
    if output is OutputFormat.json:
        warnings = [str(w) for w in topology.warnings]
        emit_json({"valid": True, "file": str(file), "objects": counts, "absent": absent, "warnings": warnings})
        return
    for warning in topology.warnings:
        err(f"warning: {warning}")
    described = ", ".join(f"{n} {kind.replace('_', ' ')}(s)" for kind, n in counts.items() if n)
    print(f"{file}: valid ({described or 'no objects'}; {absent} declared absent)")


#: What the spinner says while plan and apply read the server (state, then exact message counts).
READING = "reading the server's state and counting messages"


def _left_out_in_plans() -> contextlib.AbstractContextManager[None]:
    """What the state read leaves out (objects no client can address) is said in the plan, not on stderr."""
    from rabbitadmin.definitions import left_out_in_plans

    return left_out_in_plans()


def _warn(warning: str) -> None:
    err(f"warning: {warning}")  # e.g. an argument only some RabbitMQ versions refuse


@app.command()
def plan(
    ctx: typer.Context,
    file: Path = FILE_ARGUMENT,
    prune: bool = PRUNE_OPTION,
    detailed_exitcode: bool = typer.Option(
        False,
        "--detailed-exitcode",
        help=f"Exit {int(ExitCode.CHANGES_PENDING)} when changes are pending, 0 when none.",
    ),
    parallel_targets: int = fleet.PARALLEL_TARGETS_OPTION,
    summary: bool = SUMMARY_OPTION,
    no_pager: bool = NO_PAGER_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Show what `apply` would change on the server (on each target, with several). Writes nothing."""
    ctx.with_resource(_left_out_in_plans())
    with error_boundary(output):
        state = cli_state(ctx)
        if state.fleet is not None:
            code = fleet.plan_fleet(
                state, file, prune=prune, detailed_exitcode=detailed_exitcode, limit=parallel_targets, output=output
            )
            raise typer.Exit(code)
    # The cyclic collector stays paused from the load to the output: the loader, the read and the diff pause
    # it while they build, and its first pass between the read and the diff walked every object just read
    # (20 ms at W(10000)) to free a few hundred. Run from ``main``, what the plan holds then lives until the
    # process ends: frozen, no later pass walks it either.
    with collector_paused():
        with error_boundary(output), activity(READING, enabled=output is OutputFormat.text):
            the_plan = plan_file(
                file, lambda: make_backend(state), prune=prune, on_warning=_warn, variables=state.variables
            )
        if output is OutputFormat.json:
            emit_json(the_plan.to_dict())
        else:
            render_plan(the_plan, plan_output(), summary=summary, page=not no_pager and sys.stdin.isatty())
        if _ONE_COMMAND_PER_PROCESS.is_set():
            gc.freeze()
    if the_plan.refusals:
        raise typer.Exit(int(ExitCode.REFUSED))
    if detailed_exitcode and not the_plan.is_empty:
        raise typer.Exit(int(ExitCode.CHANGES_PENDING))


@app.command()
def apply(
    ctx: typer.Context,
    file: Path = FILE_ARGUMENT,
    prune: bool = PRUNE_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
    allow_data_loss: bool = DATA_LOSS_OPTION,
    parallel: int | None = typer.Option(
        None,
        "--parallel",
        min=1,
        max=64,
        help="Requests in flight at once (http, default 16) or rabbitmqctl processes at once (ctl, default 3);"
        " or the target's.",
    ),
    lock_timeout: float = LOCK_TIMEOUT_OPTION,
    no_lock: bool = NO_LOCK_OPTION,
    create_with: CreateWith = typer.Option(
        CreateWith.auto,
        "--create-with",
        help="Large batches of exchanges, queues and bindings: auto (AMQP declares when eligible and at least"
        " 2,000 objects, else the definitions import), import, or amqp (AMQP when eligible, any size). With"
        " --backend ctl the declares run on the node (RabbitMQ's Erlang AMQP client).",
    ),
    parallel_targets: int = fleet.PARALLEL_TARGETS_OPTION,
    summary: bool = SUMMARY_OPTION,
    no_pager: bool = NO_PAGER_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
    # `definitions import FILE --vhost NAME` runs this command with it: FILE is a per-vhost export.
    definitions_vhost: str | None = typer.Option(None, "--definitions-vhost", hidden=True),
) -> None:
    """Make the server match the topology: show the plan, ask, apply in dependency order (several targets:
    every plan shown, one question)."""
    ctx.with_resource(_left_out_in_plans())
    console = make_console()
    with error_boundary(output):
        state = cli_state(ctx)
        if definitions_vhost is not None and state.fleet is not None:
            raise UsageError("a per-vhost definitions import goes to one server: give one target")
        if state.fleet is not None:
            options = fleet.ApplyOptions(
                prune, yes, allow_data_loss, parallel, lock_timeout, no_lock, create_with.value
            )
            raise typer.Exit(fleet.apply_fleet(state, file, options, limit=parallel_targets, output=output))
        lock = None if no_lock else LockOptions(
                lambda backend: lock_transport(transport_options(state), backend),
                lock_timeout,
                lock_wait_notice(lock_timeout),
            )
        connect = functools.partial(
            make_backend, state, parallelism=parallel or state.parallel, create_with=create_with.value
        )
        with EngineSession(connect, lock=lock, on_warning=_warn) as session:
            with activity(READING, enabled=output is OutputFormat.text):
                the_plan = session.plan_file(
                    file, prune=prune, variables=state.variables, definitions_vhost=definitions_vhost
                )
            if output is OutputFormat.text:
                # A long plan is paged only when a person will be asked about it.
                render_plan(the_plan, console, summary=summary, page=not (no_pager or yes) and sys.stdin.isatty())
            check_safety(the_plan, allow_data_loss=allow_data_loss)
            if the_plan.is_empty:
                if output is OutputFormat.json:
                    emit_json(
                        {"plan": the_plan.to_dict(), "result": ApplyResult().to_dict(), "failovers": state.failovers}
                    )
                return
            confirm_or_refuse(f"Apply {len(the_plan.changes)} change(s)?", yes=yes)
            interrupt = threading.Event()
            total = len(the_plan.changes) + sum(c.action is Action.REPLACE for c in the_plan.changes)
            with (
                ApplyProgress(total, enabled=output is OutputFormat.text) as progress,
                stop_on_signals(interrupt),
            ):
                result = session.apply_plan(
                    the_plan,
                    allow_data_loss=allow_data_loss,
                    progress=progress,
                    import_progress=progress.within,
                    stop=interrupt,
                )
    if output is OutputFormat.json:
        emit_json({"plan": the_plan.to_dict(), "result": result.to_dict(), "failovers": state.failovers})
    else:
        render_result(result, console)


VHOST_FILTER_OPTION = typer.Option(None, "--vhost", help="Export only this vhost (repeatable).")
OUTPUT_FILE_OPTION = typer.Option(None, "--output-file", help="Write here instead of stdout.")


@app.command()
def export(
    ctx: typer.Context,
    vhost: list[str] = VHOST_FILTER_OPTION,
    include_password_hashes: bool = typer.Option(
        False, "--include-password-hashes", help="Include users' password hashes (they are secrets too)."
    ),
    output_format: str | None = typer.Option(
        None, "--format", "-f", help="yaml (default), json, or definitions (the server's import format, JSON)."
    ),
    include_secrets: bool = typer.Option(
        False, "--include-secrets", "--include-uri-passwords",
        help="Keep the secrets of parameters and policies (URI passwords, password/secret/token... keys); only "
        "with --output-file.",
    ),
    output_file: Path | None = OUTPUT_FILE_OPTION,
    output: OutputFormat | None = typer.Option(
        None, "--output", "-o", help="json: the topology as JSON (as --format json), and errors as JSON; text: YAML."
    ),
) -> None:
    """Print the live server (or some vhosts) as a topology that plans no changes when applied back."""
    with error_boundary(output):
        output_format = export_format(output_format, output)
        if include_secrets and output_file is None:
            raise UsageError("--include-secrets writes secrets: only to a file (--output-file), never to stdout")
        backend = make_backend(cli_state(ctx))
        try:
            actual = backend.read_state(vhost or None)
            version = backend.server_facts()[0] if output_format == "definitions" else None
        finally:
            backend.close()
        if vhost:
            missing = [name for name in vhost if (name,) not in actual.vhosts]
            if missing:  # the error every command gives for a vhost the server does not have (exit 1)
                raise UnknownVhost(no_such("vhost", missing[0], [key[0] for key in actual.vhosts]))
        masked_out: list[str] = []  # what was masked, by object and field (never a value)
        if output_format == "definitions":
            document = definitions_document(
                actual, vhost or None, include_password_hashes=include_password_hashes,
                include_secrets=include_secrets, server_version=version, masked_out=masked_out,
            )  # fmt: skip
        else:
            document = export_document(
                actual, vhost or None, include_password_hashes=include_password_hashes,
                include_secrets=include_secrets, masked_out=masked_out,
            )  # fmt: skip
    if output_format in ("json", "definitions"):
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    for line in masked_out:
        err(f"warning: masked as {MASK}: {line}")
    if masked_out:
        err("warning: applying this export back is refused until the masked secrets are restored (or export with "
            "--include-secrets --output-file FILE)")  # fmt: skip
    if output_file is None:
        sys.stdout.write(text)
    elif include_secrets:
        write_private(output_file, text)  # it holds secrets: readable by its owner only
        err(f"wrote {output_file} (mode 0600: it holds secrets)")
    else:
        output_file.write_text(text, encoding="utf-8")
        err(f"wrote {output_file}")


# -- sandbox ---------------------------------------------------------------------------------------------
DIR_OPTION = typer.Option(None, "--dir", envvar="RABBITADMIN_SANDBOX_DIR", help="Directory of the node.")
NODES_OPTION = typer.Option(
    None, "--nodes", min=1, max=MAX_NODES, help="Nodes: 1 (default) or a cluster of 2-9 (default: what --dir holds)."
)


@sandbox_app.command("start")
def sandbox_start(
    directory: Path | None = DIR_OPTION,
    no_management: bool = typer.Option(False, "--no-management", help="Do not enable the management plugin."),
    tls_dir: Path | None = typer.Option(
        None, "--tls-dir", help="Serve the API over HTTPS with ca.pem, server.pem/.key; clients need client.pem/.key."
    ),
    rabbitmq: str | None = typer.Option(
        None,
        "--rabbitmq",
        help="3.10: the host's package (default); 4.0: Debian 13's 4.0.5 from a root built on first use (root only).",
    ),
    nodes: int | None = NODES_OPTION,
    plugins: str | None = typer.Option(
        None,
        "--plugins",
        help="Plugins to enable at start besides management, comma-separated: rabbitmq_shovel,rabbitmq_federation.",
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Start the private node, or with --nodes N a cluster of N (or report the one already running)."""
    wanted = tuple(p.strip() for p in plugins.split(",") if p.strip()) if plugins is not None else None
    with error_boundary(output):
        opened = open_sandbox(
            directory, nodes=nodes, management=not no_management, tls_dir=tls_dir, rabbitmq=rabbitmq, plugins=wanted
        )
    if isinstance(opened, SandboxCluster):
        return sandbox_cluster_cli.start(opened, output, _dir_arg(directory))
    with error_boundary(output):
        box = opened
        already = box.status().state == "running"
        info = box.start()
    if output is OutputFormat.json:
        emit_json({"state": "running", "already_running": already, **_public_info(box)})
        return
    err("already running" if already else "started")
    _print_info(box)
    err(f'point rabbitadmin at it with:  eval "$(rabbitadmin sandbox env{_dir_arg(directory)})"')
    del info


@sandbox_app.command("stop")
def sandbox_stop(
    directory: Path | None = DIR_OPTION,
    keep_data: bool = typer.Option(False, "--keep-data", help="Keep the node's directory and data."),
) -> None:
    """Stop the private node and remove its data (also cleans up after a node that crashed)."""
    with error_boundary():
        box = open_sandbox(directory)
        was_running = box.stop(keep_data=keep_data)
    err("stopped" if was_running else "no node was running; cleaned up")


@sandbox_app.command("status")
def sandbox_status(directory: Path | None = DIR_OPTION, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Say whether the private node (every node of a cluster) runs (exit 0) or not (exit 1)."""
    with error_boundary(output):
        opened = open_sandbox(directory)
    if isinstance(opened, SandboxCluster):
        return sandbox_cluster_cli.status(opened, output)
    with error_boundary(output):
        box = opened
        status = box.status()
    if output is OutputFormat.json:
        emit_json({"state": status.state, **(_public_info(box) if status.info else {})})
    else:
        print(status.state)
        if status.info:
            _print_info(box)
    if status.state != "running":
        raise typer.Exit(int(ExitCode.ERROR))


@sandbox_app.command("env")
def sandbox_env(directory: Path | None = DIR_OPTION) -> None:
    """Print shell `export` lines for RABBITADMIN_URL, _USER and _PASSWORD (read from its file)."""
    with error_boundary():
        print(open_sandbox(directory).env_exports())


def _public_info(box: Sandbox) -> dict[str, object]:
    info = box.status().info
    return info.public() if info else {}


def _print_info(box: Sandbox) -> None:
    for key, value in _public_info(box).items():
        print(f"{key:14} {value}")


def _dir_arg(directory: Path | None) -> str:
    return f" --dir {directory}" if directory else ""


# -- command groups built in their own packages (the lazy ones: RootGroup) ---------------------------------
sandbox_cluster_cli.register(sandbox_app, DIR_OPTION)
register_targets(app)


#: Set by ``main``: the process ends when the command returns (``os._exit``), so a command may leave what it
#: built to the end of the process (``gc.freeze``). Not set when the app runs inside a longer-lived process.
_ONE_COMMAND_PER_PROCESS = threading.Event()


def main() -> None:
    """The ``rabbitadmin`` command: run the app, flush the output, and end the process at once.

    A plan of a large topology holds half a million small objects; freeing them one by one as the
    interpreter shuts down took 50-70 ms of a 2 s command. By the time ``app`` returns, every pool has
    been joined and every connection closed, so nothing is left for exit handlers to do (mypy ends the
    same way). Errors that escape ``app`` still take the normal path, with their traceback.
    """
    # SIGTERM (CI runners, `kill`) is treated as Ctrl-C: exit 130, and an apply reports what it did.
    signal.signal(signal.SIGTERM, interrupts.raise_interrupt)
    _ONE_COMMAND_PER_PROCESS.set()
    # Global options after the command, usage errors under -o json, a closed pipe: see cli_entry.
    try:
        code = run_command(typer.main.get_command(app), sys.argv[1:])
    except KeyboardInterrupt:
        # Between the launcher and the commands' own handling (the command tree being built, the arguments
        # read): one line and exit 130, never a traceback. The early read makes an interrupt there likely.
        print("error: interrupted (Ctrl-C or SIGTERM)", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a reader that went away, a closed stream
            stream.flush()
    os._exit(code)


__all__ = ["app", "cli_state", "main"]
