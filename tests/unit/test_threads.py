"""The process's own threads (``rabbitadmin.threads``): signals go to the main thread only, a child process
gets them back, and an interrupt does not wait for a pool's running calls unless told to."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.progress import ApplyProgress, activity
from rabbitadmin.threads import INTERRUPTS, helper_thread, signals_for_a_child, worker_pool


def blocked(status: str) -> set[int]:
    """The signals a /proc status file says are blocked (``SigBlk``: bit n-1 for signal n)."""
    line = next(line for line in status.splitlines() if line.startswith("SigBlk:"))
    mask = int(line.split()[1], 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


def this_thread_blocks() -> set[int]:
    return blocked(Path(f"/proc/self/task/{threading.get_native_id()}/status").read_text())


@contextmanager
def masks_at_birth() -> Iterator[list[set[int]]]:
    """The signal mask of each thread started in the block, read at its first Python step, before its
    ``run`` (``threading.setprofile`` hooks run there): a thread that blocked the signals itself, inside
    ``run``, shows them unblocked here, the window in which a Ctrl-C could land on it."""
    masks: list[set[int]] = []
    main = threading.get_ident()

    def first_step(*_args: Any) -> None:
        sys.setprofile(None)
        if threading.get_ident() != main:
            masks.append(this_thread_blocks())

    before = set(threading.enumerate())
    threading.setprofile(first_step)
    try:
        yield masks
    finally:
        # A new thread reads the hook as it starts, which may be after start() returned: let them all end.
        for thread in set(threading.enumerate()) - before:
            thread.join(30)
        threading.setprofile(None)  # type: ignore[arg-type]


def test_a_helper_thread_is_born_with_interrupts_blocked() -> None:
    with masks_at_birth() as masks:
        thread = helper_thread(lambda: None, "test")
        thread.start()
        thread.join(30)
    assert masks and all(mask >= INTERRUPTS for mask in masks)
    assert not INTERRUPTS & this_thread_blocks()  # the creator has them back


def test_pool_workers_are_born_with_interrupts_blocked() -> None:
    with masks_at_birth() as masks, worker_pool(3) as pool:
        list(pool.map(lambda _: None, range(6)))
    assert masks and all(mask >= INTERRUPTS for mask in masks)
    assert not INTERRUPTS & this_thread_blocks()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "show",
    [
        lambda: activity("reading", stream=Terminal()),  # rich's spinner and its refresh thread
        lambda: activity("reading", stream=io.StringIO()),  # the plain line's threading.Timer
        lambda: ApplyProgress(10, stream=Terminal()),  # rich's bar and its refresh thread
    ],
    ids=["spinner", "plain", "bar"],
)
def test_progress_threads_are_born_with_interrupts_blocked(show: Callable[[], Any]) -> None:
    with masks_at_birth() as masks, show():
        pass
    assert masks and all(mask >= INTERRUPTS for mask in masks)
    assert not INTERRUPTS & this_thread_blocks()


def test_a_helper_thread_blocks_interrupts_and_the_main_thread_does_not() -> None:
    seen: list[set[int]] = []
    thread = helper_thread(lambda: seen.append(this_thread_blocks()), "test")
    thread.start()
    thread.join(30)
    assert thread.daemon
    assert {signal.SIGINT, signal.SIGTERM} <= seen[0]
    assert not {signal.SIGINT, signal.SIGTERM} & this_thread_blocks()


def test_pool_workers_block_interrupts() -> None:
    with worker_pool(2) as pool:
        masks = [pool.submit(this_thread_blocks).result(timeout=30) for _ in range(4)]
    assert all({signal.SIGINT, signal.SIGTERM} <= mask for mask in masks)


def test_a_child_started_from_a_helper_thread_gets_the_interrupts_back() -> None:
    children: list[set[int]] = []

    def start_child() -> None:
        with signals_for_a_child():
            process = subprocess.Popen(["cat", "/proc/self/status"], stdout=subprocess.PIPE, text=True)
        children.append(blocked(process.communicate(timeout=30)[0]))
        children.append(this_thread_blocks())  # and the thread blocks them again afterwards

    thread = helper_thread(start_child, "test")
    thread.start()
    thread.join(30)
    child, after = children
    assert not {signal.SIGINT, signal.SIGTERM} & child
    assert {signal.SIGINT, signal.SIGTERM} <= after


class Call:
    """A call that runs until released (or ``seconds`` pass), then returns "ended"; ``started`` is set once
    it runs."""

    def __init__(self, seconds: float = 60) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.seconds = seconds

    def __call__(self) -> str:
        self.started.set()
        self.release.wait(self.seconds)
        return "ended"


def test_a_pool_left_normally_waits_for_every_call() -> None:
    release = threading.Event()
    with worker_pool(2) as pool:
        future = pool.submit(release.wait, 30)
        release.set()
    assert future.done() and future.result() is True


def test_an_interrupt_does_not_wait_for_running_calls_and_cancels_the_others() -> None:
    call = Call()
    with pytest.raises(KeyboardInterrupt), worker_pool(1) as pool:
        first = pool.submit(call)
        queued = pool.submit(lambda: None)
        call.started.wait(30)
        raise KeyboardInterrupt
    try:
        assert not first.done()  # left behind, still running
        assert queued.cancelled()
    finally:
        call.release.set()


def test_an_interrupt_with_on_interrupt_calls_it_then_waits() -> None:
    call = Call()
    with pytest.raises(KeyboardInterrupt), worker_pool(1, on_interrupt=call.release.set) as pool:
        first = pool.submit(call)
        call.started.wait(30)
        raise KeyboardInterrupt
    assert first.done() and first.result() == "ended"


def test_an_error_waits_for_running_calls_like_the_standard_pool() -> None:
    call = Call(seconds=5)
    with pytest.raises(ValueError), worker_pool(1) as pool:
        first = pool.submit(call)
        call.started.wait(30)
        raise ValueError("boom")
    assert first.done() and first.result() == "ended"
