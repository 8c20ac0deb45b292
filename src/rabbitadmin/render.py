"""Plans and apply results as text for people (colours on a terminal, plain text in a pipe).

Only values the plan holds are shown; a secret field is shown as "(changed)", never with a value.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from rabbitadmin.apply import ApplyResult
from rabbitadmin.plan import Action, Change, Plan

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
}


def make_console(stream: Any = None, *, color: bool | None = None) -> Console:
    """A console on ``stream`` (stdout by default); colours only on a terminal unless told otherwise."""
    target = stream if stream is not None else sys.stdout
    if color is None:
        return Console(file=target, highlight=False, soft_wrap=True)
    return Console(file=target, highlight=False, soft_wrap=True, force_terminal=color, no_color=not color)


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return escape(repr(value))


def _change_lines(change: Change) -> list[str]:
    symbol, colour = SYMBOLS[change.action]
    head = f"[{colour}]{symbol} {change.action}[/] {escape(change.subject)}"
    if change.reason and change.action is not Action.REPLACE:
        head += f" [dim]({escape(change.reason)})[/]"
    lines = [head]
    if change.action is Action.REPLACE:
        lines.append(f"    [dim]because {escape(change.reason)}[/]")
    elif change.action is Action.UPDATE:
        for field in change.fields:
            if field.secret:
                lines.append(f"    {field.name}: [yellow](changed)[/]")
            else:
                lines.append(f"    {field.name}: {_value(field.before)} -> {_value(field.after)}")
    if change.action in (Action.DELETE, Action.REPLACE) and change.kind in ("queue", "vhost"):
        if change.messages_at_risk is None:
            lines.append("    [bold red]message count unknown: messages may be lost[/]")
        elif change.messages_at_risk > 0:
            lines.append(f"    [bold red]{change.messages_at_risk} message(s) would be lost[/]")
    return lines


def render_plan(plan: Plan, console: Console | None = None) -> str:
    """Print ``plan`` on ``console`` (or return it as plain text when no console is given).

    The whole plan is printed in one call: rich's per-call overhead made a 20,000-line plan take seconds.
    """
    buffer = io.StringIO()
    out = console or make_console(buffer, color=False)
    scope = ", ".join(repr(v) for v in plan.scope) or "(none)"
    lines = [f"[bold]Plan[/] for vhosts {escape(scope)}"]
    if plan.is_empty:
        lines.append("No changes: the server matches the topology.")
    for change in plan.changes:
        lines.extend("  " + line for line in _change_lines(change))
    lines.extend(f"[bold red]refused:[/] {escape(refusal)}" for refusal in plan.refusals)
    lines.extend(f"[dim]note: {escape(note)}[/]" for note in plan.notes)
    summary = plan.summary()
    lines.append(
        f"[bold]Summary:[/] {summary['create']} to create, {summary['update']} to update, "
        f"{summary['replace']} to replace, {summary['delete']} to delete."
    )
    out.print("\n".join(lines))
    return buffer.getvalue()


def render_result(result: ApplyResult, console: Console | None = None) -> str:
    buffer = io.StringIO()
    out = console or make_console(buffer, color=False)
    counts: dict[str, int] = {}
    for change in result.done:
        counts[str(change.action)] = counts.get(str(change.action), 0) + 1
    done = ", ".join(f"{n} {action}d" for action, n in counts.items())  # created, updated, replaced, deleted
    out.print(f"[green]Applied {len(result.done)} change(s)[/]" + (f": {done}." if done else "."))
    return buffer.getvalue()
