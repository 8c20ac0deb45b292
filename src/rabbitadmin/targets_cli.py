"""``--target NAME`` and ``rabbitadmin targets list|show``: named targets on the command line.

Precedence, highest first: a command-line option, its ``RABBITADMIN_*`` variable, the target's value,
the built-in default (docs/targets.md). The password comes from ``--password``/``--password-file``,
then ``RABBITADMIN_PASSWORD``/``RABBITADMIN_PASSWORD_FILE``, then the target's ``password_env`` or
``password_file``, then the URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import typer

from rabbitadmin.backends.factory import DEFAULT_TRANSPORT, check_transport
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, emit_json, err, error_boundary
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.render import print_table
from rabbitadmin.targets import Target, config_path, load_targets

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


def with_target(given: Mapping[str, Any], ctx: typer.Context | None = None) -> dict[str, Any]:
    """The global options with the chosen target's values filled in where none was given.

    ``given``: the main callback's parameters. Adds ``target`` (a ``Target`` or None), ``amqp_port`` and
    ``parallel``; checks the backend name. Raises ``UsageError``/``TargetsError`` (exit 2).
    """
    values = {key: value for key, value in given.items() if key not in ("ctx", "version")}
    values.update(amqp_port=None, parallel=None)
    name = values.get("target")
    target = load_targets().get(name) if name else None
    values["target"] = target
    if target is not None:
        for option, attribute in FROM_TARGET.items():
            if values.get(option) in (None, False):
                values[option] = getattr(target, attribute)
        if not values.get("url"):
            values["url"] = list(target.urls) or None  # every node: the HTTP client takes the first reachable
        values["parallel"] = target.parallel
        env = os.environ
        values["amqp_port"] = None if env.get("RABBITADMIN_AMQP_PORT") else target.amqp_port
        _warn_overrides(ctx, target)
    values["backend"] = check_transport(values.get("backend") or DEFAULT_TRANSPORT)
    return values


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
    env_password = "RABBITADMIN_PASSWORD" in os.environ
    if target is not None and password is None and not password_file and not env_password:
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
            {"file": str(loaded.path), "exists": loaded.exists, "targets": [t.shown() for t in loaded.targets.values()]}
        )
        return
    if not loaded.targets:
        err(f"no targets: {loaded.path} {'holds none' if loaded.exists else 'does not exist'} (see docs/targets.md)")
        return
    rows = [
        (t.name, ", ".join(t.urls) or "-", t.user or "-", t.backend or "http", t.password_source())
        for t in loaded.targets.values()
    ]
    print_table(("name", "url", "user", "backend", "password"), rows)


@app.command("show")
def show_target(
    name: str = typer.Argument(..., help="The target's name."), output: OutputFormat = OUTPUT_OPTION
) -> None:
    """Show one target's settings and where its password comes from (never the password)."""
    with error_boundary(output):
        loaded = load_targets()
        target = loaded.get(name)
    shown = {"file": str(loaded.path), **target.shown()}
    if output is OutputFormat.json:
        emit_json(shown)
        return
    for key, value in shown.items():
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        print(f"{key:19} {text}")


@app.command("path")
def target_file_path() -> None:
    """Print the path of the targets file (whether or not it exists)."""
    print(config_path())


def register(root: typer.Typer) -> None:
    """Add the ``targets`` group to ``root``."""
    root.add_typer(app, name="targets")
