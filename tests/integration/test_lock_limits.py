"""The apply lock is one exclusive queue and one AMQP connection in the vhost: against a vhost's limits the
plan refuses, before any write, what the lock would push past them, and a lock the limits refuse says so (not
"no permissions"). A full vhost still applies with --no-lock. Session node, 3.10 and 4.0."""

from __future__ import annotations

import secrets
from pathlib import Path

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from ..conftest import CliRunner, delete_vhost


def test_a_full_vhost_is_refused_before_any_write_and_applies_without_the_lock(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path
) -> None:
    vhost = f"lim-{secrets.token_hex(3)}"
    path = tmp_path / "full.yaml"
    path.write_text(f"vhosts:\n  - name: {vhost}\n    limits: {{max-queues: 1}}\n    queues: [{{name: q1}}]\n")
    try:
        refused = rabbitadmin("apply", "--yes", str(path))
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "leaves no room for the apply lock's queue" in refused.stderr
        assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
        applied = rabbitadmin("apply", "--yes", "--no-lock", str(path))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert [q["name"] for q in admin_client.get(api_path("queues", vhost))] == ["q1"]
        # Now the limit is on the server and reached: the lock says why it cannot be taken.
        locked = rabbitadmin("apply", "--yes", str(path))
        assert locked.returncode == 3, locked.stdout + locked.stderr
        assert "queue limit in vhost" in locked.stderr and "pass --no-lock" in locked.stderr
    finally:
        delete_vhost(admin_client, vhost)


def test_a_connection_limit_that_refuses_the_lock_is_named(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path
) -> None:
    vhost = f"limc-{secrets.token_hex(3)}"
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("vhost-limits", vhost, "max-connections"), {"value": 0})
    path = tmp_path / "c.yaml"
    path.write_text(f"vhosts:\n  - name: {vhost}\n    limits: {{max-connections: 0}}\n    queues: [{{name: q1}}]\n")
    try:
        result = rabbitadmin("apply", "--yes", str(path))
        assert result.returncode == 3, result.stdout + result.stderr
        assert "connection limit (0) is reached" in result.stderr and "no permissions" not in result.stderr
        assert admin_client.get_or_none(api_path("queues", vhost, "q1")) is None
    finally:
        delete_vhost(admin_client, vhost)


def test_a_connection_limit_that_would_lock_out_later_applies_is_refused_before_any_write(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path
) -> None:
    vhost = f"limz-{secrets.token_hex(3)}"
    path = tmp_path / "cz.yaml"
    path.write_text(f"vhosts:\n  - name: {vhost}\n    limits: {{max-connections: 0}}\n    queues: [{{name: q1}}]\n")
    try:
        refused = rabbitadmin("apply", "--yes", str(path))
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert (
            f"{path}:3: vhost {vhost!r}: max-connections 0 leaves no room for the apply lock's AMQP" in refused.stderr
        )
        assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
        applied = rabbitadmin("apply", "--yes", "--no-lock", str(path))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        # The plan says so on every run, not a bare "No changes"; the ctl transport's lock needs no connection.
        planned = rabbitadmin("plan", str(path))
        assert "max-connections 0 leaves no room" in planned.stdout + planned.stderr, planned.stdout + planned.stderr
        over_ctl = rabbitadmin("--backend", "ctl", "apply", "--yes", str(path))
        assert over_ctl.returncode == 0 and "max-connections" not in over_ctl.stderr, over_ctl.stdout + over_ctl.stderr
    finally:
        delete_vhost(admin_client, vhost)


def test_the_connecting_users_connection_limit_must_leave_one_connection_per_vhost(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path
) -> None:
    whoami = admin_client.get(api_path("whoami"))["name"]  # the user the command connects as too
    names = [f"limu-{secrets.token_hex(3)}" for _ in range(2)]
    path = tmp_path / "u.yaml"
    vhosts = "".join(f"  - name: {name}\n" for name in names)
    path.write_text(f"users:\n  - name: {whoami}\n    limits: {{max-connections: 1}}\nvhosts:\n{vhosts}")
    try:
        refused = rabbitadmin("apply", "--yes", str(path))
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert f"{path}:3: user {whoami!r}: max-connections 1 leaves no room for the apply lock's 2 AMQP" in (
            refused.stderr
        )
        assert all(admin_client.get_or_none(api_path("vhosts", name)) is None for name in names)
        assert admin_client.get_or_none(api_path("user-limits", whoami)) in (None, [])
    finally:
        for name in names:
            delete_vhost(admin_client, name)
