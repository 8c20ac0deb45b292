"""A command that ends while a read still runs rabbitmqctl on another thread (``plan`` of a file that fails
validation while the ctl backend's read is under way) leaves no copy of the Erlang cookie and no rabbitmqctl
running: ``Rabbitmqctl.abandon``, called by ``engine.prefetch.StatePrefetch.close``.

A shell script stands in for rabbitmqctl here: what is under test is the runner's own files and processes,
not what a node answers (tests/ctl/test_ctl_cli.py runs the real command line against real nodes).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.errors import RabbitAdminError, UsageError


def _slow_ctl(tmp_path: Path) -> tuple[Path, Path]:
    """A 'rabbitmqctl' that records its HOME and pid, then sleeps; and the file it records them in."""
    seen = tmp_path / "seen"
    script = tmp_path / "rabbitmqctl"
    script.write_text(f'#!/bin/sh\necho "$HOME $$" > {seen}\nexec sleep 60\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, seen


def test_abandon_kills_what_runs_and_leaves_no_cookie(tmp_path: Path) -> None:
    script, seen = _slow_ctl(tmp_path)
    cookie = tmp_path / "cookie"
    cookie.write_text("secret-cookie")
    ctl = Rabbitmqctl(node="rabbit@nowhere", executable=str(script), cookie_file=str(cookie), timeout=60)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            ctl.run(["list_queues"])
        except BaseException as exc:  # what the abandoned read ends with
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 10
    while not seen.exists() or not seen.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    home, pid = seen.read_text().split()
    assert (Path(home) / ".erlang.cookie").read_text() == "secret-cookie"

    ctl.abandon()
    reader.join(10)
    assert not reader.is_alive()  # the rabbitmqctl was killed: the read ended at once
    assert errors and isinstance(errors[0], RabbitAdminError)
    assert not Path(home).exists()  # no copy of the cookie left
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    with pytest.raises(UsageError):  # and none made again
        ctl.run(["list_queues"])


def test_abandon_removes_the_private_file_an_eval_was_handed(tmp_path: Path) -> None:
    # eval's expression goes to rabbitmqctl as a 0600 file (eval_file): it may hold secrets (a password hash).
    seen = tmp_path / "seen"
    script = tmp_path / "rabbitmqctl"
    script.write_text(f'#!/bin/sh\nfor last; do :; done\necho "$last" > {seen}\nexec sleep 60\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    ctl = Rabbitmqctl(executable=str(script), timeout=60)
    reader = threading.Thread(target=lambda: _quietly(lambda: ctl.run(["eval"], stdin="secret expression.")))
    reader.start()
    deadline = time.monotonic() + 10
    while not seen.exists() or not seen.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    handed = Path(seen.read_text().strip())
    assert handed.read_text() == "secret expression."
    ctl.abandon()
    assert not handed.parent.exists()  # at once, whether or not the reading thread gets to run again
    reader.join(10)
    assert not reader.is_alive()


def _quietly(work: Callable[[], object]) -> None:
    with contextlib.suppress(RabbitAdminError):  # the abandoned read's own error
        work()


def test_close_alone_lets_a_runner_run_again(tmp_path: Path) -> None:
    # close() (the end of one use) is not abandon(): a runner closed between commands makes its HOME again.
    script = tmp_path / "rabbitmqctl"
    script.write_text('#!/bin/sh\necho "$HOME"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    cookie = tmp_path / "cookie"
    cookie.write_text("c")
    ctl = Rabbitmqctl(executable=str(script), cookie_file=str(cookie), timeout=30)
    first = ctl.run(["status"]).strip()
    ctl.close()
    assert not Path(first).exists()
    second = ctl.run(["status"]).strip()
    assert Path(second).is_dir()
    ctl.close()


class _SlowBackend:
    """Stands in for the ctl backend in the prefetch: its read blocks until released; records close/abandon."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[str] = []

    def read_state(self, vhosts: object) -> object:
        self.release.wait(10)
        raise RabbitAdminError("abandoned")

    def close(self) -> None:
        self.calls.append("close")

    def abandon(self) -> None:
        self.calls.append("abandon")
        self.release.set()


def test_the_prefetch_abandons_a_read_still_running_and_closes_one_done() -> None:
    from rabbitadmin.engine.prefetch import StatePrefetch

    running = _SlowBackend()
    prefetch = StatePrefetch(lambda: running)  # type: ignore[arg-type, return-value]
    prefetch.start(frozenset({"v"}))
    deadline = time.monotonic() + 10
    while prefetch._backend is None:  # the read has built the backend and is reading
        assert time.monotonic() < deadline
        time.sleep(0.01)
    prefetch.close()  # validation failed: the command ends now
    assert running.calls == ["abandon"]

    done = _SlowBackend()
    done.release.set()
    finished = StatePrefetch(lambda: done)  # type: ignore[arg-type, return-value]
    finished.start(frozenset({"v"}))
    assert finished._thread is not None
    finished._thread.join(10)
    finished.close()
    assert done.calls == ["close"]
