"""A sandbox directory that cannot be created is a clear error (exit 1), never an OSError traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rabbitadmin.errors import ExitCode


@pytest.mark.parametrize("nodes", [[], ["--nodes", "3"]], ids=["one-node", "cluster"])
@pytest.mark.parametrize("kind", ["under-proc", "file-in-the-way"])
def test_an_unusable_sandbox_directory_is_a_clear_error(tmp_path: Path, kind: str, nodes: list[str]) -> None:
    if kind == "under-proc":
        directory = Path("/proc/no/such/sandbox")
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        directory = blocker / "sandbox"
    done = subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "sandbox", "start", "--dir", str(directory), *nodes],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == int(ExitCode.ERROR), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot ") and str(directory) in done.stderr
