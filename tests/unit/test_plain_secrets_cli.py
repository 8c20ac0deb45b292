"""A plain-text password in a definitions file: accepted with a located warning, refused by ``validate --strict``
(exit 2, as any strict finding), flagged by audit RA026; the password itself never in any output. Offline:
nothing here needs a node (the real-node proof is tests/integration/test_definitions_fidelity.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rabbitadmin.audit.rules import RULES, audit
from rabbitadmin.errors import ExitCode
from rabbitadmin.loader import load_topology

from ..conftest import CliRunner

SECRET = "pl41n-t3xt-S3cret"
run = CliRunner({})


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    path = tmp_path / "defs.json"
    document = {
        "rabbit_version": "3.13.7",  # what tells a definitions file from a topology (or a queues section)
        "vhosts": [{"name": "/"}],
        "users": [
            {"name": "hashed", "password_hash": "", "tags": ""},
            {"name": "web", "password": SECRET, "tags": "management"},
        ],
        "permissions": [{"user": "web", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def line_of_password(path: Path) -> int:
    text = path.read_text()
    return text[: text.index('"password"')].count("\n") + 1


def test_validate_accepts_it_and_warns_where_it_is(definitions: Path) -> None:
    result = run("validate", str(definitions))
    assert result.returncode == 0, result.stderr
    where = f"{definitions}:{line_of_password(definitions)}: users[1].password"
    assert f"{where}: a plain-text password sits in this file" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_validate_strict_refuses_it(definitions: Path, output: str) -> None:
    result = run("validate", "--strict", str(definitions), "-o", output)
    assert result.returncode == ExitCode.INVALID, result.stdout + result.stderr
    assert "users[1].password" in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    if output == "json":
        [problem] = json.loads(result.stdout)["error"]["problems"]
        assert (problem["field"], problem["line"]) == ("users[1].password", line_of_password(definitions))


def test_validate_strict_passes_a_file_without_warnings(tmp_path: Path) -> None:
    clean = tmp_path / "clean.json"
    clean.write_text(
        json.dumps({"rabbit_version": "3.13.7", "users": [{"name": "u", "password_hash": "", "tags": ""}]})
    )
    assert run("validate", "--strict", str(clean)).returncode == 0


def test_audit_ra026_names_the_user_and_the_line_never_the_password(definitions: Path) -> None:
    findings = [f for f in audit(load_topology(definitions)).findings if f.rule == "RA026"]
    assert [(f.objects, f.severity) for f in findings] == [(("user:web",), RULES["RA026"].severity)]
    assert f"{definitions}:{line_of_password(definitions)}" in findings[0].message and SECRET not in findings[0].message
    result = run("audit", "--offline", "--topology", str(definitions), "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "RA026" in {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert SECRET not in result.stdout + result.stderr


def test_a_topology_with_its_password_from_the_environment_is_not_ra026(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("users: [{name: web, tags: [], password: {env: RA026_TEST}}]\n")
    result = run("audit", "--offline", "--topology", str(topology), "-o", "json", env={"RA026_TEST": SECRET})
    assert result.returncode == 0, result.stderr
    assert "RA026" not in {f["rule"] for f in json.loads(result.stdout)["findings"]}


def test_validate_strict_on_several_targets_refuses_it_for_each(definitions: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text('[targets.a]\nurl = "http://127.0.0.1:1"\n\n[targets.b]\nurl = "http://127.0.0.1:2"\n')
    env = {"RABBITADMIN_CONFIG": str(targets)}
    loose = run("--target", "a", "--target", "b", "validate", str(definitions), env=env)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert "a: users[1].password" not in loose.stdout and "warning: a:" in loose.stderr
    result = run("--target", "a", "--target", "b", "validate", "--strict", str(definitions), "-o", "json", env=env)
    assert result.returncode == ExitCode.INVALID, result.stdout + result.stderr
    targets_out = json.loads(result.stdout)["targets"]
    assert {name: t["exit_code"] for name, t in targets_out.items()} == {"a": ExitCode.INVALID, "b": ExitCode.INVALID}
    assert "users[1].password" in result.stdout and SECRET not in result.stdout + result.stderr
