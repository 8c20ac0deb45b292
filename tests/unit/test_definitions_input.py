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


def test_fields_and_sections_the_servers_import_ignores_are_left_out_with_one_warning_each() -> None:
    """The server's import takes such a file (3.10.8 and 4.0.5: 204, the objects created without the fields;
    tests/integration/test_definitions_shapes.py), so rabbitadmin takes it too: one warning per field, at it."""
    extra = {"colour": "red"}
    doc = json.loads(definitions())
    for section in ("users", "vhosts", "permissions", "queues", "exchanges", "bindings", "global_parameters"):
        doc[section] = [{**entry, **extra} for entry in doc[section]]
    doc["users"][0]["state"] = "present"  # rabbitadmin's own (docs/topology.md): read, not left out
    doc["vhosts"][0]["state"] = "running"  # what GET /api/vhosts writes
    doc["queues"][0].update(exclusive=False, node="rabbit@x")
    doc["some_future_section"] = []
    doc["global_parameters"].append({"name": "g", "value": 1, **extra})
    topology = load_topology_text(json.dumps(doc, indent=1), "defs.json")
    assert ("defs.json", "u") in {(u.origin.file, u.name) for u in topology.users.values() if u.origin}
    assert not any(topology.absent.values())
    fields = sorted(w.field or "" for w in topology.warnings if "ignores it too" in w.message)
    assert len(fields) == len(topology.warnings)
    assert fields == sorted([
        "users[0].colour", "vhosts[0].colour", "vhosts[0].state", "permissions[0].colour",
        "queues[0].colour", "queues[0].exclusive", "queues[0].node", "exchanges[0].colour", "bindings[0].colour",
        "global_parameters[0].colour", "global_parameters[1].colour", "some_future_section",
    ])  # fmt: skip
    assert all(w.file == "defs.json" and w.line and w.line > 1 for w in topology.warnings)
    [state] = [w for w in topology.warnings if w.field == "vhosts[0].state"]
    assert "state 'running' is not rabbitadmin's present or absent" in state.message


def test_an_unknown_field_in_a_yaml_topology_is_still_a_problem() -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology_text("vhosts: [{name: v, queues: [{name: q, exclusive: false}]}]\n", "t.yaml")
    assert "unknown field 'exclusive'" in str(caught.value.problems[0])


SKIPPED = {
    "rabbit_version": "4.0.5",
    "vhosts": [{"name": "v"}],
    "queues": [{"name": "q", "vhost": "v", "durable": True, "auto_delete": False, "arguments": {}},
               {"name": "amq.gen-abc", "vhost": "v", "durable": True, "auto_delete": False, "arguments": {}}],
    "exchanges": [{"name": n, "vhost": "v", "type": "direct", "durable": True, "auto_delete": False,
                   "internal": False, "arguments": {}} for n in ("x", "amq.custom", "amq.topic", "")],
    "bindings": [{"source": s, "vhost": "v", "destination": d, "destination_type": t, "routing_key": "k",
                  "arguments": {}} for s, d, t in (
        ("amq.topic", "q", "queue"), ("x", "amq.topic", "exchange"),  # the server's own: bound by both
        ("", "q", "queue"), ("amq.custom", "q", "queue"), ("x", "amq.custom", "exchange"),
        ("amq.topic", "amq.gen-abc", "queue"))],
}  # fmt: skip


def test_objects_the_servers_import_skips_are_left_out_with_a_warning_each() -> None:
    """rabbit_definitions:add_queue_int/3 and add_exchange_int/3 skip amq.* queues and exchanges and the default
    exchange (3.10.8 and 4.0.5, measured: 204, none created); a binding of them is skipped too (3.10.8)."""
    topology = load_topology_text(json.dumps(SKIPPED, indent=1), "skips.json")
    assert [q.name for q in topology.queues.values()] == ["q"]
    assert [e.name for e in topology.exchanges.values()] == ["x"]
    assert sorted((b.source, b.destination) for b in topology.bindings.values()) == [
        ("amq.topic", "q"),
        ("x", "amq.topic"),
    ]
    skipped = sorted(w.field or "" for w in topology.warnings if "rabbitadmin leaves it out too" in w.message)
    assert skipped == ["bindings[2]", "bindings[3]", "bindings[4]", "bindings[5]", "exchanges[1]", "exchanges[2]",
                       "exchanges[3]", "queues[1]"]  # fmt: skip
    assert len(topology.warnings) == len(skipped)
    assert all(w.file == "skips.json" and w.line and w.line > 1 for w in topology.warnings)


def test_a_users_own_permissions_are_left_out_said_when_they_set_any() -> None:
    doc = json.loads(definitions())
    doc["users"][0]["permissions"] = {}
    assert not load_topology_text(json.dumps(doc), "defs.json").warnings
    doc["users"][0]["permissions"] = {"v": {"configure": ".*", "write": ".*", "read": ".*"}}
    [warning] = load_topology_text(json.dumps(doc), "defs.json").warnings
    assert warning.field == "users[0].permissions" and "only when it creates the user" in warning.message


def test_every_field_the_tables_name_is_one_the_import_reads() -> None:
    """IMPORT_READS is the one list of a definitions entry's fields: the other tables name none outside it."""
    from rabbitadmin.definitions_input import (
        ALSO_READ,
        EMPTY_LIST_IS_OBJECT,
        IMPORT_READS,
        NOT_NULL,
        OBJECT_ONLY,
        REQUIRED,
        STORED_AS_GIVEN,
        UNDEFINED_WHEN_MISSING,
    )  # fmt: skip

    for table in (NOT_NULL, REQUIRED, OBJECT_ONLY, EMPTY_LIST_IS_OBJECT, STORED_AS_GIVEN, UNDEFINED_WHEN_MISSING):
        for kind, fields in table.items():
            section = kind if kind in IMPORT_READS else "parameters"
            for field in fields:
                assert field.split(".")[0] in (*IMPORT_READS[section], *ALSO_READ.get(section, ())), (kind, field)
