"""``rabbitadmin users``: list, add, delete, change a password, check a password, set tags."""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import (
    PASSWORD_ENV_OPTION,
    PASSWORD_FILE_OPTION,
    admin_session,
    read_password,
    split_tags,
)
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.backends.admin_ops import COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, confirm_or_refuse, emit_json, err
from rabbitadmin.errors import ExitCode
from rabbitadmin.passwords import BLANK_PASSWORD_REFUSAL, is_blank

app = typer.Typer(help="Users: list, add, delete, passwords and tags.", no_args_is_help=True)
SET_TAGS_ARGUMENT = typer.Argument(None, help="Tags; none clears them.")
TAGS_OPTION = typer.Option(
    None, "--tags", "-t", help="A tag (administrator, monitoring, management, ...); repeat or comma-separate."
)


@app.command("list")
def list_users(ctx: typer.Context, output: OutputFormat = OUTPUT_OPTION) -> None:
    """List users and their tags."""
    with admin_session(ctx) as ops:
        rows = ops.list_users()
    emit_rows(rows, COLUMNS["users"], output)


@app.command("add")
def add_user(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    tags: list[str] | None = TAGS_OPTION,
    password_file: str | None = PASSWORD_FILE_OPTION,
    password_env: str | None = PASSWORD_ENV_OPTION,
) -> None:
    """Add a user; the password comes from a prompt, --password-file or --password-env."""
    with admin_session(ctx) as ops:
        password = read_password(password_file, password_env, confirm=True)
        ops.add_user(name, password, split_tags(tags))
    err(f"added user {name!r}")


@app.command("delete")
def delete_user(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a user (asks first; --yes without a terminal)."""
    with admin_session(ctx) as ops:
        confirm_or_refuse(f"Delete user {name!r}?", yes=yes)
        deleted = ops.delete_user(name)
    err(f"deleted user {name!r}" if deleted else f"there was no user {name!r}; nothing to do")


@app.command("change-password")
def change_password(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    password_file: str | None = PASSWORD_FILE_OPTION,
    password_env: str | None = PASSWORD_ENV_OPTION,
) -> None:
    """Set a user's password (its tags are kept)."""
    with admin_session(ctx, user_param="name") as ops:
        password = read_password(password_file, password_env, confirm=True, prompt="New password")
        ops.change_password(name, password)
    err(f"changed the password of {name!r}")


@app.command("authenticate")
def authenticate(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    password_file: str | None = PASSWORD_FILE_OPTION,
    password_env: str | None = PASSWORD_ENV_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check a user's password as the server would at login: exit 0 if it is accepted, 1 if it is refused
    (a wrong password, no such user, or a blank password, which the server always refuses)."""
    with admin_session(ctx) as ops:
        password = read_password(password_file, password_env, confirm=False)
        ok = ops.authenticate(name, password)
    # The server refuses a blank password before it looks the user up: say so, on both backends alike.
    reason = None if ok else BLANK_PASSWORD_REFUSAL if is_blank(password.reveal()) else "wrong password or no such user"
    if output is OutputFormat.json:
        emit_json({"user": name, "authenticated": ok, **({"reason": reason} if reason else {})})
    else:
        print("success" if ok else f"refused: {reason}")
    if not ok:
        raise typer.Exit(int(ExitCode.ERROR))


@app.command("set-tags")
def set_tags(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    tags: list[str] | None = SET_TAGS_ARGUMENT,
) -> None:
    """Replace a user's tags (the password is kept)."""
    with admin_session(ctx, user_param="name") as ops:
        ops.set_user_tags(name, split_tags(tags))
    err(f"set the tags of {name!r}")
