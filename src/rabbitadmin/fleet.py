"""Several targets at once: ``validate``, ``plan``, ``apply`` and ``audit`` over a fleet (docs/fleets.md).

``--target a --target b`` or a group name (``[groups.NAME]`` in the targets file) gives the command line one
``CliState`` per target (``targets_cli.with_target``); this module runs the command on each of them, at most
``--parallel-targets`` at a time, and shows each target's result under its name, then one summary table.

- One target failing (unreachable, refused plan, apply lock held, an invalid topology for its variables)
  never hides the others: each has its own outcome, and the exit code is the worst of them (``worst``).
- ``apply`` plans every target first (each under its own apply lock, held to the end), shows every plan, asks
  once (or needs ``--yes``), then applies the targets whose plan can be applied. A topology that is invalid
  for any target stops the whole apply before anything is written anywhere; a target that cannot be
  reached, is locked, or whose plan is refused is left out and the others go ahead.
- Ctrl-C (or SIGTERM) stops every target: no target starts after it, each apply in flight sends no new
  request (``engine/apply.py``), and every target's outcome is reported (exit 130).

The library raises; this module is part of the command line: it prints and returns exit codes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from rabbitadmin.cli_support import (
    CliState,
    OutputFormat,
    confirm_or_refuse,
    emit_json,
    error_payload,
    lock_wait_notice,
    make_backend,
    stop_on_signals,
    transport_options,
)
from rabbitadmin.engine import ApplyResult, EngineSession, LockOptions, PartialApply, check_safety, plan_file
from rabbitadmin.engine.plan import Plan
from rabbitadmin.errors import ExitCode, Interrupted, RabbitAdminError, TopologyError, UsageError
from rabbitadmin.threads import worker_pool
from rabbitadmin.urls import redact_url

#: The commands that run on several targets; the others need one target.
FLEET_COMMANDS = frozenset({"validate", "plan", "apply", "audit"})
#: Commands that do not use the target at all (a group in RABBITADMIN_TARGET does not stop them).
TARGETLESS_COMMANDS = frozenset({"targets", "sandbox", "schema"})
DEFAULT_PARALLEL_TARGETS = 4
MAX_PARALLEL_TARGETS = 32
PARALLEL_TARGETS_OPTION = typer.Option(
    DEFAULT_PARALLEL_TARGETS,
    "--parallel-targets",
    min=1,
    max=MAX_PARALLEL_TARGETS,
    help="With several targets: how many are read or written at once.",
)

#: Exit codes from the least to the most severe (``worst``): clean, then "something to look at" (changes
#: pending, audit findings), then failures where nothing was sent or written (our own refusals: bad
#: input, a safety rule), failures of a server (locked, no answer in time, unreachable, an error), and
#: last what may have left a server half-way (messages kept, a partial apply, an interrupt).
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.OK,
    ExitCode.CHANGES_PENDING,
    ExitCode.FINDINGS,
    ExitCode.INVALID,
    ExitCode.REFUSED,
    ExitCode.LOCKED,
    ExitCode.TIMEOUT,
    ExitCode.CONNECTION,
    ExitCode.ERROR,
    ExitCode.MESSAGES_ARRIVED,
    ExitCode.PARTIAL,
    ExitCode.INTERRUPTED,
)
_RANK = {code: index for index, code in enumerate(SEVERITY)}


def rank(code: int) -> int:
    """Where ``code`` stands in ``SEVERITY``; a code outside ``ExitCode`` ranks as ``ERROR``."""
    try:
        return _RANK[ExitCode(code)]
    except ValueError:
        return _RANK[ExitCode.ERROR]


def worst(codes: Iterable[int | None]) -> ExitCode:
    """The most severe of ``codes`` (``SEVERITY``); None (a target that did not run) counts for nothing.
    ``OK`` when there is none. A code outside ``ExitCode`` counts as ``ERROR``."""
    ranked = [rank(code) for code in codes if code is not None]
    return SEVERITY[max(ranked, default=0)]


def check_command(state: CliState, command: str | None) -> None:
    """``UsageError`` when several targets are chosen for a command that runs on one."""
    if state.fleet is None or command is None or command in FLEET_COMMANDS | TARGETLESS_COMMANDS:
        return
    names = ", ".join(target.name for target, _ in state.fleet)
    raise UsageError(
        f"several targets ({names}): only {', '.join(sorted(FLEET_COMMANDS))} run on several targets; "
        f"give `{command}` one --target"
    )


@dataclass
class Outcome:
    """One target's part of a fleet command: what it planned, applied or found, and its exit code.

    ``exit_code`` None: the target was not run (another target's failure stopped the command).
    """

    name: str
    state: CliState
    where: str
    exit_code: ExitCode | None = ExitCode.OK
    status: str = ""
    plan: Plan | None = None
    result: ApplyResult | None = None
    error: RabbitAdminError | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # the command's own JSON (audit findings, validate)
    session: EngineSession | None = None

    def fail(self, exc: RabbitAdminError) -> None:
        self.error = exc
        self.exit_code = exc.exit_code
        self.status = f"failed: {_first_line(str(exc))}"
        self.close()

    def skip(self, why: str, code: ExitCode | None = None) -> None:
        self.exit_code = code
        self.status = why

    def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.close()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"server": self.where, "status": self.status, "exit_code": _code(self.exit_code)}
        if self.plan is not None:
            data["plan"] = self.plan.to_dict()
        if self.result is not None:
            data["result"] = self.result.to_dict()
        data.update(self.extra)
        if self.error is not None:
            data["error"] = error_payload(self.error)
        return data


def _code(code: ExitCode | None) -> int | None:
    return None if code is None else int(code)


def _first_line(text: str, width: int = 60) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _where(target: Any, state: CliState) -> str:
    """The target's server for headings: its URL(s) (never a password), or its node for rabbitmqctl."""
    if state.backend == "ctl":
        return f"node {state.ctl_options.get('node') or 'default'}"
    urls = getattr(target, "urls", ()) or ()
    return ", ".join(redact_url(url) for url in urls) or "the default URL"


def outcomes_for(state: CliState) -> list[Outcome]:
    """One fresh ``Outcome`` per target of the fleet, in order."""
    assert state.fleet is not None
    return [Outcome(target.name, member, _where(target, member)) for target, member in state.fleet]


def run_each(
    outcomes: Sequence[Outcome],
    work: Callable[[Outcome], None],
    *,
    limit: int,
    stop: threading.Event,
    on_done: Callable[[Outcome], None] | None = None,
) -> None:
    """``work(outcome)`` for each, at most ``limit`` at a time. A target's error (any exception) becomes its
    outcome, never the others'; once ``stop`` is set no target starts (``Interrupted``)."""

    def guarded(outcome: Outcome) -> None:
        if stop.is_set():
            outcome.fail(Interrupted("interrupted (Ctrl-C or SIGTERM) before this target started"))
        else:
            try:
                work(outcome)
            except RabbitAdminError as exc:
                outcome.fail(exc)
            except Exception as exc:  # a bug or a library's error: this target's failure, not the fleet's
                outcome.fail(RabbitAdminError(f"unexpected {type(exc).__name__}: {exc}"))
        if on_done is not None:
            on_done(outcome)

    if not outcomes:
        return
    with worker_pool(min(limit, len(outcomes)), thread_name_prefix="rabbitadmin-target") as pool:
        for future in [pool.submit(guarded, outcome) for outcome in outcomes]:
            future.result()


def _phase(
    outcomes: Sequence[Outcome],
    work: Callable[[Outcome], None],
    limit: int,
    interrupt: threading.Event,
    output: OutputFormat,
    what: str,
) -> None:
    """``run_each`` with Ctrl-C and SIGTERM setting ``interrupt`` (no target starts after it; an apply in
    flight sends no new request) and a progress line per target on stderr."""
    with stop_on_signals(interrupt):
        run_each(outcomes, work, limit=limit, stop=interrupt, on_done=_progress(output, what))


_STDERR_LOCK = threading.Lock()


def _say(line: str) -> None:
    """One whole line on stderr, from any target's thread (``print`` writes the newline apart)."""
    with _STDERR_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _progress(output: OutputFormat, what: str) -> Callable[[Outcome], None] | None:
    """A line on stderr as each target finishes (text output only): long fleets show they move."""
    if output is OutputFormat.json:
        return None
    return lambda outcome: _say(f"{outcome.name}: {what} {outcome.status}")


def _warner(name: str) -> Callable[[str], None]:
    return lambda warning: _say(f"warning: {name}: {warning}")


def _plan_status(outcome: Outcome, plan: Plan, *, detailed_exitcode: bool) -> None:
    outcome.plan = plan
    if plan.refusals:
        outcome.exit_code, outcome.status = ExitCode.REFUSED, f"refused ({len(plan.refusals)})"
    elif plan.is_empty:
        outcome.exit_code, outcome.status = ExitCode.OK, "no changes"
    else:
        pending = ExitCode.CHANGES_PENDING if detailed_exitcode else ExitCode.OK
        outcome.exit_code, outcome.status = pending, f"{len(plan.changes)} change(s)"


# -- validate ----------------------------------------------------------------------------------------------
def validate_fleet(
    state: CliState, file: Path, *, skip_secrets: bool, output: OutputFormat, strict: bool = False
) -> int:
    """``validate`` for each target's variables (offline); with ``strict`` a target whose file has warnings
    is invalid (as ``validate --strict`` of one). Returns the worst exit code."""
    from rabbitadmin.loader import load_topology

    outcomes = outcomes_for(state)
    for outcome in outcomes:
        try:
            topology = load_topology(file, resolve_secrets=not skip_secrets, variables=outcome.state.variables)
            if strict and topology.warnings:  # e.g. a plain-text password in a definitions file
                raise TopologyError(list(topology.warnings))
        except RabbitAdminError as exc:
            outcome.fail(exc)
            continue
        counts = {kind: len(objects) for kind, objects in topology.objects.items()}
        outcome.status = "valid"
        outcome.extra = {"valid": True, "objects": counts, "warnings": [str(w) for w in topology.warnings]}
        if output is not OutputFormat.json:
            for warning in topology.warnings:
                _warner(outcome.name)(str(warning))
    if output is OutputFormat.json:
        _emit(outcomes)
    else:
        for outcome in outcomes:
            text = str(outcome.error) if outcome.error is not None else outcome.status
            print(f"{outcome.name}: {file}: {text}")
    return _exit(outcomes)


# -- plan --------------------------------------------------------------------------------------------------
def plan_fleet(
    state: CliState, file: Path, *, prune: bool, detailed_exitcode: bool, limit: int, output: OutputFormat
) -> int:
    """``plan`` on every target of the fleet. Returns the worst exit code (``worst``)."""
    outcomes = outcomes_for(state)

    def work(outcome: Outcome) -> None:
        member = outcome.state
        connect = lambda: make_backend(member)  # noqa: E731
        plan = plan_file(file, connect, prune=prune, on_warning=_warner(outcome.name), variables=member.variables)
        _plan_status(outcome, plan, detailed_exitcode=detailed_exitcode)

    interrupt = threading.Event()
    _phase(outcomes, work, limit, interrupt, output, "plan:")
    if output is OutputFormat.json:
        _emit(outcomes, interrupt)
    else:
        _show_plans(outcomes)
        _summary(outcomes)
    return _exit(outcomes, interrupt)


# -- apply -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApplyOptions:
    """``apply``'s options, the same for every target."""

    prune: bool = False
    yes: bool = False
    allow_data_loss: bool = False
    parallel: int | None = None  # --parallel: requests in flight per target (else the target's, else default)
    lock_timeout: float = 30.0
    no_lock: bool = False
    create_with: str = "auto"  # --create-with: AMQP declares or the import for large creates


def apply_fleet(state: CliState, file: Path, options: ApplyOptions, *, limit: int, output: OutputFormat) -> int:
    """``apply`` on every target of the fleet: plan all, show all, ask once, apply those that can be.
    Returns the worst exit code. Raises ``Refused``/``Interrupted`` when the confirmation is declined."""
    outcomes = outcomes_for(state)
    interrupt = threading.Event()
    try:
        _phase(outcomes, lambda outcome: _open_and_plan(outcome, file, options), limit, interrupt, output, "plan:")
        ready = _ready(outcomes, options, interrupted=interrupt.is_set())
        if output is OutputFormat.text:
            _show_plans(outcomes)
        if ready:
            total = sum(len(o.plan.changes) for o in ready if o.plan is not None)
            each = ", ".join(f"{o.name} ({len(o.plan.changes) if o.plan else 0})" for o in ready)
            try:
                confirm_or_refuse(f"Apply {total} change(s) on {len(ready)} target(s): {each}?", yes=options.yes)
            except RabbitAdminError:
                for outcome in ready:
                    outcome.skip("not applied: not confirmed")
                raise
            _phase(ready, lambda outcome: _apply_one(outcome, options, interrupt), limit, interrupt, output, "apply:")
    finally:
        for outcome in outcomes:
            outcome.close()
    if output is OutputFormat.json:
        _emit(outcomes, interrupt)
    else:
        _show_results(outcomes)
        _summary(outcomes)
    return _exit(outcomes, interrupt)


def _open_and_plan(outcome: Outcome, file: Path, options: ApplyOptions) -> None:
    member = outcome.state
    lock = None
    if not options.no_lock:
        from rabbitadmin.backends.factory import lock_transport

        lock = LockOptions(
            lambda backend: lock_transport(transport_options(member), backend),
            options.lock_timeout,
            lock_wait_notice(options.lock_timeout),
        )
    parallelism = options.parallel or member.parallel
    outcome.session = EngineSession(
        lambda: make_backend(member, parallelism=parallelism, create_with=options.create_with),
        lock=lock,
        on_warning=_warner(outcome.name),
    )
    plan = outcome.session.plan_file(file, prune=options.prune, variables=member.variables)
    _plan_status(outcome, plan, detailed_exitcode=False)


def _ready(outcomes: Sequence[Outcome], options: ApplyOptions, *, interrupted: bool) -> list[Outcome]:
    """The outcomes to apply; the others get their status (refused, nothing to do, stopped)."""
    for outcome in outcomes:
        if outcome.error is None and outcome.plan is not None:
            try:
                check_safety(outcome.plan, allow_data_loss=options.allow_data_loss)
            except RabbitAdminError as exc:
                outcome.fail(exc)
    candidates = [o for o in outcomes if o.error is None and o.plan is not None and not o.plan.is_empty]
    invalid = [o.name for o in outcomes if o.exit_code is ExitCode.INVALID]
    if invalid or interrupted:
        why = f"the topology is invalid for {', '.join(invalid)}" if invalid else "interrupted"
        for outcome in candidates:
            # An interrupt is every target's: each one not applied because of it says so in its code.
            outcome.skip(f"not applied: {why}", None if invalid else ExitCode.INTERRUPTED)
            outcome.close()
        return []
    for outcome in outcomes:
        if outcome.plan is not None and outcome.plan.is_empty:
            outcome.close()
    return candidates


def _apply_one(outcome: Outcome, options: ApplyOptions, interrupt: threading.Event) -> None:
    assert outcome.session is not None and outcome.plan is not None
    try:
        outcome.result = outcome.session.apply_plan(
            outcome.plan, allow_data_loss=options.allow_data_loss, stop=interrupt
        )
    except PartialApply as exc:
        outcome.result = exc.result
        raise
    finally:
        outcome.close()
    outcome.exit_code, outcome.status = ExitCode.OK, f"applied {len(outcome.result.done)} change(s)"


# -- audit -------------------------------------------------------------------------------------------------
def audit_fleet(
    state: CliState,
    run: Callable[[CliState], Any],
    *,
    fail_on: Any,
    limit: int,
    output: OutputFormat,
) -> int:
    """``audit`` on every target: ``run(state)`` returns its ``audit.rules.Report``; ``fail_on`` a
    ``Severity`` or None. Returns the worst exit code (``FINDINGS`` for a target at or above ``fail_on``)."""
    outcomes = outcomes_for(state)

    def work(outcome: Outcome) -> None:
        report = run(outcome.state)
        found = report.worst()
        outcome.extra = {"findings": [f.to_dict() for f in report.findings], "worst_severity": _name(found)}
        outcome.status = f"{len(report.findings)} finding(s)" + (f", worst {found.name}" if found else "")
        failing = fail_on is not None and found is not None and found >= fail_on
        outcome.exit_code = ExitCode.FINDINGS if failing else ExitCode.OK

    interrupt = threading.Event()
    _phase(outcomes, work, limit, interrupt, output, "audit:")
    if output is OutputFormat.json:
        _emit(outcomes, interrupt)
        return _exit(outcomes, interrupt)
    from rabbitadmin.render import print_table

    for outcome in outcomes:
        _heading(outcome)
        if outcome.error is not None:
            print(f"error: {outcome.error}")
        elif not outcome.extra["findings"]:
            print("no findings")
        else:
            rows = [
                (f["rule"], f["severity"], f["message"], "\n".join(f["objects"]), f["advice"])
                for f in outcome.extra["findings"]
            ]
            print_table(("rule", "severity", "finding", "objects", "advice"), rows)
    print()
    print_table(
        ("target", "findings", "worst", "result", "exit"),
        [
            (o.name, str(len(o.extra.get("findings", []))) if o.error is None else "-",
             o.extra.get("worst_severity") or "-", o.status, _exit_text(o.exit_code))
            for o in outcomes
        ],
    )  # fmt: skip
    return _exit(outcomes, interrupt)


def _name(severity: Any) -> str | None:
    return None if severity is None else str(severity.name)


# -- output ------------------------------------------------------------------------------------------------
def _exit(outcomes: Sequence[Outcome], interrupt: threading.Event | None = None) -> int:
    """The command's exit code: the worst of the targets', and 130 after Ctrl-C even when every target had
    started before it (they finished, but the operator asked to stop)."""
    stopped = ExitCode.INTERRUPTED if interrupt is not None and interrupt.is_set() else None
    return int(worst([*(o.exit_code for o in outcomes), stopped]))


def _emit(outcomes: Sequence[Outcome], interrupt: threading.Event | None = None) -> None:
    """JSON: ``{"targets": {name: {...}}, "summary": [...], "exit_code": worst}``."""
    emit_json(
        {
            "targets": {o.name: o.to_dict() for o in outcomes},
            "summary": [_summary_row(o) for o in outcomes],
            "exit_code": _exit(outcomes, interrupt),
        }
    )


def _summary_row(outcome: Outcome) -> dict[str, Any]:
    counts: dict[str, Any] = outcome.plan.summary() if outcome.plan is not None else {}
    return {"target": outcome.name, **counts, "result": outcome.status, "exit_code": _code(outcome.exit_code)}


def _heading(outcome: Outcome) -> None:
    print(f"=== {outcome.name}: {outcome.where} ===")


def _show_plans(outcomes: Sequence[Outcome]) -> None:
    from rabbitadmin.render import make_console, render_plan

    console = make_console()
    for outcome in outcomes:
        _heading(outcome)
        if outcome.plan is not None:
            render_plan(outcome.plan, console)
        if outcome.error is not None:
            print(f"error: {outcome.error}")
        print()


def _show_results(outcomes: Sequence[Outcome]) -> None:
    """After an apply: each target that was applied (or failed applying), under its name."""
    from rabbitadmin.render import make_console, render_result

    console = make_console()
    for outcome in outcomes:
        if outcome.result is None:
            continue
        _heading(outcome)
        if outcome.error is not None:
            print(f"error: {outcome.error}")
        else:
            render_result(outcome.result, console)
        print()


def _exit_text(code: ExitCode | None) -> str:
    return "-" if code is None else str(int(code))


def _summary(outcomes: Sequence[Outcome]) -> None:
    """The one summary table (``render.print_table``): target, planned counts, result, exit code."""
    from rabbitadmin.render import print_table

    rows = []
    for outcome in outcomes:
        counts = outcome.plan.summary() if outcome.plan is not None else None
        numbers = [str(counts[a]) if counts else "-" for a in ("create", "update", "replace", "delete")]
        rows.append((outcome.name, *numbers, outcome.status, _exit_text(outcome.exit_code)))
    print_table(("target", "create", "update", "replace", "delete", "result", "exit"), rows)
