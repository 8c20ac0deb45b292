"""``rabbitadmin policies list`` and ``rabbitadmin feature-flags list``: read-only listings.

Policies are managed in topology files (docs/topology.md); this lists what the server has, policies and
operator policies together (the ``kind`` column says which).
"""

from __future__ import annotations

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.admin.output import emit_rows
from rabbitadmin.admin.vhost_check import checked_rows
from rabbitadmin.backends.daily_ops import DAILY_COLUMNS
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat
from rabbitadmin.errors import UsageError
from rabbitadmin.suggest import unknown_value

policies_app = typer.Typer(help="Policies and operator policies: list.", no_args_is_help=True)
feature_flags_app = typer.Typer(help="Feature flags: list.", no_args_is_help=True)
POLICY_KINDS = ("policy", "operator")


@policies_app.command("list")
def list_policies(
    ctx: typer.Context,
    vhost: str | None = typer.Option(None, "--vhost", "-p", help="Only in this vhost (default: every vhost)."),
    kind: str | None = typer.Option(None, "--kind", help="Only policies (policy) or operator policies (operator)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List policies and operator policies: pattern, what they apply to, priority and definition."""
    with admin_session(ctx) as ops:
        if kind is not None and kind not in POLICY_KINDS:
            raise UsageError(unknown_value("policy kind", kind, POLICY_KINDS))
        rows = [row for row in ops.list_policies(vhost) if kind is None or row["kind"] == kind]
        if vhost and not rows:
            checked_rows(ops, vhost, rows)
    emit_rows(rows, DAILY_COLUMNS["policies"], output)


@feature_flags_app.command("list")
def list_feature_flags(ctx: typer.Context, output: OutputFormat = OUTPUT_OPTION) -> None:
    """List feature flags with their state (enabled, disabled) and stability."""
    with admin_session(ctx) as ops:
        rows = ops.list_feature_flags()
    emit_rows(rows, DAILY_COLUMNS["feature_flags"], output)
