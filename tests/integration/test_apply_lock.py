"""Two applies at once on a real node: the per-vhost apply lock (issue 10, point 4).

The first apply is held at its confirmation prompt on a pseudo-terminal: by then it has taken the lock, read
the server and shown its plan, so a second apply started meanwhile meets the lock deterministically.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.apply_lock import LOCK_QUEUE, ApplyLock, Holder
from rabbitadmin.errors import ApplyLocked, ExitCode, PartialApply
from rabbitadmin.loader import load_topology

from ..conftest import CliRunner

TIMEOUT = 180


def write(tmp_path: Path, document: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return path


def topology(vhost: str, prefix: str, queues: int) -> dict[str, Any]:
    names = [f"{prefix}-q{i}" for i in range(queues)]
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": f"{prefix}-ex", "type": "topic"}],
                "queues": [{"name": name} for name in names],
                "bindings": [{"source": f"{prefix}-ex", "destination": name, "routing_key": name} for name in names],
            }
        ]
    }


def expected(document: dict[str, Any]) -> dict[str, set[tuple[str, ...]]]:
    [vhost] = document["vhosts"]
    return {
        "exchanges": {(e["name"],) for e in vhost["exchanges"]},
        "queues": {(q["name"],) for q in vhost["queues"]},
        "bindings": {(b["source"], b["destination"], b["routing_key"]) for b in vhost["bindings"]},
    }


def server_state(admin_client: HttpClient, vhost: str) -> dict[str, set[tuple[str, ...]]]:
    return {
        "exchanges": {
            (e["name"],)
            for e in admin_client.get(api_path("exchanges", vhost))
            if e["name"] and not e["name"].startswith("amq.")
        },
        "queues": {(q["name"],) for q in admin_client.get(api_path("queues", vhost)) if q["name"] != LOCK_QUEUE},
        "bindings": {
            (b["source"], b["destination"], b["routing_key"])
            for b in admin_client.get(api_path("bindings", vhost))
            if b["source"]
        },
    }


class AtPrompt:
    """``rabbitadmin apply`` on a pseudo-terminal, stopped at its ``[y/N]`` prompt (holding its locks)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.main, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rabbitadmin", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"},
            close_fds=True,
        )
        os.close(child)
        self.output = b""
        self.read_until(b"[y/N]")

    def read_until(self, marker: bytes | None) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if marker is not None and marker in self.output:
                return
            ready, _, _ = select.select([self.main], [], [], 1)
            if ready:
                try:
                    chunk = os.read(self.main, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                self.output += chunk
            elif self.process.poll() is not None:
                break
        assert marker is None, f"no {marker!r} in: {self.output.decode(errors='replace')}"

    def answer(self, text: str) -> int:
        os.write(self.main, text.encode())
        self.read_until(None)
        code = self.process.wait(timeout=TIMEOUT)
        os.close(self.main)
        return code

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)
        os.close(self.main)


@pytest.fixture
def start(rabbitadmin: CliRunner, vhost: str, tmp_path: Path) -> dict[str, Any]:
    document = topology(vhost, "start", 2)
    rabbitadmin("apply", str(write(tmp_path, document, "start.yaml")), "--yes", check=True)
    return document


def test_a_second_apply_gives_up_with_exit_8_naming_the_holder(
    rabbitadmin: CliRunner, cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, start: Any
) -> None:
    first_doc, second_doc = topology(vhost, "first", 3), topology(vhost, "second", 2)
    first = AtPrompt(["apply", str(write(tmp_path, first_doc, "first.yaml")), "--prune"], cli_env)
    try:
        second = rabbitadmin(
            "apply", str(write(tmp_path, second_doc, "second.yaml")), "--prune", "--yes", "--lock-timeout", "1"
        )
        assert second.returncode == ExitCode.LOCKED, second.stderr
        assert f"another apply holds the apply lock of vhost {vhost!r}" in second.stderr
        assert f"pid {first.process.pid} on host " in second.stderr  # the holder, named
        assert "waiting up to 1 s for the apply lock" in second.stderr
        assert server_state(admin_client, vhost) == expected(start), "the second apply wrote nothing"
        holder = Holder.from_arguments(admin_client.get(api_path("queues", vhost, LOCK_QUEUE))["arguments"])
        assert holder is not None and holder.pid == first.process.pid
        as_json = rabbitadmin(
            "apply", str(tmp_path / "second.yaml"), "--prune", "--yes", "--lock-timeout", "0", "-o", "json"
        )
        assert as_json.returncode == ExitCode.LOCKED and json.loads(as_json.stdout)["error"]["exit_code"] == 8
    finally:
        assert first.answer("y\n") == 0, first.output.decode(errors="replace")
    assert server_state(admin_client, vhost) == expected(first_doc)
    assert admin_client.get_or_none(api_path("queues", vhost, LOCK_QUEUE)) is None, "released when it ended"


def test_a_second_apply_waits_for_the_first_then_plans_from_what_it_left(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, start: Any
) -> None:
    first_doc, second_doc = topology(vhost, "first", 3), topology(vhost, "second", 2)
    first = AtPrompt(["apply", str(write(tmp_path, first_doc, "first.yaml")), "--prune"], cli_env)
    second_path = write(tmp_path, second_doc, "second.yaml")
    second = subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", "apply", str(second_path), "--prune", "--yes", "--lock-timeout", "170"],
        env={**os.environ, **cli_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waiting = read_line_with(second, "waiting up to 170 s for the apply lock")
        assert f"pid {first.process.pid}" in waiting
        assert first.answer("y\n") == 0
        stdout, stderr = second.communicate(timeout=TIMEOUT)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, stderr
    # its plan was made after the first apply ended: it pruned what the first one created
    assert "delete queue 'first-q0'" in stdout
    assert server_state(admin_client, vhost) == expected(second_doc)


def read_line_with(process: subprocess.Popen[str], text: str) -> str:
    """The first line of ``process``'s stderr that contains ``text`` (fails after TIMEOUT seconds)."""
    found: list[str] = []

    def scan() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if text in line:
                found.append(line)
                return

    reader = threading.Thread(target=scan, daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    assert found, f"the second apply never said {text!r}"
    return found[0]


def test_kill_9_of_the_holder_frees_the_lock(
    rabbitadmin: CliRunner, cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, start: Any
) -> None:
    first = AtPrompt(["apply", str(write(tmp_path, topology(vhost, "first", 1), "first.yaml")), "--prune"], cli_env)
    assert admin_client.get_or_none(api_path("queues", vhost, LOCK_QUEUE)) is not None
    first.kill()
    second_doc = topology(vhost, "second", 2)
    second = rabbitadmin(
        "apply", str(write(tmp_path, second_doc, "second.yaml")), "--prune", "--yes", "--lock-timeout", "60"
    )
    assert second.returncode == 0, second.stderr
    assert server_state(admin_client, vhost) == expected(second_doc)


def test_two_applies_started_together_leave_exactly_one_topology(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, start: Any
) -> None:
    documents = {"a": topology(vhost, "a", 4), "b": topology(vhost, "b", 3)}
    processes = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rabbitadmin",
                "apply",
                str(write(tmp_path, document, f"{name}.yaml")),
                "--prune",
                "--yes",
                "--lock-timeout",
                "170",
            ],
            env={**os.environ, **cli_env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, document in documents.items()
    }
    finished: list[str] = []
    for name, process in processes.items():
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr
        finished.append(name)
    state = server_state(admin_client, vhost)
    assert state in (expected(documents["a"]), expected(documents["b"])), state


def test_no_lock_applies_while_another_apply_holds_it(
    rabbitadmin: CliRunner,
    settings: ConnectionSettings,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    start: Any,
) -> None:
    with ApplyLock(settings, timeout=0) as lock:
        lock.acquire([vhost])
        path = write(tmp_path, topology(vhost, "start", 3), "more.yaml")
        assert rabbitadmin("apply", str(path), "--yes", "--lock-timeout", "0").returncode == ExitCode.LOCKED
        assert rabbitadmin("apply", str(path), "--yes", "--no-lock").returncode == 0
    assert ("start-q2",) in server_state(admin_client, vhost)["queues"]


def test_the_lock_is_invisible_to_plan_export_and_access(
    rabbitadmin: CliRunner, settings: ConnectionSettings, vhost: str, tmp_path: Path, start: Any
) -> None:
    path = write(tmp_path, start, "start.yaml")
    with ApplyLock(settings, timeout=0) as lock:
        lock.acquire([vhost])
        plan = rabbitadmin("plan", str(path), "--prune", "--detailed-exitcode", "-o", "json")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        exported = rabbitadmin("export", "--vhost", vhost)
        assert exported.returncode == 0 and LOCK_QUEUE not in exported.stdout
        access = rabbitadmin("access", "--vhost", vhost, "-o", "json")
        assert access.returncode == 0 and LOCK_QUEUE not in access.stdout
        audit = rabbitadmin("audit", "--topology", str(path), "-o", "json")  # drift rules compare with the file
        assert audit.returncode == 0 and LOCK_QUEUE not in audit.stdout, audit.stdout + audit.stderr
        listed = rabbitadmin("queues", "list", "--vhost", vhost)
        assert LOCK_QUEUE in listed.stdout  # administration listings show it, with its holder's pid


def test_a_file_may_not_declare_the_lock_queue(rabbitadmin: CliRunner, vhost: str, tmp_path: Path) -> None:
    path = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": LOCK_QUEUE}]}]}, "bad.yaml")
    result = rabbitadmin("plan", str(path))
    assert result.returncode == ExitCode.REFUSED and "apply lock" in result.stdout


def test_a_vhost_created_by_two_applies_at_once_stops_the_later_one(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    """Both planned when the vhost did not exist; the other created it and locked it first."""
    document = topology(vhost, "late", 2)
    with contextlib.closing(HttpBackend(settings)) as backend:
        plan = make_plan(load_topology(write(tmp_path, document, "late.yaml")), backend)
        assert plan.changes[0].kind == "vhost"
        admin_client.put(api_path("vhosts", vhost), {})
        with ApplyLock(settings, timeout=0) as other, ApplyLock(settings, timeout=0) as mine:
            other.acquire([vhost])
            with pytest.raises(PartialApply) as caught:
                execute_plan(plan, backend, on_vhosts_created=mine.acquire_created)
    assert caught.value.exit_code is ExitCode.LOCKED
    assert isinstance(caught.value.cause, ApplyLocked) and "run the same command again" in str(caught.value)
    result = caught.value.result
    assert [c.kind for c in result.done] == ["vhost"] and len(result.not_attempted) == len(plan.changes) - 1
    assert server_state(admin_client, vhost) == {"exchanges": set(), "queues": set(), "bindings": set()}


@pytest.mark.parametrize("length", [1, 40, 100])  # 100 "é" = 200 bytes: AMQP cannot open a vhost past 255
def test_a_held_lock_reads_as_held_whatever_the_vhost_names_length(
    settings: ConnectionSettings, admin_client: HttpClient, length: int
) -> None:
    # RabbitMQ 4.0 puts the vhost's name into its RESOURCE_LOCKED reply; past 255 bytes the reply overflows and
    # the broker closes the connection (541) instead of the channel (405): still "held", not "unavailable".
    name = ("é" * length)[:length]
    admin_client.put(api_path("vhosts", name), {})
    try:
        with ApplyLock(settings, timeout=0) as holder, ApplyLock(settings, timeout=0) as second:
            holder.acquire([name])
            with pytest.raises(ApplyLocked, match="another apply holds the apply lock"):
                second.acquire([name])
            assert second.held == set()
    finally:
        admin_client.delete(api_path("vhosts", name))
