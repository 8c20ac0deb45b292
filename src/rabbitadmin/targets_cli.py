"""``--target NAME`` and ``rabbitadmin targets list|show``: named targets on the command line.

Precedence, highest first: a command-line option, its ``RABBITADMIN_*`` variable, the target's value,
the built-in default (docs/targets.md). The password comes from ``--password``/``--password-file``,
then ``RABBITADMIN_PASSWORD``/``RABBITADMIN_PASSWORD_FILE``, then the target's ``password_env`` or
``password_file``, then the URL.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import typer

from rabbitadmin.backends.factory import DEFAULT_TRANSPORT, check_transport
from rabbitadmin.cli_support import OUTPUT_OPTION, CliState, OutputFormat, emit_json, err, error_boundary
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.errors import UsageError
from rabbitadmin.render import print_table
from rabbitadmin.targets import Target, config_path, load_targets
from rabbitadmin.variables import parse_assignments

#: Global option (parameter name) -> the target's attribute that fills it when the option is not given.
FROM_TARGET = {
    "user": "user",
    "ca_bundle": "ca_bundle",
    "client_cert": "client_cert",
    "client_key": "client_key",
    "insecure": "insecure",
    "timeout": "timeout",
    "backend": "backend",
    "node": "node",
    "rabbitmqctl": "rabbitmqctl",
    "ctl_prefix": "ctl_prefix",
    "erlang_cookie_file": "erlang_cookie_file",
    "ctl_timeout": "ctl_timeout",
}
#: Options whose variable is read by the command line itself (typer's envvar), for the override warning.
OPTION_VARIABLES = {
    "url": "RABBITADMIN_URL",
    "user": "RABBITADMIN_USER",
    "backend": "RABBITADMIN_BACKEND",
    "node": "RABBITADMIN_NODE",
}


#: What picks a server or its credentials: with several targets each target gives its own, so these
#: (an option or its variable) are refused rather than applied to every target.
FLEET_EXCLUSIVE = {
    "url": "--url / RABBITADMIN_URL",
    "node": "--node / RABBITADMIN_NODE",
    "password": "--password",
    "password_file": "--password-file / RABBITADMIN_PASSWORD_FILE",
    "erlang_cookie_file": "--erlang-cookie-file / RABBITADMIN_ERLANG_COOKIE_FILE",
}
AMQP_PORT = "RABBITADMIN_AMQP_PORT"
FLEET_EXCLUSIVE_VARIABLES = ("RABBITADMIN_PASSWORD", AMQP_PORT)


def with_target(given: Mapping[str, Any], ctx: typer.Context | None = None) -> dict[str, Any]:
    """The global options with the chosen target's values filled in where none was given.

    ``given``: the main callback's parameters (``target``: a name, or a list of names and groups; ``var``:
    ``--var NAME=VALUE`` options). Adds ``target`` (a ``Target`` or None), ``amqp_port``, ``parallel``,
    ``variables`` (the target's vars under ``--var``) and ``fleet``: None, or for several targets (or a
    group) one such dict per target, in order. Checks the backend name. Raises ``UsageError``/``TargetsError``
    (exit 2), also when several targets are combined with an option that picks a server (``FLEET_EXCLUSIVE``).
    """
    values = {key: value for key, value in given.items() if key not in ("ctx", "version", "var")}
    values.update(amqp_port=None, parallel=None, fleet=None)
    command_line_vars = parse_assignments(given.get("var") or ())
    names = given.get("target") or []
    names = [names] if isinstance(names, str) else list(names)
    loaded = load_targets() if names else None
    if loaded is not None and loaded.is_fleet(names):
        members = loaded.resolve(names)
        ctl = values.get("backend") == "ctl" or any(member.backend == "ctl" for member in members)
        locks = ctx is None or ctx.invoked_subcommand == "apply"
        _refuse_shared_server_options(values, ctl=ctl, locks=locks)
        values["target"] = None
        values["variables"] = dict(command_line_vars)
        values["fleet"] = [_fill(dict(values), member, command_line_vars, None) for member in members]
        values["backend"] = check_transport(values.get("backend") or DEFAULT_TRANSPORT)
        return values
    target = loaded.get(names[0]) if loaded is not None else None
    return _fill(values, target, command_line_vars, ctx)


def _fill(
    values: dict[str, Any], target: Target | None, command_line_vars: Mapping[str, str], ctx: typer.Context | None
) -> dict[str, Any]:
    """``values`` (the options given) completed from ``target``: see ``with_target``."""
    values["target"] = target
    values["fleet"] = None
    values["variables"] = {**(target.vars if target is not None else {}), **command_line_vars}
    if target is not None:
        for option, attribute in FROM_TARGET.items():
            if values.get(option) in (None, False):
                values[option] = getattr(target, attribute)
        values["url_from_target"] = not values.get("url")
        if not values.get("url"):
            values["url"] = list(target.urls) or None  # every node: the HTTP client takes the first reachable
        values["parallel"] = target.parallel
        env = os.environ
        values["amqp_port"] = None if env.get("RABBITADMIN_AMQP_PORT") else target.amqp_port
        _warn_overrides(ctx, target)
    values["backend"] = check_transport(values.get("backend") or DEFAULT_TRANSPORT)
    return values


def _refuse_shared_server_options(values: Mapping[str, Any], *, ctl: bool, locks: bool) -> None:
    """``UsageError`` naming what would send every target to one server: the node and cookie only matter
    when a target uses rabbitmqctl, the AMQP port only to an apply (its lock)."""
    unused = set() if ctl else {"node", "erlang_cookie_file"}
    given = [shown for option, shown in FLEET_EXCLUSIVE.items() if values.get(option) and option not in unused]
    variables = FLEET_EXCLUSIVE_VARIABLES if locks else tuple(set(FLEET_EXCLUSIVE_VARIABLES) - {AMQP_PORT})
    given += [name for name in variables if os.environ.get(name)]
    if given:
        raise UsageError(
            f"several targets, each with its own server, but {', '.join(given)} would apply to all of them: "
            "leave it out (unset the variable; `rabbitadmin sandbox env` sets some) and give it in each target"
        )


def state_for(values: Mapping[str, Any]) -> CliState:
    """The command line's state (``cli_support.CliState``) from ``with_target``'s values; for several
    targets ``fleet`` holds one state per target, named."""

    def settings_factory() -> ConnectionSettings:
        if values["insecure"]:
            err("warning: TLS certificate verification is off (--insecure)")
        return dataclasses.replace(settings_for(values), on_failover=state.note_failover)

    fleet = values.get("fleet")
    state = CliState(
        settings_factory=settings_factory,
        backend=values["backend"],
        ctl_options={
            "node": values["node"],
            "rabbitmqctl": values["rabbitmqctl"],
            "prefix": values["ctl_prefix"],
            "cookie_file": values["erlang_cookie_file"],
            "timeout": values["ctl_timeout"],
        },
        target=values["target"],
        parallel=values["parallel"],
        variables=dict(values.get("variables") or {}),
        user=values.get("user") or None,
        fleet=None if fleet is None else [(member["target"], state_for(member)) for member in fleet],
    )
    return state


def _warn_overrides(ctx: typer.Context | None, target: Target) -> None:
    """Say when an environment variable (say from `sandbox env`) overrides what the named target sets."""
    source = getattr(ctx, "get_parameter_source", None)
    if source is None:
        return
    for option, variable in OPTION_VARIABLES.items():
        found = source(option)
        mine = target.urls if option == "url" else getattr(target, option)
        if found is not None and found.name == "ENVIRONMENT" and mine:
            err(f"warning: {variable} overrides the {option} of target {target.name!r}")


def settings_for(values: Mapping[str, Any]) -> ConnectionSettings:
    """Connection settings from ``with_target``'s values; the target's password is read only here, when a
    command needs the server (a missing ``password_env`` variable is then a ``UsageError``)."""
    password = values["password"]
    password_file = values["password_file"]
    target: Target | None = values["target"]
    env = os.environ
    option_given = (password is not None and password != env.get("RABBITADMIN_PASSWORD")) or bool(
        password_file and password_file != env.get("RABBITADMIN_PASSWORD_FILE")
    )
    if target is not None and not option_given:
        env_given = "RABBITADMIN_PASSWORD" in env or bool(env.get("RABBITADMIN_PASSWORD_FILE"))
        own_source = bool(target.password_env or target.password_file)
        if env_given and own_source and values.get("url_from_target"):
            # A password variable goes with the server of RABBITADMIN_URL (what `sandbox env` exports together):
            # never send it to the target's own server, which has its own password source.
            err(
                f"warning: RABBITADMIN_PASSWORD/RABBITADMIN_PASSWORD_FILE is not sent to target {target.name!r} "
                "(its server is the target's url, not RABBITADMIN_URL's): the target's password source is used"
            )
            env_given, password, password_file = False, None, None
        elif env_given and own_source:
            err(f"warning: RABBITADMIN_PASSWORD overrides the password of target {target.name!r}")
        if not env_given:
            if target.password_file:
                password_file = target.password_file
            else:
                secret = target.password()
                password = secret.reveal() if secret is not None else None
    return resolve_settings(
        url=values["url"],
        user=values["user"],
        password=password,
        password_file=password_file,
        ca_bundle=values["ca_bundle"],
        client_cert=values["client_cert"],
        client_key=values["client_key"],
        insecure=values["insecure"],
        timeout=values["timeout"],
        amqp_port=values["amqp_port"],
    )


app = typer.Typer(help="Named targets from the targets file: list, show (docs/targets.md).", no_args_is_help=True)


@app.command("list")
def list_targets(output: OutputFormat = OUTPUT_OPTION) -> None:
    """List the targets of the targets file (RABBITADMIN_CONFIG, or targets.toml in the user config directory)."""
    with error_boundary(output):
        loaded = load_targets()
    if output is OutputFormat.json:
        emit_json(
            {
                "file": str(loaded.path),
                "exists": loaded.exists,
                "targets": [t.shown() for t in loaded.targets.values()],
                "groups": [g.shown() for g in loaded.groups.values()],
            }
        )
        return
    if not loaded.targets:
        err(f"no targets: {loaded.path} {'holds none' if loaded.exists else 'does not exist'} (see docs/targets.md)")
        return
    rows = [
        (t.name, ", ".join(t.urls) or "-", t.user or "-", t.backend or "http", t.password_source(), _vars(t))
        for t in loaded.targets.values()
    ]
    print_table(("name", "url", "user", "backend", "password", "vars"), rows)
    if loaded.groups:
        print()
        print_table(("group", "targets"), [(g.name, ", ".join(g.targets)) for g in loaded.groups.values()])


def _vars(target: Target) -> str:
    return ", ".join(f"{name}={value}" for name, value in target.vars.items()) or "-"


@app.command("show")
def show_target(
    name: str = typer.Argument(..., help="The target's (or group's) name."), output: OutputFormat = OUTPUT_OPTION
) -> None:
    """Show one target's settings and where its password comes from (never the password), or a group."""
    with error_boundary(output):
        loaded = load_targets()
        group = loaded.groups.get(name)
        shown = {"file": str(loaded.path), **(group.shown() if group else loaded.get(name).shown())}
    if output is OutputFormat.json:
        emit_json(shown)
        return
    for key, value in shown.items():
        if isinstance(value, dict):  # vars
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        else:
            text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        print(f"{key:19} {text}")


@app.command("path")
def target_file_path() -> None:
    """Print the path of the targets file (whether or not it exists)."""
    print(config_path())


def register(root: typer.Typer) -> None:
    """Add the ``targets`` group to ``root``."""
    root.add_typer(app, name="targets")
