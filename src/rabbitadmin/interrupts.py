"""Ctrl-C and SIGTERM as ``KeyboardInterrupt``, with the process remembering that one came.

Python runs a signal's handler in the main thread between two bytecodes, wherever they are. When that is
inside a callback the interpreter calls on its own (the import system's module-lock weakref callback, a
finaliser), the ``KeyboardInterrupt`` is printed as "Exception ignored in: ..." and dropped, and the program
goes on as if nothing came: a ``plan`` interrupted while it loaded ran 41 s more (seen here, about 1 start in
400 hit at the right moment). ``seen`` says an interrupt came, whatever became of its exception.

Import-light on purpose: the launcher installs this before it loads anything else, and while it loads keeps
the interpreter from printing such a dropped interrupt ("Exception ignored in", a traceback): it reports it
itself, in one line (``dropped_ones_quiet``).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that came (appended by the handler; a list, not a flag, so the handler needs no ``global``).
_SEEN: list[int] = []


def raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    """The handler: note ``signum``, then raise ``KeyboardInterrupt`` as Python's own SIGINT handler does."""
    _SEEN.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGTERM, and SIGINT unless the process was started with it ignored (a shell's background job
    keeps Ctrl-C away on purpose), with ``raise_interrupt``."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, raise_interrupt)
    signal.signal(signal.SIGTERM, raise_interrupt)


def seen() -> bool:
    """True once SIGINT or SIGTERM reached ``raise_interrupt`` in this process."""
    return bool(_SEEN)


@contextmanager
def dropped_ones_quiet() -> Iterator[None]:
    """While inside, a ``KeyboardInterrupt`` the interpreter drops (``sys.unraisablehook``) prints nothing:
    whoever checks ``seen`` after the block reports it. Anything else dropped is printed as before."""
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
