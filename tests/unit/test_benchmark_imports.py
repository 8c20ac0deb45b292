"""The benchmarks import the package's internals (a breakdown times each part alone). Nothing else runs them
before a bench, so a renamed or moved name broke ``bench_apply.py`` only at its end, after minutes of
measuring (QUEUE_DEPTH_PARAMS, moved to ``backends.http.paths``). Every ``from rabbitadmin... import`` in
``benchmarks/`` must name something that exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(module, name, line) for each ``from rabbitadmin... import name`` in ``path``, functions' included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rabbitadmin":
            found.extend((node.module, alias.name, node.lineno) for alias in node.names)
    return found


SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def test_the_benchmarks_are_found() -> None:
    assert any(_imports(path) for path in SCRIPTS), "no benchmark imports rabbitadmin: the test would prove nothing"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_name_a_benchmark_imports_exists(script: Path) -> None:
    missing = []
    for module_name, name, line in _imports(script):
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            continue
        try:  # ``from package import submodule``
            importlib.import_module(f"{module_name}.{name}")
        except ModuleNotFoundError:
            missing.append(f"{script.name}:{line}: {module_name}.{name}")
    assert not missing, "benchmark imports that no longer exist: " + ", ".join(missing)
