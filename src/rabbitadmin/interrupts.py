"""Ctrl-C and SIGTERM as ``KeyboardInterrupt``, with the process remembering that one came.

Python runs a signal's handler in the main thread between two bytecodes, wherever they are. Two places do
not let its ``KeyboardInterrupt`` through, and both were hit here by interrupted commands:

- a callback the interpreter calls on its own (the import system's module-lock weakref callback, a
  finaliser): the exception is printed as "Exception ignored in: ..." and dropped, and the program went on
  as if nothing came (a ``plan`` interrupted while it loaded ran 41 s more; about 1 start in 400). The
  hook ``install`` puts in place (``sys.unraisablehook``) prints nothing for it and delivers the signal to
  the main thread again (``_thread.interrupt_main``), so the handler runs at the next bytecode outside the
  callback and the interrupt takes effect there, at start-up or in a command's lazy import alike;
- a descriptor's ``__set_name__`` while a class is built (a dataclass field of a module being imported):
  Python 3.11 wraps the exception in a ``RuntimeError`` ("Error calling __set_name__"), which
  ``caused_by_interrupt`` recognises.

``seen`` says an interrupt came, whatever became of its exception. Import-light on purpose: the launcher
installs this before it loads anything else.
"""

from __future__ import annotations

import _thread
import signal
import sys
from types import FrameType

#: The signals that came (appended by the handler; a list, not a flag, so the handler needs no ``global``).
_SEEN: list[int] = []


def raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    """The handler: note ``signum``, then raise ``KeyboardInterrupt`` as Python's own SIGINT handler does."""
    _SEEN.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGTERM, and SIGINT unless the process was started with it ignored (a shell's background job
    keeps Ctrl-C away on purpose), with ``raise_interrupt``; raise again an interrupt the interpreter drops
    (``sys.unraisablehook``, chained to the one in place: anything else dropped is printed as before).

    Call it from the main thread."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, raise_interrupt)
    signal.signal(signal.SIGTERM, raise_interrupt)
    if getattr(sys.unraisablehook, "raises_dropped_interrupts", False):
        return  # installed already (the launcher, then a test calling it again)
    previous = sys.unraisablehook
    main_thread = _thread.get_ident()

    def raise_dropped_later(unraisable: sys.UnraisableHookArgs) -> None:
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _SEEN and _thread.get_ident() == main_thread):
            previous(unraisable)
            return
        # Not from here: a handler run inside this hook would raise inside it, and be dropped again. A timer
        # raises it at the main thread's first step after the hook (``_raise_deferred``).
        _IN_HOOK[0] = True
        try:
            _DEFERRED[:] = [_SEEN[-1]]
            signal.signal(signal.SIGALRM, _raise_deferred)
            signal.setitimer(signal.ITIMER_REAL, _DEFER_SECONDS)
        finally:
            _IN_HOOK[0] = False  # a store, not a call: no handler can run between it and the return

    raise_dropped_later.raises_dropped_interrupts = True  # type: ignore[attr-defined]
    sys.unraisablehook = raise_dropped_later


#: The interrupt the interpreter dropped, raised again by ``_raise_deferred``; whether the hook is running.
_DEFERRED: list[int] = []
_IN_HOOK = [False]
_DEFER_SECONDS = 0.001


def _raise_deferred(_alarm: int, frame: FrameType | None) -> None:
    """SIGALRM's handler while an interrupt waits to be raised again: raise it, unless still in the hook."""
    if _IN_HOOK[0]:  # the timer beat the hook's last steps (a loaded machine): a little later
        signal.setitimer(signal.ITIMER_REAL, _DEFER_SECONDS)
        return
    if _DEFERRED:
        raise_interrupt(_DEFERRED.pop(), frame)


def seen() -> bool:
    """True once SIGINT or SIGTERM reached ``raise_interrupt`` in this process."""
    return bool(_SEEN)


def caused_by_interrupt(exc: BaseException) -> bool:
    """True if ``exc`` is a ``KeyboardInterrupt`` or was raised from one (its ``__cause__`` chain): Python 3.11
    wraps one raised in ``__set_name__`` in a ``RuntimeError``. An error raised while handling an interrupt
    (``__context__`` only) is not one: its traceback is still wanted."""
    chain: BaseException | None = exc
    visited: set[int] = set()
    while chain is not None and id(chain) not in visited:  # a chain can loop back on itself
        if isinstance(chain, KeyboardInterrupt):
            return True
        visited.add(id(chain))
        chain = chain.__cause__
    return False
