"""``rabbitadmin vhosts`` and ``rabbitadmin permissions``, through both backends."""

from __future__ import annotations

from typing import Any

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from .conftest import AdminCli


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def test_vhost_life_cycle(admin: AdminCli, vhost: str) -> None:
    admin.ok("vhosts", "add", vhost, "--description", "for tests", "--tags", "a,b", "--default-queue-type", "quorum")
    row = by_name(admin.rows("vhosts", "list"))[vhost]
    assert (row["description"], row["tags"], row["default_queue_type"]) == ("for tests", ["a", "b"], "quorum")

    again = admin("vhosts", "add", vhost)
    assert again.returncode == 1 and "exists already" in again.stderr

    refused = admin("vhosts", "delete", vhost)
    assert refused.returncode == 4
    assert vhost in by_name(admin.rows("vhosts", "list"))
    admin.ok("vhosts", "delete", vhost, "--yes")
    assert vhost not in by_name(admin.rows("vhosts", "list"))


def test_permissions(admin: AdminCli, vhost: str, scratch_user: str, admin_client: HttpClient) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("users", scratch_user), {"password_hash": "", "tags": ""})

    admin.ok("permissions", "set", scratch_user, "^amq\\.gen.*", ".*", "^$", "--vhost", vhost)
    expected = {"user": scratch_user, "vhost": vhost, "configure": "^amq\\.gen.*", "write": ".*", "read": "^$"}
    assert admin.rows("permissions", "list", "--vhost", vhost, "--user", scratch_user) == [expected]
    assert expected in admin.rows("permissions", "list", "--vhost", vhost)
    assert admin.rows("permissions", "list", "--user", scratch_user) == [expected]
    assert expected in admin.rows("permissions", "list")

    admin.ok("permissions", "set", scratch_user, ".*", ".*", ".*", "--vhost", vhost)
    assert admin.rows("permissions", "list", "--user", scratch_user)[0]["read"] == ".*"

    admin.ok("permissions", "clear", scratch_user, "--vhost", vhost)
    assert admin.rows("permissions", "list", "--user", scratch_user) == []
    assert "nothing to do" in admin.ok("permissions", "clear", scratch_user, "--vhost", vhost).stderr
