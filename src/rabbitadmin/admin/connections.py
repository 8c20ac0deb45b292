"""``rabbitadmin connections close``: close client connections by name, user or vhost, with a reason.

The client is told the reason (AMQP ``connection.close`` 320 CONNECTION_FORCED with the text; over HTTP the
``X-Reason`` header of ``DELETE /api/connections/{name}``, through rabbitmqctl ``close_connection``). A
filter that matches more than one connection asks first (``--yes`` without a terminal).
"""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.listings import connections_app as app
from rabbitadmin.admin.vhost_check import missing_error
from rabbitadmin.backends.admin_ops import AdminOps
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, confirm_or_refuse, emit_json, err
from rabbitadmin.errors import NotFound, UsageError
from rabbitadmin.suggest import did_you_mean

DEFAULT_REASON = "closed by an administrator (rabbitadmin)"


@app.command("close")
def close_connections(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="The connection's name, as `connections list` shows it."),
    user: str | None = typer.Option(None, "--user", help="Every connection of this user."),
    vhost: str | None = typer.Option(None, "--vhost", "-p", help="Every connection to this vhost."),
    reason: str = typer.Option(DEFAULT_REASON, "--reason", help="What the client is told."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask when several connections match."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Close client connections (by name, or every one of a user and/or vhost), telling them why."""
    if name is None and user is None and vhost is None:
        with admin_session(ctx):
            raise UsageError("name a connection, or give --user and/or --vhost (every connection: --vhost for each)")
    with admin_session(ctx) as ops:
        connections = ops.list_connection_names()
        matched = sorted(
            {
                str(c["name"])
                for c in connections
                if (name is None or c.get("name") == name)
                and (user is None or c.get("user") == user)
                and (vhost is None or c.get("vhost") == vhost)
            }
        )
        if not matched:
            if name is not None:
                known = [str(c["name"]) for c in connections]
                raise NotFound(f"there is no connection {name!r}{did_you_mean(name, known)}")
            for kind, given in (("vhost", vhost), ("user", user)):
                _check_exists(ops, kind, given)
        if len(matched) > 1:
            confirm_or_refuse(f"Close {len(matched)} connections ({_described(user, vhost)})?", yes=yes)
        closed = [each for each in matched if ops.close_connection(each, reason)]
    if output is OutputFormat.json:
        emit_json({"closed": closed, "reason": reason})
        return
    for each in closed:
        err(f"closed connection {each!r}")
    if not closed:
        err(f"no connection of {_described(user, vhost)}; nothing to do")


def _described(user: str | None, vhost: str | None) -> str:
    parts = ([f"user {user!r}"] if user else []) + ([f"vhost {vhost!r}"] if vhost else [])
    return " in ".join(parts) or "the name given"


def _check_exists(ops: AdminOps, kind: str, name: str | None) -> None:
    missing = missing_error(ops, kind, name) if name else None
    if missing is not None:
        raise missing
