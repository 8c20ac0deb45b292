"""The operating-system processes of a sandbox node: which they are, and stopping all of them.

A node is more than the process ``Sandbox.start`` runs. The Erlang VM starts ``erl_child_setup`` in a
session of its own (``setsid``), and that starts the VM's helpers (``inet_gethost``, the disk monitor's
``sh``) in theirs, so a signal to the leader's process group misses them: they linger for seconds after the
VM is gone. A node is therefore found as the processes that carry its ``RABBITMQ_NODENAME`` in their
environment and are either its leader's descendants or in its leader's process group (after a crash the
leader is gone and its descendants are orphaned, but the group is left). The marker keeps processes that
merely reused a pid or a group id out; the lineage keeps ``epmd`` out, which the first node on a machine
starts with its own environment but which every Erlang node shares (it daemonizes: new session, parent 1).

psutil is imported here only: it costs every command ~25 ms of start-up, and only ``sandbox`` needs it.
"""

from __future__ import annotations

import contextlib
import os
import signal

import psutil

KILL_WAIT = 10.0  # seconds for SIGKILLed processes to be gone (they cannot refuse; this bounds the wait)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` names a process that has not exited (a zombie has)."""
    if pid <= 0:
        return False
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def node_processes(leader: int, nodename: str) -> list[psutil.Process]:
    """The live processes of the node ``nodename`` whose first process was ``leader`` (a pid and process
    group id); empty when there are none, or ``leader`` is 0."""
    if leader <= 0:
        return []
    candidates: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        first = psutil.Process(leader)
        candidates[leader] = first
        for child in first.children(recursive=True):
            candidates[child.pid] = child
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError):
            if proc.pid not in candidates and os.getpgid(proc.pid) == leader:
                candidates[proc.pid] = proc
    return [proc for proc in candidates.values() if _carries(proc, nodename)]


def _carries(proc: psutil.Process, nodename: str) -> bool:
    with contextlib.suppress(psutil.Error):
        return proc.environ().get("RABBITMQ_NODENAME") == nodename and _still_running(proc)
    return False


def stop_node(leader: int, nodename: str, grace: float) -> None:
    """Stop every process of the node (see ``node_processes``).

    SIGTERM goes to the leader's process group, and the leader (or, when it is gone, the rest of its group)
    has up to ``grace`` seconds to exit; then whatever of the node is left gets SIGKILL and up to
    ``KILL_WAIT`` seconds to go. Our own exited children are reaped. Never raises for a process that is
    already gone."""
    if leader <= 0:
        return
    # Found while the leader lives: once it exits its descendants in other sessions are orphaned and can
    # no longer be told from any other process.
    members = node_processes(leader, nodename)
    if members:
        _signal_group(leader, signal.SIGTERM)
        # The leader's exit ends the node (its helpers follow within moments); after a crash there is no
        # leader, and what is left of the group is given the same time.
        first = [proc for proc in members if proc.pid == leader]
        psutil.wait_procs(first or members, timeout=grace)
    left = {proc.pid: proc for proc in [*members, *node_processes(leader, nodename)] if _still_running(proc)}
    if left:
        _signal_group(leader, signal.SIGKILL)
        for proc in left.values():
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(list(left.values()), timeout=KILL_WAIT)
    _reap(leader)


def _still_running(proc: psutil.Process) -> bool:
    # is_running also checks the process's start time: a pid reused since it was found is not ours.
    with contextlib.suppress(psutil.Error):
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    return False


def _signal_group(group: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
