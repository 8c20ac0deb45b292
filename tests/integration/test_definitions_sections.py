"""Definitions files of one or two sections whose objects name their vhost: ``rabbitadmin apply`` leaves the state
the server's own import (``POST /api/definitions``) leaves, on the same node, each side in a fresh vhost.

The newcomer's cases (session 19): policies only (defs-cap.json), policies with an empty queues list
(defs-pq.json), a vhost-limits parameter (defs-limits.json), permissions with policies (defs-pp.json): the server
took each (204) while rabbitadmin refused it as "a per-vhost export whose objects name no vhost"; a permissions
file without ``rabbit_version`` (perm-srvonly.json), which rabbitadmin read as a topology ("user is not declared").
Each file names a vhost and a user that exist on the server only, as those files did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner, delete_vhost

POLICY = {"name": "cap2", "pattern": "^rp$", "apply-to": "queues", "definition": {"max-length": 7}, "priority": 5}
OPERATOR_POLICY = {
    "component": "operator_policy",
    "name": "op1",
    "value": {"pattern": "^rp", "definition": {"max-length": 9}, "priority": 1, "apply-to": "queues"},
}
LIMITS = {"component": "vhost-limits", "name": "limits", "value": {"max-connections": 100, "max-queues": 50}}
UPSTREAM = {"component": "federation-upstream", "name": "up1", "value": {"uri": "amqp://localhost:1"}}
PERMISSION = {"configure": "^c", "write": ".*", "read": ""}
TOPIC = {"exchange": "amq.topic", "write": "^a", "read": ".*"}
QUEUE = {"name": "rp", "durable": True, "auto_delete": False, "arguments": {}}

#: name -> the file's sections; ``{vhost}`` and ``{user}`` stand for the test's own.
CASES: dict[str, dict[str, list[dict[str, Any]]]] = {
    "policies": {"policies": [POLICY]},
    "policies-and-empty-queues": {"policies": [POLICY], "queues": []},
    "operator-policy": {"parameters": [OPERATOR_POLICY]},
    "vhost-limits": {"parameters": [LIMITS]},
    "federation-upstream": {"parameters": [UPSTREAM]},
    "permissions": {"permissions": [PERMISSION]},
    "topic-permissions": {"topic_permissions": [TOPIC]},
    "permissions-and-policies": {"permissions": [PERMISSION], "policies": [POLICY]},
    "policies-and-parameters": {"policies": [POLICY], "parameters": [OPERATOR_POLICY, LIMITS]},
    "policies-and-queues": {"policies": [POLICY], "queues": [QUEUE]},
    "permissions-and-topic-permissions": {"permissions": [PERMISSION], "topic_permissions": [TOPIC]},
}
VHOST_SECTIONS = ("policies", "parameters", "permissions", "topic_permissions", "queues", "exchanges", "bindings")


def definitions_file(case: str, vhost: str, user: str, version: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"rabbit_version": "3.10.8"} if version else {}
    for section, entries in CASES[case].items():
        named = [{"vhost": vhost, **entry} for entry in entries]
        doc[section] = [{"user": user, **entry} if "permissions" in section else entry for entry in named]
    return doc


def state(client: HttpClient, vhost: str) -> dict[str, list[Any]]:
    """What ``GET /api/definitions`` lists in ``vhost``, sorted. A queue's ``x-queue-type: classic`` is folded into
    none (the vhost has no default type): rabbitadmin always sends the type (test_differential.py's NORMALISED)."""
    everything = client.get(api_path("definitions"))
    for queue in everything.get("queues", []):
        if (queue.get("arguments") or {}).get("x-queue-type") == "classic":
            del queue["arguments"]["x-queue-type"]
    return {
        section: sorted(
            (json.dumps(entry, sort_keys=True) for entry in everything.get(section, []) if entry.get("vhost") == vhost),
        )
        for section in VHOST_SECTIONS
    }


@pytest.fixture
def fresh(admin_client: HttpClient, vhost: str, user: str) -> Iterator[tuple[str, str]]:
    """The test's vhost and user, on the server only (a file names them without declaring them)."""
    admin_client.put(api_path("users", user), {"password": "pw-unused", "tags": ""})
    admin_client.put(api_path("vhosts", vhost), {})
    yield vhost, user


def renew(client: HttpClient, vhost: str) -> None:
    """The vhost as the fixture made it: everything in it (permissions included) gone."""
    delete_vhost(client, vhost)
    client.put(api_path("vhosts", vhost), {})


@pytest.mark.parametrize("version", [True, False], ids=["with-rabbit_version", "without"])
@pytest.mark.parametrize("case", list(CASES))
def test_apply_leaves_the_state_the_servers_import_leaves(
    case: str,
    version: bool,
    fresh: tuple[str, str],
    node: SandboxInfo,
    admin_client: HttpClient,
    rabbitadmin: CliRunner,
    tmp_path: Path,
) -> None:
    vhost, user = fresh
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(definitions_file(case, vhost, user, version)))

    answer = requests.post(  # the server's own import of the file's bytes, as curl -T sends them
        f"{node.url}/api/definitions",
        data=path.read_bytes(),
        headers={"content-type": "application/json"},
        auth=(node.user, node.password()),
        timeout=120,
    )
    assert answer.status_code in (200, 201, 204), answer.text
    by_server = state(admin_client, vhost)
    assert any(by_server[section] for section in CASES[case] if CASES[case][section]), by_server

    renew(admin_client, vhost)
    applied = rabbitadmin("apply", str(path), "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert state(admin_client, vhost) == by_server

    replanned = rabbitadmin("plan", str(path), "--detailed-exitcode")
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr


def test_a_file_naming_a_user_the_server_lacks_is_refused_before_any_write(
    fresh: tuple[str, str], admin_client: HttpClient, rabbitadmin: CliRunner, tmp_path: Path
) -> None:
    """The server's import answers 400 (``no_such_user``) after writing the sections it read first; rabbitadmin
    refuses the file before any write, at the permission's line and field."""
    vhost, _user = fresh
    doc = definitions_file("permissions-and-policies", vhost, "nobody-here", version=False)
    path = tmp_path / "perm.json"
    path.write_text(json.dumps(doc, indent=1))
    applied = rabbitadmin("apply", str(path), "--yes")
    assert applied.returncode != 0
    assert f"{path}:" in applied.stderr and "permissions[0].user" in applied.stderr, applied.stderr
    assert "neither this file nor the server" in applied.stderr, applied.stderr
    assert state(admin_client, vhost)["policies"] == []
