"""``rabbitadmin users``, through both backends, against the session node."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pexpect

from rabbitadmin.errors import ExitCode
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


def spawn_on_a_terminal(admin: AdminCli, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    """``rabbitadmin ARGS`` on a pseudo-terminal, and everything the terminal shows."""
    child = pexpect.spawn(sys.executable, admin.argv(*args)[1:], env=admin.full_env(), encoding="utf-8", timeout=120)
    child.logfile_read = shown = io.StringIO()
    return child, shown


def test_the_password_prompt_hides_the_password_and_asks_again_until_both_match(
    admin: AdminCli, scratch_user: str
) -> None:
    password = "typed pässword #1"
    child, shown = spawn_on_a_terminal(admin, "users", "add", scratch_user)
    child.expect_exact("Password: ")
    child.sendline("")  # an empty answer is asked again
    child.expect_exact("Password: ")
    child.sendline(password)
    child.expect_exact("Repeat for confirmation: ")
    child.sendline("a typo")
    child.expect_exact("do not match")
    child.expect_exact("Password: ")
    child.sendline(password)
    child.expect_exact("Repeat for confirmation: ")
    child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, shown.getvalue()
    assert password not in shown.getvalue() and "a typo" not in shown.getvalue()
    authenticated = admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": password})
    assert authenticated.returncode == 0, authenticated.stderr


def test_ctrl_c_at_the_password_prompt_adds_no_user(admin: AdminCli, scratch_user: str) -> None:
    child, shown = spawn_on_a_terminal(admin, "users", "add", scratch_user)
    child.expect_exact("Password: ")
    child.sendline("half")
    child.expect_exact("Repeat for confirmation: ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == ExitCode.INTERRUPTED, shown.getvalue()
    assert "Traceback" not in shown.getvalue()
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
