"""The private node's life cycle through the real command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from rabbitadmin.sandbox import free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "sandbox", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


def all_command_lines() -> str:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return "\n".join(lines)


def node_processes(nodename: str) -> list[int]:
    """Every process started for the node ``nodename`` (its scripts, the Erlang VM, its helpers)."""
    marker = f"RABBITMQ_NODENAME={nodename}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def mounts_under(path: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if path in line]


def test_start_twice_env_crash_and_stop(tmp_path: Path, rabbitmq_version: str) -> None:
    directory = tmp_path / "node"
    started = run("start", "--dir", str(directory), "--rabbitmq", rabbitmq_version, "-o", "json")
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads(started.stdout)
        assert info["state"] == "running" and not info["already_running"]
        assert info["rabbitmq"] == rabbitmq_version
        overview = requests.get(
            info["url"] + "/api/overview",
            auth=(info["user"], Path(info["password_file"]).read_text().strip()),
            timeout=10,
        )
        assert overview.json()["rabbitmq_version"].startswith(rabbitmq_version + ".")
        password = Path(info["password_file"]).read_text().strip()
        assert oct(Path(info["password_file"]).stat().st_mode & 0o777) == "0o600"
        response = requests.get(info["url"] + "/api/whoami", auth=(info["user"], password), timeout=10)
        whoami = response.json()  # 4.0 adds "is_internal_user": true
        assert (whoami["name"], whoami["tags"]) == ("rabbitadmin", ["administrator"])
        guest = requests.get(info["url"] + "/api/whoami", auth=("guest", "guest"), timeout=10)
        assert guest.status_code == 401
        assert password not in all_command_lines()

        again = run("start", "--dir", str(directory), "-o", "json")
        assert json.loads(again.stdout)["already_running"] is True
        assert json.loads(again.stdout)["pid"] == info["pid"]

        env = run("env", "--dir", str(directory))
        assert password not in env.stdout
        exported = subprocess.run(
            ["bash", "-c", env.stdout + '\nprintf %s "$RABBITADMIN_PASSWORD"'],
            capture_output=True,
            text=True,
            check=True,
        )
        assert exported.stdout == password
        assert f"RABBITADMIN_URL={info['url']}" in env.stdout
        # The ctl settings `env` prints reach the node, whatever its version (4.0: through its root).
        through_ctl = subprocess.run(
            ["bash", "-c", env.stdout + f"\n{sys.executable} -m rabbitadmin --backend ctl vhosts list -o json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert through_ctl.returncode == 0, through_ctl.stderr
        assert [v["name"] for v in json.loads(through_ctl.stdout)] == ["/"]

        # A crash: the process that started the node dies, the Erlang VM under it lives on.
        assert len(node_processes(info["nodename"])) > 1
        os.kill(info["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while run("status", "--dir", str(directory)).stdout.split()[0] != "crashed":
            assert time.monotonic() < deadline, "the killed node is still reported as running"
            time.sleep(0.2)
        assert run("status", "--dir", str(directory)).returncode == 1
    finally:
        stopped = run("stop", "--dir", str(directory))
    assert stopped.returncode == 0
    assert not directory.exists()
    assert run("status", "--dir", str(directory)).stdout.startswith("stopped")
    assert node_processes(info["nodename"]) == [], "stop kills everything the node started"
    assert mounts_under(str(directory)) == [] and mounts_under("trixie-rabbitmq") == []
    assert run("stop", "--dir", str(directory)).returncode == 0  # idempotent


def test_start_fails_clearly_when_the_server_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "sandbox", "start", "--dir", str(tmp_path / "n")],
        capture_output=True,
        text=True,
        env={**os.environ, "RABBITADMIN_RABBITMQ_BIN": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "RabbitMQ is not installed here" in result.stderr and "Traceback" not in result.stderr


def test_free_ports_are_outside_the_ephemeral_range_and_never_handed_out_twice() -> None:
    # A port from the ephemeral range can be taken by an outgoing connection's local end while a node
    # has its listeners closed (stop_app during a cluster join): that failed a join with eaddrinuse.
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(not low <= port <= high for port in ports)


def test_stop_keep_data_then_start_again_on_the_same_ports(tmp_path: Path, rabbitmq_version: str) -> None:
    directory = tmp_path / "node"
    started = run("start", "--dir", str(directory), "--rabbitmq", rabbitmq_version, "-o", "json")
    try:
        assert started.returncode == 0, started.stderr
        first = json.loads(started.stdout)
        assert run("stop", "--dir", str(directory), "--keep-data").returncode == 0
        status = run("status", "--dir", str(directory), "-o", "json")
        assert status.returncode == 1 and json.loads(status.stdout)["state"] == "stopped"
        again = run("start", "--dir", str(directory), "-o", "json")
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert (second["url"], second["amqp_port"], second["nodename"]) == (
            first["url"],
            first["amqp_port"],
            first["nodename"],
        )
        assert second["pid"] != first["pid"] and not second["already_running"]
    finally:
        run("stop", "--dir", str(directory))
    assert not directory.exists()


def test_a_node_whose_directory_was_removed_is_still_stopped_by_the_object_that_started_it(
    tmp_path: Path, rabbitmq_version: str
) -> None:
    # What pytest did to a session's node directories when newer sessions ran beside it: the nodes were left.
    from rabbitadmin.sandbox import Sandbox

    box = Sandbox(tmp_path / "node", rabbitmq=rabbitmq_version, management=False)
    info = box.start()
    try:
        assert node_processes(info.nodename)
        # Moved away rather than deleted: a running node keeps writing files, so `rm -rf` can fail with
        # "Directory not empty" (CI saw it); either way nothing is left at the path the Sandbox knows.
        (tmp_path / "node").rename(tmp_path / "elsewhere")
        assert not (tmp_path / "node").exists()
        assert box.stop() is True
        assert not node_processes(info.nodename)
    finally:
        box.stop()


def test_an_interrupted_start_leaves_no_node_running(tmp_path: Path, rabbitmq_version: str) -> None:
    """SIGTERM (a CI runner's cancel) or Ctrl-C while the node boots: exit 130, and the half-started node is
    stopped with it (it was left running, unmentioned)."""
    directory = tmp_path / "node"
    process = subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", "sandbox", "start", "--dir", str(directory), "--rabbitmq",
         rabbitmq_version],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    state = directory / "sandbox.json"
    deadline = time.monotonic() + 60
    while not state.exists():  # the node process is started: its state is written
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    nodename = json.loads(state.read_text())["nodename"]
    # Signalled once the VM has started erl_child_setup, which runs in a session of its own (as do the helpers
    # it starts): those were left behind when only the leader's process group was stopped.
    while not any(command(pid) == "erl_child_setup" for pid in node_processes(nodename)):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert node_processes(nodename) == []
    status = run("status", "--dir", str(directory))
    assert "running" not in status.stdout.replace("not running", "")
