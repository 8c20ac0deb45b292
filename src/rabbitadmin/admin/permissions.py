"""``rabbitadmin permissions``: list (per vhost and/or per user), set, clear."""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.admin.vhost_check import checked_rows
from rabbitadmin.backends.admin_ops import COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, err

app = typer.Typer(help="Permissions of users in vhosts: list, set, clear.", no_args_is_help=True)
VHOST_OPTION = typer.Option("/", "--vhost", "-p", help="The vhost.")


@app.command("list")
def list_permissions(
    ctx: typer.Context,
    vhost: str | None = typer.Option(None, "--vhost", "-p", help="Only in this vhost."),
    user: str | None = typer.Option(None, "--user", help="Only of this user."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List permissions: configure, write and read patterns of each user in each vhost."""
    with admin_session(ctx) as ops:
        rows = checked_rows(ops, vhost, ops.list_permissions(vhost=vhost, user=user), user)
    emit_rows(rows, COLUMNS["permissions"], output)


@app.command("set")
def set_permissions(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name."),
    configure: str = typer.Argument(..., help="Regular expression of the resources the user may configure."),
    write: str = typer.Argument(..., help="Regular expression of the resources the user may write to."),
    read: str = typer.Argument(..., help="Regular expression of the resources the user may read from."),
    vhost: str = VHOST_OPTION,
) -> None:
    """Grant a user permissions in a vhost (replacing any it had), e.g. `set app '.*' '.*' '.*' -p prod`."""
    with admin_session(ctx) as ops:
        ops.set_permissions(user, vhost, configure, write, read)
    err(f"set the permissions of {user!r} in vhost {vhost!r}")


@app.command("clear")
def clear_permissions(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name."),
    vhost: str = VHOST_OPTION,
) -> None:
    """Revoke a user's permissions in a vhost."""
    with admin_session(ctx) as ops:
        cleared = ops.clear_permissions(user, vhost)
    err(f"cleared the permissions of {user!r} in vhost {vhost!r}" if cleared else "there were none; nothing to do")
