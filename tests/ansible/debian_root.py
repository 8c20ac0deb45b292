"""A fresh Debian 12 root for bootstrap tests, reached through Ansible's ``community.general.chroot`` connection.

The pristine root (``debootstrap --variant=minbase --include=python3 bookworm``) is built once and cached in
``platformdirs.user_cache_dir("rabbitadmin")/roots/bookworm-minbase``; delete that directory to rebuild it.
Each test session works on a copy of it, prepared like a small server: ``/proc`` and a tmpfs on ``/dev/shm``
mounted, the host's ``/etc/hosts`` and ``/etc/resolv.conf`` copied in (the root shares the host's network),
and an ``usr/sbin/policy-rc.d`` that exits 101 so no package starts a service on its own. Everything mounted
and every process started in the copy is ended, and the copy removed, when the session ends, failed or not.
Needs root (chroot, mount) and ``debootstrap``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs

SUITE = "bookworm"
CACHE = Path(platformdirs.user_cache_dir("rabbitadmin")) / "roots" / f"{SUITE}-minbase"
MIRROR = os.environ.get("RABBITADMIN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBOOTSTRAP_TIMEOUT = 1800  # seconds; measured ~40 s to 2 min
LOCK_TIMEOUT = 2400  # seconds another session may hold the cache lock while it builds
COMPLETE = ".rabbitadmin-complete"  # written last: a root without it is a broken build


def _debootstrap() -> str:
    found = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    assert found, "debootstrap is not installed: bash scripts/setup.sh installs it (apt-get install debootstrap)"
    return found


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / f"{CACHE.name}.lock").open("w") as lock:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, f"another session has held {lock.name} for {LOCK_TIMEOUT} s"
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pristine_root() -> Path:
    """The cached pristine root, built first if missing (one session builds, others wait for it)."""
    with _cache_lock():
        if (CACHE / COMPLETE).exists():
            return CACHE
        building = CACHE.parent / f"{CACHE.name}.building"
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(CACHE, ignore_errors=True)
        result = subprocess.run(
            [_debootstrap(), "--variant=minbase", "--include=python3", SUITE, str(building), MIRROR],
            capture_output=True,
            text=True,
            timeout=DEBOOTSTRAP_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"debootstrap failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        (building / COMPLETE).write_text(f"debootstrap --variant=minbase --include=python3 {SUITE} {MIRROR}\n")
        building.rename(CACHE)
        return CACHE


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def processes_in(root: Path) -> list[int]:
    """Pids of the processes whose root directory is ``root`` or below (what chroot started there)."""
    prefix = str(root.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            proc_root = os.readlink(entry / "root")
        except OSError:
            continue
        if proc_root == prefix or proc_root.startswith(prefix + "/"):
            pids.append(int(entry.name))
    return pids


def _end_processes(root: Path, grace: float = 20.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_in(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while processes_in(root) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not processes_in(root):
            return


def _unmount_all(root: Path) -> None:
    for _ in range(3):
        for point in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", point], capture_output=True, timeout=60, check=False)
        if not _mounts_under(root):
            return
        time.sleep(1)
    for point in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=60, check=False)


def _prepare(root: Path, ca_bundle: Path | None) -> None:
    for name in ("hosts", "resolv.conf"):
        shutil.copyfile(Path("/etc") / name, root / "etc" / name)
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\n# No service starts on its own while packages install.\nexit 101\n")
    policy.chmod(0o755)
    if ca_bundle is not None:
        # The host's trust store, for pip inside the root when the network needs it (e.g. behind a TLS proxy).
        (root / "etc" / "ssl").mkdir(exist_ok=True)
        shutil.copyfile(ca_bundle, root / "etc" / "ssl" / "controller-ca.pem")
    (root / "dev" / "shm").mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True, timeout=60)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", str(root / "dev" / "shm")], check=True, timeout=60
    )


@contextlib.contextmanager
def fresh_root(dest: Path, ca_bundle: Path | None = None) -> Iterator[Path]:
    """A prepared copy of the pristine root at ``dest``; on exit ends its processes and mounts, removes it.

    ``ca_bundle``: a file copied to ``/etc/ssl/controller-ca.pem`` in the root. Raises ``AssertionError`` when
    the root cannot be built or copied; if a mount cannot be removed the copy is left in place (never delete
    through a mount) and the error says so.
    """
    pristine = pristine_root()
    subprocess.run(["cp", "-a", "--reflink=auto", str(pristine), str(dest)], check=True, timeout=600)
    try:
        _prepare(dest, ca_bundle)
        yield dest
    finally:
        _end_processes(dest)
        _unmount_all(dest)
        left = _mounts_under(dest)
        assert not left, f"could not unmount {left}: {dest} left in place"
        shutil.rmtree(dest, ignore_errors=True)
