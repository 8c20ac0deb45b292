"""Shared pieces of the command line: global options, output format, confirmation, error boundary.

Sub-command modules (tutorials, audit, administration) build their ``typer`` apps with these so that
every command reads connection settings, prints errors and picks exit codes the same way.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import FrameType
from typing import Any, NoReturn, TypeVar

import typer

from rabbitadmin import interrupts
from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.factory import DEFAULT_TRANSPORT, TransportOptions, engine_backend
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine.apply_lock import Holder
from rabbitadmin.errors import ExitCode, Interrupted, RabbitAdminError, Refused, UsageError
from rabbitadmin.prompts import ask_yes_no

T = TypeVar("T")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


OUTPUT_OPTION = typer.Option(OutputFormat.text, "--output", "-o", help="text for people, json for scripts.")


@dataclass
class CliState:
    """What the top-level callback collected; reach it with ``cli_state(ctx)``."""

    settings_factory: Callable[[], ConnectionSettings]
    backend: str = DEFAULT_TRANSPORT
    ctl_options: dict[str, Any] = field(default_factory=dict)
    target: str | None = None  # the named target chosen (--target, RABBITADMIN_TARGET), if any
    parallel: int | None = None  # the target's apply parallelism, when it sets one
    variables: dict[str, str] = field(default_factory=dict)  # ${name} values: the target's vars under --var
    user: str | None = None  # the user the HTTP settings name (--user, RABBITADMIN_USER, the target's), if any
    fleet: list[tuple[Any, CliState]] | None = None  # several targets (fleet.py): (Target, its own state) each
    _settings: ConnectionSettings | None = None
    #: Each move to another node of the cluster (from, to, reason), for ``-o json``; each is said on stderr.
    failovers: list[dict[str, str]] = field(default_factory=list)

    def note_failover(self, from_url: str, to_url: str, reason: str) -> None:
        self.failovers.append({"from": from_url, "to": to_url, "reason": reason})
        err(f"note: {from_url} is unreachable ({reason}); continuing through {to_url}")

    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            self._settings = self.settings_factory()
        return self._settings


def cli_state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        raise RuntimeError("the rabbitadmin callback did not run")
    return state


def err(message: str) -> None:
    """Print to stderr (errors, warnings, progress never go to stdout, which scripts parse)."""
    print(message, file=sys.stderr)


def emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=False, default=str))


def fail(message: str, code: ExitCode) -> typer.Exit:
    err(f"error: {message}")
    return typer.Exit(int(code))


@contextmanager
def error_boundary(output: OutputFormat | None = None) -> Iterator[None]:
    """Turn the project's own errors into a message on stderr (and JSON on stdout) and their exit code.

    ``output``: the command's output format (``output_of(ctx)`` reads it off a command's options). Ctrl-C
    (and SIGTERM, which ``cli.main`` turns into the same interrupt) ends with ``Interrupted``: exit 130.
    """
    if output is None:
        output = OutputFormat.text
    try:
        yield
    except KeyboardInterrupt:
        report(Interrupted("interrupted (Ctrl-C or SIGTERM)"), output)
    except RabbitAdminError as exc:
        report(exc, output)
    except RuntimeError as exc:  # one Python 3.11 wrapped an interrupt in (a lazy import's dataclass)
        if not interrupts.caused_by_interrupt(exc):
            raise
        report(Interrupted("interrupted (Ctrl-C or SIGTERM)"), output)


def report(exc: RabbitAdminError, output: OutputFormat) -> NoReturn:
    """Print ``exc`` (and its JSON under ``-o json``) and exit with its code."""
    if output is OutputFormat.json:
        emit_json({"error": error_payload(exc)})
    raise fail(str(exc), exc.exit_code) from None


def output_of(ctx: typer.Context) -> OutputFormat:
    """The ``--output`` option of the running command (text when it has none)."""
    return OutputFormat.json if ctx.params.get("output") == OutputFormat.json else OutputFormat.text


def error_payload(exc: RabbitAdminError) -> dict[str, Any]:
    """An error as JSON for scripts: its message, exit code and, for a topology, every problem."""
    payload: dict[str, Any] = {"message": str(exc), "exit_code": int(exc.exit_code), "type": type(exc).__name__}
    problems = getattr(exc, "problems", None)
    if problems:
        payload["problems"] = [
            {"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in problems
        ]
    result = getattr(exc, "result", None)
    if result is not None and hasattr(result, "to_dict"):
        payload["result"] = result.to_dict()
    return payload


def confirm_or_refuse(question: str, *, yes: bool) -> None:
    """Ask on a terminal; without one, refuse unless ``--yes`` was given (never hang waiting for input)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refused(f"{question} Refusing without a terminal to ask on; pass --yes to go ahead.")
    try:
        answer = ask_yes_no(question)
    except KeyboardInterrupt:
        raise Interrupted("interrupted at the confirmation prompt: nothing was changed") from None
    if not answer:
        raise Refused("cancelled, nothing was changed")


def transport_options(state: CliState, *, parallel: int | None = None) -> TransportOptions:
    """The transport the global options chose, for ``backends.factory`` (``parallel``: ``--parallel``)."""
    return TransportOptions(state.backend, lambda: state.settings, state.ctl_options, parallel, user=state.user)


def make_backend(state: CliState, *, parallelism: int | None = None, create_with: str = "auto") -> Backend:
    """The engine backend the global options chose (the management HTTP API unless told otherwise);
    ``create_with``: ``apply --create-with``."""
    options = transport_options(state, parallel=parallelism)
    return engine_backend(dataclasses.replace(options, create_with=create_with, notice=err))


@contextmanager
def stop_on_signals(interrupt: threading.Event) -> Iterator[None]:
    """While inside, the first SIGINT or SIGTERM sets ``interrupt`` instead of raising (an apply then starts no
    new request and reports); a second one raises ``KeyboardInterrupt`` at once, abandoning the report.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        if interrupt.is_set():
            raise KeyboardInterrupt
        interrupt.set()
        err(
            f"{signal.Signals(signum).name}: stopping; no new request is sent, requests in flight finish "
            "(Ctrl-C again to stop without the report)"
        )

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


EXPORT_FORMATS = ("yaml", "json", "definitions")


def export_format(given: str | None, output: OutputFormat | None) -> str:
    """``export``'s document format from ``--format`` and ``-o``: ``-o json`` means JSON, as on every command
    (``--format json`` still works); ``-o text`` and the default mean YAML. Contradicting them is a ``UsageError``."""
    from rabbitadmin.suggest import unknown_value

    if given is not None and given not in EXPORT_FORMATS:
        raise UsageError(unknown_value("--format", given, EXPORT_FORMATS))
    wanted = "json" if output is OutputFormat.json else None
    if given is not None and wanted is not None and given not in (wanted, "definitions"):  # definitions are JSON
        raise UsageError(f"--format {given} contradicts -o {output}: give one of them")
    return given or wanted or "yaml"


# -- the apply lock's options, shared by `apply` and `tutorial provision` -------------------------------
LOCK_TIMEOUT_OPTION = typer.Option(
    30.0, "--lock-timeout", min=0, help="Seconds to wait for another apply's lock on a vhost (0: fail at once)."
)
NO_LOCK_OPTION = typer.Option(
    False, "--no-lock", help="Apply without the per-vhost apply lock (another apply could run at the same time)."
)


def lock_wait_notice(timeout: float) -> Callable[[str, Holder | None], None]:
    """The apply lock's ``on_wait``: say on stderr which vhost is waited for, how long, and who holds it."""

    def say(vhost: str, holder: Holder | None) -> None:
        who = f"held by {holder}" if holder is not None else "held by another apply"
        err(f"waiting up to {timeout:g} s for the apply lock of vhost {vhost!r}, {who}")

    return say
