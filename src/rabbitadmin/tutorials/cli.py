"""``rabbitadmin tutorial``: list, show, provision and run the six tutorial scenarios."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import typer

from rabbitadmin.backends.factory import lock_transport
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.cli_support import (
    LOCK_TIMEOUT_OPTION,
    NO_LOCK_OPTION,
    OUTPUT_OPTION,
    OutputFormat,
    cli_state,
    confirm_or_refuse,
    emit_json,
    error_boundary,
    lock_wait_notice,
    make_backend,
    transport_options,
)
from rabbitadmin.connection import DEFAULT_AMQP_PORT, ConnectionSettings, read_password_file
from rabbitadmin.engine import ApplyResult, EngineSession, LockOptions, check_safety
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import RabbitAdminError, UsageError
from rabbitadmin.model import Secret
from rabbitadmin.prompts import require_secret
from rabbitadmin.render import make_console, render_plan, render_result
from rabbitadmin.tutorials.scenarios import (
    DEFAULT_VHOST,
    PASSWORD_ENV,
    SCENARIOS,
    TUTORIAL_USER,
    get_scenario,
    load_preset,
    preset_document_text,
)

# The runners' names, from the scenarios (the runners module imports pika: loaded only to run one).
PROGRAM_NAMES = [program for scenario in SCENARIOS.values() for program in scenario.programs]

tutorial_app = typer.Typer(
    help="The six RabbitMQ tutorial scenarios: provision one, then watch it work with its runners.",
    no_args_is_help=True,
)

VHOST_OPTION = typer.Option(DEFAULT_VHOST, "--vhost", help="Vhost the scenario lives in.")
PASSWORD_FILE_OPTION = typer.Option(
    None,
    "--tutorial-password-file",
    help=f"Read the tutorial user's password from this file (otherwise ${PASSWORD_ENV}, or a prompt).",
)

ARGS_ARGUMENT = typer.Argument(None, help="The program's own arguments, as in the introduction.")


@tutorial_app.command("list")
def list_command(output: OutputFormat = OUTPUT_OPTION) -> None:
    """List the scenarios and their runner programs."""
    if output is OutputFormat.json:
        emit_json(
            [
                {"name": s.name, "title": s.title, "programs": list(s.programs), "explanation": s.explanation}
                for s in SCENARIOS.values()
            ]
        )
        return
    for s in SCENARIOS.values():
        print(f"{s.name:18} {s.title:18} runners: {' / '.join(s.programs)}")


@tutorial_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Scenario name (see `rabbitadmin tutorial list`)."),
    vhost: str = VHOST_OPTION,
) -> None:
    """Print a scenario's explanation and its preset; the output is itself a valid topology file."""
    with error_boundary():
        scenario = get_scenario(name)
        text = preset_document_text(name, vhost=vhost)
    vhost_arg = f" --vhost {vhost}" if vhost != DEFAULT_VHOST else ""
    print(f"# {scenario.title}: {scenario.explanation}")
    print(f"# Try it:  export {PASSWORD_ENV}=...  # the tutorial user's password")
    print(f"#          rabbitadmin tutorial provision {name}{vhost_arg}")
    for example in scenario.example:
        print(f"#          rabbitadmin tutorial {example}{vhost_arg}")
    print("#")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@tutorial_app.command("provision")
def provision_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Scenario name (see `rabbitadmin tutorial list`)."),
    vhost: str = VHOST_OPTION,
    password_file: Path | None = PASSWORD_FILE_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan, change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before replacing existing objects."),
    lock_timeout: float = LOCK_TIMEOUT_OPTION,
    no_lock: bool = NO_LOCK_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Plan and apply a scenario's preset: the vhost, its objects, and user myuser with full permissions.

    Like ``apply``, it takes the apply lock of the scenario's vhost before reading the server (not with
    ``--dry-run``, which only plans).
    """
    console = make_console()
    result = ApplyResult()
    with error_boundary(output):
        get_scenario(name)
        password = None if password_file is not None else _password_from_env_or_prompt(confirm=True)
        desired = load_preset(name, vhost=vhost, password_file=password_file, password=password)
        state = cli_state(ctx)
        lock = (
            None
            if no_lock or dry_run
            else LockOptions(
                lambda backend: lock_transport(transport_options(state), backend),
                lock_timeout,
                lock_wait_notice(lock_timeout),
            )
        )
        with EngineSession(lambda: make_backend(state), lock=lock) as session:
            plan = session.plan(desired)
            if output is OutputFormat.text:
                render_plan(plan, console)
            if not plan.is_empty and not dry_run:
                check_safety(plan, allow_data_loss=False)
                if any(c.action in (Action.REPLACE, Action.DELETE) for c in plan.changes):
                    confirm_or_refuse(f"Replace existing objects to provision {name}?", yes=yes)
                result = session.apply_plan(plan)
    if output is OutputFormat.json:
        emit_json(
            {
                "scenario": name,
                "vhost": vhost,
                "dry_run": dry_run,
                **{"plan": plan.to_dict()},
                "result": result.to_dict(),
            }
        )
    elif not plan.is_empty and not dry_run:
        render_result(result, console)


@tutorial_app.command(
    "run",
    context_settings={"ignore_unknown_options": True},  # runner arguments may start with a dash
)
def run_command(
    ctx: typer.Context,
    program: str = typer.Argument(..., help=f"One of: {', '.join(PROGRAM_NAMES)}."),
    args: list[str] = ARGS_ARGUMENT,
    vhost: str = VHOST_OPTION,
    tutorial_user: str = typer.Option(TUTORIAL_USER, "--tutorial-user", help="Connect as this user."),
    password_file: Path | None = PASSWORD_FILE_OPTION,
    amqp_port: int | None = typer.Option(
        None,
        "--amqp-port",
        help="AMQP port (else RABBITADMIN_AMQP_PORT, else the management API's listener, else 5672).",
    ),
    count: int | None = typer.Option(None, "--count", help="Consumers: stop after this many messages."),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Consumers: stop after this many idle seconds. rpc_client: give up after them."
    ),
) -> None:
    """Run one of the introduction's programs (pika 1.x) against the provisioned scenario."""
    # pika is imported here, not at start-up: every other command would pay for it.
    from rabbitadmin.tutorials.amqp import AmqpTarget, Limits
    from rabbitadmin.tutorials.runners import get_program

    with error_boundary():
        runner = get_program(program)
        limits = Limits(count=count, timeout=timeout)
        settings = cli_state(ctx).settings
        password = read_password_file(str(password_file)) if password_file else _password_from_env_or_prompt()
        target = AmqpTarget(
            host=settings.host,
            port=_amqp_port(amqp_port, settings),
            vhost=vhost,
            user=tutorial_user,
            password=password,
            scenario=runner.scenario,
        )
        runner.run(target, list(args or []), limits)


def _password_from_env_or_prompt(*, confirm: bool = False) -> Secret:
    """The variable MYUSER_PASSWORD, else a prompt (``confirm``: asked twice)."""
    value = os.environ.get(PASSWORD_ENV)
    return Secret(value) if value is not None else _prompt_password(confirm=confirm)


def _prompt_password(*, confirm: bool) -> Secret:
    """Ask on a terminal; without one, say where the password can come from instead."""
    if not sys.stdin.isatty():
        raise UsageError(f"the tutorial user's password is needed: set {PASSWORD_ENV} or pass --tutorial-password-file")
    first = require_secret(f"Password for the tutorial user {TUTORIAL_USER}")
    if first and confirm and require_secret("Again") != first:
        raise UsageError("the two passwords differ")
    if not first:
        raise UsageError("an empty password is not accepted")
    return Secret(first)


def _amqp_port(given: int | None, settings: ConnectionSettings) -> int:
    """The option, then RABBITADMIN_AMQP_PORT, then the listener the management API reports, then 5672."""
    if given is not None:
        return given
    if settings.amqp_port is not None:
        return settings.amqp_port
    if settings.password is None:
        return DEFAULT_AMQP_PORT
    # Listeners are shown to monitoring and administrator users: ask with the tool's own credentials.
    client = HttpClient(replace(settings, timeout=min(settings.timeout, 10.0)))
    try:
        overview = client.get(api_path("overview"))
    except RabbitAdminError:  # no management API to ask: assume the standard port
        return DEFAULT_AMQP_PORT
    finally:
        client.close()
    listeners = overview.get("listeners", []) if isinstance(overview, dict) else []
    ports = [int(entry["port"]) for entry in listeners if entry.get("protocol") == "amqp"]
    return ports[0] if ports else DEFAULT_AMQP_PORT
