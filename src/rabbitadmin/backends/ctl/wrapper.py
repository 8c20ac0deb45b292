"""Recognise Debian's ``rabbitmqctl`` wrapper, which cannot reach a node of one's own.

Debian and Ubuntu install ``/usr/sbin/rabbitmqctl`` as a link to ``rabbitmq-script-wrapper``: run by root
it re-runs the real script as the ``rabbitmq`` user through ``su`` (whose HOME holds the system node's
Erlang cookie), and by anyone else it refuses. Either way ``HOME`` and so ``--erlang-cookie-file`` are
ignored, and only the system node answers. The real script sits in the same directory as the wrapper.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

WRAPPER_NAME = "rabbitmq-script-wrapper"


def debian_wrapper(executable: str, prefix: Sequence[str] = ()) -> Path | None:
    """The wrapper's path when ``executable`` (a name on PATH or a path) is Debian's wrapper, else None.

    Only a local ``rabbitmqctl`` is checked (with a prefix such as ``ssh host`` it runs elsewhere).
    """
    if prefix:
        return None
    found = shutil.which(executable)
    if found is None:
        return None
    real = Path(found).resolve()
    if real.name == WRAPPER_NAME:
        return real
    try:
        with real.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    return real if b"su rabbitmq" in head and b"/usr/lib/rabbitmq/bin/" in head else None


def wrapper_hint(executable: str, prefix: Sequence[str] = ()) -> str:
    """A sentence to add to a ctl error when ``executable`` is the wrapper; empty otherwise."""
    wrapper = debian_wrapper(executable, prefix)
    if wrapper is None:
        return ""
    real = wrapper.parent / "rabbitmqctl"
    use = f"--rabbitmqctl {real}" if real.exists() else "--rabbitmqctl with the real script (under /usr/lib/rabbitmq)"
    return (
        f" Note: {shutil.which(executable)} is Debian's wrapper script ({wrapper}): it switches to the rabbitmq "
        "user and ignores HOME and --erlang-cookie-file, so it reaches only the system node. For another node "
        f"use {use} (`rabbitadmin sandbox env` exports the right one for the sandbox)."
    )
