"""Root filesystems that carry another RabbitMQ than the host's, for ``sandbox start --rabbitmq 4.0``.

RabbitMQ 4.0.5 is Debian 13 (trixie)'s package. The host (Debian 12) carries 3.10.8, so a 4.0 node runs
from a minimal trixie root built once and cached::

    debootstrap --variant=minbase trixie ROOT MIRROR          # about 40 s, 214 MB
    chroot ROOT apt-get install --no-install-recommends rabbitmq-server   # about 22 s, 454 MB in all

in ``<user cache dir>/rabbitadmin/roots/trixie-rabbitmq`` (``platformdirs.user_cache_dir``; as root on
Debian ``/root/.cache/...``; ``RABBITADMIN_CACHE_DIR`` overrides the ``rabbitadmin`` part). An
``usr/sbin/policy-rc.d`` that exits 101 keeps the package from starting its own service.

Concurrency and atomicity: the build holds an exclusive lock file (``trixie-rabbitmq.lock``, waited for
with a timeout), happens in a temporary directory next to the cache entry and is renamed into place only
when complete, with a stamp file: a second process waits and then reuses the root; a build killed half-way
leaves only a temporary directory, removed by the next build.

Every command inside the root runs through :func:`in_root_script`: a private mount namespace
(``unshare --mount``) in which ``/proc``, a tmpfs on ``/dev/shm`` and bind mounts of the host paths the
node needs are mounted, then ``chroot``. The mounts exist only in that namespace: they vanish with its
last process, so nothing is left mounted on the host after a stop, a crash or a ``kill -9``.
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
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

from rabbitadmin.errors import SandboxError

STAMP = ".rabbitadmin-root"
LOCK_TIMEOUT = 1800.0  # seconds to wait for another process's build
STEP_TIMEOUT = 1800.0  # seconds for debootstrap, and again for apt-get
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class RootRecipe:
    """One cached root: its Debian suite and the packages installed in it."""

    name: str
    suite: str
    packages: tuple[str, ...]
    #: rabbitmq-server's version in that suite, for messages and docs.
    rabbitmq: str


RECIPES = {"4.0": RootRecipe("trixie-rabbitmq", "trixie", ("rabbitmq-server",), "4.0.5")}


def cache_dir() -> Path:
    """``RABBITADMIN_CACHE_DIR``, or platformdirs' user cache dir for ``rabbitadmin``."""
    override = os.environ.get("RABBITADMIN_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("rabbitadmin"))


def root_path(recipe: RootRecipe) -> Path:
    return cache_dir() / "roots" / recipe.name


def is_built(root: Path) -> bool:
    return (root / STAMP).is_file()


def ensure_root(recipe: RootRecipe, *, log: Path | None = None) -> Path:
    """The root for ``recipe``, built first if it is not cached yet. Raises ``SandboxError``.

    Safe when several processes call it at once (one builds, the others wait for the lock and reuse).
    """
    root = root_path(recipe)
    if is_built(root):
        return root
    _require_root_user()
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "building the RabbitMQ 4.0 root needs debootstrap: apt-get install debootstrap "
            "(scripts/setup.sh installs it)"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f"{recipe.name}.lock"):
        if is_built(root):
            return root  # another process built it while we waited
        for leftover in root.parent.glob(f".{recipe.name}.build-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a build that was killed half-way
        if root.exists():
            shutil.rmtree(root)  # no stamp: not a finished root
        building = root.parent / f".{recipe.name}.build-{os.getpid()}"
        log_path = log or root.parent / f"{recipe.name}.build.log"
        try:
            _build(recipe, building, log_path)
            os.rename(building, root)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return root


def _build(recipe: RootRecipe, target: Path, log_path: Path) -> None:
    mirror = os.environ.get("RABBITADMIN_DEBIAN_MIRROR", DEFAULT_MIRROR)
    with log_path.open("w") as log:
        _step(["debootstrap", "--variant=minbase", recipe.suite, str(target), mirror], log, log_path, "debootstrap")
        policy = target / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\n# rabbitadmin: packages must not start services in this root\nexit 101\n")
        policy.chmod(0o755)
        hosts = target / "etc" / "hosts"
        if not hosts.exists():
            hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        install = (
            'mount -t proc proc "$0/proc" && exec chroot "$0" env DEBIAN_FRONTEND=noninteractive '
            "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends " + " ".join(recipe.packages)
        )
        _step(["unshare", "--mount", "--", "sh", "-c", install, str(target)], log, log_path, "apt-get install")
        (target / STAMP).write_text(f"suite={recipe.suite}\npackages={' '.join(recipe.packages)}\n")


def _step(argv: list[str], log: IO[str], log_path: Path, what: str) -> None:
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        code = process.wait(STEP_TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        raise
    if code != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise SandboxError(f"building the RabbitMQ root failed at {what} (exit {code}); log {log_path}:\n{tail}")


@contextlib.contextmanager
def _locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waited for at most ``timeout`` seconds (released if we die)."""
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"another process has been building {path.stem} for over {timeout:.0f}s"
                    ) from None
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _require_root_user() -> None:
    if os.geteuid() != 0:
        raise SandboxError("a RabbitMQ 4.0 sandbox needs root (debootstrap, chroot and mount): run it as root")


# The script every command in the root goes through. $1: the root; $2: colon-separated host directories
# to show at the same path inside; then the command. The namespace's mounts die with its last process.
_IN_ROOT = r"""#!/bin/sh
# Written by rabbitadmin: runs a command inside the RabbitMQ root, in a private mount namespace.
# The host's PATH (virtualenvs, a user's bin) means nothing inside the root: use the system one.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
exec unshare --mount --propagation private -- /bin/sh -c '
set -e
root=$1; shared=$2; shift 2
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777,size=256m tmpfs "$root/dev/shm"
dirs="${TMPDIR:-/tmp}:$shared"
IFS=:
for dir in $dirs; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  mkdir -p "$root$dir"
  mount --bind "$dir" "$root$dir"
done
unset IFS
exec chroot "$root" "$@"
' in-root @ROOT@ @SHARED@ "$@"
"""


def in_root_script(root: Path, shared: list[Path]) -> str:
    """The text of an executable script running ``"$@"`` inside ``root`` (see the module docstring).

    ``shared``: host directories (the sandbox's, a TLS directory) mounted at the same path inside, with
    ``$TMPDIR`` or ``/tmp`` (private temporary files such as a copied Erlang cookie live there).
    """
    import shlex

    for path in (root, *shared):
        if ":" in str(path):
            raise SandboxError(f"a sandbox path cannot contain ':': {path}")
    return _IN_ROOT.replace("@ROOT@", shlex.quote(str(root))).replace(
        "@SHARED@", shlex.quote(":".join(str(p) for p in shared))
    )
