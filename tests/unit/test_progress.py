"""Progress when stderr is not a terminal (CI logs): plain lines, an estimate inside a bulk request, the
elapsed time at the end. The terminal side is proven on a pseudo-terminal in
tests/integration/test_plan_terminal.py."""

from __future__ import annotations

import io
import re
import threading

import pytest

from rabbitadmin import progress
from rabbitadmin.progress import ApplyProgress, activity


def test_plain_lines_at_each_tenth_then_the_elapsed_time() -> None:
    out = io.StringIO()
    with ApplyProgress(100, stream=out) as bar:
        for _ in range(100):
            bar(1, "step")
    lines = out.getvalue().splitlines()
    assert [int(re.match(r"applying: (\d+)/100", line)[1]) for line in lines[:-1]] == list(range(10, 100, 10))  # type: ignore[index]
    assert re.fullmatch(r"applying: 100/100 done in \d+\.\d s", lines[-1])
    assert all(re.search(r"\d+\.\d s elapsed, about \d+\.\d s left$", line) for line in lines[:-1])


def test_a_bulk_request_in_flight_moves_the_count_and_its_answer_settles_it() -> None:
    out = io.StringIO()
    with ApplyProgress(1000, stream=out) as bar:
        bar(1)  # the vhost
        bar.within(250, 999)  # the server shows 250 of the import's objects
        assert bar.completed == 251
        bar.within(5000, 999)  # another client's declares count too: never past the request's size
        assert bar.completed == 1000
        bar.within(-3, 999)
        assert bar.completed == 1
        bar(999)  # the request answered: the real count replaces the estimate
        assert bar.completed == 1000 and bar.in_flight == 0
    assert "applying: 251/1000 (25%)" in out.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("applying: 1000/1000 done in ")


def test_a_stopped_apply_says_where_it_stopped() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), ApplyProgress(10, stream=out) as bar:
        bar(3)
        raise RuntimeError("partial")
    assert re.fullmatch(r"applying: stopped at 3/10 after \d+\.\d s", out.getvalue().splitlines()[-1])


def test_disabled_progress_prints_nothing() -> None:
    out = io.StringIO()
    with ApplyProgress(10, stream=out, enabled=False) as bar:
        bar(10)
    with activity("reading", stream=out, enabled=False):
        pass
    assert out.getvalue() == ""


def test_a_quick_activity_prints_nothing_and_a_slow_one_says_it_started_and_what_it_took(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    with activity("reading the server's state", stream=out):
        pass
    assert out.getvalue() == ""

    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)
    started = threading.Event()
    real_line = progress._line

    def line(stream: io.StringIO, text: str) -> None:
        real_line(stream, text)
        started.set()

    monkeypatch.setattr(progress, "_line", line)
    with activity("deleting vhost 'v'", stream=out):
        assert started.wait(30), "the start line never came"
    assert out.getvalue().splitlines()[0] == "deleting vhost 'v'..."
    assert re.fullmatch(r"deleting vhost 'v': done in \d+\.\d s", out.getvalue().splitlines()[1])

    out2 = io.StringIO()
    started.clear()
    with pytest.raises(KeyError), activity("counting", stream=out2):
        assert started.wait(30)
        raise KeyError("x")
    assert re.fullmatch(r"counting\.\.\.\ncounting: stopped after \d+\.\d s\n", out2.getvalue())
