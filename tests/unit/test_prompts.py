"""The terminal's questions (``rabbitadmin.prompts``), asked on a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import io
import os
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest

# Each child prints what the question returned, or INTERRUPTED for a KeyboardInterrupt.
_CHILD = textwrap.dedent(
    """
    import os, signal, sys, termios, threading, time
    from rabbitadmin.errors import UsageError
    from rabbitadmin.prompts import ask_secret, ask_yes_no

    def signal_from_another_thread():
        # The kernel may hand a process's Ctrl-C to any thread that does not block it; Python then only notes
        # it for the main thread. This is also what a Ctrl-C landing just before the main thread's read does.
        # Sent once the test has seen the question (it creates the file named by argv[3]).
        while not os.path.exists(sys.argv[3]):
            time.sleep(0.05)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    if sys.argv[2] == "echo-at-prompt":  # say whether the terminal echoes at the moment the prompt is written
        import rabbitadmin.prompts as prompts
        say = prompts._say
        def _say(out, text):
            if text.endswith(": "):
                print("ECHO-AT-PROMPT", "on" if termios.tcgetattr(0)[3] & termios.ECHO else "off", flush=True)
            say(out, text)
        prompts._say = _say
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
    except UsageError as exc:
        print("USAGE", exc)
    """
)


def spawn(kind: str, how: str = "-", go: Path | None = None) -> pexpect.spawn:
    args = ["-c", _CHILD, kind, how, str(go or "-")]
    return pexpect.spawn(sys.executable, args, encoding="utf-8", codec_errors="replace", timeout=60)


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


@pytest.mark.parametrize("kind", ["yes-no", "secret"])
def test_bytes_that_are_not_text_are_refused_not_replaced(kind: str) -> None:
    # Replacing them would let two different passwords (b"p\xe9w", b"p\xe8w") compare equal.
    child = spawn(kind)
    child.expect_exact(": ")
    os.write(child.child_fd, b"p\xe9w\n")  # Latin-1, not UTF-8 (bytes: the spawn's codec would not send them)
    child.expect(["USAGE (.*) text", "RESULT"])
    assert child.after.startswith("USAGE") and "utf-8" in child.match.group(1).lower()


def test_the_echo_is_off_before_the_secret_prompt_shows() -> None:
    # Else what is typed as soon as the prompt shows (a busy machine, a fast typist) is echoed in clear.
    child = spawn("secret", "echo-at-prompt")
    child.logfile_read = seen = io.StringIO()
    child.expect(r"ECHO-AT-PROMPT (\w+)")
    assert child.match.group(1) == "off"
    child.expect_exact("Password: ")
    child.sendline("typed-at-once")
    child.expect(pexpect.EOF)
    assert "RESULT 'typed-at-once'" in seen.getvalue()
    assert seen.getvalue().count("typed-at-once") == 1


# The commands' password prompts: end of input at any of their questions ends them (exit 2), it is not a mismatch.
_PASSWORD_CHILD = textwrap.dedent(
    """
    import sys
    from rabbitadmin.admin.cli_common import read_password
    from rabbitadmin.tutorials.cli import _prompt_password
    try:
        if sys.argv[1] == "users":
            print("RESULT", read_password(None, None, confirm=True, prompt="Password").reveal())
        else:
            print("RESULT", _prompt_password(confirm=True).reveal())
    except Exception as exc:
        print("RAISED", type(exc).__name__, exc)
    """
)


@pytest.mark.parametrize(
    ("command", "answers"),
    [("users", ["abc", None]), ("users", [None]), ("tutorial", ["abc", None]), ("tutorial", [None])],
)
def test_end_of_input_at_a_password_question_ends_it(command: str, answers: list[str | None]) -> None:
    child = pexpect.spawn(sys.executable, ["-c", _PASSWORD_CHILD, command], encoding="utf-8", timeout=60)
    for answer in answers:
        child.expect(r": $")
        if answer is None:
            child.sendeof()
        else:
            child.sendline(answer)
    child.expect(["RAISED (.*)\r\n", "RESULT", ": $"])
    assert child.after.startswith("RAISED"), child.after
    assert child.match.group(1) == "UsageError no password given (end of input)"
