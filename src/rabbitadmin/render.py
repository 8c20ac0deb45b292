"""Plans and apply results as text for people (colours on a terminal, plain text in a pipe).

Only values the plan holds are shown; a secret field is shown as "(changed)", never with a value.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

from rabbitadmin.engine.apply import ApplyResult
from rabbitadmin.engine.plan import Action, Change, Plan
from rabbitadmin.kinds import KINDS, OnChange
from rabbitadmin.masking import masked, masked_field, secret_by_name
from rabbitadmin.model import TopologyObject
from rabbitadmin.value_text import value_text

if TYPE_CHECKING:
    from rich.console import Console

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
}


def make_console(stream: Any = None, *, color: bool | None = None) -> Console:
    """A console on ``stream`` (stdout by default); colours only on a terminal unless told otherwise."""
    from rich.console import Console  # about 20 ms: not for what prints plain text (``plan_output``)

    target = stream if stream is not None else sys.stdout
    if color is None:
        return Console(file=target, highlight=False, soft_wrap=True)
    return Console(file=target, highlight=False, soft_wrap=True, force_terminal=color, no_color=not color)


class PlainOutput:
    """What ``render_plan`` uses of a console that prints no colours: its stream (rich not loaded)."""

    color_system = None
    is_terminal = False

    def __init__(self, file: IO[str]) -> None:
        self.file = file


def plan_output(stream: IO[str] | None = None) -> Console | PlainOutput:
    """Where a plan is printed: ``make_console`` where rich could colour it, else ``PlainOutput``, where rich
    would not (``Console.is_terminal``: not a terminal, and neither ``FORCE_COLOR`` nor ``TTY_COMPATIBLE=1``
    says otherwise). A plan in a pipe or a CI log does not pay for loading rich."""
    target = stream if stream is not None else sys.stdout
    forced = os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1"
    if forced or (hasattr(target, "isatty") and target.isatty()):
        return make_console(target)
    return PlainOutput(target)


def escape_function() -> Callable[[str], str]:
    """``rich.markup.escape``, loaded on first use (only output with colours needs it)."""
    from rich.markup import escape as rich_escape

    return rich_escape


def escape(text: str) -> str:
    """``text`` with rich markup escaped (``rich.markup.escape``)."""
    return escape_function()(text)


class _Styler:
    """Writes rich markup for a console with colours, plain text otherwise.

    Plain text skips rich's markup parser entirely: for a 21,000-line plan in a log or a pipe that is
    the difference between about 1.2 s and a few tens of milliseconds.
    """

    def __init__(self, markup: bool) -> None:
        self.markup = markup
        self._escape = escape_function() if markup else None

    def text(self, value: str) -> str:
        return self._escape(value) if self._escape is not None else value

    def style(self, style: str, text: str) -> str:
        """``text`` (already passed through ``text``) in ``style``."""
        return f"[{style}]{text}[/]" if self.markup else text

    def value(self, value: Any) -> str:
        return self.text(value_text(value))


# Boolean fields shown by their name when true (durable: "durable" or "transient", as the server says).
_FLAG_WORDS = {"durable": ("durable", "transient"), "auto_delete": ("auto-delete", ""), "internal": ("internal", "")}


_NEEDS_QUOTES = re.compile(r"[\s,()\[\]='\"]")


def _compact(value: Any) -> str:
    """A value in a create's one-line summary: strings as they are unless they need quotes, JSON otherwise."""
    if isinstance(value, str):
        plain = value and value.isprintable() and not _NEEDS_QUOTES.search(value)
        return value if plain else repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@functools.cache
def _shown_fields(kind: str) -> tuple[tuple[str, str, str, Any, Any], ...]:
    """How a create line shows each non-identity field of ``kind``: (name, how, label, default, masked
    default), ``how`` one of secret, type, flag, bool, map, always, value. Worked out once per kind."""
    shown = []
    for f in KINDS[kind].fields:
        if f.on_change is OnChange.IDENTITY:
            continue
        how = (
            "secret" if f.on_change is OnChange.SECRET
            else "type" if f.name == "type"
            else "flag" if f.name in _FLAG_WORDS
            else "bool" if isinstance(f.default, bool)
            else "map" if isinstance(f.default, dict) or f.name == "definition"
            else "always" if f.null_is_value  # a parameter's value: null is a value, not the default
            else "value"
        )  # fmt: skip
        shown.append((f.name, how, f.name.replace("_", "-"), f.default, masked(f.default)))
    return tuple(shown)


def create_details(obj: TopologyObject) -> str:
    """What a create sets, in one short line: ``quorum, durable, x-delivery-limit=5``.

    Every non-identity field of the facts table (``KINDS``) with the value the server will hold (defaults
    filled in): ``type`` bare, flags by name, mappings (``arguments``, a policy's ``definition``) as their
    ``key=value`` pairs, other fields as ``name=value`` unless they hold the server's default; a secret only as
    ``password set``. Values pass through ``masking.masked``.
    """
    parts: list[str] = []
    for name, how, label, default, shown_default in _shown_fields(obj.kind):
        if how == "secret":
            held = getattr(obj, name, None) or getattr(obj, f"{name}_hash", None)
            parts.append(f"{name} set" if held else f"no {name}")
            continue
        value = getattr(obj, name)
        if value is None:
            value = default
        if how == "type":
            parts.append(_compact(masked(value)))
        elif how == "flag":
            word = _FLAG_WORDS[name][0 if value else 1]
            if word:
                parts.append(word)
        elif how == "bool":
            if value:
                parts.append(label)
        elif secret_by_name(obj, name):
            parts.append(f"{label}={_compact(masked_field(obj, name, value))}")
        elif isinstance(value, dict):
            parts.extend(f"{key}={_compact(item)}" for key, item in masked(value).items())
        elif how == "always" or (value is not None and masked(value) != shown_default):
            # (the server's defaults go without saying)
            parts.append(f"{label}={_compact(masked(value))}")
    return ", ".join(parts)


def _change_lines(change: Change, s: _Styler) -> list[str]:
    symbol, colour = SYMBOLS[change.action]
    head = f"{s.style(colour, f'{symbol} {change.action}')} {s.text(change.subject)}"
    if change.action is Action.CREATE and change.desired is not None and change.kind != "binding":
        details = create_details(change.desired)  # a binding's subject names all of it already
        if details:
            head += f" ({s.text(details)})"
    if change.reason and change.action is not Action.REPLACE:
        head += " " + s.style("dim", f"({s.text(change.reason)})")
    lines = [head]
    if change.action is Action.REPLACE:
        lines.append("    " + s.style("dim", f"because {s.text(change.reason or '')}"))
    elif change.action is Action.UPDATE:
        for field in change.fields:
            if field.secret:
                lines.append(f"    {field.name}: {s.style('yellow', '(changed)')}")
            else:
                before, after = masked(field.before), masked(field.after)
                lines.append(f"    {field.name}: {s.value(before)} -> {s.value(after)}")
    if change.action in (Action.DELETE, Action.REPLACE) and change.kind in ("queue", "vhost"):
        if change.messages_at_risk is None:
            lines.append("    " + s.style("bold red", "message count unknown: messages may be lost"))
        elif change.messages_at_risk > 0:
            lines.append("    " + s.style("bold red", f"{change.messages_at_risk} message(s) would be lost"))
        elif not change.conditional:
            why = "cannot be deleted only if empty (a quorum queue or stream): needs --allow-data-loss"
            lines.append("    " + s.style("bold red", why))
        if change.consumers:
            lines.append("    " + s.style("bold yellow", f"{change.consumers} consumer(s) would be cut off"))
    return lines


#: The first line of a plan that changes nothing; never printed for a plan with refusals (it does not match).
NO_CHANGES = "No changes: the server matches the topology."
NOTHING_APPLICABLE = "Nothing can be applied: the plan is refused (see below)."


def _status_line(plan: Plan) -> str | None:
    """The line under the header for a plan with no change: matched, or refused (never both)."""
    if not plan.is_empty:
        return None
    return NOTHING_APPLICABLE if plan.refusals else NO_CHANGES


def summary_rows(plan: Plan) -> list[list[str]]:
    """Counts of the plan's changes per vhost and kind, one column per action (``--summary``).

    Users and their limits belong to no vhost: their vhost cell is ``(global)``; a vhost counts under its
    own name.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    for change in plan.changes:
        obj = change.desired or change.actual
        vhost = change.key[0] if change.kind == "vhost" else getattr(obj, "vhost", None)
        counts[(vhost if vhost is not None else "(global)", change.kind, str(change.action))] += 1
    order = {kind: i for i, kind in enumerate(KINDS)}
    cells = sorted({(vhost, kind) for vhost, kind, _ in counts}, key=lambda vk: (vk[0], order[vk[1]]))
    return [[vhost, kind, *(str(counts[(vhost, kind, str(a))]) for a in Action)] for vhost, kind in cells]


SUMMARY_COLUMNS = ("vhost", "kind", *(str(a) for a in Action))


def render_plan(
    plan: Plan, console: Console | PlainOutput | None = None, *, summary: bool = False, page: bool = False
) -> str:
    """Print ``plan`` on ``console`` (or return it as plain text when no console is given).

    ``summary``: counts per vhost, kind and action as a table (``print_table``) instead of one line per
    change. ``page``: on a terminal, a plan longer than the screen goes through the pager (rich's
    ``Console.pager``: ``MANPAGER``/``PAGER``, else ``less``; ``LESS=-R`` by default so colours show), so it
    can be read before a confirmation prompt. The whole plan is printed in one call (rich's per-call
    overhead made a 20,000-line plan take seconds), and without markup when the console has no colours.
    """
    buffer = io.StringIO()
    out = console or make_console(buffer, color=False)
    s = _Styler(markup=out.color_system is not None)
    scope = ", ".join(repr(v) for v in plan.scope) or "(none)"
    on = f" on RabbitMQ {s.text(plan.server_version)}" if plan.server_version else ""
    head = [f"{s.style('bold', 'Plan')} for vhosts {s.text(scope)}{on}"]
    status = _status_line(plan)
    if status is not None:
        head.append(status)
    body: list[str] = []
    if not summary:
        for change in plan.changes:
            body.extend("  " + line for line in _change_lines(change, s))
    tail = [f"{s.style('bold red', 'refused:')} {s.text(refusal)}" for refusal in plan.refusals]
    tail.extend(s.style("dim", f"note: {s.text(note)}") for note in plan.notes)
    tail.extend(f"{s.style('yellow', 'warning:')} {s.text(w)}" for w in plan.warnings)
    counts = plan.summary()
    tail.append(
        f"{s.style('bold', 'Summary:')} {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete."
    )
    if summary and plan.changes:
        _write(out, s, head)
        print_table(SUMMARY_COLUMNS, summary_rows(plan), out.file)
        _write(out, s, tail)
        return buffer.getvalue()
    lines = head + body + tail
    if page and not isinstance(out, PlainOutput) and out.is_terminal and len(lines) > max(out.size.height - 2, 1):
        os.environ.setdefault("LESS", "-R")  # colours through less, as click's pager sets it
        with out.pager(styles=True):
            out.print("\n".join(lines) if s.markup else escape("\n".join(lines)))
        return buffer.getvalue()
    _write(out, s, lines)
    return buffer.getvalue()


def _write(out: Console | PlainOutput, s: _Styler, lines: list[str]) -> None:
    text = "\n".join(lines)
    if s.markup and not isinstance(out, PlainOutput):  # markup only where there are colours: a Console
        out.print(text)
    else:
        out.file.write(text + "\n")
        out.file.flush()


def render_result(result: ApplyResult, console: Console | None = None) -> str:
    buffer = io.StringIO()
    out = console or make_console(buffer, color=False)
    counts: dict[str, int] = {}
    for change in result.done:
        counts[str(change.action)] = counts.get(str(change.action), 0) + 1
    done = ", ".join(f"{n} {action}d" for action, n in counts.items())  # created, updated, replaced, deleted
    out.print(f"[green]Applied {len(result.done)} change(s)[/]" + (f": {done}." if done else "."))
    return buffer.getvalue()


def plain_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Aligned plain text: a header line of upper-case ``columns``, then one line per row, full cell values
    (nothing wrapped or cut, so ``grep``/``awk`` see whole rows)."""
    body = ([str(value).replace("\n", ", ") for value in row] for row in rows)
    table = [[column.upper() for column in columns], *body]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in table
    )


def print_table(columns: Sequence[str], rows: Sequence[Sequence[str]], stream: IO[str] | None = None) -> None:
    """The one table renderer of the command line.

    On a terminal: a rich table fitted to the terminal's real width (long cells fold onto more lines).
    Elsewhere (a pipe, a file): ``plain_table``, with no width limit and no colours.
    """
    out = stream if stream is not None else sys.stdout
    if not out.isatty():
        out.write(plain_table(columns, rows) + "\n")
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(*(column.upper() for column in columns), box=box.SIMPLE_HEAD, pad_edge=False, highlight=False)
    for row in rows:
        table.add_row(*(escape(str(value)) for value in row))
    Console(file=out, highlight=False).print(table)
