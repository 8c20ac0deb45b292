"""Benchmark: rabbitadmin apply against a 3-node cluster (through node 1) and against a single node, side by side.

Run it by hand (it is not part of the test suite and asserts nothing about timings)::

    .venv/bin/python benchmarks/bench_cluster.py                    # README topology and W(1000), medians of 3
    .venv/bin/python benchmarks/bench_cluster.py --rabbitmq 4.0 --n 0 --repeat 5

It starts a private single node and a private 3-node cluster of the same RabbitMQ version (both
``rabbitadmin.sandbox``), then for each workload and round applies it cold (``rabbitadmin apply --yes``,
a real child process, start-up included) to the single node and to the cluster in turn, plans it once
with no change (``plan --detailed-exitcode``), and removes what it created. Both servers are stopped at the
end, also on errors and Ctrl-C. Workloads: the README's ``topology.yaml`` and W(N) from bench_apply.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_apply import make_workload, write_yaml
from installed_bytecode import compile_package

from rabbitadmin.sandbox import Sandbox, SandboxInfo
from rabbitadmin.sandbox_cluster import SandboxCluster

REPO = Path(__file__).resolve().parents[1]
#: The README topology's myuser password (from the environment, as the README does), one for the whole run.
MYUSER_PASSWORD = secrets.token_urlsafe(12)


def env_for(info: SandboxInfo) -> dict[str, str]:
    return {
        **os.environ,
        "RABBITADMIN_URL": info.url,
        "RABBITADMIN_USER": info.user,
        "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
        "RABBITADMIN_AMQP_PORT": str(info.amqp_port),
        "MYUSER_PASSWORD": MYUSER_PASSWORD,
    }


def run(info: SandboxInfo, args: list[str], codes: tuple[int, ...] = (0,)) -> float:
    """Seconds a ``rabbitadmin`` child takes; raises when it exits outside ``codes``."""
    env = {k: v for k, v in env_for(info).items() if k != "RABBITADMIN_PASSWORD"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in codes:
        raise SystemExit(f"rabbitadmin {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed


def reset(info: SandboxInfo, topology: dict[str, Any]) -> None:
    """Delete the vhosts and users the topology creates (the administrator stays)."""
    auth = (info.user, info.password())
    for vhost in topology.get("vhosts", []):
        url = f"{info.url}/api/vhosts/{requests.utils.quote(vhost['name'], safe='')}"
        # Deleting a vhost of 1,000 queues can outlast the API's request timeout (the connection is closed
        # without an answer, the delete goes on): wait, bounded, until it is gone.
        with contextlib.suppress(requests.ConnectionError):
            requests.delete(url, auth=auth, timeout=600)
        deadline = time.monotonic() + 600
        while requests.get(url, auth=auth, timeout=60).status_code != 404:
            if time.monotonic() > deadline:
                raise SystemExit(f"vhost {vhost['name']} still there after 600 s")
            time.sleep(1)
    for user in topology.get("users", []):
        if user.get("state") != "absent" and user["name"] != info.user:
            name = requests.utils.quote(user["name"], safe="")
            requests.delete(f"{info.url}/api/users/{name}", auth=auth, timeout=60)


def machine() -> str:
    """The machine in one line: CPU model, cores, memory, Python (the figures mean little without it)."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    return f"{model}, {os.cpu_count()} cores{memory}, Python {sys.version.split()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rabbitmq", default="3.10", choices=("3.10", "4.0"))
    parser.add_argument("--n", type=int, default=1000, help="W(N) as well as the README topology (0: README only)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    compile_package()  # children start as an installed tool does, not compiling sources
    samples: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="rabbitadmin-bench-cluster-") as tmp:
        workdir = Path(tmp)
        files = {"README topology.yaml": workdir / "topology.yaml"}
        shutil.copy(REPO / "topology.yaml", files["README topology.yaml"])
        if args.n:
            files[f"W({args.n})"] = workdir / "w.yaml"
            write_yaml(make_workload(args.n), files[f"W({args.n})"])
        single = Sandbox(workdir / "single", rabbitmq=args.rabbitmq)
        cluster = SandboxCluster(workdir / "cluster", nodes=3, rabbitmq=args.rabbitmq)
        try:
            servers = {"single node": single.start(), "3-node cluster": cluster.start()[0]}
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            for round_no in range(args.repeat):
                print(f"round {round_no + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
                for workload, path in files.items():
                    topology = yaml.safe_load(path.read_text())
                    for server, info in servers.items():
                        cold = run(info, ["apply", str(path), "--yes"])
                        plan = run(info, ["plan", str(path), "--detailed-exitcode"])
                        samples.setdefault((workload, server, "cold apply"), []).append(cold)
                        samples.setdefault((workload, server, "no-change plan"), []).append(plan)
                        # Each figure as it comes: a long run that fails later still leaves its figures.
                        print(f"  {workload}, {server}: cold apply {cold:.2f} s, no-change plan {plan:.2f} s",
                              file=sys.stderr, flush=True)  # fmt: skip
                        if round_no + 1 < args.repeat:  # the servers are stopped after the last round
                            reset(info, topology)
        finally:
            single.stop()
            cluster.stop()
    print(f"RabbitMQ {args.rabbitmq}, medians of {args.repeat}, load average at the start {load}")
    print(f"machine: {machine()}")
    print(f"{'workload':22} {'figure':16} {'single node':>12} {'3-node cluster':>15} {'ratio':>6}")
    for workload in files:
        for figure in ("cold apply", "no-change plan"):
            one = statistics.median(samples[(workload, "single node", figure)])
            three = statistics.median(samples[(workload, "3-node cluster", figure)])
            print(f"{workload:22} {figure:16} {one:11.2f}s {three:14.2f}s {three / one:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
