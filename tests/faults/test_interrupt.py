"""Ctrl-C and SIGTERM during an apply, through real subprocesses against the real node.

The apply stops sending requests, lets those in flight finish, reports done / failed / not attempted and
exits 130; what the report calls done is exactly what changed on the server; running it again converges.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode

from ..conftest import CliRunner

DONE = re.compile(
    r"error: interrupted \(Ctrl-C or SIGTERM\).*?: (\d+) change\(s\) done, \d+ kept \(messages arrived or "
    r"consumers attached after the plan\), (\d+) failed, (\d+) not attempted"
)


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def start(cli_env: dict[str, str], args: list[str], tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """The real command in the background, its output in files (a big plan would fill a pipe)."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    env = {k: v for k, v in {**os.environ, **cli_env}.items() if k != "RABBITADMIN_PASSWORD"}
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rabbitadmin", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
    return process, out, err


def wait_until(condition: Any, process: subprocess.Popen[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the apply ended before the signal could be sent"
        assert time.monotonic() < deadline, "no progress on the server"
        time.sleep(0.05)


def queue_names(admin_client: HttpClient, vhost: str) -> list[str]:
    return [row["name"] for row in admin_client.get(api_path("queues", vhost), {"columns": "name"})]


def bindings(admin_client: HttpClient, vhost: str) -> int:
    rows = admin_client.get(api_path("bindings", vhost), {"columns": "source"})
    return sum(1 for row in rows if row["source"] != "")


def report(out: Path, err: Path, as_json: bool) -> tuple[int, int, int]:
    """(done, failed, not attempted) as the command reported them."""
    if as_json:
        result = json.loads(out.read_text())["error"]["result"]
        return len(result["done"]), len(result["failed"]), len(result["not_attempted"])
    match = DONE.search(err.read_text())
    assert match, err.read_text()[-3000:]
    done, failed, not_attempted = (int(group) for group in match.groups())
    return done, failed, not_attempted


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_a_long_delete_phase(
    rabbitadmin: CliRunner,
    cli_env: dict[str, str],
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    signum: signal.Signals,
    as_json: bool,
) -> None:
    count = 1500
    full = write(
        tmp_path / "full.yaml", {"vhosts": [{"name": vhost, "queues": [{"name": f"q{i}"} for i in range(count)]}]}
    )
    assert rabbitadmin("apply", str(full), "--yes").returncode == 0
    empty = write(tmp_path / "empty.yaml", {"vhosts": [{"name": vhost}]})
    args = ["apply", str(empty), "--yes", "--prune", "--parallel", "2", *(["-o", "json"] if as_json else [])]
    process, out, err = start(cli_env, args, tmp_path)
    wait_until(lambda: len(queue_names(admin_client, vhost)) < count, process)
    sent = time.monotonic()
    process.send_signal(signum)
    assert process.wait(timeout=120) == ExitCode.INTERRUPTED, err.read_text()[-3000:]
    stopped_after = time.monotonic() - sent
    assert "Traceback" not in err.read_text()

    done, failed, not_attempted = report(out, err, as_json)
    remaining = len(queue_names(admin_client, vhost))
    assert done == count - remaining  # the report's "done" is what happened on the server
    assert failed == 0 and done + not_attempted == count
    assert remaining > 0, "the delete phase ran to its end after the signal"
    if not as_json:
        assert "not attempted: queue" in err.read_text()
        assert "run the same command again to finish" in err.read_text()
    print(f"{signum.name}: exited {stopped_after:.2f}s after the signal; {done} deleted, {remaining} left")

    again = rabbitadmin("apply", str(empty), "--yes", "--prune")
    assert again.returncode == 0, again.stderr
    assert queue_names(admin_client, vhost) == []


def test_interrupting_the_chunked_bulk_import(
    rabbitadmin: CliRunner, cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    # Long names make the import two 4 MB batches: the second must not start after the signal.
    pairs = 6000
    names = [f"{i:05d}-" + "n" * 230 for i in range(pairs)]
    document = {
        "vhosts": [
            {
                "name": vhost,
                "queues": [{"name": name} for name in names],
                "bindings": [{"source": "amq.direct", "destination": name, "routing_key": name} for name in names],
            }
        ]
    }
    path = write(tmp_path / "big.yaml", document)
    process, out, err = start(cli_env, ["apply", str(path), "--yes", "-o", "json"], tmp_path)
    first = api_path("queues", vhost, names[0])
    wait_until(lambda: admin_client.get_or_none(first) is not None, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=300) == ExitCode.INTERRUPTED, err.read_text()[-3000:]

    done, failed, not_attempted = report(out, err, as_json=True)
    on_server = 1 + len(queue_names(admin_client, vhost)) + bindings(admin_client, vhost)  # 1: the vhost
    assert done == on_server
    assert failed == 0 and not_attempted > 0 and done + not_attempted == 1 + 2 * pairs

    again = rabbitadmin("apply", str(path), "--yes")
    assert again.returncode == 0, again.stderr
    assert rabbitadmin("plan", str(path), "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_at_the_confirmation_prompt(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, how: str
) -> None:
    path = write(tmp_path / "t.yaml", {"vhosts": [{"name": vhost}]})
    env = {k: v for k, v in {**os.environ, **cli_env}.items() if k != "RABBITADMIN_PASSWORD"}
    child = pexpect.spawn(
        sys.executable, ["-m", "rabbitadmin", "apply", str(path)], env=env, encoding="utf-8", timeout=120
    )
    child.expect(r"\[y/N\]")
    if how == "ctrl-c":
        child.sendintr()
    else:
        child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == ExitCode.INTERRUPTED, child.before
    assert "interrupted at the confirmation prompt: nothing was changed" in child.before
    assert "Traceback" not in child.before
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None


def _blocked_signals(status_file: Path) -> set[int]:
    line = next(line for line in status_file.read_text().splitlines() if line.startswith("SigBlk:"))
    mask = int(line.split()[1], 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _still_running(pids: list[int], timeout: float = 30) -> list[int]:
    """Those of ``pids`` still running (not gone, not a zombie) after up to ``timeout`` s: a process
    killed as the apply ends takes a moment to go."""
    deadline = time.monotonic() + timeout
    while True:
        running = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                running.append(pid)
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_at_the_prompt_only_the_main_thread_takes_signals(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path, backend: str
) -> None:
    """At "Apply? [y/N]" the main thread reads the terminal; a Ctrl-C the kernel handed to another thread
    (the lock's, which answers heartbeats) would never wake it. So every other thread blocks SIGINT and
    SIGTERM, and the processes it started (the ctl lock's rabbitmqctl) do not: they are stopped by SIGTERM."""
    admin_client.put(api_path("vhosts", vhost), {})  # the lock is taken in an existing vhost
    exchange = {"vhost": vhost, "name": "x", "type": "direct", "durable": True}  # as the server's import needs it
    path = write(tmp_path / "t.yaml", {"vhosts": [{"name": vhost}], "exchanges": [exchange]})
    env = {k: v for k, v in {**os.environ, **cli_env}.items() if k != "RABBITADMIN_PASSWORD"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rabbitadmin", "--backend", backend, "apply", str(path)],
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    try:
        child.expect(r"\[y/N\]")
        threads = [int(t.name) for t in Path(f"/proc/{child.pid}/task").iterdir() if int(t.name) != child.pid]
        assert threads, "the lock keeps a thread of its own while the prompt waits"
        for tid in threads:
            status = Path(f"/proc/{child.pid}/task/{tid}/status")
            assert {signal.SIGINT, signal.SIGTERM} <= _blocked_signals(status), status.read_text()
        assert not {signal.SIGINT, signal.SIGTERM} & _blocked_signals(Path(f"/proc/{child.pid}/status"))
        started = _descendants(child.pid)
        if backend == "ctl":
            assert started, "the ctl lock is a rabbitmqctl process"
        for pid in started:
            assert not {signal.SIGTERM} & _blocked_signals(Path(f"/proc/{pid}/status"))
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == ExitCode.INTERRUPTED, child.before
    assert not _still_running(started), "the lock's rabbitmqctl outlived the apply"
    assert admin_client.get_or_none(api_path("exchanges", vhost, "x")) is None
