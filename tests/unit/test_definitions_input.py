"""A server's definitions JSON is accepted as a topology, with problems located in the JSON file."""

from __future__ import annotations

import json

import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import hash_password

HASH = hash_password("pw")


def definitions(**extra: object) -> str:
    doc = {
        "rabbit_version": "3.10.8",
        "users": [
            {
                "name": "u",
                "password_hash": HASH,
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["management"],
                "limits": {},
            }
        ],
        "vhosts": [{"name": "v", "limits": [], "metadata": {"description": "d", "tags": []}}],
        "permissions": [{"user": "u", "vhost": "v", "configure": ".*", "write": ".*", "read": ".*"}],
        "topic_permissions": [],
        "parameters": [],
        "global_parameters": [{"name": "internal_cluster_id", "value": "x"}],
        "policies": [],
        "queues": [
            {"name": "q", "vhost": "v", "durable": True, "auto_delete": False, "arguments": {"x-queue-type": "quorum"}}
        ],
        "exchanges": [
            {
                "name": "e",
                "vhost": "v",
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "bindings": [
            {
                "source": "e",
                "vhost": "v",
                "destination": "q",
                "destination_type": "queue",
                "routing_key": "a.#",
                "arguments": {},
            }
        ],
    }
    doc.update(extra)
    return json.dumps(doc, indent=2)


def test_server_export_loads_as_topology() -> None:
    topo = load_topology_text(definitions(), "defs.json")
    assert topo.vhosts[("v",)].description == "d"
    assert topo.users[("u",)].password_hash == HASH and topo.users[("u",)].tags == ("management",)
    assert topo.queues[("v", "q")].type == "quorum"
    assert topo.exchanges[("v", "e")].type == "topic"
    assert [b.routing_key for b in topo.bindings.values()] == ["a.#"]
    assert ("u", "v") in topo.permissions


def test_policies_are_read_and_an_empty_definition_is_refused_where_it_is() -> None:
    policy = {"vhost": "v", "name": "p", "pattern": ".*", "apply-to": "queues", "definition": {"max-length": 3}}
    topo = load_topology_text(definitions(policies=[policy]), "defs.json")
    assert topo.policies[("v", "p")].apply_to == "queues" and topo.policies[("v", "p")].definition == {"max-length": 3}
    with pytest.raises(TopologyError, match=r"policies\[0\]\.definition: must not be empty"):
        load_topology_text(definitions(policies=[{**policy, "definition": {}}]), "defs.json")


def test_problems_point_into_the_json_file() -> None:
    text = definitions(queues=[{"name": "q", "vhost": "v", "durable": "yes"}])
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "defs.json")
    [problem] = [p for p in info.value.problems if p.field == "queues[0].durable"]
    assert problem.file == "defs.json" and problem.line is not None and problem.line > 1


def test_a_vhost_not_in_the_file_is_a_warning_pointing_into_the_json_file() -> None:
    text = definitions(queues=[{"name": "q", "vhost": "nowhere", "durable": True}])
    topology = load_topology_text(text, "defs.json")
    [warning] = [w for w in topology.warnings if "nowhere" in w.message]
    assert warning.file == "defs.json" and warning.line is not None and warning.line > 1
    assert warning.field == "queues[0].vhost" and "must exist on the server" in warning.message


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"queues": 5}, "queues: expected a list"),
        ({"queues": "abc"}, "queues: expected a list"),
        ({"vhosts": ["v"]}, "vhosts[0]: expected a mapping"),
        ({"vhosts": [{"name": "v"}, {"name": "v"}]}, "vhost 'v' declared twice"),
        ({"users": [{"name": "u", "state": "absent", "password_hash": HASH}]}, "absent object takes only its identity"),
        ({"users": [{"name": "u", "colour": "red"}]}, "unknown field 'colour'"),
    ],
)
def test_malformed_definitions_are_problems_not_crashes(extra: dict[str, object], fragment: str) -> None:
    with pytest.raises(TopologyError) as info:
        load_topology_text(definitions(**extra), "defs.json")
    assert any(fragment in str(p) for p in info.value.problems), info.value.problems


PER_VHOST = {
    "rabbit_version": "3.10.8",
    "queues": [{"name": "q", "durable": True, "auto_delete": False, "arguments": {}}],
    "exchanges": [{"name": "x", "type": "direct", "durable": True, "auto_delete": False, "internal": False,
                   "arguments": {}}],
    "bindings": [{"source": "x", "destination": "q", "destination_type": "queue", "routing_key": "k",
                  "arguments": {}}],
    "policies": [{"vhost": "where-it-was-exported", "name": "cap", "pattern": "^q", "apply-to": "queues",
                  "definition": {"max-length": 5}, "priority": 0}],  # exports keep a policy's vhost field
    "parameters": [],
}  # fmt: skip


def test_a_per_vhost_export_is_one_clear_problem_not_one_per_object() -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology_text(json.dumps(PER_VHOST, indent=1), "one-vhost.json")
    [problem] = caught.value.problems
    assert problem.file == "one-vhost.json" and problem.line == 1
    assert "a per-vhost export (GET /api/definitions/{vhost}" in problem.message
    assert "definitions import FILE --vhost NAME" in problem.message


def test_a_per_vhost_export_goes_into_the_vhost_given_and_leaves_its_metadata_alone() -> None:
    topology = load_topology_text(json.dumps(PER_VHOST, indent=1), "one-vhost.json", definitions_vhost="shop")
    [vhost] = topology.vhosts.values()
    assert vhost.name == "shop" and vhost.description is None and vhost.tags is None  # not managed
    assert [(q.vhost, q.name) for q in topology.queues.values()] == [("shop", "q")]
    assert [(b.vhost, b.source, b.destination) for b in topology.bindings.values()] == [("shop", "x", "q")]
    assert [(p.vhost, p.name) for p in topology.policies.values()] == [("shop", "cap")]  # as the server does


def test_definitions_vhost_is_refused_for_a_whole_export_and_for_a_topology() -> None:
    whole = {**PER_VHOST, "vhosts": [{"name": "v"}], "queues": [{**PER_VHOST["queues"][0], "vhost": "v"}]}
    with pytest.raises(TopologyError) as caught:
        load_topology_text(json.dumps(whole), "all.json", definitions_vhost="shop")
    assert [p.message for p in caught.value.problems] == [
        "--vhost 'shop' is for a per-vhost export; this file names the vhosts of its objects"
    ]
    with pytest.raises(TopologyError) as caught:
        load_topology_text("vhosts: [{name: v}]\n", "t.yaml", definitions_vhost="shop")
    assert "per-vhost definitions export" in caught.value.problems[0].message


def test_the_same_objects_with_their_vhost_are_a_whole_export() -> None:
    named = {
        **PER_VHOST,
        "vhosts": [{"name": "v"}],
        **{s: [{**item, "vhost": "v"} for item in PER_VHOST[s]] for s in ("queues", "exchanges", "bindings")},
        "policies": [{**PER_VHOST["policies"][0], "vhost": "v"}],
    }
    topology = load_topology_text(json.dumps(named), "all.json")
    assert [(q.vhost, q.name) for q in topology.queues.values()] == [("v", "q")]
    missing_one = {**named, "queues": [{k: v for k, v in PER_VHOST["queues"][0].items()}]}
    with pytest.raises(TopologyError) as caught:  # a whole export missing one vhost field: that field
        load_topology_text(json.dumps(missing_one), "all.json")
    assert "queues[0].vhost" in [p.field for p in caught.value.problems]
    assert not any("per-vhost" in p.message for p in caught.value.problems)
