"""What every administration group shares: the operations object, password input.

The backend is chosen by the main command's options, as for plan and apply
(``rabbitadmin --backend ctl --node rabbit@mq1 queues list``), or their ``RABBITADMIN_*`` variables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from rabbitadmin.admin.vhost_check import name_errors
from rabbitadmin.backends.admin_ops import AdminOps
from rabbitadmin.backends.factory import admin_ops
from rabbitadmin.cli_support import cli_state, err, error_boundary, output_of, transport_options
from rabbitadmin.connection import read_password_file
from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret
from rabbitadmin.prompts import require_secret


def make_ops(ctx: typer.Context) -> AdminOps:
    """The operations object for the backend the main command's options chose."""
    return admin_ops(transport_options(cli_state(ctx)))


@contextmanager
def admin_session(ctx: typer.Context, *, user_param: str = "user") -> Iterator[AdminOps]:
    """Errors mapped to exit codes (with ``{"error": ...}`` under ``-o json``), the operations object closed.

    A failure of a command given a vhost (its ``vhost`` parameter) or a user (its ``user_param`` parameter)
    that the server does not have becomes ``UnknownVhost``/``UnknownUser`` with a "did you mean"."""
    with error_boundary(output_of(ctx)):
        ops = make_ops(ctx)
        try:
            given = {"vhost": ctx.params.get("vhost"), "user": ctx.params.get(user_param)}
            with name_errors(ops, given):  # a missing vhost or user said so, not a bare 404
                yield ops
        finally:
            for note in ops.notes:
                err(f"note: {note}")
            ops.close()


PASSWORD_FILE_OPTION = typer.Option(
    None, "--password-file", help="Read the password from this file (first line). Not the connection password."
)
PASSWORD_ENV_OPTION = typer.Option(None, "--password-env", help="Read the password from this environment variable.")


def read_password(file: str | None, env: str | None, *, confirm: bool, prompt: str = "Password") -> Secret:
    """The password from a file, an environment variable or a hidden prompt; never from an argument."""
    if file and env:
        raise UsageError("give either --password-file or --password-env, not both")
    if file:
        return read_password_file(file)
    if env:
        if env not in os.environ:
            raise UsageError(f"the environment variable {env} is not set")
        return Secret(os.environ[env])
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password on: use --password-file or --password-env")
    while True:  # as a password prompt does: an empty answer or two that differ are asked again
        value = require_secret(prompt)
        if not value:
            continue
        if not confirm or require_secret("Repeat for confirmation") == value:
            return Secret(value)
        err("Error: the two entered values do not match.")


def split_tags(tags: list[str] | None) -> list[str]:
    """Tags given as repeated options and/or comma-separated lists."""
    result: list[str] = []
    for item in tags or []:
        result += [tag.strip() for tag in item.split(",") if tag.strip()]
    return result
