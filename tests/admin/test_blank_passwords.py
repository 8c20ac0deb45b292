"""Blank passwords as the server sees them, through both backends, with real logins as ground truth.

The server stores a blank password when asked (HTTP 201) and then refuses every login with it (HTTP 401,
AMQP 403): rabbitadmin refuses to set one, answers ``authenticate`` as the server would, and the audit
flags users holding one (case 06). A password of spaces is an ordinary password for the server.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pika
import pytest
import requests
from pika.exceptions import ProbableAccessDeniedError, ProbableAuthenticationError

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.passwords import check_password
from rabbitadmin.sandbox import SandboxInfo

from .conftest import AdminCli

REFUSAL = "refused: blank passwords are prohibited by the server"


def amqp_login(node: SandboxInfo, user: str, password: str) -> bool:
    """True if the broker accepts the credentials of an AMQP login (a vhost refusal comes after that)."""
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, "/", pika.PlainCredentials(user, password))
    try:
        pika.BlockingConnection(params).close()
    except ProbableAuthenticationError:  # 403 ACCESS_REFUSED at the login
        return False
    except ProbableAccessDeniedError:  # 530 NOT_ALLOWED for the vhost: the credentials were accepted
        return True
    return True


def http_login(node: SandboxInfo, user: str, password: str) -> int:
    return requests.get(f"{node.url}/api/whoami", auth=(user, password), timeout=30).status_code


@pytest.fixture
def blank_users(admin_client: HttpClient) -> Iterator[dict[str, str]]:
    """Users the server holds with a blank password and with none at all, with permissions on "/"."""
    token = secrets.token_hex(3)
    users = {"blank": f"blank-{token}", "none": f"nopw-{token}"}
    admin_client.put(api_path("users", users["blank"]), {"password": "", "tags": "management"})
    admin_client.put(api_path("users", users["none"]), {"password_hash": "", "tags": "management"})
    for name in users.values():
        admin_client.put(api_path("permissions", "/", name), {"configure": ".*", "write": ".*", "read": ".*"})
    yield users
    for name in users.values():
        admin_client.delete(api_path("users", name))


def test_server_refuses_blank_and_authenticate_says_so(
    admin: AdminCli, blank_users: dict[str, str], node: SandboxInfo, admin_client: HttpClient
) -> None:
    blank = blank_users["blank"]
    stored = admin_client.get(api_path("users", blank))
    assert check_password("", stored["password_hash"], stored["hashing_algorithm"]), "the server stored a blank one"
    # Ground truth: the broker refuses the login over both protocols.
    assert not amqp_login(node, blank, "")
    assert http_login(node, blank, "") == 401

    text = admin("users", "authenticate", blank, "--password-env", "PW", env={"PW": ""})
    assert (text.returncode, text.stdout.strip()) == (1, REFUSAL), text.stderr
    as_json = admin("users", "authenticate", blank, "--password-env", "PW", "-o", "json", env={"PW": ""})
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "user": blank,
        "authenticated": False,
        "reason": "blank passwords are prohibited by the server",
    }
    # A user without any password cannot log in either: same verdict as the broker.
    nopw = blank_users["none"]
    assert not amqp_login(node, nopw, "anything")
    assert admin("users", "authenticate", nopw, "--password-env", "PW", env={"PW": "anything"}).returncode == 1


def test_blank_password_is_never_set(
    admin: AdminCli, blank_users: dict[str, str], scratch_user: str, admin_client: HttpClient
) -> None:
    added = admin("users", "add", scratch_user, "--password-env", "PW", env={"PW": ""})
    assert added.returncode == 2 and "blank passwords are prohibited by the server" in added.stderr
    assert admin_client.get_or_none(api_path("users", scratch_user)) is None

    blank = blank_users["blank"]
    before = admin_client.get(api_path("users", blank))["password_hash"]
    changed = admin("users", "change-password", blank, "--password-env", "PW", env={"PW": ""})
    assert changed.returncode == 2 and "blank passwords are prohibited by the server" in changed.stderr
    assert admin_client.get(api_path("users", blank))["password_hash"] == before


def test_spaces_are_an_ordinary_password(admin: AdminCli, scratch_user: str, node: SandboxInfo) -> None:
    # Both backends alike: the ctl backend imports a locally computed hash, so nothing strips the spaces.
    added = admin("users", "add", scratch_user, "--password-env", "PW", env={"PW": "   "})
    assert added.returncode == 0, added.stderr
    assert amqp_login(node, scratch_user, "   ")  # the broker accepts it
    ok = admin("users", "authenticate", scratch_user, "--password-env", "PW", env={"PW": "   "})
    assert (ok.returncode, ok.stdout.strip()) == (0, "success")


def test_audit_flags_blank_and_missing_passwords(admin: AdminCli, blank_users: dict[str, str]) -> None:
    result = admin("audit", "-o", "json")
    assert result.returncode == 0, result.stderr
    flagged = {f["objects"][0]: f["message"] for f in json.loads(result.stdout)["findings"] if f["rule"] == "RA005"}
    assert "blank password" in flagged[f"user:{blank_users['blank']}"]
    assert "no password" in flagged[f"user:{blank_users['none']}"]
