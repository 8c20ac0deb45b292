"""``interrupts``: telling an interrupt that Python wrapped, and raising again one that it dropped."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rabbitadmin import interrupts


def wrapped_in_set_name() -> RuntimeError:
    """What Python 3.11 raises when ``__set_name__`` raises ``KeyboardInterrupt`` while a class is built."""

    class Interrupting:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:

        class Built:
            field = Interrupting()

    except RuntimeError as exc:
        return exc
    raise AssertionError("no RuntimeError")  # pragma: no cover - another Python may not wrap it


def test_an_interrupt_and_one_python_wrapped_are_interrupts() -> None:
    assert interrupts.caused_by_interrupt(KeyboardInterrupt())
    assert interrupts.caused_by_interrupt(wrapped_in_set_name())
    outer = ValueError("outer")
    outer.__cause__ = wrapped_in_set_name()
    assert interrupts.caused_by_interrupt(outer)


def test_an_error_raised_while_handling_an_interrupt_is_not_one() -> None:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("cleanup failed") from None
    except RuntimeError as exc:
        error = exc
    assert isinstance(error.__context__, KeyboardInterrupt)
    assert not interrupts.caused_by_interrupt(error)
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("a bug in the handling")  # noqa: B904 - the implicit context is the point
    except RuntimeError as exc:
        assert not interrupts.caused_by_interrupt(exc)
    assert not interrupts.caused_by_interrupt(RuntimeError("plain"))


def test_a_cause_chain_that_loops_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not interrupts.caused_by_interrupt(first)


@pytest.fixture
def alarm_untouched() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    interrupts._DEFERRED.clear()
    interrupts._IN_HOOK[0] = False


def test_the_timer_waits_while_the_hook_still_runs(alarm_untouched: None) -> None:
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # this test calls the handler itself
    interrupts._DEFERRED[:] = [signal.SIGINT]
    interrupts._IN_HOOK[0] = True
    interrupts._raise_deferred(signal.SIGALRM, None)  # must not raise inside the hook
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # armed again
    assert interrupts._DEFERRED == [signal.SIGINT]
    interrupts._IN_HOOK[0] = False
    with pytest.raises(KeyboardInterrupt):
        interrupts._raise_deferred(signal.SIGALRM, None)
    assert interrupts._DEFERRED == []
    interrupts._raise_deferred(signal.SIGALRM, None)  # nothing waiting: a stray alarm does nothing


#: Other exceptions the interpreter drops are printed as before; a dropped interrupt that no signal sent
#: (nothing seen) is not raised again.
OTHER_DROPPED = """
import os, signal, sys
from rabbitadmin import interrupts

interrupts.install()

class Fails:
    def __del__(self):
        raise ValueError("from a finaliser")

class Interrupts:
    def __del__(self):
        raise KeyboardInterrupt

Fails()
Interrupts()
for _ in range(100_000):
    pass
print("went on")
"""


def test_other_dropped_exceptions_are_printed_and_nothing_is_raised_again() -> None:
    result = subprocess.run(
        [sys.executable, "-c", OTHER_DROPPED], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "went on\n"
    assert result.stderr.count("Exception ignored in") == 2
    assert "ValueError: from a finaliser" in result.stderr
