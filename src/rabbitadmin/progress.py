"""Progress on stderr that moves: rich's live display on a terminal, plain lines elsewhere (CI logs, pipes).

Two shapes, both built on ``rich.progress`` (no terminal code of our own):

- ``activity(text)``: work of unknown length (reading the server's state, counting messages, deleting a
  vhost). A spinner with the elapsed time on a terminal; elsewhere one line when it has taken a second and
  one with the time it took when it ends, so a fast command prints nothing and a slow one never looks hung.
- ``ApplyProgress``: a known number of steps (an apply). A bar with the count, the elapsed time and an ETA on
  a terminal; elsewhere a line at each tenth of the way. Inside a bulk import (one request creating
  thousands of objects) the backend reports what the server already shows (``within``), so the bar moves
  while the request runs. Both end with the elapsed time.

Nothing here writes to stdout, which scripts parse.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import IO, TYPE_CHECKING

from rabbitadmin.threads import threads_born_signal_free

if TYPE_CHECKING:  # rich is loaded only for a terminal (about 30 ms of every other command's start)
    from rich.progress import Progress, TaskID

#: Seconds before a plain (not terminal) activity says it has started: faster work prints nothing.
QUIET_SECONDS = 1.0
#: Plain progress lines per apply: one at each tenth of the way.
PLAIN_STEPS = 10


def _stderr() -> IO[str]:
    return sys.stderr


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def is_terminal(stream: IO[str] | None = None) -> bool:
    target = stream or _stderr()
    return hasattr(target, "isatty") and target.isatty()


@contextmanager
def activity(text: str, *, enabled: bool = True, stream: IO[str] | None = None) -> Iterator[None]:
    """Show that ``text`` (e.g. "reading the server's state") is under way while the block runs.

    On a terminal: a spinner and the elapsed time (rich, transient). Elsewhere: ``text...`` once it has run
    for ``QUIET_SECONDS``, then ``text: done in 2.3 s`` (or ``stopped after``, if the block raised).
    ``enabled`` False (e.g. under ``-o json``... stdout is JSON but stderr may still be a terminal): nothing.
    """
    out = stream or _stderr()
    if not enabled:
        yield
        return
    if is_terminal(out):
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        spinner = Progress(*columns, console=Console(file=out), transient=True)
        with threads_born_signal_free():  # its refresh thread leaves Ctrl-C to the main thread
            spinner.start()
        try:
            spinner.add_task(text, total=None)
            yield
        finally:
            spinner.stop()
        return
    started = time.monotonic()
    said = threading.Event()

    def say_started() -> None:
        said.set()
        _line(out, f"{text}...")

    timer = threading.Timer(QUIET_SECONDS, say_started)
    timer.daemon = True
    with threads_born_signal_free():
        timer.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        timer.cancel()
        if said.is_set():
            how = "done in" if ok else "stopped after"
            _line(out, f"{text}: {how} {_seconds(time.monotonic() - started)}")


def _line(out: IO[str], text: str) -> None:
    try:
        out.write(text + "\n")
        out.flush()
    except (BrokenPipeError, ValueError):
        pass  # a log reader that went away


class ApplyProgress:
    """The progress of an apply of ``total`` steps, on stderr; use as a context manager.

    Call it as the engine's ``Progress`` (``progress(count, what)``: ``count`` more steps done). ``within``
    (seen, size) says how many objects of a bulk request still in flight the server already shows; the next
    call of the object (the request's outcome) replaces that estimate by the real count.
    """

    def __init__(self, total: int, *, label: str = "applying", enabled: bool = True, stream: IO[str] | None = None):
        self.total = total
        self.label = label
        self.enabled = enabled
        self.out = stream or _stderr()
        self.terminal = is_terminal(self.out)
        self.done = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._next_step = 1  # the next tenth to print as a plain line

    def __enter__(self) -> ApplyProgress:
        self._started = time.monotonic()
        if self.enabled and self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self._bar = Progress(*columns, console=Console(file=self.out), transient=True)
            with threads_born_signal_free():  # its refresh thread leaves Ctrl-C to the main thread
                self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
        if self.enabled:
            elapsed = _seconds(time.monotonic() - self._started)
            if kind is None and self.done >= self.total:
                _line(self.out, f"{self.label}: {self.done}/{self.total} done in {elapsed}")
            else:
                _line(self.out, f"{self.label}: stopped at {self.done}/{self.total} after {elapsed}")

    def __call__(self, count: int, _what: str = "") -> None:
        with self._lock:
            self.done += count
            self.in_flight = 0
            self._show()

    def within(self, seen: int, size: int) -> None:
        """``seen`` of the ``size`` objects of the request in flight are on the server already."""
        with self._lock:
            self.in_flight = max(0, min(seen, size, self.total - self.done))
            self._show()

    @property
    def completed(self) -> int:
        return min(self.total, self.done + self.in_flight)

    def _show(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.completed)
            return
        # Plain lines: one at each tenth of the way (estimates inside a bulk request included).
        if self.total <= 0:
            return
        step = self.completed * PLAIN_STEPS // self.total
        if step >= self._next_step and self.completed < self.total:
            self._next_step = step + 1
            elapsed = time.monotonic() - self._started
            left = elapsed * (self.total - self.completed) / self.completed if self.completed else 0.0
            _line(
                self.out,
                f"{self.label}: {self.completed}/{self.total} ({100 * self.completed // self.total}%), "
                f"{_seconds(elapsed)} elapsed, about {_seconds(left)} left",
            )
