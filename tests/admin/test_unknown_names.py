"""Every administration command given a vhost, user or queue the server does not have says so, with a
"did you mean", through both backends: never a raw 404/400 or rabbitmqctl's exit 67 (issue 16.10)."""

from __future__ import annotations

import json

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from .conftest import AdminCli

# (command with {vhost}/{user}/{queue} typos filled in, the kind of name that is missing)
CASES = [
    (["permissions", "list", "--user", "{user}"], "user"),
    (["permissions", "list", "--user", "{user}", "--vhost", "{vhost_ok}"], "user"),
    (["permissions", "list", "--vhost", "{vhost}"], "vhost"),
    (["permissions", "set", "{user}", ".*", ".*", ".*", "--vhost", "{vhost_ok}"], "user"),
    (["permissions", "set", "{user_ok}", ".*", ".*", ".*", "--vhost", "{vhost}"], "vhost"),
    (["users", "change-password", "{user}", "--password-env", "PW"], "user"),
    (["users", "set-tags", "{user}", "monitoring"], "user"),
    (["queues", "list", "--vhost", "{vhost}"], "vhost"),
    (["queues", "purge", "{queue}", "--vhost", "{vhost_ok}", "--yes"], "queue"),
    (["queues", "purge", "q", "--vhost", "{vhost}", "--yes"], "vhost"),
    (["exchanges", "list", "--vhost", "{vhost}"], "vhost"),
    (["bindings", "list", "--vhost", "{vhost}"], "vhost"),
    (["consumers", "list", "--vhost", "{vhost}"], "vhost"),
    (["policies", "list", "--vhost", "{vhost}"], "vhost"),
    (["connections", "close", "--user", "{user}"], "user"),
    (["connections", "close", "--vhost", "{vhost}"], "vhost"),
    (["export", "--vhost", "{vhost}"], "vhost"),
    (["export", "--vhost", "{vhost_ok}", "--vhost", "{vhost}", "--format", "definitions"], "vhost"),
    (["definitions", "export", "--vhost", "{vhost}"], "vhost"),
]


def test_unknown_names_are_named_with_a_suggestion(
    admin: AdminCli, admin_client: HttpClient, vhost: str, scratch_user: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("users", scratch_user), {"password_hash": "", "tags": ""})
    admin_client.put(api_path("queues", vhost, "orders-queue"), {"durable": True})
    names = {
        "vhost_ok": vhost,
        "user_ok": scratch_user,
        "vhost": vhost[:-1] + "x",
        "user": scratch_user[:-1] + "x",
        "queue": "orders-qeueu",
    }
    right = {"vhost": vhost, "user": scratch_user, "queue": "orders-queue"}
    for template, kind in CASES:
        args = [part.format(**names) for part in template]
        as_json = args[1] == "list" or args[0] == "connections"  # the commands that take -o
        result = admin(*args, *(["-o", "json"] if as_json else []), env={"PW": "a new password"})
        where = f"{admin.backend}: {args}"
        assert result.returncode == 1, (where, result.stdout, result.stderr)
        assert f"there is no {kind} {names[kind]!r}" in result.stderr, (where, result.stderr)
        assert f"(did you mean {right[kind]!r}?)" in result.stderr, (where, result.stderr)
        for raw in ("HTTP 4", "/api/", "exit 67", "rabbitmqctl"):
            assert raw not in result.stderr, (where, result.stderr)
        if as_json:
            assert json.loads(result.stdout)["error"]["type"] == f"Unknown{kind.capitalize()}", where
    # A user with no permissions, an empty vhost: empty listings, not errors.
    assert admin.rows("permissions", "list", "--user", scratch_user) == []
    assert admin.rows("policies", "list", "--vhost", vhost) == []
