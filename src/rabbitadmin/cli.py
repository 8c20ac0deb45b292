"""The ``rabbitadmin`` command line. Thin: it parses options, calls the library and renders results."""

from __future__ import annotations

from pathlib import Path

import typer

from rabbitadmin import __version__
from rabbitadmin.cli_support import OUTPUT_OPTION, CliState, OutputFormat, cli_state, emit_json, err, error_boundary
from rabbitadmin.connection import resolve_settings
from rabbitadmin.sandbox import Sandbox

app = typer.Typer(
    name="rabbitadmin",
    help="Provision and administer RabbitMQ declaratively: validate, plan, apply, export.",
    no_args_is_help=True,
    add_completion=False,
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
    url: str | None = typer.Option(None, "--url", help="Management API URL [env RABBITADMIN_URL]."),
    user: str | None = typer.Option(None, "--user", "-u", help="User name [env RABBITADMIN_USER]."),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Password; prefer RABBITADMIN_PASSWORD or --password-file (arguments show in `ps`).",
    ),
    password_file: str | None = typer.Option(
        None, "--password-file", help="Read the password from this file [env RABBITADMIN_PASSWORD_FILE]."
    ),
    ca_bundle: str | None = typer.Option(None, "--ca-bundle", help="CA bundle to verify the server's TLS."),
    client_cert: str | None = typer.Option(None, "--client-cert", help="Client certificate (PEM)."),
    client_key: str | None = typer.Option(None, "--client-key", help="Client certificate key (PEM)."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the server's TLS certificate."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for each server response."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global connection options; every command also reads them from RABBITADMIN_* variables."""

    def settings_factory():  # type: ignore[no-untyped-def]
        if insecure:
            err("warning: TLS certificate verification is off (--insecure)")
        return resolve_settings(
            url=url,
            user=user,
            password=password,
            password_file=password_file,
            ca_bundle=ca_bundle,
            client_cert=client_cert,
            client_key=client_key,
            insecure=insecure,
            timeout=timeout,
        )

    ctx.obj = CliState(settings_factory=settings_factory)


# -- sandbox ---------------------------------------------------------------------------------------------
DIR_OPTION = typer.Option(None, "--dir", help="Directory of the node [env RABBITADMIN_SANDBOX_DIR].")


@sandbox_app.command("start")
def sandbox_start(
    directory: Path | None = DIR_OPTION,
    no_management: bool = typer.Option(False, "--no-management", help="Do not enable the management plugin."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Start the private node (or report the one already running)."""
    with error_boundary():
        box = Sandbox(directory, management=not no_management)
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
        box = Sandbox(directory)
        was_running = box.stop(keep_data=keep_data)
    err("stopped" if was_running else "no node was running; cleaned up")


@sandbox_app.command("status")
def sandbox_status(directory: Path | None = DIR_OPTION, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Say whether the private node runs (exit 0) or not (exit 1)."""
    with error_boundary():
        box = Sandbox(directory)
        status = box.status()
    if output is OutputFormat.json:
        emit_json({"state": status.state, **(_public_info(box) if status.info else {})})
    else:
        print(status.state)
        if status.info:
            _print_info(box)
    if status.state != "running":
        raise typer.Exit(1)


@sandbox_app.command("env")
def sandbox_env(directory: Path | None = DIR_OPTION) -> None:
    """Print shell `export` lines for RABBITADMIN_URL, _USER and _PASSWORD (read from its file)."""
    with error_boundary():
        print(Sandbox(directory).env_exports())


def _public_info(box: Sandbox) -> dict[str, object]:
    info = box.status().info
    if info is None:
        return {}
    return {
        "directory": info.directory,
        "nodename": info.nodename,
        "url": info.url,
        "amqp_port": info.amqp_port,
        "user": info.user,
        "password_file": str(info.password_file),
        "pid": info.pid,
        "management": info.management,
    }


def _print_info(box: Sandbox) -> None:
    for key, value in _public_info(box).items():
        print(f"{key:14} {value}")


def _dir_arg(directory: Path | None) -> str:
    return f" --dir {directory}" if directory else ""


def main() -> None:
    app()


__all__ = ["app", "cli_state", "main"]
