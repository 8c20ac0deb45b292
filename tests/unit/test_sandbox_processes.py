"""A sandbox node's processes: found by lineage and node name, stopped all together (real processes, no node).

Erlang's ``erl_child_setup`` and its helpers run in sessions of their own, out of the leader's process group;
stopping only the group left them running (CI: four processes of an interrupted 3.10 start). These tests build
the same shape from ``sh`` and ``sleep``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import psutil
import pytest

from rabbitadmin.sandbox_processes import node_processes, pid_alive, stop_node

# The leader starts a child in a new session (as erl_child_setup is), which starts one of its own, then waits.
# A TERM trap that ignores the signal stands for a VM still booting.
TREE = "setsid sh -c 'sleep 300 & wait' & {trap} sleep 300 & wait; wait"


@pytest.fixture
def nodename() -> str:
    return f"rabbitadmin-test-{secrets.token_hex(4)}@localhost"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:  # whatever a failing test left
        for proc in _everything_marked(process.args[-1] if isinstance(process.args, list) else ""):
            proc.kill()
        process.kill()
        process.wait(timeout=10)


def _everything_marked(nodename: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if nodename and proc.environ().get("RABBITMQ_NODENAME") == nodename and proc.status() != "zombie":
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _start(nodename: str, started: list[subprocess.Popen[bytes]], *, ignore_term: bool = False) -> int:
    env = {**os.environ, "RABBITMQ_NODENAME": nodename}
    script = TREE.format(trap="trap '' TERM;" if ignore_term else "")
    process = subprocess.Popen(["sh", "-c", script, nodename], env=env, start_new_session=True)
    started.append(process)
    deadline = time.monotonic() + 10
    while len(_everything_marked(nodename)) < 4:  # sh and its sleep; the setsid'd sh and its sleep
        assert time.monotonic() < deadline, _everything_marked(nodename)
        time.sleep(0.02)
    return process.pid


def test_the_node_is_its_leader_and_every_descendant_even_in_other_sessions(
    nodename: str, started: list[subprocess.Popen[bytes]]
) -> None:
    leader = _start(nodename, started)
    found = {proc.pid for proc in node_processes(leader, nodename)}
    marked = {proc.pid for proc in _everything_marked(nodename)}
    assert found == marked and leader in found
    other_sessions = {pid for pid in found if os.getsid(pid) != leader}
    assert other_sessions, "the tree has processes outside the leader's session"


def test_a_process_with_the_node_name_but_not_of_the_tree_is_left_alone(
    nodename: str, started: list[subprocess.Popen[bytes]]
) -> None:
    # epmd: started by the first node on a machine with its environment, then daemonized and shared by all.
    stranger = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, "RABBITMQ_NODENAME": nodename}, start_new_session=True
    )
    try:
        leader = _start(nodename, started)
        assert stranger.pid not in {proc.pid for proc in node_processes(leader, nodename)}
        stop_node(leader, nodename, grace=5)
        assert stranger.poll() is None
        assert [proc.pid for proc in _everything_marked(nodename)] == [stranger.pid]
    finally:
        stranger.kill()
        stranger.wait(timeout=10)


def test_a_pid_reused_by_another_process_is_not_touched(nodename: str) -> None:
    # The state file's pid after a reboot, or long after the node stopped, can name any process now.
    other = subprocess.Popen(["sleep", "300"], start_new_session=True, env={"PATH": os.environ["PATH"]})
    try:
        assert node_processes(other.pid, nodename) == []
        stop_node(other.pid, nodename, grace=1)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait(timeout=10)


def test_stop_ends_every_process_of_the_node(nodename: str, started: list[subprocess.Popen[bytes]]) -> None:
    leader = _start(nodename, started)
    stop_node(leader, nodename, grace=5)
    assert _everything_marked(nodename) == []
    assert not pid_alive(leader)  # reaped: our child is not left as a zombie either
    with pytest.raises(ChildProcessError):
        os.waitpid(leader, os.WNOHANG)


def test_a_leader_that_ignores_sigterm_is_killed_after_the_grace(
    nodename: str, started: list[subprocess.Popen[bytes]]
) -> None:
    leader = _start(nodename, started, ignore_term=True)
    began = time.monotonic()
    stop_node(leader, nodename, grace=1)
    assert _everything_marked(nodename) == []
    assert time.monotonic() - began >= 1  # it was given the grace, then killed


def test_after_the_leader_died_what_is_left_of_its_group_is_stopped(
    nodename: str, started: list[subprocess.Popen[bytes]]
) -> None:
    # A crash: the leader is gone, its group's members live on (they would hold the node's ports).
    leader = _start(nodename, started)
    psutil.Process(leader).kill()
    started[-1].wait(timeout=10)
    assert [proc for proc in _everything_marked(nodename) if os.getpgid(proc.pid) == leader]
    stop_node(leader, nodename, grace=5)
    assert [proc for proc in _everything_marked(nodename) if _group(proc) == leader] == []


def test_nothing_to_stop_is_not_an_error(nodename: str) -> None:
    stop_node(0, nodename, grace=1)
    assert node_processes(0, nodename) == []
    assert not pid_alive(0)


def _group(proc: psutil.Process) -> int:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return 0
