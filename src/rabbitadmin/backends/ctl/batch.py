"""Coalesce concurrent calls into one rabbitmqctl call.

The engine applies each phase as many concurrent ``delete(obj)`` / ``update(obj)`` calls. Each rabbitmqctl
call starts an Erlang VM (about 0.4 s), so one call per object would make a prune of 300 bindings take a
minute. A ``Batcher`` lets the first caller wait a moment, takes every call that arrived meanwhile, runs
them as one batch (one ``eval`` or one import) and hands each caller its own outcome: the engine still
sees one step per object, with its own success or error.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from rabbitadmin.threads import helper_thread

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class Batcher(Generic[Item, Outcome]):
    """Runs ``run_batch(items) -> outcomes`` (one outcome per item, same order) for calls made together.

    ``exclusive``: batches never run at the same time (calls arriving while one runs make the next batch,
    which starts when it ends); otherwise a late batch may run beside an earlier one.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[Item]], Sequence[Outcome]],
        *,
        window: float = 0.1,
        max_size: int = 1000,
        exclusive: bool = False,
    ) -> None:
        self._run_batch = run_batch
        self._window = window
        self._max_size = max_size
        self._running: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if exclusive else contextlib.nullcontext()
        )
        self._lock = threading.Lock()
        self._pending: list[tuple[Item, Future[Outcome]]] = []
        self._collecting = False

    def submit(self, item: Item) -> Outcome:
        """Add ``item`` to the next batch and wait for its outcome (an exception is raised in every caller)."""
        future: Future[Outcome] = Future()
        with self._lock:
            self._pending.append((item, future))
            leader = not self._collecting
            if leader:
                self._collecting = True
        if leader:
            self._lead()
        return future.result()

    def _lead(self) -> None:
        time.sleep(self._window)  # let the calls made at the same time arrive
        with self._lock:
            batch, self._pending = self._pending[: self._max_size], self._pending[self._max_size :]
            # Anything left over (or arriving from now on) gets a leader of its own.
            self._collecting = bool(self._pending)
            follow_up = self._collecting
        if follow_up:
            helper_thread(self._lead, "rabbitadmin-ctl-batch").start()
        try:
            with self._running:
                outcomes = self._run_batch([item for item, _ in batch])
        except BaseException as exc:  # every caller of the batch sees the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            future.set_result(outcome)
