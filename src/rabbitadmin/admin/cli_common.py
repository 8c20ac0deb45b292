"""What every administration group shares: backend choice, the operations object, password input.

The backend options sit on each group (``rabbitadmin queues --backend ctl list``) and fall back to the
``RABBITADMIN_BACKEND``, ``RABBITADMIN_NODE``, ``RABBITADMIN_RABBITMQCTL``, ``RABBITADMIN_CTL_PREFIX`` and
``RABBITADMIN_ERLANG_COOKIE_FILE`` environment variables, so a script sets them once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import typer

from rabbitadmin.admin.ops import AdminOps
from rabbitadmin.cli_support import cli_state, error_boundary
from rabbitadmin.connection import read_password_file
from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret

META_KEY = "rabbitadmin.admin.backend"


class BackendChoice(StrEnum):
    http = "http"
    ctl = "ctl"


BACKEND_OPTION = typer.Option(
    None, "--backend", help="http: the management API (default); ctl: rabbitmqctl [env RABBITADMIN_BACKEND]."
)
NODE_OPTION = typer.Option(None, "--node", help="ctl: the node name, e.g. rabbit@host [env RABBITADMIN_NODE].")
RABBITMQCTL_OPTION = typer.Option(
    None, "--rabbitmqctl", help="ctl: the rabbitmqctl executable [env RABBITADMIN_RABBITMQCTL]."
)
PREFIX_OPTION = typer.Option(
    None,
    "--ctl-prefix",
    help="ctl: run rabbitmqctl through this command, e.g. 'ssh host' or 'docker exec c' [env RABBITADMIN_CTL_PREFIX].",
)
COOKIE_OPTION = typer.Option(
    None,
    "--erlang-cookie-file",
    help="ctl: the node's Erlang cookie file (default: $HOME/.erlang.cookie) [env RABBITADMIN_ERLANG_COOKIE_FILE].",
)


def group_options(
    ctx: typer.Context,
    backend: BackendChoice | None = BACKEND_OPTION,
    node: str | None = NODE_OPTION,
    rabbitmqctl: str | None = RABBITMQCTL_OPTION,
    ctl_prefix: str | None = PREFIX_OPTION,
    erlang_cookie_file: str | None = COOKIE_OPTION,
) -> None:
    """Choose how to reach the server: the management API (default) or rabbitmqctl."""
    ctx.meta[META_KEY] = {
        "backend": backend.value if backend else None,
        "node": node,
        "rabbitmqctl": rabbitmqctl,
        "prefix": ctl_prefix,
        "cookie_file": erlang_cookie_file,
    }


def make_ops(ctx: typer.Context) -> AdminOps:
    """The operations object for the backend the options chose (group options, then environment)."""
    chosen = {key: value for key, value in (ctx.meta.get(META_KEY) or {}).items() if value}
    state = cli_state(ctx)
    global_choice = state.backend if state.backend != "http" else None  # "http" is also the unset default
    backend = chosen.get("backend") or global_choice or os.environ.get("RABBITADMIN_BACKEND") or "http"
    if backend == "http":
        from rabbitadmin.admin.http_ops import HttpAdmin

        return HttpAdmin(state.settings)
    if backend != "ctl":
        raise UsageError(f"unknown backend {backend!r}: use http or ctl")
    from rabbitadmin.admin.ctl_ops import CtlAdmin
    from rabbitadmin.backends.ctl_runner import rabbitmqctl_from_options

    # Group options win over the main command's (if it has any), which win over the environment.
    return CtlAdmin(rabbitmqctl_from_options({**state.ctl_options, **chosen}))


@contextmanager
def admin_session(ctx: typer.Context) -> Iterator[AdminOps]:
    """Errors mapped to exit codes, and the operations object closed afterwards."""
    with error_boundary():
        ops = make_ops(ctx)
        try:
            yield ops
        finally:
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
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return Secret(value)


def split_tags(tags: list[str] | None) -> list[str]:
    """Tags given as repeated options and/or comma-separated lists."""
    result: list[str] = []
    for item in tags or []:
        result += [tag.strip() for tag in item.split(",") if tag.strip()]
    return result
