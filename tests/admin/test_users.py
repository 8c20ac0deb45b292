"""``rabbitadmin users``, through both backends, against the session node."""

from __future__ import annotations

from pathlib import Path

from rabbitadmin.sandbox import SandboxInfo

from .conftest import AdminCli


def names(rows: list[dict[str, object]]) -> set[object]:
    return {row["name"] for row in rows}


def test_user_life_cycle(admin: AdminCli, scratch_user: str, tmp_path: Path) -> None:
    first, second = "first pässword!", "second-Secret#2"
    added = admin.ok("users", "add", scratch_user, "--tags", "monitoring", "--password-env", "PW", env={"PW": first})
    listed = {row["name"]: row for row in admin.rows("users", "list")}
    assert listed[scratch_user]["tags"] == ["monitoring"]

    ok = admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": first})
    bad = admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": "wrong"})
    assert (ok.returncode, ok.stdout.strip()) == (0, "success")
    assert bad.returncode == 1 and bad.stdout.strip() == "refused: wrong password or no such user"

    again = admin("users", "add", scratch_user, "--password-env", "PW", env={"PW": "other"})
    assert again.returncode == 1 and "exists already" in again.stderr

    password_file = tmp_path / "new.password"
    password_file.write_text(second + "\n")
    changed = admin.ok("users", "change-password", scratch_user, "--password-file", str(password_file))
    assert admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": second}).returncode == 0
    assert admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": first}).returncode == 1
    listed = {row["name"]: row for row in admin.rows("users", "list")}
    assert listed[scratch_user]["tags"] == ["monitoring"], "changing the password keeps the tags"

    tagged = admin.ok("users", "set-tags", scratch_user, "management", "policymaker")
    listed = {row["name"]: row for row in admin.rows("users", "list")}
    assert listed[scratch_user]["tags"] == ["management", "policymaker"]
    assert admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": second}).returncode == 0

    for result in (added, ok, bad, again, changed, tagged):
        for secret in (first, second):
            assert secret not in result.stdout + result.stderr

    refused = admin("users", "delete", scratch_user)
    assert refused.returncode == 4 and "--yes" in refused.stderr
    assert scratch_user in names(admin.rows("users", "list"))
    admin.ok("users", "delete", scratch_user, "--yes")
    assert scratch_user not in names(admin.rows("users", "list"))
    gone = admin.ok("users", "delete", scratch_user, "--yes")
    assert "nothing to do" in gone.stderr


def test_authenticate_unknown_user_fails(admin: AdminCli) -> None:
    result = admin("users", "authenticate", "no-such-user-here", "--password-env", "PW", env={"PW": "x"})
    assert result.returncode == 1


def test_password_needs_a_source_without_terminal(admin: AdminCli, scratch_user: str) -> None:
    result = admin("users", "add", scratch_user)
    assert result.returncode == 2 and "--password-file" in result.stderr
    assert scratch_user not in names(admin.rows("users", "list"))


def test_change_password_of_unknown_user(admin: AdminCli) -> None:
    result = admin("users", "change-password", "no-such-user-here", "--password-env", "PW", env={"PW": "x y"})
    assert result.returncode == 1 and "no user" in result.stderr


def test_text_table(admin: AdminCli, node: object) -> None:
    lines = admin.ok("users", "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "TAGS"]
    assert any(line.split() == ["rabbitadmin", "administrator"] for line in lines[1:])


def test_refuses_to_delete_the_user_it_logs_in_as(admin: AdminCli, node: SandboxInfo) -> None:
    if admin.backend == "http":
        result = admin("users", "delete", node.user, "--yes")
        assert result.returncode == 4 and "logs in as" in result.stderr
    else:  # rabbitmqctl logs in as no user: only the confirmation stands in the way (not given here)
        assert admin("users", "delete", node.user).returncode == 4
    assert node.user in names(admin.rows("users", "list"))
