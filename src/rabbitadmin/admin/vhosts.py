"""``rabbitadmin vhosts``: list, add, delete."""

from __future__ import annotations

import time

import typer

from rabbitadmin.admin.cli_common import admin_session, split_tags
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.backends.admin_ops import COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, confirm_or_refuse, err
from rabbitadmin.errors import UsageError
from rabbitadmin.kinds import QUEUE_TYPES
from rabbitadmin.progress import activity
from rabbitadmin.suggest import unknown_value

app = typer.Typer(help="Virtual hosts: list, add, delete.", no_args_is_help=True)

TAGS_OPTION = typer.Option(None, "--tags", "-t", help="A tag; repeat or comma-separate.")


@app.command("list")
def list_vhosts(ctx: typer.Context, output: OutputFormat = OUTPUT_OPTION) -> None:
    """List vhosts with their description, tags and default queue type."""
    with admin_session(ctx) as ops:
        rows = ops.list_vhosts()
    emit_rows(rows, COLUMNS["vhosts"], output)


@app.command("add")
def add_vhost(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Vhost name."),
    description: str | None = typer.Option(None, "--description", "-d", help="Free text."),
    tags: list[str] | None = TAGS_OPTION,
    default_queue_type: str | None = typer.Option(
        None, "--default-queue-type", help="classic, quorum or stream: the type of queues declared without one."
    ),
) -> None:
    """Add a vhost."""
    with admin_session(ctx) as ops:
        if default_queue_type is not None and default_queue_type not in QUEUE_TYPES:
            raise UsageError(unknown_value("queue type", default_queue_type, QUEUE_TYPES))
        ops.add_vhost(name, description, split_tags(tags), default_queue_type)
    err(f"added vhost {name!r}")


@app.command("delete")
def delete_vhost(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Vhost name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a vhost and everything in it: queues, messages, exchanges, permissions (asks first)."""
    with admin_session(ctx) as ops:
        confirm_or_refuse(f"Delete vhost {name!r} with every queue, message and exchange in it?", yes=yes)
        started = time.monotonic()
        with activity(f"deleting vhost {name!r}"):  # the server deletes every queue first: minutes for a big one
            deleted = ops.delete_vhost(name)
    took = f" in {time.monotonic() - started:.1f} s"
    err(f"deleted vhost {name!r}{took}" if deleted else f"there was no vhost {name!r}; nothing to do")
