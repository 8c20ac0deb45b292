"""Benchmark: rabbitadmin apply/plan against the server's own definitions import, on a private node.

Run it by hand (it is not part of the test suite and asserts nothing about timings)::

    .venv/bin/python benchmarks/bench_apply.py --n 10000            # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_apply.py --n 1000 --repeat 3  # a quick run, medians of 3

Workload W(N): one vhost, N/10 exchanges, N durable queues, N bindings, N/100 users with a permission
each. The same workload is written twice: as a topology YAML for rabbitadmin and as a definitions JSON
for the server's own import. Every rabbitadmin figure is a real ``rabbitadmin`` process (start-up
included); its peak memory is the child's max RSS reported by ``wait4``. Results go to stdout as a table,
and with ``--json FILE`` as data. See docs/benchmarks.md for the figures measured and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml
from installed_bytecode import compile_package

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import AnswerLost
from rabbitadmin.model import Secret
from rabbitadmin.passwords import DEFAULT_ALGORITHM, hash_password
from rabbitadmin.sandbox import DEFAULT_VERSION, VERSIONS, Sandbox, SandboxInfo

VHOST = "bench"
T = TypeVar("T")
USER_PREFIX = "bench-user-"
# Targets from issue 19 (issue 2's were 1.1x, 1.5x and 200 MB).
COLD_APPLY_TARGET = 0.9  # x the server's bulk import
NO_CHANGE_PLAN_TARGET = 1.2  # x one GET /api/definitions/{vhost}
PRUNE_PLAN_TARGET = 2.0  # x the no-change plan of the same server state
CTL_COLD_APPLY_TARGET = 1.3  # x the HTTP backend's cold apply
PEAK_RSS_TARGET_MB = 120.0
PRUNE_PLAN = "rabbitadmin plan --prune ({n} empty queues to delete)"
PRUNE_BASELINE = "rabbitadmin plan, no change (same state, {n} unlisted queues)"
NEXT_TO_PLAN_GET = "GET /api/definitions/{vhost}, next to the settled plan"
NEXT_TO_FRESH_PLAN_GET = "GET /api/definitions/{vhost}, right after the plan right after apply"


# -- the workload ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """W(N) as plain data; ``variant`` applies the 1% change (see ``changed``)."""

    n: int
    exchanges: list[dict[str, Any]]
    queues: list[dict[str, Any]]
    bindings: list[dict[str, Any]]
    users: list[dict[str, Any]]
    permissions: list[dict[str, Any]]

    @property
    def objects(self) -> int:
        parts = (self.exchanges, self.queues, self.bindings, self.users, self.permissions)
        return 1 + sum(len(part) for part in parts)

    def topology(self) -> dict[str, Any]:
        """The topology YAML document rabbitadmin reads."""
        return {
            "vhosts": [
                {
                    "name": VHOST,
                    "exchanges": self.exchanges,
                    "queues": self.queues,
                    "bindings": self.bindings,
                }
            ],
            "users": self.users,
            "permissions": self.permissions,
        }

    def definitions(self) -> dict[str, Any]:
        """The same objects as a server definitions document (what ``POST /api/definitions`` takes)."""
        return {
            "vhosts": [{"name": VHOST}],
            "users": [
                {
                    "name": u["name"],
                    "password_hash": u["password_hash"],
                    "hashing_algorithm": u["hashing_algorithm"],
                    "tags": ",".join(u["tags"]),
                }
                for u in self.users
            ],
            "permissions": self.permissions,
            "exchanges": [
                {"vhost": VHOST, "durable": True, "auto_delete": False, "internal": False, "arguments": {}, **e}
                for e in self.exchanges
            ],
            "queues": [
                {"vhost": VHOST, "durable": True, "auto_delete": False, "arguments": {}, **q} for q in self.queues
            ],
            "bindings": [{"vhost": VHOST, "destination_type": "queue", "arguments": {}, **b} for b in self.bindings],
        }


def make_workload(n: int) -> Workload:
    """W(N): N/10 exchanges (direct and topic), N queues each bound once, N/100 users with permissions."""
    n_exchanges = max(1, n // 10)
    n_users = max(1, n // 100)
    exchanges = [{"name": f"ex.{i:06d}", "type": "topic" if i % 2 else "direct"} for i in range(n_exchanges)]
    queues = [{"name": f"q.{i:06d}", "durable": True} for i in range(n)]
    bindings = [
        {"source": f"ex.{i % n_exchanges:06d}", "destination": f"q.{i:06d}", "routing_key": f"rk.{i}"} for i in range(n)
    ]
    # Fixed salt: the benchmark's hashes (of throwaway passwords) are reproducible from run to run.
    users = [
        {
            "name": f"{USER_PREFIX}{i:05d}",
            "tags": ["management"] if i % 2 else [],
            "password_hash": hash_password(f"bench-{i}", DEFAULT_ALGORITHM, salt=i.to_bytes(4, "big")),
            "hashing_algorithm": DEFAULT_ALGORITHM,
        }
        for i in range(n_users)
    ]
    permissions = [{"user": u["name"], "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"} for u in users]
    return Workload(n, exchanges, queues, bindings, users, permissions)


def changed(base: Workload) -> tuple[Workload, int]:
    """About 1% of W(N) changed: new queues with bindings, replaced queues, updated permissions.

    Returns the new workload and the number of objects touched (a replaced queue counts its binding too).
    """
    n = base.n
    step = max(1, n // 100)
    queues = [dict(q) for q in base.queues]
    replaced = 0
    for i in range(0, n, 2 * step):  # ~0.5% of queues get an argument: immutable, so delete and re-create
        queues[i]["arguments"] = {"x-max-length": 1000}
        replaced += 1
    n_new = max(1, n // 200)
    n_exchanges = len(base.exchanges)
    queues += [{"name": f"q.new.{i:06d}", "durable": True} for i in range(n_new)]
    bindings = base.bindings + [
        {"source": f"ex.{i % n_exchanges:06d}", "destination": f"q.new.{i:06d}", "routing_key": f"new.{i}"}
        for i in range(n_new)
    ]
    permissions = [dict(p) for p in base.permissions]
    n_perm = max(1, len(permissions) // 10)
    for p in permissions[:n_perm]:
        p["read"] = "^q\\."
    touched = 2 * replaced + 2 * n_new + n_perm
    return Workload(n, base.exchanges, queues, bindings, base.users, permissions), touched


def prune_extra(n: int) -> dict[str, Any]:
    """``n`` empty durable queues the topology does not list, as a definitions document (for the import)."""
    queues = [
        {"name": f"prune.{i:06d}", "vhost": VHOST, "durable": True, "auto_delete": False, "arguments": {}}
        for i in range(n)
    ]
    return {"queues": queues}


def write_yaml(workload: Workload, path: Path) -> None:
    """Write the topology YAML (the C emitter when PyYAML has it: W(10000) is 2 MB)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(workload.topology(), Dumper=dumper, sort_keys=False, default_flow_style=None))


# -- measuring -------------------------------------------------------------------------------------------
@dataclass
class ChildRun:
    """One ``rabbitadmin`` process: wall time, exit code, peak RSS and the tail of its output."""

    seconds: float
    code: int
    max_rss_mb: float
    output_tail: str


@dataclass
class Results:
    """Every sample by metric name (seconds unless the name says otherwise)."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(value)

    def median(self, name: str) -> float | None:
        values = self.samples.get(name)
        return statistics.median(values) if values else None


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


class Bench:
    """Drives one private node: resets, the server's own import and rabbitadmin child processes."""

    def __init__(self, box: Sandbox, info: SandboxInfo, workdir: Path, profile_dir: Path | None) -> None:
        self.box = box
        self.info = info
        self.workdir = workdir
        self.profile_dir = profile_dir
        settings = ConnectionSettings(
            url=info.url, user=info.user, password=Secret(info.password()), amqp_port=info.amqp_port, timeout=600
        )
        self.client = HttpClient(settings)
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
        self.http_env = {
            **self.base_env,
            "RABBITADMIN_URL": info.url,
            "RABBITADMIN_USER": info.user,
            "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
            "RABBITADMIN_AMQP_PORT": str(info.amqp_port),
        }
        # The ctl backend runs rabbitmqctl against the node as `sandbox env` sets it: a 4.0 node's rabbitmqctl
        # runs in the node's root, through a prefix.
        self.ctl_env = {**box.server_env(info), "RABBITADMIN_BACKEND": "ctl", **box.ctl_environment()}

    def reset(self, users: list[dict[str, Any]]) -> float:
        """Delete the vhost and the workload's users; return the seconds the vhost delete took."""
        with stopwatch() as t:
            delete_vhost(self.client, VHOST)
        # One DELETE per user (bulk-delete refuses the whole list if one user is missing); 404 is fine.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda u: self.client.delete(api_path("users", u["name"])), users))
        return t[0]

    def bulk_import(self, workload: Workload) -> float:
        body = workload.definitions()
        with stopwatch() as t:
            self.client.post(api_path("definitions"), body)
        return t[0]

    def definitions_get(self) -> tuple[float, int]:
        with stopwatch() as t:
            response = self.client.request("GET", api_path("definitions", VHOST))
        return t[0], len(response.content)

    def rabbitadmin(self, label: str, args: list[str], env: dict[str, str]) -> ChildRun:
        """Run ``rabbitadmin ARGS`` as a child; time it from fork to exit and read its peak RSS."""
        command = [sys.executable, "-m", "rabbitadmin", *args]
        if self.profile_dir is not None:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            prof = self.profile_dir / f"{label}.prof"
            command = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "rabbitadmin", *args]
        out_path = self.workdir / f"{label}.out"
        with out_path.open("wb") as out:
            start = time.perf_counter()
            child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children so far).
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        tail = "\n".join(out_path.read_text(errors="replace").splitlines()[-6:])
        return ChildRun(seconds, child.returncode, usage.ru_maxrss / 1024, tail)


def delete_vhost(client: HttpClient, vhost: str, timeout: float = 600.0) -> None:
    """Delete ``vhost`` and return once it is gone (a 404 is fine).

    A loaded server may reset the connection before it answers a long delete (a vhost of 10,000 queues),
    and the delete may then stop part-way (seen on 3.10.8: the vhost was still there ten minutes later):
    the delete is sent again (a 404 is fine) until the vhost is gone, up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.delete(api_path("vhosts", vhost))
            return
        except AnswerLost:
            if client.get_or_none(api_path("vhosts", vhost)) is None:
                return
            if time.monotonic() > deadline:
                raise


def expect(run: ChildRun, codes: tuple[int, ...], what: str) -> None:
    """Stop the benchmark if a child failed: a figure of a failed run means nothing."""
    if run.code not in codes:
        raise SystemExit(f"{what} exited {run.code} (expected {codes}):\n{run.output_tail}")


def wait_for_stats(client: HttpClient, timeout: float = 30.0) -> float:
    """Wait until every queue of the vhost has statistics (new queues have none for a few seconds)."""
    with stopwatch() as t:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queues = client.get(api_path("queues", VHOST), {"columns": "name,messages"})
            if all(q.get("messages") is not None for q in queues):
                break
            time.sleep(1)
    return t[0]


def count_unsettled(client: HttpClient) -> int:
    queues = client.get(api_path("queues", VHOST), {"columns": "name,messages"})
    return sum(1 for q in queues if q.get("messages") is None)


# -- the run ---------------------------------------------------------------------------------------------
def measure(
    bench: Bench,
    results: Results,
    label: str,
    args: list[str],
    *,
    metric: str | None,
    rss: str | None,
    ctl: bool = False,
) -> None:
    """Run one rabbitadmin child (it must exit 0) and record its time under ``metric``, its peak RSS under ``rss``."""
    run = bench.rabbitadmin(label, args, bench.ctl_env if ctl else bench.http_env)
    expect(run, (0,), label)
    if metric:
        results.add(metric, run.seconds)
    if rss:
        results.add(f"peak RSS MB: {rss}", run.max_rss_mb)


def one_round(bench: Bench, base: Workload, files: dict[str, Path], results: Results, ctl: bool, prune: int) -> None:
    """One round of every measurement; each starts from the state it needs."""
    touched = changed(base)[1]
    users = base.users  # the change adds no users
    topology, changed_topology = str(files["base"]), str(files["changed"])
    no_change_plan = ["plan", "--detailed-exitcode", topology]  # exit 6 (changes pending) would stop the run

    results.add("vhost delete (empty server state)", bench.reset(users))

    # 1. The server's own bulk import, then reads of the loaded vhost.
    results.add("server bulk import", bench.bulk_import(base))
    wait_for_stats(bench.client)  # read a settled server, as the settled plan below does
    gets = [bench.definitions_get() for _ in range(3)]
    results.add("GET /api/definitions/{vhost}", statistics.median(g[0] for g in gets))
    results.add("definitions size MB", gets[0][1] / 1e6)
    results.add("vhost delete (loaded)", bench.reset(users))

    # 2. rabbitadmin plan, then apply, on an empty vhost (the plan prints every object as a create: its memory).
    cold_plan = "rabbitadmin plan (cold: all creates)"
    measure(bench, results, "cold-plan", ["plan", topology], metric=cold_plan, rss="cold plan")
    measure(
        bench, results, "cold-apply", ["apply", "--yes", topology], metric="rabbitadmin apply (cold)", rss="cold apply"
    )

    # 3. No-change plan: right after the apply (new queues may lack statistics), then once settled.
    results.add("queues without stats right after apply", float(count_unsettled(bench.client)))
    measure(
        bench,
        results,
        "plan-fresh",
        no_change_plan,
        metric="rabbitadmin plan, no change (right after apply)",
        rss="no-change plan",
    )
    # One GET right after that plan, on the server about as busy as that plan found it (the issue's "measured
    # next to it"; the GET of the round's start was taken on a settled server, before the apply).
    results.add(NEXT_TO_FRESH_PLAN_GET, bench.definitions_get()[0])
    wait_for_stats(bench.client)
    measure(
        bench,
        results,
        "plan-settled",
        no_change_plan,
        metric="rabbitadmin plan, no change (stats settled)",
        rss="no-change plan",
    )
    # The same GET again, on the node as the settled plan found it: the server's speed drifts between the
    # start of a round and this point (1.3 s in one run, 2.0 s in another), so compare like with like.
    results.add(NEXT_TO_PLAN_GET, statistics.median(bench.definitions_get()[0] for _ in range(3)))

    # 3b. plan --prune of N empty queues the file does not list, next to the no-change plan of that state.
    if prune > 0:
        bench.client.post(api_path("definitions"), prune_extra(prune))
        wait_for_stats(bench.client)
        plan = ["plan", topology]
        measure(bench, results, "plan-unlisted", plan, metric=PRUNE_BASELINE.format(n=prune), rss="no-change plan")
        measure(bench, results, "plan-prune", [*plan, "--prune"], metric=PRUNE_PLAN.format(n=prune), rss="prune plan")
        measure(
            bench,
            results,
            "apply-prune",
            ["apply", "--yes", "--prune", topology],
            metric=f"rabbitadmin apply --prune (deletes {prune} empty queues)",
            rss="prune apply",
        )

    # 4. The 1% change, then a check that it left nothing to do.
    measure(
        bench,
        results,
        "change-apply",
        ["apply", "--yes", changed_topology],
        metric=f"rabbitadmin apply, 1% change ({touched} objects)",
        rss="1% change apply",
    )
    measure(
        bench, results, "plan-after-change", ["plan", "--detailed-exitcode", changed_topology], metric=None, rss=None
    )

    # 5. Process start-up and file loading alone, to separate them from the work.
    measure(bench, results, "version", ["--version"], metric="rabbitadmin --version (start-up only)", rss=None)
    measure(
        bench,
        results,
        "validate",
        ["validate", topology],
        metric="rabbitadmin validate (start-up + load)",
        rss="validate",
    )

    if ctl:
        results.add("vhost delete (loaded)", bench.reset(users))
        measure(
            bench,
            results,
            "ctl-cold-apply",
            ["apply", "--yes", topology],
            metric="ctl: rabbitadmin apply (cold)",
            rss="ctl cold apply",
            ctl=True,
        )
        measure(
            bench,
            results,
            "ctl-plan",
            no_change_plan,
            metric="ctl: rabbitadmin plan, no change",
            rss="ctl no-change plan",
            ctl=True,
        )
    results.add("vhost delete (loaded)", bench.reset(users))


def breakdown(bench: Bench, base: Workload, files: dict[str, Path], results: Results) -> None:
    """In-process timings of the no-change plan's parts, to show where its time goes (one sample)."""
    from rabbitadmin.backends.http.backend import HttpBackend
    from rabbitadmin.backends.http.paths import BINDING_COLUMNS, EXCHANGE_COLUMNS, QUEUE_COLUMNS, QUEUE_DEPTH_PARAMS
    from rabbitadmin.engine.diff import compute_plan
    from rabbitadmin.gc_pause import collector_paused
    from rabbitadmin.loader import parse_document
    from rabbitadmin.model import Topology
    from rabbitadmin.render import make_console, render_plan
    from rabbitadmin.validate import validate_document

    bench.bulk_import(base)
    wait_for_stats(bench.client)
    text = files["base"].read_text()
    timed(results, "part: YAML parse only, PyYAML SafeLoader (pure Python)", lambda: yaml.load(text, yaml.SafeLoader))
    if hasattr(yaml, "CSafeLoader"):
        timed(results, "part: YAML parse only, PyYAML CSafeLoader (libyaml)", lambda: yaml.load(text, yaml.CSafeLoader))
    timed(results, "part: loader.parse_document, collector running", lambda: parse_document(text, "w.yaml"))
    with collector_paused():  # as load_topology runs them
        document = timed(results, "part: loader.parse_document (as loaded)", lambda: parse_document(text, "w.yaml"))
        desired = timed(
            results,
            "part: validate_document (as loaded)",
            lambda: validate_document(document, "w.yaml", base_dir=bench.workdir),
        )
    listings: list[tuple[str, str, dict[str, str] | None]] = [
        (
            "queues, as a plan reads them",
            api_path("queues", VHOST),
            {"columns": QUEUE_COLUMNS, "disable_stats": "true"},
        ),
        ("queues with the statistics join", api_path("queues", VHOST), {"columns": f"{QUEUE_COLUMNS},messages"}),
        ("queue depths (only for destroyed queues)", api_path("queues", VHOST), QUEUE_DEPTH_PARAMS),
        ("bindings, as a plan reads them", api_path("bindings", VHOST), {"columns": BINDING_COLUMNS}),
        (
            "bindings with handles (only to delete)",
            api_path("bindings", VHOST),
            {"columns": f"{BINDING_COLUMNS},properties_key"},
        ),
        ("exchanges", api_path("exchanges", VHOST), {"columns": EXCHANGE_COLUMNS}),
        ("users", api_path("users"), None),
        ("permissions", api_path("permissions"), None),
    ]
    for name, path, params in listings:
        rows = timed(results, f"part: GET {name} (alone)", partial(bench.client.get, path, params))
        counted = sum(1 for row in rows if row.get("messages") is not None)
        results.notes.append(
            f"GET {name}: {len(rows)} rows" + (f", {counted} with messages" if "queues" in name else "")
        )
    backend = HttpBackend(bench.client.settings)
    try:
        actual = timed(results, "part: read_state (parallel listings + parsing)", lambda: backend.read_state([VHOST]))
        plan = timed(
            results,
            "part: compute_plan (the pure diff)",
            lambda: compute_plan(desired, actual, prune=False, protected_user=bench.info.user),
        )
        results.notes.append(f"breakdown: plan {plan.summary()}; objects read from the server: {actual_size(actual)}")
        # The cold apply prints one line per object: time that rendering, to a file as in the runs above.
        cold = compute_plan(desired, Topology(), prune=False, protected_user=bench.info.user)
        with (bench.workdir / "render.out").open("w") as sink:
            timed(
                results,
                f"part: render_plan of the cold plan ({len(cold.changes)} changes)",
                lambda: render_plan(cold, make_console(sink)),
            )
    finally:
        backend.close()
    bench.reset(base.users)


def timed(results: Results, name: str, work: Callable[[], T]) -> T:
    """Run ``work`` once, record its wall time under ``name`` and return its result."""
    with stopwatch() as t:
        value = work()
    results.add(name, t[0])
    return value


def actual_size(topology: Any) -> int:
    kinds = ("vhosts", "users", "permissions", "topic_permissions", "exchanges", "queues", "bindings")
    return sum(len(getattr(topology, kind)) for kind in kinds)


def ctl_available() -> bool:
    try:
        import rabbitadmin.backends.ctl.backend  # noqa: F401
    except ImportError:
        return False
    return True


# -- report ----------------------------------------------------------------------------------------------
def ratio_line(results: Results, name: str, numerator: str, denominator: str, target: float) -> str:
    top, bottom = results.median(numerator), results.median(denominator)
    if top is None or bottom is None or bottom == 0:
        return f"{name}: not measured"
    ratio = top / bottom
    verdict = "met" if ratio <= target else "MISSED"
    return f"{name}: {top:.2f} s / {bottom:.2f} s = {ratio:.2f}x (target <= {target}x): {verdict}"


def report(results: Results, workload: Workload, repeat: int) -> str:
    lines = [
        f"W({workload.n}): 1 vhost, {len(workload.exchanges)} exchanges, {len(workload.queues)} queues, "
        f"{len(workload.bindings)} bindings, {len(workload.users)} users + permissions = {workload.objects} objects",
        f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; medians of {repeat}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at the end "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the cores)",
        "",
    ]
    width = max((len(name) for name in results.samples), default=0)
    for name, values in results.samples.items():
        unit = "" if "MB" in name or name.startswith("queues without") else " s"
        spread = f"  (samples: {', '.join(f'{v:.2f}' for v in values)})" if len(values) > 1 else ""
        lines.append(f"{name:<{width}}  {statistics.median(values):9.2f}{unit}{spread}")
    lines.append("")
    lines.append(
        ratio_line(
            results, "cold apply vs bulk import", "rabbitadmin apply (cold)", "server bulk import", COLD_APPLY_TARGET
        )
    )
    comparisons = [
        ("right after apply", "GET /api/definitions/{vhost}"),
        ("right after apply", NEXT_TO_FRESH_PLAN_GET),
        ("stats settled", "GET /api/definitions/{vhost}"),
        ("stats settled", NEXT_TO_PLAN_GET),
    ]
    for variant, get in comparisons:
        lines.append(
            ratio_line(
                results,
                f"no-change plan ({variant}) vs {get}",
                f"rabbitadmin plan, no change ({variant})",
                get,
                NO_CHANGE_PLAN_TARGET,
            )
        )
    prune_metric = next((k for k in results.samples if k.startswith("rabbitadmin plan --prune")), None)
    if prune_metric is not None:
        n = prune_metric.split("(")[1].split()[0]
        lines.append(
            ratio_line(
                results,
                "plan --prune vs the no-change plan",
                prune_metric,
                PRUNE_BASELINE.format(n=n),
                PRUNE_PLAN_TARGET,
            )
        )
    lines.append(
        ratio_line(
            results,
            "ctl cold apply vs HTTP cold apply",
            "ctl: rabbitadmin apply (cold)",
            "rabbitadmin apply (cold)",
            CTL_COLD_APPLY_TARGET,
        )
    )
    peaks = [max(v) for k, v in results.samples.items() if k.startswith("peak RSS MB")]
    if peaks:
        peak = max(peaks)
        verdict = "met" if peak < PEAK_RSS_TARGET_MB else "MISSED"
        lines.append(
            f"peak memory of a rabbitadmin process: {peak:.0f} MB (target < {PEAK_RSS_TARGET_MB:.0f} MB): {verdict}"
        )
    lines += results.notes
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, start a private node, run every measurement, print the report, stop the node."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10000, help="queues in W(N) (default 10000)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds; figures are medians (default 1; 0: the breakdown only)"
    )
    parser.add_argument(
        "--prune", type=int, default=3000, help="empty unlisted queues for the plan --prune figure (0: skip)"
    )
    parser.add_argument("--no-ctl", action="store_true", help="skip the rabbitmqctl backend runs")
    parser.add_argument("--rabbitmq", choices=VERSIONS, default=DEFAULT_VERSION, help="the node's RabbitMQ version")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process breakdown")
    parser.add_argument("--profile", type=Path, help="run each rabbitadmin child under cProfile into DIR")
    parser.add_argument("--json", type=Path, help="also write the samples to this file")
    args = parser.parse_args(argv)

    compile_package()  # children start as an installed tool does, not compiling sources
    base = make_workload(args.n)
    with tempfile.TemporaryDirectory(prefix="rabbitadmin-bench-") as tmp:
        workdir = Path(tmp)
        files = {"base": workdir / "w.yaml", "changed": workdir / "w-changed.yaml"}
        write_yaml(base, files["base"])
        write_yaml(changed(base)[0], files["changed"])
        box = Sandbox(workdir / "node", rabbitmq=args.rabbitmq)
        results = Results()
        try:
            info = box.start()
            bench = Bench(box, info, workdir, args.profile)
            ctl = ctl_available() and not args.no_ctl
            results.notes.append("load average at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
            results.notes.append(f"RabbitMQ {args.rabbitmq} (sandbox node)")
            try:
                for round_no in range(args.repeat):
                    print(f"round {round_no + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
                    one_round(bench, base, files, results, ctl, args.prune)
                if not args.no_breakdown:
                    breakdown(bench, base, files, results)
            finally:  # what was measured before a failure is still worth printing
                print(report(results, base, args.repeat), flush=True)
            bench.client.close()
        finally:
            box.stop()
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "repeat": args.repeat, "samples": results.samples}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
