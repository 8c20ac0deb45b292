"""The process's own threads: they leave signals to the main thread, and Ctrl-C does not wait for them.

Signals. The kernel hands a signal sent to the process (the terminal's Ctrl-C, ``kill``) to any one of its
threads that does not block it, normally the main one. Python runs its handlers in the main thread only,
and a main thread blocked in a system call (reading the answer to "Apply? [y/N]", joining a thread) wakes
up only if the signal reached that thread: one that reached a helper thread sets a flag nobody looks at
until the main thread's wait ends, which at a prompt is never (``prompts`` also guards its reads against a
signal noted just before them). So every thread started here blocks SIGINT and SIGTERM from its birth
(``helper_thread``, and ``worker_pool``'s workers), and the kernel can only choose the main thread. A new
thread inherits the mask of the thread that creates it, so the creator blocks both around the creation
(``threads_born_signal_free``): a thread that blocked them itself, as its first step, left a window between the
kernel creating it and that step (seen: a worker still in it when the prompt appeared, on a loaded
machine). A child process inherits the mask of the thread that starts it, so those threads start children
inside ``signals_for_a_child``.

Pools. ``with ThreadPoolExecutor() as pool`` joins every worker on the way out, whatever ended the block: a Ctrl-C
(or a SIGTERM, which ``cli.main`` turns into the same ``KeyboardInterrupt``) that lands while eight reads
wait on a silent server then waits for each of them to reach ``--timeout`` (30 s by default) before the
command can say "interrupted". ``worker_pool`` waits the same way when the block ends normally or with an
error (every result is then accounted for), but on an interrupt it cancels the calls not started yet and
leaves the running ones behind: their results would go nowhere, and the process ends right after
(``cli.main`` ends it with ``os._exit``, which never joins threads).

A pool whose workers hold something that must not be left behind (the ctl backend's rabbitmqctl
processes run in their own process group, out of reach of the terminal's Ctrl-C, and private temporary
files wait for them to end) passes ``on_interrupt``: it is called first, and the pool then waits for its
workers, which that call has made quick.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

#: What the CLI turns into ``KeyboardInterrupt`` (``cli.main``): for the main thread alone.
INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def _interrupts(how: int) -> Iterator[None]:
    """Apply ``how`` (``signal.SIG_BLOCK`` or ``SIG_UNBLOCK``) to SIGINT and SIGTERM in this thread for the
    block, then restore the mask it had."""
    previous = signal.pthread_sigmask(how, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def signals_for_a_child() -> AbstractContextManager[None]:
    """Unblock SIGINT and SIGTERM in this thread while the block starts a child process.

    A child inherits the signal mask of the thread that started it: a rabbitmqctl started from a helper
    thread would otherwise ignore the SIGTERM that stops it (``backends/ctl/lock.py``) and a terminal's Ctrl-C.
    """
    return _interrupts(signal.SIG_UNBLOCK)


def threads_born_signal_free() -> AbstractContextManager[None]:
    """Block SIGINT and SIGTERM in this thread while the block creates threads, which inherit the mask: for
    threads a library starts (rich's refresh thread, ``threading.Timer``) as for ours.

    A signal that arrives meanwhile stays pending and reaches the main thread when it unblocks them."""
    return _interrupts(signal.SIG_BLOCK)


class _SignalFreeThread(threading.Thread):
    """A thread that has SIGINT and SIGTERM blocked from its first instruction."""

    def start(self) -> None:
        with threads_born_signal_free():
            super().start()


class _SignalFreePool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose workers have SIGINT and SIGTERM blocked from their first instruction
    (the standard pool creates its workers inside ``submit``, on the submitting thread)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with threads_born_signal_free():
            return super().submit(fn, *args, **kwargs)


def helper_thread(target: Callable[[], Any], name: str) -> threading.Thread:
    """A daemon thread running ``target`` with SIGINT and SIGTERM blocked from its start (not started)."""
    return _SignalFreeThread(target=target, name=name, daemon=True)


def signal_free_pool(max_workers: int, *, thread_name_prefix: str = "") -> ThreadPoolExecutor:
    """A ``ThreadPoolExecutor`` whose workers block SIGINT and SIGTERM from their start; its owner shuts it
    down (see ``worker_pool`` for a pool that lives for one block)."""
    return _SignalFreePool(max_workers=max_workers, thread_name_prefix=thread_name_prefix)


@contextmanager
def worker_pool(
    max_workers: int, *, thread_name_prefix: str = "", on_interrupt: Callable[[], None] | None = None
) -> Iterator[ThreadPoolExecutor]:
    """A ``ThreadPoolExecutor`` of ``max_workers`` threads (signals blocked) for the block; see the module
    docstring.

    ``on_interrupt``: called when the block ends with a ``KeyboardInterrupt`` (or another exception that is
    not an ``Exception``), before the pool waits for its workers; without it the pool does not wait.
    """
    pool = signal_free_pool(max_workers, thread_name_prefix=thread_name_prefix)
    try:
        yield pool
    except Exception:
        pool.shutdown(wait=True)  # as the standard pool does: every call submitted runs and is waited for
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        if on_interrupt is not None:
            on_interrupt()
            pool.shutdown(wait=True)
        raise
    # Outside the try: an interrupt while joining here is not caught above, so it is not waited for either.
    pool.shutdown(wait=True)
