"""Fixtures for the tutorial tests: the ``rabbitadmin tutorial`` command, its environment, runner processes
read line by line, and a vhost with every scenario provisioned (once per test module).
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo
from rabbitadmin.tutorials.scenarios import SCENARIOS

# The real command line, in a fresh interpreter: exactly what a user runs.
TUTORIAL = [sys.executable, "-m", "rabbitadmin", "tutorial"]
TUTORIAL_PASSWORD = "tut-" + secrets.token_hex(8)


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """The test process's environment without any RABBITADMIN_* or MYUSER_* leaking in, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITADMIN_", "MYUSER_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def tut_env(node: SandboxInfo) -> dict[str, str]:
    """Environment for ``rabbitadmin tutorial``: the session node, its admin, the tutorial user's password."""
    return base_env(
        {
            "RABBITADMIN_URL": node.url,
            "RABBITADMIN_USER": node.user,
            "RABBITADMIN_PASSWORD_FILE": str(node.password_file),
            "RABBITADMIN_AMQP_PORT": str(node.amqp_port),
            "MYUSER_PASSWORD": TUTORIAL_PASSWORD,
        }
    )


def tutorial(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``rabbitadmin tutorial ARGS`` to completion (stdin is not a terminal)."""
    return subprocess.run(
        [*TUTORIAL, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def provision(env: dict[str, str], name: str, vhost: str) -> subprocess.CompletedProcess[str]:
    done = tutorial(env, "provision", name, "--vhost", vhost, "-o", "json")
    assert done.returncode == 0, done.stderr
    return done


class Runner:
    """A runner started as a real process; its stdout lines are collected as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [*TUTORIAL, "run", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)
        self._new.put(None)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Wait until a stdout line contains ``text``; fail with everything seen otherwise."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                pytest.fail(f"{self.args}: no line with {text!r} in {self.lines}; stderr: {self.stderr}")
            try:
                if self._new.get(timeout=remaining) is None and not any(text in line for line in self.lines):
                    self.finish(5)
                    pytest.fail(f"{self.args} ended without {text!r}: {self.lines}; stderr: {self.stderr}")
            except queue.Empty:
                continue

    def received(self, prefix: str = " [x] ") -> list[str]:
        return [line for line in self.lines if line.startswith(prefix) and "Sent" not in line]

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end by itself; return its exit code."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{self.args} did not stop within {timeout} s: {self.lines}")
        self._reader.join(5)
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()
        return self.process.returncode

    def interrupt(self, timeout: float = 15) -> int:
        """Ctrl-C, as a user would; return the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def start_runner(tut_env: dict[str, str]) -> Iterator[Callable[..., Runner]]:
    """Start runners (``start_runner("worker", "--timeout", "5")``); any still alive is killed afterwards."""
    started: list[Runner] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Runner:
        runner = Runner(env or tut_env, *args)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


@pytest.fixture(scope="module")
def tutorial_vhost(tut_env: dict[str, str], admin_client: HttpClient) -> Iterator[str]:
    """A fresh vhost (awkward name) with all six scenarios provisioned through the real command."""
    name = f"tut {secrets.token_hex(3)}/é"
    for scenario in SCENARIOS:
        provision(tut_env, scenario, name)
    yield name
    admin_client.delete(api_path("vhosts", name))


def wait_until(check: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
