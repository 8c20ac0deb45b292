"""The ``rabbitadmin`` command's entry point (``pyproject.toml``, ``python -m rabbitadmin``).

Loading the program (typer, rich, requests, the command tree) takes a few hundred milliseconds, more on a
busy machine. A Ctrl-C or SIGTERM in that time ends the command the way it does later on: a one-line error
and exit 130, not a Python traceback, nor death by signal without a word (a CI runner's SIGTERM).
"""

from __future__ import annotations

import gc
import os
import sys

from rabbitadmin import interrupts

#: ``errors.ExitCode.INTERRUPTED``, without importing anything before the handlers are in place.
INTERRUPTED = 130


def main() -> None:
    """Put the interrupt handlers in place, load the program, run the command (``cli.main``)."""
    interrupts.install()  # SIGTERM as Ctrl-C, as cli.main does
    # Loading makes about 40,000 objects the collector tracks, which live as long as the process (modules,
    # classes, functions): its passes over them while they are made cost 20-25 ms of a start that takes 0.25 s,
    # to free next to nothing. So no pass while loading, and afterwards none walks them again (``gc.freeze``).
    gc.disable()
    try:
        # A plan's largest listings go out now, while the rest loads (never raises; nothing for other commands).
        from rabbitadmin import early_read

        early_read.begin(sys.argv[1:], os.environ)
        from rabbitadmin.cli import main as run_cli

        if interrupts.seen():  # one came and its KeyboardInterrupt went nowhere (see interrupts.py)
            raise KeyboardInterrupt
        gc.freeze()
        gc.enable()
    except BaseException:
        # The interrupt's KeyboardInterrupt, or what the interpreter made of it: Python 3.11 wraps one raised in
        # a descriptor's __set_name__ (a dataclass field, as a library's class is built) in a RuntimeError.
        if not interrupts.seen():
            raise
        sys.stderr.write("error: interrupted (Ctrl-C or SIGTERM) while starting: nothing was done\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    try:
        run_cli()  # ends the process itself (os._exit)
    except KeyboardInterrupt:  # landed in the few steps before the command's own handling
        sys.stderr.write("error: interrupted (Ctrl-C or SIGTERM)\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)
