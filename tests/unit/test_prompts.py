"""The terminal's questions (``rabbitadmin.prompts``), asked on a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest

# Each child prints what the question returned, or INTERRUPTED for a KeyboardInterrupt.
_CHILD = textwrap.dedent(
    """
    import os, signal, sys, termios, threading, time
    from rabbitadmin.prompts import ask_secret, ask_yes_no

    def signal_from_another_thread():
        # The kernel may hand a process's Ctrl-C to any thread that does not block it; Python then only notes
        # it for the main thread. This is also what a Ctrl-C landing just before the main thread's read does.
        # Sent once the test has seen the question (it creates the file named by argv[3]).
        while not os.path.exists(sys.argv[3]):
            time.sleep(0.05)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    if sys.argv[2] == "signal-elsewhere":
        threading.Thread(target=signal_from_another_thread, daemon=True).start()
    try:
        if sys.argv[1] == "yes-no":
            print("RESULT", repr(ask_yes_no("Apply 3 change(s)?")))
        else:
            print("RESULT", repr(ask_secret("Password")))
            if sys.argv[2] == "twice":
                print("RESULT", repr(ask_secret("Again")))
            print("ECHO", "on" if termios.tcgetattr(0)[3] & termios.ECHO else "off")
    except KeyboardInterrupt:
        print("INTERRUPTED")
    """
)


def spawn(kind: str, how: str = "-", go: Path | None = None) -> pexpect.spawn:
    args = ["-c", _CHILD, kind, how, str(go or "-")]
    return pexpect.spawn(sys.executable, args, encoding="utf-8", timeout=60)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("y", "True"), ("YES", "True"), ("n", "False"), ("no", "False"), ("", "False"), ("  Yes  ", "True")],
)
def test_a_yes_no_question_reads_the_answer_with_no_as_the_default(typed: str, expected: str) -> None:
    child = spawn("yes-no")
    child.expect_exact("Apply 3 change(s)? [y/N]: ")
    child.sendline(typed)
    child.expect(r"RESULT (\w+)")
    assert child.match.group(1) == expected


def test_an_unclear_answer_is_asked_again() -> None:
    child = spawn("yes-no")
    child.expect_exact("[y/N]: ")
    child.sendline("maybe")
    child.expect_exact("Error: answer y or n")
    child.expect_exact("[y/N]: ")
    child.sendline("y")
    child.expect(r"RESULT (\w+)")
    assert child.match.group(1) == "True"


def test_end_of_input_is_no() -> None:
    child = spawn("yes-no")
    child.expect_exact("[y/N]: ")
    child.sendeof()
    child.expect(r"RESULT (\w+)")
    assert child.match.group(1) == "False"


def test_ctrl_c_at_the_question_interrupts() -> None:
    child = spawn("yes-no")
    child.expect_exact("[y/N]: ")
    child.sendintr()
    child.expect(["INTERRUPTED", "RESULT"])
    assert child.after == "INTERRUPTED"


@pytest.mark.parametrize("kind", ["yes-no", "secret"])
def test_a_signal_noted_while_the_question_waits_still_interrupts_it(kind: str, tmp_path: Path) -> None:
    # input() and getpass() wait here until a line is typed (the 30 s below would fail the test).
    go = tmp_path / "go"
    child = spawn(kind, "signal-elsewhere", go)
    child.expect_exact(": ")
    go.touch()
    child.expect(["INTERRUPTED", "RESULT"], timeout=30)
    assert child.after == "INTERRUPTED"


def test_a_secret_is_not_echoed_and_the_echo_comes_back() -> None:
    child = spawn("secret", "twice")
    child.logfile_read = seen = io.StringIO()  # everything the terminal showed
    child.expect_exact("Password: ")
    child.sendline("s3cret-wörd")
    child.expect_exact("Again: ")
    child.sendline("visible?")
    child.expect(pexpect.EOF)
    lines = [line.strip() for line in seen.getvalue().splitlines()]
    assert [line for line in lines if line.startswith("RESULT")] == ["RESULT 's3cret-wörd'", "RESULT 'visible?'"]
    assert "ECHO on" in lines  # the terminal echoes again once the question is answered
    others = [line for line in lines if not line.startswith("RESULT")]
    assert not any("s3cret" in line or "visible?" in line for line in others), others


def test_end_of_input_at_a_secret_is_none() -> None:
    child = spawn("secret")
    child.expect_exact("Password: ")
    child.sendeof()
    child.expect(r"RESULT (\w+)")
    assert child.match.group(1) == "None"
