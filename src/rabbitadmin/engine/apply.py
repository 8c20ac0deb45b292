"""Carry a plan out: a loop over its changes, phase by phase, each phase in parallel.

Phases: deletes (children first), updates, creates (parents first). A replace is a delete in the first
phase and a create in the last. When a step fails, no new step starts; steps already running finish, and
the result says what was done, what failed and what was not attempted. Running the apply again converges,
because the next plan is computed from the server's state, not from this result.

An apply can be stopped from outside (``interrupt``, an Event the CLI sets on Ctrl-C or SIGTERM): it is
checked before every step and before every batch of a bulk create, so no new request starts once it is
set; requests in flight finish and are accounted for, and ``ApplyInterrupted`` reports the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rabbitadmin.backends.base import Backend
from rabbitadmin.engine.plan import Action, Change, Plan
from rabbitadmin.errors import (
    ApplyInterrupted,
    BatchFailed,
    MessagesArrived,
    PartialApply,
    RabbitAdminError,
    Refused,
)
from rabbitadmin.kinds import CREATE_ORDER, DELETE_ORDER, KINDS
from rabbitadmin.model import TopologyObject
from rabbitadmin.threads import worker_pool

Progress = Callable[[int, str], None]


@dataclass
class ApplyResult:
    """What an apply did: every change of the plan ends up in exactly one list.

    ``kept``: queue (or vhost) deletes and replaces the server refused because messages arrived after the
    plan counted the queue empty; the queue is untouched (for a replace, the create was not attempted).
    """

    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_attempted: list[Change] = field(default_factory=list)
    kept: list[tuple[Change, str]] = field(default_factory=list)
    #: True when a failure cannot go away by running the apply again (its error says ``permanent``).
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted and not self.kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "done": [c.to_dict() for c in self.done],
            "failed": [{**c.to_dict(), "error": error} for c, error in self.failed],
            "not_attempted": [c.to_dict() for c in self.not_attempted],
            "kept": [{**c.to_dict(), "reason_kept": why} for c, why in self.kept],
        }


def check_safety(plan: Plan, *, allow_data_loss: bool) -> None:
    """Raise ``Refused`` if the plan may not be carried out as it stands."""
    if plan.refusals:
        raise Refused("the plan cannot be applied:\n" + "\n".join(f"  {r}" for r in plan.refusals))
    at_risk = plan.data_loss()
    if at_risk and not allow_data_loss:
        lines = []
        for change in at_risk:
            if change.messages_at_risk is None or change.messages_at_risk > 0:
                count = "an unknown number of" if change.messages_at_risk is None else str(change.messages_at_risk)
                lines.append(f"  {change.action} {change.subject}: {count} message(s) would be lost")
            else:
                lines.append(
                    f"  {change.action} {change.subject}: counted empty, but RabbitMQ cannot delete a quorum queue "
                    "or a stream on condition that it is empty, so messages arriving after the plan would be lost"
                )
        raise Refused(
            "refusing to destroy messages:\n"
            + "\n".join(lines)
            + "\npass --allow-data-loss to go ahead anyway, or drain the queues first"
        )


class _Run:
    def __init__(self, plan: Plan, backend: Backend, progress: Progress | None, interrupt: threading.Event) -> None:
        self.backend = backend
        self.progress = progress
        self.stop = threading.Event()  # set by a failed step
        self.interrupt = interrupt  # set from outside (Ctrl-C, SIGTERM)
        self.lock = threading.Lock()
        # A change is done when all of its steps are; a replace has two.
        self.pending_steps: dict[int, int] = {id(c): 2 if c.action is Action.REPLACE else 1 for c in plan.changes}
        self.errors: dict[int, str] = {}
        self.kept: dict[int, str] = {}
        self.started: set[int] = set()
        self.cause: RabbitAdminError | None = None
        self.permanent = False

    @property
    def stopping(self) -> bool:
        return self.stop.is_set() or self.interrupt.is_set()

    def run_step(self, change: Change, step: Callable[[], None], weight: int = 1) -> None:
        if self.stopping:
            return
        with self.lock:
            self.started.add(id(change))
        try:
            step()
        except MessagesArrived as exc:  # the server kept the queue: nothing lost, carry on with the rest
            with self.lock:
                self.kept[id(change)] = str(exc)
            return
        except RabbitAdminError as exc:
            with self.lock:
                self.errors[id(change)] = str(exc)
                self.permanent = self.permanent or bool(getattr(exc, "permanent", False))
            self.stop.set()
            return
        with self.lock:
            self.pending_steps[id(change)] -= 1
        if self.progress is not None:
            self.progress(weight, change.subject)

    def run_parallel(self, items: list[tuple[Change, Callable[[], None]]]) -> None:
        if not items or self.stopping:
            return
        workers = max(1, min(self.backend.parallelism, len(items)))
        if workers == 1:
            for change, step in items:
                self.run_step(change, step)
            return
        with worker_pool(workers) as pool:
            for future in [pool.submit(self.run_step, change, step) for change, step in items]:
                future.result()


def execute_plan(
    plan: Plan,
    backend: Backend,
    *,
    allow_data_loss: bool = False,
    progress: Progress | None = None,
    on_vhosts_created: Callable[[list[str]], None] | None = None,
    interrupt: threading.Event | None = None,
) -> ApplyResult:
    """Apply ``plan`` through ``backend``; raise ``PartialApply`` if it stops part-way.

    ``on_vhosts_created(names)`` runs right after the vhosts the plan creates exist and before anything
    else is written in them (the apply lock takes them there); if it raises, nothing more is written.
    ``interrupt``: once set (from a signal handler or another thread), no new step or batch starts and
    ``ApplyInterrupted`` (exit 130) reports what was done, failed and not attempted.
    """
    check_safety(plan, allow_data_loss=allow_data_loss)
    run = _Run(plan, backend, progress, interrupt or threading.Event())

    def delete_step(change: Change) -> Callable[[], None]:
        obj = change.actual
        assert obj is not None
        if KINDS[obj.kind].holds_messages and not allow_data_loss:
            # A queue counted empty is deleted only if it still is when the server gets the request. The
            # server's if-empty counts ready messages only: one planned with no consumer is deleted only if
            # it still has none, or messages delivered to a consumer that attached since would go with it.
            # Where the plan showed consumers, the operator saw them cut off: if-empty alone, as shown.
            unused = not change.consumers
            return lambda: backend.delete(obj, if_empty=True, if_unused=unused)
        return lambda: backend.delete(obj)

    def update_step(obj: TopologyObject) -> Callable[[], None]:
        return lambda: backend.update(obj)

    for kind in DELETE_ORDER:
        run.run_parallel(
            [
                (c, delete_step(c))
                for c in plan.changes
                if c.kind == kind and c.action in (Action.DELETE, Action.REPLACE) and c.actual is not None
            ]
        )
    for kind in CREATE_ORDER:
        run.run_parallel(
            [
                (c, update_step(c.desired))
                for c in plan.changes
                if c.kind == kind and c.action is Action.UPDATE and c.desired is not None
            ]
        )
    creates = [
        c
        for c in plan.changes
        if c.action in (Action.CREATE, Action.REPLACE) and c.desired is not None and id(c) not in run.kept
    ]
    _run_creates(run, creates, backend, on_vhosts_created)

    result = ApplyResult(permanent=run.permanent)
    for change in plan.changes:
        key = id(change)
        if key in run.errors:
            result.failed.append((change, run.errors[key]))
        elif key in run.kept:
            result.kept.append((change, run.kept[key]))
        elif run.pending_steps[key] == 0:
            result.done.append(change)
        elif key in run.started:
            result.failed.append((change, "only partly done (deleted, not created again)"))
        else:
            result.not_attempted.append(change)
    if run.interrupt.is_set():
        # Even when the requests in flight (a bulk import is one) did everything: the command was interrupted,
        # and exit 130 with the report says so, where exit 0 would hide that a Ctrl-C or SIGTERM came.
        raise ApplyInterrupted(result, run.cause)
    if not result.ok:
        raise PartialApply(result, run.cause)
    return result


def _run_creates(
    run: _Run, creates: list[Change], backend: Backend, on_vhosts_created: Callable[[list[str]], None] | None
) -> None:
    if not creates or run.stopping:
        return
    vhosts = [c for c in creates if c.kind == "vhost"]
    if vhosts and on_vhosts_created is not None:
        # New vhosts first, on their own, so the hook runs before anything else is written in them.
        run.run_parallel([(c, _create_step(backend, c.desired)) for c in vhosts if c.desired is not None])
        creates = [c for c in creates if c.kind != "vhost"]
        if run.stopping or not creates:
            return
        try:
            on_vhosts_created([c.key[0] for c in vhosts])
        except RabbitAdminError as exc:
            run.cause = exc
            run.stop.set()
            return
    if len(creates) >= backend.bulk_threshold:
        # One bulk step: the backend orders and batches the objects and reports each batch it created.
        by_key = {(c.kind, c.key): c for c in creates}

        def created(batch: Sequence[TopologyObject]) -> None:
            with run.lock:
                for obj in batch:
                    run.pending_steps[id(by_key[(obj.kind, obj.key)])] -= 1
            if run.progress is not None:
                run.progress(len(batch), "bulk create")

        objects = [c.desired for c in creates if c.desired is not None]
        try:
            backend.create(objects, created, run.interrupt)
        except BatchFailed as exc:
            for obj in exc.failed:
                change = by_key.get((getattr(obj, "kind", ""), getattr(obj, "key", ())))
                if change is not None:
                    run.errors[id(change)] = str(exc)
            if not exc.failed and run.cause is None:
                run.cause = exc  # it names no object (e.g. a channel that did not open): the report says why
            run.permanent = run.permanent or exc.permanent
            run.stop.set()
        except RabbitAdminError as exc:
            for change in creates:
                if run.pending_steps[id(change)] > 0:
                    run.errors[id(change)] = f"bulk create failed, outcome unknown: {exc}"
            run.permanent = run.permanent or bool(getattr(exc, "permanent", False))
            run.stop.set()
        return
    for kind in CREATE_ORDER:
        run.run_parallel(
            [(c, _create_step(backend, c.desired)) for c in creates if c.kind == kind and c.desired is not None]
        )


def _create_step(backend: Backend, obj: TopologyObject) -> Callable[[], None]:
    return lambda: backend.create([obj])
