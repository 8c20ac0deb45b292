"""Compile a source tree's bytecode before its start-up is timed, as ``pip install`` does for a user.

Why: with ``PYTHONDONTWRITEBYTECODE`` set (this machine's shells set it) or a ``__pycache__`` older than
the sources, every ``rabbitadmin`` child compiles each changed module again: 18 of them after a day's
edits, about 0.2 s of CPU per process, which a benchmark would report as the tool's start-up.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import rabbitadmin


def compile_package(source: Path | None = None) -> Path:
    """Write fresh bytecode for ``source/rabbitadmin`` (default: the imported package); return its directory.

    Raises ``SystemExit`` when a module does not compile (a benchmark of a broken tree means nothing).
    """
    package = Path(rabbitadmin.__file__).parent if source is None else source / "rabbitadmin"
    if not compileall.compile_dir(package, quiet=1):
        raise SystemExit(f"{package}: a module does not compile")
    return package
