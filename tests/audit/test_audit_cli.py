"""``rabbitadmin audit`` against the session node and offline: findings, JSON, --fail-on, --ignore, drift,
and no password in any output."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from tests.audit.conftest import Run


@pytest.fixture
def weak_user(admin_client: HttpClient, vhost: str) -> Iterator[tuple[str, str]]:
    """A user with a common password and full permissions on a fresh vhost with one queue."""
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "jobs"), {"durable": True})
    name = f"weak-{secrets.token_hex(3)}"
    admin_client.put(api_path("users", name), {"password": "changeme", "tags": "administrator"})
    admin_client.put(api_path("permissions", vhost, name), {"configure": ".*", "write": ".*", "read": ".*"})
    try:
        yield name, vhost
    finally:
        admin_client.delete(api_path("users", name))


def _findings(stdout: str) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = json.loads(stdout)["findings"]
    return findings


def _pairs(stdout: str) -> set[tuple[str, tuple[str, ...]]]:
    return {(str(f["rule"]), tuple(str(o) for o in f["objects"])) for f in _findings(stdout)}  # type: ignore[attr-defined]


def test_live_audit_reports_and_fails_on(audit_cli: Run, weak_user: tuple[str, str], tmp_path: Path) -> None:
    name, vhost = weak_user
    out = audit_cli("audit", "-o", "json")
    assert out.returncode == 0, out.stderr
    found = _pairs(out.stdout)
    assert ("RA003", (f"user:{name}",)) in found
    assert ("RA004", (f"user:{name}",)) in found
    assert ("RA009", (f"permission:{name}@{vhost}",)) in found
    assert ("RA010", (f"permission:{name}@{vhost}",)) in found
    assert "changeme" not in out.stdout + out.stderr

    # RA003 is high: --fail-on high exits 7, and ignoring it (and the other high/critical ones) exits 0.
    assert audit_cli("audit", "--fail-on", "high").returncode == 7
    ignored = audit_cli("audit", "--fail-on", "high", "--ignore", "RA003", "--ignore", "RA011", "--ignore", "RA002")
    assert ignored.returncode == 0, ignored.stdout
    text = audit_cli("audit")
    assert text.returncode == 0 and "RA003" in text.stdout and "changeme" not in text.stdout
    assert audit_cli("audit", "--ignore", "RA999").returncode == 2

    # Drift: the file declares the vhost and a queue the server lacks; the server has "jobs" the file lacks.
    topo = tmp_path / "t.yaml"
    topo.write_text(json.dumps({"vhosts": [{"name": vhost, "queues": [{"name": "planned"}]}]}))
    drift = audit_cli("audit", "--topology", str(topo), "-o", "json")
    assert drift.returncode == 0, drift.stderr
    rules = _pairs(drift.stdout)
    assert ("RA015", (f"queue:{vhost}/jobs",)) in rules
    assert ("RA016", (f"queue:{vhost}/planned",)) in rules
    assert not any(r == "RA015" and o[0].startswith("queue:") and "/jobs" not in o[0] for r, o in rules)


def test_offline_audit(audit_cli: Run, tmp_path: Path) -> None:
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "vhosts:\n  - name: app\n    queues: [{name: jobs}]\n"
        "users:\n  - {name: app, password: {env: AUDIT_TEST_PW}}\n"
        "permissions:\n  - {user: app, vhost: app, configure: '^jobs$', write: '^nothing$', read: '^jobs$'}\n"
    )
    out = audit_cli("audit", "--offline", "--topology", str(topo), "-o", "json", env={"AUDIT_TEST_PW": "letmein"})
    assert out.returncode == 0, out.stderr
    rules = {f["rule"] for f in _findings(out.stdout)}
    assert {"RA003", "RA012"} <= rules and "RA009" not in rules
    assert "letmein" not in out.stdout + out.stderr
    assert audit_cli("audit", "--offline").returncode == 2
