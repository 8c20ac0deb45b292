"""Listings as readable tables on a terminal, or JSON for scripts (stdout only; messages go to stderr)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rabbitadmin.backends.admin_ops import Row
from rabbitadmin.cli_support import OutputFormat, emit_json
from rabbitadmin.render import plain_table, print_table

MAX_CELL = 60


def cell(value: Any) -> str:
    """One value as table text: lists comma-joined, mappings as compact JSON, nothing as ``-``.

    A list whose comma-joined text could be read back otherwise (an item holding a comma, an empty item, one
    with spaces around it: a user's tag ``a,b`` is one tag, and not ``administrator`` when it is
    ``administrator,management``) is shown as a JSON list instead."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        items = [str(item) for item in value]
        if any("," in item or item != item.strip() or not item for item in items):
            return json.dumps(items, ensure_ascii=False, separators=(",", ":"))
        return ",".join(items)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True) if value else ""
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """A plain text table with a header line; empty string values show as empty cells."""
    return plain_table(columns, _cells(rows, columns))


def _cells(rows: Sequence[Row], columns: Sequence[str]) -> list[list[str]]:
    return [[cell(row.get(c)) for c in columns] for row in rows]


def emit_rows(rows: Sequence[Row], columns: Sequence[str], output: OutputFormat) -> None:
    """Print a listing: JSON (every key) or a table (``columns``), sorted for a stable reading."""
    ordered = sorted(rows, key=lambda row: [cell(row.get(c)) for c in columns])
    if output is OutputFormat.json:
        emit_json(ordered)
    else:
        print_table(columns, _cells(ordered, columns))
