"""Benchmark: ``rabbitadmin validate`` of a large topology file, wall time and peak memory (issue 19.4).

Run it by hand (not part of the test suite; it asserts nothing about timings)::

    .venv/bin/python benchmarks/bench_validate.py                        # 2,000,000 queues, about 48 MB
    .venv/bin/python benchmarks/bench_validate.py --queues 200000 --repeat 3
    .venv/bin/python benchmarks/bench_validate.py --baseline-src /tmp/old/src   # an older tree, same run

The file is one vhost whose queues are listed one per line (``- name: q.0000001``). Each figure is a
``rabbitadmin validate`` child process (start-up included); its peak memory is the child's max RSS from
``wait4``, and so is its CPU time (user + system: the figure to compare on a shared machine). With
``--baseline-src`` the same file is validated by another source tree (``PYTHONPATH``)
in alternation with this one, so both see the same load. See docs/benchmarks.md for the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed_bytecode import compile_package

TIME_TARGET_S = 20.0
RSS_TARGET_MB = 1500.0


def write_topology(path: Path, queues: int) -> int:
    """Write the file; return its size in bytes."""
    with path.open("w") as out:
        out.write("vhosts:\n  - name: big\n    queues:\n")
        for i in range(queues):
            out.write(f"      - name: q.{i:07d}\n")
    return path.stat().st_size


def validate(path: Path, src: str | None) -> tuple[float, float, float, int]:
    """One ``rabbitadmin validate`` child: (seconds, CPU seconds (user + system), max RSS in MB, exit code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    if src is not None:
        env["PYTHONPATH"] = src
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", "validate", str(path)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime  # what a shared machine's load does not inflate much, unlike wall time
    return time.perf_counter() - start, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--queues", type=int, default=2_000_000, help="queues in the file (default 2,000,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tree; figures are medians")
    parser.add_argument("--baseline-src", help="also validate with this source tree (a src/ directory)")
    args = parser.parse_args(argv)
    trees: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline_src:
        trees.append((f"baseline {args.baseline_src}", args.baseline_src))
    for _, src in trees:  # children start as an installed tool does, not compiling sources
        compile_package(None if src is None else Path(src))
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory(prefix="rabbitadmin-bench-validate-") as tmp:
        path = Path(tmp) / "big.yaml"
        size = write_topology(path, args.queues)
        load_start = os.getloadavg()
        for _ in range(args.repeat):
            for name, src in trees:  # alternated: both trees see the same load
                seconds, cpu, rss, code = validate(path, src)
                if code != 0:
                    raise SystemExit(f"{name}: validate exited {code}")
                samples[name].append((seconds, cpu, rss))
    print(
        f"{args.queues:,} queues, {size / 1e6:.1f} MB; {os.cpu_count()} cores, python {sys.version.split()[0]}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at the start "
        f"{' '.join(f'{x:.1f}' for x in load_start)}, at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for name, values in samples.items():
        seconds = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rss = max(v[2] for v in values)
        print(
            f"{name}: validate {seconds:.1f} s (target < {TIME_TARGET_S:.0f} s), CPU {cpu:.1f} s, "
            f"peak RSS {rss:.0f} MB (target < {RSS_TARGET_MB:.0f} MB); samples: "
            + ", ".join(f"{s:.1f} s / CPU {c:.1f} s / {m:.0f} MB" for s, c, m in values)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
