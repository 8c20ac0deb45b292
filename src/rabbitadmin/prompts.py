"""Questions asked on the terminal (a yes/no confirmation, a hidden password) that Ctrl-C always ends.

Why not ``input()`` (nor click's prompts or ``getpass``, which wait the same way): Python runs a signal's
handler in the main thread between two bytecodes. A Ctrl-C that lands after the last of them and before the
``read`` system call that waits for the answer is only noted; the read then waits for a line that the person
who pressed Ctrl-C will not type. CI saw ``apply`` stay at ``Apply 1 change(s)? [y/N]: ^C`` for two minutes.
The same happens to a signal that reaches another thread while the main one reads. Here the main thread
never waits more than ``POLL_SECONDS`` in one system call (``select``), so a noted signal is acted on, as
``KeyboardInterrupt``, within that time.

The terminal's own line editing (canonical mode: backspace, Ctrl-U) is kept; the line is read from the
file descriptor directly, so nothing typed ahead is held in Python's buffers between two questions.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
from collections.abc import Iterator
from typing import IO

from rabbitadmin.errors import UsageError

#: The longest a signal noted just before a read waits before it is acted on (seconds).
POLL_SECONDS = 0.1

_YES = ("y", "yes")
_NO = ("n", "no")


def ask_yes_no(question: str, *, default: bool = False, stream: IO[str] | None = None) -> bool:
    """Ask ``question`` on ``stream`` (stderr by default) and read the answer from stdin, asking again after
    an answer that is neither yes nor no. An empty answer is ``default``; end of input (Ctrl-D) is no.

    Raises ``KeyboardInterrupt`` on Ctrl-C or SIGTERM (see the module docstring), ``UsageError`` for an answer
    that is not text in the terminal's encoding."""
    out = stream or sys.stderr
    suffix = "[Y/n]" if default else "[y/N]"
    while True:
        _say(out, f"{question} {suffix}: ")
        line = _read_line(sys.stdin.fileno())
        if line is None:
            _say(out, "\n")
            return False
        answer = line.strip().lower()
        if not answer:
            return default
        if answer in _YES or answer in _NO:
            return answer in _YES
        _say(out, "Error: answer y or n\n")


def ask_secret(prompt: str, *, stream: IO[str] | None = None) -> str | None:
    """Ask for a secret on ``stream`` (stderr by default) and read it from stdin with the terminal's echo off
    (restored whatever happens); None at end of input. Raises ``KeyboardInterrupt`` on Ctrl-C or SIGTERM,
    ``UsageError`` if what was typed is not text in the terminal's encoding."""
    out = stream or sys.stderr
    fd = sys.stdin.fileno()
    with _echo_off(fd):
        _say(out, f"{prompt}: ")  # only now: what is typed from the moment the prompt shows is not echoed
        try:
            return _read_line(fd)
        finally:
            _say(out, "\n")  # the Enter the person typed was not echoed either


def require_secret(prompt: str) -> str:
    """``ask_secret``, for a command that cannot go on without an answer: end of input raises ``UsageError``
    ("no password given (end of input)") instead of returning None."""
    answer = ask_secret(prompt)
    if answer is None:
        raise UsageError("no password given (end of input)")
    return answer


@contextlib.contextmanager
def _echo_off(fd: int) -> Iterator[None]:
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:  # not a terminal: nothing to hide the input from
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHO  # lflag: no echo, the line discipline still edits and ends lines
    try:  # from before the change: a Ctrl-C raised as tcsetattr returns still restores the echo
        # TCSAFLUSH, as getpass: what was typed before the prompt showed (and was echoed) is dropped.
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_line(fd: int) -> str | None:
    """One line from ``fd`` without its line end; None at end of input before any character. Raises
    ``UsageError`` for bytes that are not text in stdin's encoding."""
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if not ready:
            continue  # back to the interpreter: a signal noted meanwhile raises here
        chunk = os.read(fd, 4096)  # a terminal in canonical mode hands over at most one line per read
        if not chunk:
            if not chunks:
                return None
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    encoding = getattr(sys.stdin, "encoding", None) or "utf-8"
    try:
        # Strict: replacing what cannot be read would let two different passwords compare equal.
        return b"".join(chunks).decode(encoding).rstrip("\r\n")
    except UnicodeDecodeError:
        raise UsageError(f"what was typed is not {encoding} text (the terminal's encoding)") from None


def _say(out: IO[str], text: str) -> None:
    out.write(text)
    out.flush()
