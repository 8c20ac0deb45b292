"""Reading the files a topology names, with limits: hostile paths get an error, not a hang or 10 GB.

``/dev/zero`` never ends, a FIFO with no writer blocks forever, a directory is not text. A topology file
may be a regular file or a pipe (``validate <(generate-topology)``); a password file must be a regular
file. Both are read up to a size cap, never further.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rabbitadmin.errors import InputFileError

#: A topology (or definitions) file larger than this is refused: 100,000 queues take about 15 MB.
MAX_TOPOLOGY_BYTES = 64 * 1024 * 1024
#: A password file larger than this is refused (only its first line is used).
MAX_PASSWORD_FILE_BYTES = 64 * 1024


def read_bounded(path: str | Path, limit: int, *, allow_pipes: bool) -> str:
    """The UTF-8 text of ``path``, at most ``limit`` bytes; raise ``InputFileError`` otherwise.

    Only regular files are read (and, with ``allow_pipes``, FIFOs such as a shell's ``<(...)``): devices,
    directories and sockets are refused before they are opened. A regular file is opened without
    blocking, so one swapped for a FIFO after the check cannot hang the read.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError("no such file") from None
    except OSError as exc:
        raise InputFileError(f"cannot read the file: {exc.strerror}") from None
    is_pipe = stat.S_ISFIFO(mode)
    if not (stat.S_ISREG(mode) or (allow_pipes and is_pipe)):
        raise InputFileError(f"not a regular file ({_kind(mode)}); give the path of a file")
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | (0 if is_pipe else os.O_NONBLOCK)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(f"cannot read the file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno()).st_mode
        if not (stat.S_ISREG(opened) or (allow_pipes and stat.S_ISFIFO(opened))):
            raise InputFileError(f"not a regular file ({_kind(opened)}); give the path of a file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(f"larger than {limit:,} bytes (the limit for this kind of file)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")
