"""Fidelity of three kinds on a real node, through both backends: topic permissions on every exchange the
server accepts (the default exchange ``""`` included), vhost metadata (description, tags, default queue type)
through topology, definitions in and out and export, and users' tags in both shapes the server takes."""

from __future__ import annotations

import json

import pytest

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.export import definitions_document, export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import hash_password

HASH = hash_password("fidelity")


def converge(backend: Backend, text: str, name: str = "t.json") -> int:
    """Apply ``text`` (a topology or definitions document); the number of changes it made."""
    plan = make_plan(load_topology_text(text, name), backend)
    execute_plan(plan, backend, allow_data_loss=False)
    return len(plan.changes)


def replans_clean(backend: Backend, text: str, name: str = "t.json") -> bool:
    return make_plan(load_topology_text(text, name), backend).is_empty


def topic_topology(vhost: str, user: str, grants: dict[str, str], absent: tuple[str, ...] = ()) -> str:
    return json.dumps(
        {
            "vhosts": [{"name": vhost}],
            "users": [{"name": user, "password_hash": HASH, "tags": []}],
            "permissions": [{"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
            "topic_permissions": [
                *({"user": user, "vhost": vhost, "exchange": e, "write": w, "read": ".*"} for e, w in grants.items()),
                *({"user": user, "vhost": vhost, "exchange": e, "state": "absent"} for e in absent),
            ],
        }
    )


def test_topic_permissions_on_every_exchange_incl_the_default_one(
    backend: Backend, admin_client: HttpClient, vhost: str, user: str
) -> None:
    def on_server() -> dict[str, str]:
        listed = admin_client.get(api_path("topic-permissions", vhost, user))
        return {entry["exchange"]: entry["write"] for entry in listed}

    grants = {"": "^direct\\.", "amq.topic": "^a\\.", "events": ".*"}
    assert converge(backend, topic_topology(vhost, user, grants)) > 0
    assert on_server() == grants
    assert replans_clean(backend, topic_topology(vhost, user, grants))
    exported = export_document(backend.read_state({vhost}), {vhost})
    assert {p["exchange"] for p in exported["topic_permissions"]} == set(grants)
    assert replans_clean(backend, json.dumps(exported), "exported.json")

    changed = {**grants, "": "^other\\."}
    converge(backend, topic_topology(vhost, user, changed))
    assert on_server() == changed  # updating "" kept the others (one DELETE clears them all)
    converge(backend, topic_topology(vhost, user, {"events": ".*"}, absent=("", "amq.topic")))
    assert on_server() == {"events": ".*"}


def test_vhost_metadata_round_trips(backend: Backend, admin_client: HttpClient, vhost: str) -> None:
    topology = json.dumps(
        {"vhosts": [{"name": vhost, "description": "the shop", "tags": ["prod", "eu"], "default_queue_type": "quorum"}]}
    )
    converge(backend, topology)
    raw = admin_client.get(api_path("vhosts", vhost))
    assert (raw["description"], sorted(raw["tags"]), raw["default_queue_type"]) == (
        "the shop",
        ["eu", "prod"],
        "quorum",
    )
    assert replans_clean(backend, topology)

    actual = backend.read_state({vhost})
    [exported] = export_document(actual, {vhost})["vhosts"]
    assert (exported["description"], sorted(exported["tags"]), exported["default_queue_type"]) == (
        "the shop", ["eu", "prod"], "quorum",
    )  # fmt: skip
    document = definitions_document(actual, {vhost}, server_version="3.10.8")
    assert replans_clean(backend, json.dumps(document), "defs.json")  # definitions out, then in

    # The server's own import of rabbitadmin's definitions keeps every field (it reads metadata).
    copy_name = f"{vhost}-copy"
    document["vhosts"] = [{**v, "name": copy_name} for v in document["vhosts"]]
    try:
        admin_client.post(api_path("definitions"), {k: v for k, v in document.items() if k == "vhosts"})
        raw = admin_client.get(api_path("vhosts", copy_name))
        assert (raw["description"], sorted(raw["tags"]), raw["default_queue_type"]) == (
            "the shop", ["eu", "prod"], "quorum",
        )  # fmt: skip
    finally:
        admin_client.delete(api_path("vhosts", copy_name))


@pytest.mark.parametrize("spelling", ["list", "string"])
def test_user_tags_as_the_server_stores_them(
    backend: Backend, admin_client: HttpClient, user: str, spelling: str, rabbitmq_version: str
) -> None:
    tags: object = ["policymaker", "monitoring"] if spelling == "list" else "policymaker, monitoring"
    admin_client.put(api_path("users", user), {"password_hash": HASH, "tags": tags})
    stored = admin_client.get(api_path("users", user))["tags"]
    # Both 3.10.8 and 4.0.5 store and report a list, whichever spelling was sent.
    assert sorted(stored) == ["monitoring", "policymaker"], (rabbitmq_version, stored)
    for written in (["monitoring", "policymaker"], "monitoring,policymaker", "policymaker , monitoring"):
        text = json.dumps({"users": [{"name": user, "password_hash": HASH, "tags": written}]})
        assert replans_clean(backend, text), written
    entry = {"name": user, "password_hash": HASH, "hashing_algorithm": "rabbit_password_hashing_sha256"}
    definitions = json.dumps({"rabbit_version": "3.10.8", "users": [{**entry, "tags": "monitoring"}]})
    converge(backend, definitions, "defs.json")
    assert admin_client.get(api_path("users", user))["tags"] == ["monitoring"]
