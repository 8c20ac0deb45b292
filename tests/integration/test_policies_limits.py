"""Policies, operator policies, vhost limits and user limits on a real node, through both backends: apply,
re-plan clean, update in place, prune, export round trip, and definitions files of the shapes real exports
have (tests/corpus/policies_limits: a 3.x HA policy, an operator policy kept as a runtime parameter, users'
and vhosts' limits, 3.10's list-of-pairs limits)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import Refused, ServerError
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import hash_password

from ..conftest import CliRunner, delete_vhost
from ..policy_values import ACCEPTED, BY_VERSION, REFUSED

CORPUS = Path(__file__).parent.parent / "corpus" / "policies_limits"
HASH = hash_password("integration")


def topology(vhost: str, user: str, *, max_length: int = 100, max_queues: int = 50, full: bool = True) -> str:
    policies: list[dict[str, Any]] = [{"name": "dlx", "pattern": ".*", "definition": {"dead-letter-exchange": "dead"}}]
    document: dict[str, Any] = {
        "vhosts": [{"name": vhost, "limits": {"max-queues": max_queues}, "policies": policies}],
        "users": [{"name": user, "password_hash": HASH}],
        "permissions": [{"user": user, "vhost": vhost, "configure": "", "write": ".*", "read": ".*"}],
    }
    if full:
        document["vhosts"][0]["limits"]["max-connections"] = 10
        policies.append(
            {"name": "cap", "pattern": "^jobs", "apply_to": "queues", "priority": -2,
             "definition": {"max-length": max_length, "overflow": "reject-publish"}}
        )  # fmt: skip
        document["vhosts"][0]["operator_policies"] = [
            {"name": "ttl", "pattern": ".*", "definition": {"message-ttl": 60000}}
        ]
        document["users"][0]["limits"] = {"max-connections": 3, "max-channels": 20}
    return yaml.safe_dump(document, allow_unicode=True)


def server(admin_client: HttpClient, vhost: str, user: str) -> dict[str, Any]:
    """What the server holds, read with the management API (whatever backend wrote it)."""
    get = admin_client.get
    limits = get(api_path("vhost-limits", vhost)) or [{}]
    user_limits = [row.get("value") for row in get(api_path("user-limits")) if row.get("user") == user]
    return {
        "policies": {
            p["name"]: (p["definition"], p["priority"], p["apply-to"]) for p in get(api_path("policies", vhost))
        },
        "operator": {p["name"]: p["definition"] for p in get(api_path("operator-policies", vhost))},
        "limits": limits[0].get("value", {}),
        "user_limits": user_limits[0] if user_limits else {},
    }


def test_apply_replan_update_prune_and_export(
    backend: Backend, admin_client: HttpClient, vhost: str, user: str
) -> None:
    execute_plan(make_plan(load_topology_text(topology(vhost, user)), backend), backend)
    assert server(admin_client, vhost, user) == {
        "policies": {
            "dlx": ({"dead-letter-exchange": "dead"}, 0, "all"),
            "cap": ({"max-length": 100, "overflow": "reject-publish"}, -2, "queues"),
        },
        "operator": {"ttl": {"message-ttl": 60000}},
        "limits": {"max-queues": 50, "max-connections": 10},
        "user_limits": {"max-connections": 3, "max-channels": 20},
    }
    assert make_plan(load_topology_text(topology(vhost, user)), backend, prune=True).is_empty

    # Update in place: one limit and one policy change; the other limit stays as it was.
    plan = make_plan(load_topology_text(topology(vhost, user, max_length=5, max_queues=7)), backend)
    changes = sorted((c.kind, c.action) for c in plan.changes)
    assert changes == [("policy", Action.UPDATE), ("vhost_limit", Action.UPDATE)]
    execute_plan(plan, backend)
    state = server(admin_client, vhost, user)
    assert state["limits"] == {"max-queues": 7, "max-connections": 10}
    assert state["policies"]["cap"][0] == {"max-length": 5, "overflow": "reject-publish"}

    # Export round trip, then prune to the smaller file: unlisted policies and vhost limits go, users' stay.
    exported = export_document(backend.read_state({vhost}), [vhost], include_password_hashes=True)
    assert make_plan(load_topology_text(yaml.safe_dump(exported)), backend, prune=True).is_empty
    smaller = topology(vhost, user, full=False)
    plan = make_plan(load_topology_text(smaller), backend, prune=True)
    assert sorted((c.kind, c.key[1]) for c in plan.changes if c.action is Action.DELETE) == [
        ("operator_policy", "ttl"),
        ("policy", "cap"),
        ("vhost_limit", "max-connections"),
    ]
    execute_plan(plan, backend)
    assert server(admin_client, vhost, user) == {
        "policies": {"dlx": ({"dead-letter-exchange": "dead"}, 0, "all")},
        "operator": {},
        "limits": {"max-queues": 50},
        "user_limits": {"max-connections": 3, "max-channels": 20},
    }
    assert make_plan(load_topology_text(smaller), backend, prune=True).is_empty


def renamed(document: dict[str, Any], suffix: str) -> tuple[dict[str, Any], list[str], list[str]]:
    """The corpus file with every vhost and user renamed (so tests share the node): (document, vhosts, users)."""
    vhosts = {v["name"]: f"{v['name']}-{suffix}" for v in document.get("vhosts", [])}
    users = {u["name"]: f"{u['name']}-{suffix}" for u in document.get("users", [])}
    text = json.dumps(document)
    result = json.loads(text)
    for entry in result.get("vhosts", []):
        entry["name"] = vhosts[entry["name"]]
    for entry in result.get("users", []):
        entry["name"] = users[entry["name"]]
    for section in ("permissions", "policies", "parameters", "queues", "exchanges", "bindings"):
        for entry in result.get(section, []):
            if "vhost" in entry:
                entry["vhost"] = vhosts[entry["vhost"]]
            if "user" in entry:
                entry["user"] = users[entry["user"]]
    return result, list(vhosts.values()), list(users.values())


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.json")))
def test_corpus_definitions_files(name: str, backend: Backend, admin_client: HttpClient, rabbitmq_version: str) -> None:
    original = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    document, vhosts, users = renamed(original, f"{backend.name}-{secrets.token_hex(2)}")
    text = json.dumps(document)
    try:
        plan = make_plan(load_topology_text(text, name), backend)
        mirrored = any("ha-mode" in p["definition"] for p in document.get("policies", []))
        if mirrored and not rabbitmq_version.startswith("3."):
            # 4.0 removed classic mirroring and refuses the keys: refused at plan time, nothing written.
            assert any("refuses the policy key 'ha-mode'" in r for r in plan.refusals), plan.refusals
            return
        execute_plan(plan, backend)
        assert make_plan(load_topology_text(text, name), backend).is_empty
        for entry in document.get("policies", []):
            on_server = admin_client.get(api_path("policies", entry["vhost"], entry["name"]))
            assert on_server["definition"] == entry["definition"] and on_server["apply-to"] == entry["apply-to"]
        for entry in document.get("parameters", []):
            if entry["component"] == "operator_policy":
                on_server = admin_client.get(api_path("operator-policies", entry["vhost"], entry["name"]))
                assert on_server["definition"] == entry["value"]["definition"]
        for entry in document.get("users", []):
            expected = entry.get("limits") or {}
            rows = [r["value"] for r in admin_client.get(api_path("user-limits")) if r["user"] == entry["name"]]
            assert (rows[0] if rows else {}) == expected
        for entry in document.get("vhosts", []):
            limits = entry.get("limits") or {}
            expected = dict(limits) if isinstance(limits, dict) else {k: v for k, v in limits}
            rows = admin_client.get(api_path("vhost-limits", entry["name"])) or [{}]
            assert rows[0].get("value", {}) == expected
    finally:
        for vhost in vhosts:
            admin_client.delete(api_path("vhosts", vhost))
        for user in users:
            admin_client.delete(api_path("users", user))


def test_the_plan_names_the_queues_a_lower_max_length_would_cut(
    backend: Backend, admin_client: HttpClient, settings: ConnectionSettings, vhost: str
) -> None:
    def capped(length: int) -> str:
        policy = {"name": "cap", "pattern": "^jobs$", "apply_to": "queues", "definition": {"max-length": length}}
        return yaml.safe_dump({"vhosts": [{"name": vhost, "queues": [{"name": "jobs"}], "policies": [policy]}]})

    execute_plan(make_plan(load_topology_text(capped(1000)), backend), backend)
    # rabbitmqctl grants no one access to the vhost it creates: let the test's publisher in.
    admin_client.put(api_path("permissions", vhost, settings.user), {"configure": "", "write": ".*", "read": ""})
    for _ in range(3):
        message = {"properties": {}, "routing_key": "jobs", "payload": "x", "payload_encoding": "string"}
        answer = admin_client.post(api_path("exchanges", vhost, "amq.default", "publish"), message)
        assert answer.json()["routed"]
    plan = make_plan(load_topology_text(capped(1)), backend)
    assert [(c.kind, c.action) for c in plan.changes] == [("policy", Action.UPDATE)]
    assert any("'jobs' (3 messages)" in w and "max-length 1" in w for w in plan.warnings), plan.warnings
    with pytest.raises(Refused, match="2 message"):  # 2 of the 3 would go: only with --allow-data-loss
        execute_plan(plan, backend)
    assert admin_client.get(api_path("policies", vhost, "cap"))["definition"] == {"max-length": 1000}
    assert not any("messages)" in w for w in make_plan(load_topology_text(capped(5)), backend).warnings)


def test_a_policy_whose_expires_would_delete_queues_holding_messages_needs_the_flag(
    backend: Backend, admin_client: HttpClient, settings: ConnectionSettings, vhost: str
) -> None:
    """An ``expires`` policy deletes a queue left unused that long, messages and all (found by a newcomer: the
    apply went through, and 3 s later the queue and its messages were gone)."""

    def expiring(policies: list[dict[str, Any]]) -> str:
        return yaml.safe_dump({"vhosts": [{"name": vhost, "queues": [{"name": "jobs"}], "policies": policies}]})

    execute_plan(make_plan(load_topology_text(expiring([])), backend), backend)
    admin_client.put(api_path("permissions", vhost, settings.user), {"configure": "", "write": ".*", "read": ""})
    message = {"properties": {}, "routing_key": "jobs", "payload": "x", "payload_encoding": "string"}
    for _ in range(3):
        assert admin_client.post(api_path("exchanges", vhost, "amq.default", "publish"), message).json()["routed"]
    policy = {"name": "cleanup", "pattern": "^jobs$", "apply_to": "queues", "definition": {"expires": 60000}}
    plan = make_plan(load_topology_text(expiring([policy])), backend)
    assert any("'jobs' (3 messages) may then follow" in w and "expires" in w for w in plan.warnings), plan.warnings
    with pytest.raises(Refused, match="3 message"):
        execute_plan(plan, backend)
    assert admin_client.get_or_none(api_path("policies", vhost, "cleanup")) is None  # nothing written
    execute_plan(plan, backend, allow_data_loss=True)
    assert admin_client.get(api_path("policies", vhost, "cleanup"))["definition"] == {"expires": 60000}


def test_the_policy_value_rules_are_the_servers(
    admin_client: HttpClient, vhost: str, rabbitmq_version: str, rabbitadmin: CliRunner, tmp_path: Path
) -> None:
    """Each definition of tests/policy_values.py put to the node: refused exactly where the table says, so what
    validate and the plan refuse is what this server refuses, and what they take, it takes."""
    admin_client.put(api_path("vhosts", vhost), {})
    rows = [(d, v) for d, v, _ in REFUSED] + BY_VERSION + [(d, ()) for d in ACCEPTED]
    wrong = []
    for index, (definition, versions) in enumerate(rows):
        body = {"pattern": "^q", "definition": definition, "apply-to": "queues", "priority": 0}
        try:
            admin_client.put(api_path("policies", vhost, f"p{index}"), body)
            refused = False
        except ServerError as exc:
            refused = exc.status in (400, 500)  # 500: max-age given as a number crashes the validator
        if refused is not (rabbitmq_version in versions):
            wrong.append((definition, "refused" if refused else "taken"))
    assert wrong == [], wrong
    # The plan decides what only some versions refuse: exit 4 and nothing written where this server refuses.
    path = tmp_path / "limit.yaml"
    fresh = f"dl-{secrets.token_hex(3)}"
    policy = {"name": "dl", "pattern": "^q", "definition": {"delivery-limit": -1}}
    path.write_text(yaml.safe_dump({"vhosts": [{"name": fresh, "policies": [policy]}]}))
    result = rabbitadmin("apply", "--yes", str(path))
    try:
        if rabbitmq_version == "3.10":
            assert result.returncode == 4 and "refuses a negative delivery-limit" in result.stderr, result.stderr
            assert admin_client.get_or_none(api_path("vhosts", fresh)) is None  # nothing written
        else:
            assert result.returncode == 0, result.stderr
    finally:
        delete_vhost(admin_client, fresh)
