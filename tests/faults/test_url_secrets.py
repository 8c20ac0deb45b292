"""A password given in the management URL works against the real node and never shows in any output."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner

PASSWORD = "a/#?@:% b" + secrets.token_hex(4)


@pytest.fixture
def url_user(admin_client: HttpClient) -> Iterator[str]:
    """An administrator whose password holds every character with a meaning in a URL."""
    name = f"url-{secrets.token_hex(3)}"
    admin_client.put(api_path("users", name), {"password": PASSWORD, "tags": "administrator"})
    admin_client.put(api_path("permissions", "/", name), {"configure": ".*", "write": ".*", "read": ".*"})
    yield name
    admin_client.delete(api_path("users", name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run(url: str, *args: str) -> tuple[int, str, str]:
    # Only the URL: no user, password or password file from anywhere else.
    result = CliRunner({"RABBITADMIN_URL": url, "RABBITADMIN_USER": "", "RABBITADMIN_PASSWORD_FILE": ""})(*args)
    return result.returncode, result.stdout, result.stderr


def assert_no_secret(output: str) -> None:
    for shown in (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), PASSWORD[-8:], "%20b"):
        assert shown not in output
    assert "Traceback" not in output


def test_a_password_in_the_url_works_and_is_never_shown(node: SandboxInfo, url_user: str, tmp_path: Path) -> None:
    url = f"http://{url_user}:{quote(PASSWORD, safe='')}@127.0.0.1:{node.http_port}"
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts: [{name: /}]\n")
    for args in (["vhosts", "list"], ["plan", str(topology)]):
        code, stdout, stderr = run(url, *args)
        assert code == 0, stderr
        assert_no_secret(stdout + stderr)
    code, stdout, stderr = run(url, "users", "list", "-o", "json")
    assert code == 0 and url_user in [row["name"] for row in json.loads(stdout)]
    assert_no_secret(stdout + stderr)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_failures_never_show_the_password(node: SandboxInfo, url_user: str, as_json: bool) -> None:
    userinfo = f"{url_user}:{quote(PASSWORD, safe='')}"
    wrong = f"{url_user}:{quote(PASSWORD + 'x', safe='')}"
    cases = [
        (f"http://{userinfo}@127.0.0.1:{free_port()}", ExitCode.CONNECTION, "cannot connect"),  # wrong port
        (f"http://{wrong}@127.0.0.1:{node.http_port}", ExitCode.CONNECTION, "refused the credentials"),
        (f"http://{userinfo}@unreachable.invalid:15672", ExitCode.CONNECTION, "cannot connect"),
        (f"http://{userinfo}@127.0.0.1:notaport", ExitCode.INVALID, "malformed"),
        (f"http://{userinfo}@127.0.0.1:99999", ExitCode.INVALID, "malformed"),
        (f"http://{url_user}:{PASSWORD}@127.0.0.1:{node.http_port}", ExitCode.INVALID, "percent-encode"),
    ]
    for url, code, words in cases:
        returncode, stdout, stderr = run(url, "vhosts", "list", *(["-o", "json"] if as_json else []))
        assert returncode == code, (url, stdout, stderr)
        assert words in stderr
        assert_no_secret(stdout + stderr)
        if as_json:
            assert json.loads(stdout)["error"]["exit_code"] == code
