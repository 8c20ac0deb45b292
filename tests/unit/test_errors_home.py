"""Exceptions live in errors.py, and exit codes only in its ``ExitCode`` enum (issue 13.5)."""

from __future__ import annotations

import ast
from pathlib import Path

import rabbitadmin

SRC = Path(rabbitadmin.__file__).parent
#: Private control-flow exceptions that never leave their module (caught where they are raised).
PRIVATE = {
    ("backends/http/client.py", "_Transient"),
    ("backends/http/client.py", "_NodeDown"),
    ("backends/http/client.py", "_TooSlow"),
    ("loader.py", "_NeedsNodes"),
}
ERROR_BASES = {"Exception", "ValueError", "RabbitAdminError", "UsageError", "ConnectionFailed", "Refused"}


def modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(SRC)), ast.parse(path.read_text())) for path in sorted(SRC.rglob("*.py"))]


def test_every_exception_class_is_defined_in_errors_py() -> None:
    strays = []
    for name, tree in modules():
        if name == "errors.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (name, node.name) not in PRIVATE:
                bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
                bases |= {base.attr for base in node.bases if isinstance(base, ast.Attribute)}
                if bases & ERROR_BASES or node.name.endswith("Error"):
                    strays.append(f"{name}: {node.name}")
    assert strays == []


def test_no_exit_code_is_a_literal_number() -> None:
    """``typer.Exit(2)``, ``sys.exit(130)``, ``SystemExit(1)``, ``os._exit(3)``: always ``ExitCode.X``."""
    literals = []
    for name, tree in modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("Exit", "exit", "_exit", "SystemExit"):
                for arg in [*node.args, *(kw.value for kw in node.keywords if kw.arg == "code")]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                        literals.append(f"{name}:{node.lineno}: {called}({arg.value})")
    assert literals == []
