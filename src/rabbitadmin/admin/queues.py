"""``rabbitadmin queues``: list with message and consumer counts, purge, delete."""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.admin.vhost_check import checked_rows, missing_queue_error
from rabbitadmin.backends.admin_ops import COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, confirm_or_refuse, err
from rabbitadmin.errors import NotFound

app = typer.Typer(help="Queues: list, purge, delete.", no_args_is_help=True)
VHOST_OPTION = typer.Option("/", "--vhost", "-p", help="The queue's vhost.")
YES_OPTION = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")


@app.command("list")
def list_queues(
    ctx: typer.Context,
    vhost: str | None = typer.Option(None, "--vhost", "-p", help="Only in this vhost (default: every vhost)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List queues with their message and consumer counts."""
    with admin_session(ctx) as ops:
        rows = checked_rows(ops, vhost, ops.list_queues(vhost))
    emit_rows(rows, COLUMNS["queues"], output)


@app.command("purge")
def purge_queue(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Queue name."),
    vhost: str = VHOST_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Drop every ready message of a queue (asks first)."""
    with admin_session(ctx) as ops:
        confirm_or_refuse(f"Purge every message of queue {name!r} in vhost {vhost!r}?", yes=yes)
        try:
            ops.purge_queue(vhost, name)
        except NotFound:
            raise missing_queue_error(ops, vhost, name) or NotFound(f"there is no queue {name!r}") from None
    err(f"purged queue {name!r} in vhost {vhost!r}")


@app.command("delete")
def delete_queue(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Queue name."),
    vhost: str = VHOST_OPTION,
    if_empty: bool = typer.Option(False, "--if-empty", help="Only if it holds no messages."),
    if_unused: bool = typer.Option(False, "--if-unused", help="Only if it has no consumers."),
    yes: bool = YES_OPTION,
) -> None:
    """Delete a queue and its messages (asks first)."""
    with admin_session(ctx) as ops:
        confirm_or_refuse(f"Delete queue {name!r} in vhost {vhost!r} and its messages?", yes=yes)
        deleted = ops.delete_queue(vhost, name, if_empty=if_empty, if_unused=if_unused)
    err(f"deleted queue {name!r}" if deleted else f"there was no queue {name!r} in vhost {vhost!r}; nothing to do")
