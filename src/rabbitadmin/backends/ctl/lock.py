"""The apply lock on the node itself: a long-running ``rabbitmqctl eval`` (see ``eval``'s ``apply_lock``).

The eval declares the exclusive lock queue as its own and then waits for the rabbitmqctl VM that started it
to go away; the queue goes with it. So the lock lives exactly as long as that rabbitmqctl process, which
must therefore die with the apply, ``kill -9`` included: on Linux the process is started with a parent-death
signal (``PR_SET_PDEATHSIG``, kept across the ``exec`` chain rabbitmqctl -> erl -> beam). That signal is
tied to the *thread* that started the child, so each lock has its own thread that starts the process and
lives until the lock is released.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.engine.apply_lock import Held, queue_limit_refusal
from rabbitadmin.errors import LockUnavailable, LockVhostMissing
from rabbitadmin.threads import helper_thread, signals_for_a_child

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux), or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl  # looked up here: the child only calls it

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return preexec


def _signal_group(process: subprocess.Popen[str], signum: signal.Signals) -> None:
    """Send ``signum`` to the process group ``process`` leads (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


class _EvalHeld:
    """The rabbitmqctl process whose eval owns the lock queue, and the thread that started it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self._argv = argv
        self._env = env
        self._started = threading.Event()
        self._release = threading.Event()
        self.process: subprocess.Popen[str] | None = None
        self.error: BaseException | None = None
        self._thread = helper_thread(self._run, "rabbitadmin-ctl-lock")
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        try:
            with signals_for_a_child():
                self.process = subprocess.Popen(
                    self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    env=self._env,
                    preexec_fn=_die_with_parent(),  # noqa: PLW1509 - it only calls prctl, no lock or allocation
                    # Its own process group: 4.0.5's rabbitmqctl script runs the CLI VM as a child rather than
                    # exec'ing it, so ending only the script would leave the VM, and with it the lock, behind.
                    start_new_session=True,
                )
        except OSError as exc:
            self.error = exc
            return
        finally:
            self._started.set()
        self._release.wait()  # this thread must outlive the lock: the parent-death signal is tied to it
        self._stop()

    def _stop(self) -> None:
        process = self.process
        if process is None:
            return
        # The whole group: the VM exits, the node sees it go, the eval returns, the queue goes.
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=30)
        _signal_group(process, signal.SIGKILL)  # a child the script started may outlive the script itself
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def release(self) -> None:
        self._release.set()
        self._thread.join(60)


def hold_eval(ctl: Rabbitmqctl, expression: str, vhost: str) -> Held | None:
    """Start the eval and wait (up to the runner's timeout) for its first line: ``locked``, ``busy``,
    ``missing`` or an error. Returns the held lock, or None if another holder has it."""
    argv = ctl.argv(["-q", "eval", expression])
    held = _EvalHeld(argv, ctl._environment())
    if held.error is not None or held.process is None:
        raise LockUnavailable(f"cannot run {argv[0]!r} to take the apply lock: {held.error}")
    process = held.process
    first: list[str] = []

    def read_first_line() -> None:
        assert process.stdout is not None
        first.append(process.stdout.readline())

    reader = helper_thread(read_first_line, "rabbitadmin-ctl-lock-reader")
    reader.start()
    reader.join(ctl.timeout)
    line = first[0].strip() if first else ""
    if line == "locked":
        return held
    stderr = ""
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        if process.poll() is None and first:
            process.wait(timeout=30)
        if process.poll() is not None and process.stderr is not None:
            stderr = process.stderr.read()
    held.release()
    if line == "busy":
        return None
    if line == "missing":
        raise LockVhostMissing(vhost)
    if line.startswith("limit "):
        raise queue_limit_refusal(vhost, line.removeprefix("limit "))
    detail = " ".join((line + " " + stderr).split())[:300] or "no answer"
    raise LockUnavailable(
        f"rabbitmqctl could not take the apply lock of vhost {vhost!r}: {detail}; pass --no-lock to apply without it"
    )
