"""``rabbitadmin definitions import FILE`` reads FILE as definitions whatever its keys, and leaves the state the
server's own import of the same file leaves (``POST /api/definitions``, or ``rabbitmqctl import_definitions`` for
the ctl backend), on 3.10 and 4.0 through both backends.

The breaker's case (session 20, 03-users-only-definitions): a file of users alone, of vhosts alone, or of both,
without ``rabbit_version``, was refused ("is not a definitions document ... use `rabbitadmin apply`", exit 2) while
the server took each (204). ``apply`` reads such a file as a topology on purpose (docs/topology.md); ``definitions
import`` is the user saying it is definitions. Each case below runs the server's import first, records the state
of every object the file names, puts the server back as it was, runs ``definitions import --yes``, and compares;
a second ``definitions import`` then plans nothing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.passwords import hash_password
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import ctl_backend_options, delete_vhost
from .conftest import AdminCli

#: Keys of ``GET /api/vhosts/{name}`` that are the vhost's own state (not its statistics or nodes).
VHOST_STATE = ("name", "description", "tags", "default_queue_type", "metadata", "tracing")
#: name -> the file's sections, built from the test's names (``Names``); the version is added or not per case.
Case = Callable[["Names"], dict[str, Any]]


class Names:
    """The objects one test's files name: a user and a vhost the server already has (``old``, with tags and a
    description an import may change), and a user and a vhost only the file declares (``new``)."""

    def __init__(self) -> None:
        token = secrets.token_hex(3)
        self.old_user, self.new_user = f"h20-old-{token}", f"h20-new-{token}"
        self.old_vhost, self.new_vhost = f"h20-old-{token}", f"h20-new-{token}"
        self.parameter = f"h20-param-{token}"
        self.hash = hash_password("h20-secret")
        self.hash_before = hash_password("h20-before")  # a hash, not a password: the same state each time

    @property
    def users(self) -> tuple[str, str]:
        return self.old_user, self.new_user

    @property
    def vhosts(self) -> tuple[str, str]:
        return self.old_vhost, self.new_vhost


def users(n: Names) -> dict[str, Any]:
    return {
        "users": [
            # As the breaker's users-only.json: an empty hash, tags as a list.
            {"name": n.new_user, "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256",
             "tags": []},
            {"name": n.old_user, "password_hash": n.hash, "hashing_algorithm": "rabbit_password_hashing_sha256",
             "tags": "monitoring,policymaker"},
        ]
    }  # fmt: skip


def vhosts(n: Names) -> dict[str, Any]:
    # The old vhost's entry gives no description or tags: the server's import clears them.
    return {"vhosts": [{"name": n.old_vhost}, {"name": n.new_vhost, "description": "from the file", "tags": ["x"]}]}


def permissions(n: Names) -> dict[str, Any]:
    return {"permissions": [{"user": n.old_user, "vhost": n.old_vhost, "configure": "^c", "write": ".*", "read": ""}]}


def topic_permissions(n: Names) -> dict[str, Any]:
    entry = {"user": n.old_user, "vhost": n.old_vhost, "exchange": "amq.topic", "write": "^a", "read": ".*"}
    return {"topic_permissions": [entry]}


def global_parameters(n: Names) -> dict[str, Any]:
    return {"global_parameters": [{"name": n.parameter, "value": {"region": "eu", "tier": 2}}]}


def mixed(n: Names) -> dict[str, Any]:
    """Every section a topology shares with definitions, each object on the file's new user and vhost."""
    return {
        **users(n),
        **vhosts(n),
        "permissions": [{"user": n.new_user, "vhost": n.new_vhost, "configure": "", "write": "^w", "read": ".*"}],
        "topic_permissions": [{"user": n.new_user, "vhost": n.new_vhost, "exchange": "amq.topic", "write": "^a",
                               "read": ""}],
        **global_parameters(n),
    }  # fmt: skip


CASES: dict[str, tuple[Case, bool]] = {
    "users-only": (users, False),
    "users-only-with-rabbit_version": (users, True),
    "vhosts-only": (vhosts, False),
    "users-and-vhosts": (lambda n: {**users(n), **vhosts(n)}, False),
    "permissions-only": (permissions, False),
    "topic-permissions-only": (topic_permissions, False),
    "global-parameters-only": (global_parameters, False),
    "global-parameters-with-rabbit_version": (global_parameters, True),
    "mixed": (mixed, False),
    "mixed-with-rabbit_version": (mixed, True),
}


def prepare(client: HttpClient, n: Names) -> None:
    """The server before each import: the old user and vhost as they were made, nothing else of the test's."""
    for name in n.users:
        client.delete(api_path("users", name))
    for name in n.vhosts:
        delete_vhost(client, name)
    client.delete(api_path("global-parameters", n.parameter))
    client.put(api_path("users", n.old_user), {"password_hash": n.hash_before, "tags": "management"})
    client.put(api_path("vhosts", n.old_vhost), {"description": "kept before", "tags": "before"})


def end_state(client: HttpClient, n: Names) -> dict[str, Any]:
    """Every object of the test's names as the server holds it: users with hash and tags, vhosts with description
    and tags, permissions and topic permissions in them (anyone's: an import granting the importer shows too)."""
    user_rows = [client.get_or_none(api_path("users", name)) for name in n.users]
    vhost_rows = [client.get_or_none(api_path("vhosts", name)) for name in n.vhosts]
    present = [name for name, row in zip(n.vhosts, vhost_rows, strict=True) if row is not None]
    return {
        "users": [row and {**row, "tags": sorted(row["tags"])} for row in user_rows],
        "vhosts": [row and {key: row.get(key) for key in VHOST_STATE} for row in vhost_rows],
        "permissions": sorted(json.dumps(p, sort_keys=True) for v in present
                              for p in client.get(api_path("vhosts", v, "permissions"))),
        "topic_permissions": sorted(json.dumps(p, sort_keys=True) for v in present
                                    for p in client.get(api_path("vhosts", v, "topic-permissions"))),
        "global_parameter": client.get_or_none(api_path("global-parameters", n.parameter)),
    }  # fmt: skip


def servers_own_import(backend: str, path: Path, client: HttpClient, sandbox: Sandbox, node: SandboxInfo) -> None:
    """The server's own import of the file through the backend's transport: ``POST /api/definitions`` as
    the admin user, or ``rabbitmqctl import_definitions``. The two differ in one thing: a vhost the import creates
    gives its acting user full permissions (``rabbit_vhost:maybe_grant_full_permissions``, 3.10.8 and 4.0.5),
    the admin user over HTTP, nobody through rabbitmqctl (whose acting user is no user), as rabbitadmin's
    backends create vhosts."""
    if backend == "ctl":
        ctl = CtlBackend(**ctl_backend_options(sandbox, node))  # type: ignore[arg-type]
        try:
            ctl.ctl.run(["import_definitions", "--format=json"], stdin=path.read_text())
        finally:
            ctl.close()
        return
    client.post(api_path("definitions"), json.loads(path.read_text()))  # raises unless 2xx


@pytest.mark.parametrize("case", list(CASES))
def test_definitions_import_leaves_the_state_the_servers_import_leaves(
    case: str, admin: AdminCli, admin_client: HttpClient, sandbox: Sandbox, node: SandboxInfo, tmp_path: Path
) -> None:
    n = Names()
    build, versioned = CASES[case]
    document = {**({"rabbit_version": "3.10.8"} if versioned else {}), **build(n)}
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(document, indent=1))
    admin.env = {**admin.env, "RABBITADMIN_AMQP_PORT": str(node.amqp_port)}  # the apply lock, over HTTP
    try:
        prepare(admin_client, n)
        before = end_state(admin_client, n)
        servers_own_import(admin.backend, path, admin_client, sandbox, node)
        by_server = end_state(admin_client, n)
        assert by_server != before  # the file changes something: the comparison below can fail

        prepare(admin_client, n)
        assert end_state(admin_client, n) == before
        imported = admin("definitions", "import", str(path), "--yes")
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert end_state(admin_client, n) == by_server

        again = admin("definitions", "import", str(path))
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    finally:
        for name in n.users:
            admin_client.delete(api_path("users", name))
        for name in n.vhosts:
            delete_vhost(admin_client, name)
        admin_client.delete(api_path("global-parameters", n.parameter))


def test_a_json_topology_is_refused_at_its_nested_lists_with_the_pointer_to_apply(
    admin: AdminCli, admin_client: HttpClient, tmp_path: Path
) -> None:
    """Read as definitions, a topology's queues inside a vhost are refused at their line (they would be left out,
    as the server's import leaves them), and the message says to use ``apply``; nothing is written."""
    vhost = f"h20-topo-{secrets.token_hex(3)}"
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"vhosts": [{"name": vhost, "queues": [{"name": "jobs"}]}]}, indent=1))
    result = admin("definitions", "import", str(path), "--yes")
    assert result.returncode != 0, result.stdout
    assert f"{path}:5:" in result.stderr and "vhosts[0].queues" in result.stderr, result.stderr
    assert "rabbitadmin apply" in result.stderr, result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None
