"""Read-only listings: ``exchanges``, ``bindings``, ``connections``, ``channels``, ``consumers``."""

from __future__ import annotations

from collections.abc import Callable

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.admin.vhost_check import checked_rows
from rabbitadmin.backends.admin_ops import COLUMNS, AdminOps, Row
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat

VHOST_FILTER = typer.Option(None, "--vhost", "-p", help="Only in this vhost (default: every vhost).")


def _listing_app(kind: str, summary: str, fetch: Callable[[AdminOps, str | None], list[Row]]) -> typer.Typer:
    """A group with one ``list`` command showing ``COLUMNS[kind]``."""
    app = typer.Typer(help=f"{summary}: list.", no_args_is_help=True)

    @app.command("list")
    def list_command(
        ctx: typer.Context, vhost: str | None = VHOST_FILTER, output: OutputFormat = OUTPUT_OPTION
    ) -> None:
        with admin_session(ctx) as ops:
            rows = checked_rows(ops, vhost, fetch(ops, vhost))
        emit_rows(rows, COLUMNS[kind], output)

    list_command.__doc__ = f"List {kind}."
    return app


def _in_vhost(rows: list[Row], vhost: str | None) -> list[Row]:
    return [row for row in rows if vhost is None or row.get("vhost") == vhost]


exchanges_app = _listing_app("exchanges", "Exchanges", lambda ops, vhost: ops.list_exchanges(vhost))
bindings_app = _listing_app("bindings", "Bindings", lambda ops, vhost: ops.list_bindings(vhost))
connections_app = _listing_app(
    "connections", "Client connections", lambda ops, vhost: _in_vhost(ops.list_connections(), vhost)
)
channels_app = _listing_app("channels", "Channels", lambda ops, vhost: _in_vhost(ops.list_channels(), vhost))
consumers_app = _listing_app("consumers", "Consumers", lambda ops, vhost: ops.list_consumers(vhost))
