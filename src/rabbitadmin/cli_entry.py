"""How the ``rabbitadmin`` process runs its command tree: argument order, usage errors, closed pipes.

- Global options (``--url``, ``--backend``, ``--target``...) are accepted after the command too:
  ``hoist_global_options`` moves them in front of it, unless the command has an option of the same name
  (``permissions list --user bob`` keeps its own ``--user``).
- Under ``-o json`` a usage error (an unknown option, a bad value) also prints ``{"error": ...}`` on stdout,
  like every other failure; a bad choice says "did you mean".
- A reader that goes away (``rabbitadmin export | head``) ends the command quietly with exit 0.
- A Ctrl-C or SIGTERM outside a command's own handling (while the arguments are read, say) ends it with one
  line and exit 130 (``InterruptReportingGroup``).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sys
from collections.abc import Callable, Mapping, Sequence
from difflib import get_close_matches
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from rabbitadmin import interrupts
from rabbitadmin.errors import ExitCode
from rabbitadmin.suggest import did_you_mean

OUTPUT_NAMES = ("-o", "--output")
# typer's command objects are click's (vendored inside typer from 0.2x on, its own module path private), so
# they are read through the attributes both share: params, opts, is_flag, nargs, commands.
Command = Any


class InterruptReportingGroup(TyperGroup):
    """The root command group (``typer.Typer(cls=...)``): a ``KeyboardInterrupt`` that leaves reading the
    arguments or running the command (or a ``RuntimeError`` Python wrapped one in: a lazy import's dataclass,
    ``interrupts.caused_by_interrupt``) leaves as ``typer.Abort``, which ``run`` reports in one line with exit
    130. typer 0.28 turns it into exit 130 without a word (``typer.core._main``: ``raise Exit(130)``); click
    and older typers into ``Abort``, as here."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except (KeyboardInterrupt, RuntimeError) as exc:
            if not interrupts.caused_by_interrupt(exc):
                raise
            raise typer.Abort() from exc

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, RuntimeError) as exc:
            if not interrupts.caused_by_interrupt(exc):
                raise
            raise typer.Abort() from exc


#: Adds commands to a ``typer.Typer`` (an ``admin.register``); called once, when one of its commands is needed.
Registrar = Callable[[typer.Typer], None]


class LazyCommandsGroup(InterruptReportingGroup):
    """The root group, with some commands loaded on first use: a ``plan`` never imports the modules of the
    administration, audit, routing and tutorial commands (about 30 ms of a process's start at W(10000)).

    ``order``: every top-level command name, in the order help lists them. ``lazy``: name -> the registrar that
    adds that command (with others of its module) to a ``typer.Typer``; the first ``get_command`` of any of its
    names runs it once and adds every command it made. Help, completion and "did you mean" list every name
    (``list_commands``), loading the modules only where they need the commands themselves.
    """

    order: tuple[str, ...] = ()
    lazy: Mapping[str, Registrar] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        known = [*super().list_commands(ctx), *(name for name in self.lazy if name not in self.commands)]
        rank = {name: index for index, name in enumerate(self.order)}
        return sorted(known, key=lambda name: rank.get(name, len(rank)))  # stable: unranked ones last, as added

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        registrar = self.lazy.get(cmd_name)
        if command is None and registrar is not None:
            holder = typer.Typer()
            registrar(holder)
            for name, made in typer.main.get_group(holder).commands.items():
                self.commands.setdefault(name, made)
            command = super().get_command(ctx, cmd_name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:
            # typer suggests from the commands loaded so far (``TyperGroup.resolve_command``): the same
            # suggestion from every name, the lazy ones too.
            message = getattr(exc, "message", None)
            if _is_usage_error(exc) and isinstance(message, str) and args and "Did you mean" not in message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches and self.suggest_commands:
                    suggestions = ", ".join(f"{match!r}" for match in matches)
                    exc.message = f"{message.rstrip('.')}. Did you mean {suggestions}?"  # type: ignore[attr-defined]
            raise


def subcommand(command: Command, name: str) -> Command | None:
    """``command``'s subcommand ``name`` (loaded if lazy), or None (no such subcommand, or not a group)."""
    get = getattr(command, "get_command", None)
    return get(None, name) if callable(get) and hasattr(command, "commands") else None


def _options(command: Command) -> dict[str, Any]:
    return {
        name: param
        for param in command.params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }


def _width(param: Any, word: str) -> int:
    """How many following arguments the option ``word`` consumes."""
    if "=" in word or param.is_flag or param.count:
        return 0
    return max(int(param.nargs), 1)


def hoist_global_options(root: Command, argv: Sequence[str]) -> list[str]:
    """``argv`` with the root's options that follow a (sub)command moved in front of the command path.

    An option the command itself defines stays with it; eager options (``--version``, completion) and
    everything after ``--`` are left alone; unknown tokens are kept in place for the parser to report.
    """
    globals_ = {name: p for name, p in _options(root).items() if not p.is_eager}
    tokens = list(argv)
    head: list[str] = []
    index = 0
    while index < len(tokens) and tokens[index].startswith("-") and tokens[index] != "--":
        param = _options(root).get(tokens[index].split("=", 1)[0])
        if param is None:
            return tokens  # an unknown or eager option first: the parser reports or handles it
        index += 1 + _width(param, tokens[index])
    head, rest = tokens[:index], tokens[index:]
    moved: list[str] = []
    kept: list[str] = []
    command: Command = root
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "--":
            kept += rest[index:]
            break
        if word.startswith("-") and len(word) > 1 and command is not root:
            name = word.split("=", 1)[0]
            own = _options(command)
            if name in own:
                width = _width(own[name], word)
                kept += rest[index : index + 1 + width]
                index += 1 + width
                continue
            if name in globals_:
                width = _width(globals_[name], word)
                moved += rest[index : index + 1 + width]
                index += 1 + width
                continue
        elif (found := subcommand(command, word)) is not None:
            command = found
        kept.append(word)
        index += 1
    return head + moved + kept


def wants_json(argv: Sequence[str]) -> bool:
    """True when ``argv`` asks for ``-o json`` (``-o json``, ``--output json``, ``--output=json``, ``-ojson``)."""
    for index, word in enumerate(argv):
        if word == "--":
            return False
        if word in OUTPUT_NAMES and index + 1 < len(argv) and argv[index + 1] == "json":
            return True
        if word in ("--output=json", "-ojson"):
            return True
    return False


def _with_suggestion(exc: Any) -> None:
    """Add "did you mean" to a bad choice (``-o jsn``, ``--output yml``)."""
    choices = getattr(getattr(getattr(exc, "param", None), "type", None), "choices", None)
    found = re.match(r"'(.*?)' is not one of", str(getattr(exc, "message", "")))
    if choices and found:
        hint = did_you_mean(found.group(1), [str(getattr(c, "value", c)) for c in choices])
        if hint:
            exc.message = exc.message.rstrip(".") + hint


def _is_usage_error(exc: BaseException) -> bool:
    """click's ClickException (a usage error, a bad value): it can show itself and carries an exit code."""
    return callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int)


def _show(exc: Any) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except ImportError:  # typer without rich: click's own format
        exc.show()


def run(root: Command, argv: Sequence[str], *, prog_name: str = "rabbitadmin") -> int:
    """Run ``root`` on ``argv`` and return the exit code (never raises ``SystemExit`` for the usual cases)."""
    args = hoist_global_options(root, argv)
    json_output = wants_json(args)
    stdout_before = _stdout_identity()
    try:
        result: Any = root.main(args=args, prog_name=prog_name, standalone_mode=False)
    except typer.Abort as exc:
        # click turns a Ctrl-C outside the commands' own handling (while parsing options, say) into Abort.
        if isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
            print("error: interrupted (Ctrl-C or SIGTERM)", file=sys.stderr)
            return int(ExitCode.INTERRUPTED)
        print("Aborted!", file=sys.stderr)
        return int(ExitCode.ERROR)
    except BrokenPipeError:
        _quiet_streams()
        return 0
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        _with_suggestion(exc)
        if json_output:
            _emit_json_error(str(exc.format_message()), int(exc.exit_code))  # type: ignore[attr-defined]
        _show(exc)
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except SystemExit as exc:
        if exc.code == 1 and _stdout_closed(stdout_before):
            # A closed pipe, handled by the parser (typer) or by rich (help, tables), which exit 1: the reader
            # chose to stop, which is no failure.
            return 0
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return result if isinstance(result, int) else 0


def _stdout_identity() -> tuple[int, int] | None:
    try:
        status = os.fstat(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (OSError, ValueError, AttributeError):
        return None
    return status.st_dev, status.st_ino


def _stdout_closed(before: tuple[int, int] | None) -> bool:
    """True when stdout's reader went away: the pipe reports an error, or it was swapped for /dev/null
    (what rich and typer do on a broken pipe)."""
    now = _stdout_identity()
    if now is None or now != before:
        return True
    poller = select.poll()
    poller.register(sys.__stdout__.fileno(), select.POLLOUT)  # type: ignore[union-attr]
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _emit_json_error(message: str, code: int) -> None:
    payload: Mapping[str, object] = {"message": message, "exit_code": code, "type": "UsageError"}
    from rabbitadmin.cli_support import emit_json

    emit_json({"error": payload})


def _quiet_streams() -> None:
    """Nothing more reaches the closed pipe: later writes and the final flush go to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
