"""The cached root's build: one builder at a time (a lock file), atomic (temporary directory, then rename),
and a build killed half-way leaves nothing that passes for a root. The real debootstrap is exercised by
every 4.0 sandbox the suite starts; here the build step is replaced to count and to fail on purpose."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rabbitadmin import server_root
from rabbitadmin.errors import SandboxError
from rabbitadmin.server_root import RootRecipe, ensure_root, in_root_script, root_path

RECIPE = RootRecipe("test-root", "trixie", ("rabbitmq-server",), "4.0.5")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RABBITADMIN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(server_root, "_require_root_user", lambda: None)
    monkeypatch.setattr(server_root.shutil, "which", lambda name: f"/usr/sbin/{name}")
    return tmp_path


def test_concurrent_callers_build_once_and_share_the_root(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []

    def slow_build(recipe: RootRecipe, target: Path, log: Path) -> None:
        builds.append(target)
        target.mkdir()
        time.sleep(0.5)  # long enough for the other callers to arrive and wait on the lock
        assert not root_path(recipe).exists(), "the root appears only once it is complete"
        (target / server_root.STAMP).write_text("done\n")

    monkeypatch.setattr(server_root, "_build", slow_build)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_root(RECIPE))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(builds) == 1 and len(results) == 3
    assert set(results) == {cache / "roots" / "test-root"} and (results[0] / server_root.STAMP).is_file()
    assert [p.name for p in (cache / "roots").iterdir() if p.name.startswith(".")] == []


def test_a_failed_build_leaves_no_root_and_the_next_one_starts_clean(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_build(recipe: RootRecipe, target: Path, log: Path) -> None:
        target.mkdir()
        (target / "half").write_text("")
        raise SandboxError("debootstrap failed")

    monkeypatch.setattr(server_root, "_build", failing_build)
    with pytest.raises(SandboxError, match="debootstrap failed"):
        ensure_root(RECIPE)
    assert not root_path(RECIPE).exists()
    # A build killed with SIGKILL cannot clean up: its temporary directory is removed by the next build.
    leftover = cache / "roots" / ".test-root.build-99999"
    leftover.mkdir()
    monkeypatch.setattr(server_root, "_build", lambda r, t, log: (t.mkdir(), (t / server_root.STAMP).write_text("")))
    assert ensure_root(RECIPE) == root_path(RECIPE)
    assert not leftover.exists()


def test_the_lock_wait_has_a_timeout(cache: Path) -> None:
    lock = cache / "held.lock"
    with server_root._locked(lock), pytest.raises(SandboxError, match="building"):  # noqa: SIM117
        with server_root._locked(lock, timeout=1.5):
            pass


def test_in_root_script_quotes_paths_and_refuses_colons(tmp_path: Path) -> None:
    script = in_root_script(Path("/cache/roots/trixie rabbitmq"), [Path("/tmp/a b")])
    assert "'/cache/roots/trixie rabbitmq' '/tmp/a b'" in script and "unshare --mount" in script
    with pytest.raises(SandboxError, match="':'"):
        in_root_script(Path("/x"), [Path("/tmp/a:b")])
