"""Administration writes whose answer is lost are read back: done (exit 0, with a note) or not done (the
error and what to do), never "it may or may not have been carried out" where the server can tell
(issue 10, gap a). A purge cannot be read back, and says so.

The fault-injecting proxy (tests/faults/proxy.py) sits between the command and a REAL node: ``reset_after``
lets the write reach the broker and cuts the answer (the write was done), ``reset_before`` cuts the
connection before the request is forwarded (not done).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from rabbitadmin.backends.admin_ops import tag_list
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode
from rabbitadmin.passwords import check_password

from ..conftest import CliRunner
from .proxy import FaultProxy

OLD, NEW = "old secret 1", "new secret 2"


@dataclass
class Names:
    vhost: str  # exists (the ``vhost`` fixture)
    user: str  # a fresh user name; the setup may create it
    other_vhost: str  # a fresh vhost name; the setup may create it


@dataclass(frozen=True)
class Write:
    """One administration write: what exists before, the command, the request to fault, and whether the
    server shows the write done (read through the admin client, not through the proxy)."""

    setup: Callable[[HttpClient, Names], None]
    command: Callable[[Names], list[str]]
    method: str
    path: Callable[[Names], str]
    done: Callable[[HttpClient, Names], bool]


def nothing(_client: HttpClient, _n: Names) -> None:
    pass


def make_user(client: HttpClient, n: Names) -> None:
    client.put(api_path("users", n.user), {"password": OLD, "tags": "monitoring"})


def make_user_with_permissions(client: HttpClient, n: Names) -> None:
    make_user(client, n)
    client.put(api_path("permissions", n.vhost, n.user), {"configure": ".*", "write": ".*", "read": ".*"})


def make_vhost(client: HttpClient, n: Names) -> None:
    client.put(api_path("vhosts", n.other_vhost), {})


def make_queue(client: HttpClient, n: Names) -> None:
    client.put(api_path("queues", n.vhost, "doomed"), {"durable": True})


def user(client: HttpClient, n: Names) -> dict[str, object] | None:
    data = client.get_or_none(api_path("users", n.user))
    return data if isinstance(data, dict) else None


def logs_in_with(client: HttpClient, n: Names, password: str) -> bool:
    data = user(client, n)
    return data is not None and check_password(password, str(data["password_hash"]), str(data["hashing_algorithm"]))


WRITES: dict[str, Write] = {
    "users add": Write(
        nothing,
        lambda n: ["users", "add", n.user, "--password-env", "NEW_PASSWORD", "--tags", "management"],
        "PUT",
        lambda n: f"/api/users/{n.user}",
        lambda c, n: logs_in_with(c, n, NEW),
    ),
    "users change-password": Write(
        make_user,
        lambda n: ["users", "change-password", n.user, "--password-env", "NEW_PASSWORD"],
        "PUT",
        lambda n: f"/api/users/{n.user}",
        lambda c, n: logs_in_with(c, n, NEW),
    ),
    "users set-tags": Write(
        make_user,
        lambda n: ["users", "set-tags", n.user, "management", "policymaker"],
        "PUT",
        lambda n: f"/api/users/{n.user}",
        lambda c, n: tag_list((user(c, n) or {}).get("tags")) == ["management", "policymaker"],
    ),
    "users delete": Write(
        make_user,
        lambda n: ["users", "delete", n.user, "--yes"],
        "DELETE",
        lambda n: f"/api/users/{n.user}",
        lambda c, n: user(c, n) is None,
    ),
    "vhosts add": Write(
        nothing,
        lambda n: ["vhosts", "add", n.other_vhost, "-d", "d", "--tags", "t", "--default-queue-type", "quorum"],
        "PUT",
        lambda n: f"/api/vhosts/{n.other_vhost}",
        lambda c, n: c.get_or_none(api_path("vhosts", n.other_vhost)) is not None,
    ),
    "vhosts delete": Write(
        make_vhost,
        lambda n: ["vhosts", "delete", n.other_vhost, "--yes"],
        "DELETE",
        lambda n: f"/api/vhosts/{n.other_vhost}",
        lambda c, n: c.get_or_none(api_path("vhosts", n.other_vhost)) is None,
    ),
    "permissions set": Write(
        make_user,
        lambda n: ["permissions", "set", n.user, "^$", ".*", "^r", "--vhost", n.vhost],
        "PUT",
        lambda n: api_path("permissions", n.vhost, n.user),
        lambda c, n: (c.get_or_none(api_path("permissions", n.vhost, n.user)) or {}).get("read") == "^r",
    ),
    "permissions clear": Write(
        make_user_with_permissions,
        lambda n: ["permissions", "clear", n.user, "--vhost", n.vhost],
        "DELETE",
        lambda n: api_path("permissions", n.vhost, n.user),
        lambda c, n: c.get_or_none(api_path("permissions", n.vhost, n.user)) is None,
    ),
    "queues delete": Write(
        make_queue,
        lambda n: ["queues", "delete", "doomed", "--vhost", n.vhost, "--yes"],
        "DELETE",
        lambda n: api_path("queues", n.vhost, "doomed"),
        lambda c, n: c.get_or_none(api_path("queues", n.vhost, "doomed")) is None,
    ),
}


@pytest.fixture
def names(admin_client: HttpClient, vhost: str) -> Iterator[Names]:
    token = secrets.token_hex(4)
    made = Names(vhost=vhost, user=f"lost-{token}", other_vhost=f"lost-{token}")
    admin_client.put(api_path("vhosts", vhost), {})
    yield made
    admin_client.delete(api_path("users", made.user))
    admin_client.delete(api_path("vhosts", made.other_vhost))


def run_through(via_proxy: CliRunner, args: list[str]) -> subprocess.CompletedProcess[str]:
    return via_proxy(*args, env={"NEW_PASSWORD": NEW})


@pytest.mark.parametrize(("fault", "carried_out"), [("reset_after", True), ("reset_before", False)])
@pytest.mark.parametrize("write", list(WRITES), ids=[name.replace(" ", "-") for name in WRITES])
def test_an_admin_write_whose_answer_is_lost_is_read_back(
    via_proxy: CliRunner,
    proxy: FaultProxy,
    admin_client: HttpClient,
    names: Names,
    write: str,
    fault: str,
    carried_out: bool,
) -> None:
    case = WRITES[write]
    case.setup(admin_client, names)
    path = case.path(names)
    injected = proxy.inject(fault, count=1, match=lambda method, p: method == case.method and p == path)
    result = run_through(via_proxy, case.command(names))
    assert len(injected.hits) == 1, (proxy.seen, result.stderr)
    assert "Traceback" not in result.stderr
    assert "may or may not" not in result.stderr  # the server was asked, not guessed at
    assert case.done(admin_client, names) is carried_out, (result.returncode, result.stderr)
    if carried_out:
        assert result.returncode == 0, result.stderr
        assert "note:" in result.stderr and "read back from the server: done" in result.stderr
    else:
        assert result.returncode == ExitCode.CONNECTION, result.stderr
        assert "read back" in result.stderr and "not done" in result.stderr
        assert "run the same command again" in result.stderr
        again = run_through(via_proxy, case.command(names))  # as the message says: the second run does it
        assert again.returncode == 0, again.stderr
        assert case.done(admin_client, names)


def test_a_purge_whose_answer_is_lost_says_it_cannot_be_read_back(
    via_proxy: CliRunner, proxy: FaultProxy, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "full"), {"durable": True})
    path = api_path("queues", vhost, "full", "contents")
    injected = proxy.inject("reset_after", count=1, match=lambda method, p: method == "DELETE" and p == path)
    result = via_proxy("queues", "purge", "full", "--vhost", vhost, "--yes")
    assert len(injected.hits) == 1
    assert result.returncode == ExitCode.CONNECTION, result.stderr
    assert "may or may not" in result.stderr and "cannot be read back" in result.stderr
