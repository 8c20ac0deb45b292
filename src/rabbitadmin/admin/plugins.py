"""``rabbitadmin plugins list|enable|disable``: the node's plugins.

Enabling or disabling runs ``rabbitmq-plugins`` next to the configured rabbitmqctl (``--backend ctl``:
locally, or through ``--ctl-prefix 'ssh host'``), on the running node: the classic first step of a new
server, ``rabbitmq-plugins enable rabbitmq_management``, is ``rabbitadmin --backend ctl plugins enable
rabbitmq_management``. The management API has no way to change plugins: under ``--backend http`` those two
commands are refused (exit 4) and say so; ``list`` shows the enabled plugins only.
"""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.backends.daily_ops import DAILY_COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, emit_json, err

app = typer.Typer(help="Plugins: list, enable, disable (enable/disable need --backend ctl).", no_args_is_help=True)
NAMES_ARGUMENT = typer.Argument(..., help="Plugin names, e.g. rabbitmq_management.")


@app.command("list")
def list_plugins(
    ctx: typer.Context,
    enabled: bool = typer.Option(False, "--enabled", "-e", help="Only enabled plugins (explicitly or implicitly)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List plugins: enabled (explicitly, implicitly as a dependency, or not), running, version."""
    with admin_session(ctx) as ops:
        rows = [row for row in ops.list_plugins() if not enabled or row["enabled"] != "not_enabled"]
    emit_rows(rows, DAILY_COLUMNS["plugins"], output)


def _change(ctx: typer.Context, names: list[str], enable: bool, output: OutputFormat) -> None:
    with admin_session(ctx) as ops:
        said = ops.set_plugins(names, enable=enable)
    if output is OutputFormat.json:
        emit_json({"enabled" if enable else "disabled": names, "output": said})
    else:
        err(said or f"{'enabled' if enable else 'disabled'} {', '.join(names)}")


@app.command("enable")
def enable_plugins(ctx: typer.Context, names: list[str] = NAMES_ARGUMENT, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Enable plugins on the running node (rabbitmq-plugins enable; --backend ctl)."""
    _change(ctx, names, True, output)


@app.command("disable")
def disable_plugins(
    ctx: typer.Context, names: list[str] = NAMES_ARGUMENT, output: OutputFormat = OUTPUT_OPTION
) -> None:
    """Disable plugins on the running node (rabbitmq-plugins disable; --backend ctl)."""
    _change(ctx, names, False, output)
