"""Real plans (issue 16.4) against the published schema: `plan -o json` and `apply -o json` of a node, for
creates, updates, replaces and deletes of every kind, with secrets masked. One node test per version;
tests/unit/test_plan_schema.py holds the same checks on MemoryBackend plans.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.kinds import KINDS
from rabbitadmin.masking import MASK
from rabbitadmin.passwords import hash_password
from rabbitadmin.schema_cmd import PLAN_SCHEMA_RESOURCE, load_schema

from ..conftest import CliRunner

HASH = hash_password("plan-json-pw")
URI_SECRET = "upstream-pw-plan-json"  # a password inside a parameter's URI: never in any plan or result


@pytest.fixture
def user(admin_client: HttpClient) -> Iterator[str]:
    name = f"plan-json-{secrets.token_hex(3)}"
    yield name
    admin_client.delete(api_path("users", name))
    admin_client.delete(api_path("global-parameters", name))  # the topology's global parameter has its name


def topology(vhost: str, user: str, *, changed: bool = False) -> str:
    cap = 7 if changed else 100
    queue_type = "quorum" if changed else "classic"
    extra_queue = "" if changed else "\n      - {name: jobs}"
    return f"""
vhosts:
  - name: {json.dumps(vhost)}
    limits: {{max-queues: {cap}}}
    policies:
      - {{name: cap, pattern: '^jobs', apply_to: queues, definition: {{max-length: {cap}}}}}
    operator_policies:
      - {{name: ttl, pattern: '.*', definition: {{message-ttl: {cap * 1000}}}}}
    exchanges:
      - {{name: ex, type: headers}}
    queues:
      - {{name: orders, type: {queue_type}, arguments: {{x-max-length: 5}}}}{extra_queue}
    bindings:
      - {{source: ex, destination: orders, arguments: {{x-match: all, colour: red}}}}
    parameters:
      - component: federation-upstream
        name: up
        value: {{uri: 'amqp://fed:{URI_SECRET}@127.0.0.1:1/x', expires: {cap * 1000}}}
global_parameters:
  - {{name: {user}, value: {{cap: {cap}}}}}
users:
  - {{name: {user}, password_hash: {HASH}, tags: [{"administrator" if changed else "monitoring"}],
     limits: {{max-connections: {cap}}}}}
permissions:
  - {{user: {user}, vhost: {json.dumps(vhost)}, configure: '', write: '.*', read: '{".*" if changed else "^a"}'}}
topic_permissions:
  - {{user: {user}, vhost: {json.dumps(vhost)}, exchange: ex, write: '.*', read: '{".*" if changed else "^a"}'}}
"""


def fits(document: dict[str, Any]) -> None:
    checker = jsonschema.Draft202012Validator(load_schema(PLAN_SCHEMA_RESOURCE))
    problems = [f"{e.json_path}: {e.message}" for e in checker.iter_errors(document)]
    assert problems == []


def test_real_plans_and_applies_fit_the_published_schema(
    rabbitadmin: CliRunner, vhost: str, user: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(topology(vhost, user))
    planned = rabbitadmin("plan", str(first), "-o", "json", check=True)
    plan = json.loads(planned.stdout)
    fits(plan)
    assert {c["kind"] for c in plan["changes"]} == set(KINDS)
    created = rabbitadmin("apply", str(first), "--yes", "-o", "json", check=True)
    fits(json.loads(created.stdout))

    second = tmp_path / "second.yaml"
    second.write_text(topology(vhost, user, changed=True))
    replanned = rabbitadmin("plan", str(second), "--prune", "-o", "json", check=True)
    plan = json.loads(replanned.stdout)
    fits(plan)
    actions = {(c["action"], c["kind"]) for c in plan["changes"]}
    assert {("replace", "queue"), ("delete", "queue"), ("update", "policy"), ("update", "user")} <= actions
    assert {("update", kind) for kind in ("vhost_limit", "user_limit", "operator_policy", "permission")} <= actions
    assert {("update", "parameter"), ("update", "global_parameter")} <= actions
    [replace] = [c for c in plan["changes"] if c["action"] == "replace"]
    assert (replace["before"]["type"], replace["after"]["type"]) == ("classic", "quorum")
    [binding] = [c for c in plan["changes"] if c["kind"] == "binding"]  # re-created after the replace
    assert binding["identity"]["arguments"] == {"x-match": "all", "colour": "red"}
    [user_change] = [c for c in plan["changes"] if c["kind"] == "user"]
    assert user_change["before"]["password"] == user_change["after"]["password"] == MASK

    applied = rabbitadmin("apply", str(second), "--prune", "--yes", "--allow-data-loss", "-o", "json", check=True)
    document = json.loads(applied.stdout)
    fits(document)
    assert document["result"]["ok"] and len(document["result"]["done"]) == len(plan["changes"])
    for output in (planned, created, replanned, applied):
        assert HASH not in output.stdout + output.stderr and URI_SECRET not in output.stdout + output.stderr
