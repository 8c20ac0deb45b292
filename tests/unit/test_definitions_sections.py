"""Which reading a file gets (topology, whole-server definitions, per-vhost export), section by section.

The server's import (``POST /api/definitions``, ``rabbit_definitions:apply_defs``, v3.10.8 and v4.0.5) reads every
section alone and with any other, with or without ``rabbit_version`` (204 for each section alone, measured on 3.10.8
and 4.0.5; tests/integration/test_definitions_sections.py compares its state with rabbitadmin's). Here: every
section alone and every pair of them, each with and without ``rabbit_version``, must be read as the server reads it
(each object in the vhost it names), or, where the file is a topology by the documented rule (users, vhosts and
global parameters without ``rabbit_version``), as a topology, whose refusal of an undeclared user or vhost says how
to make the file definitions.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from rabbitadmin.definitions_input import (
    DEFINITIONS_MARKERS,
    SHARED_SECTIONS,
    VHOST_NAMING_SECTIONS,
    is_definitions_document,
)
from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Topology
from rabbitadmin.passwords import hash_password

HASH = hash_password("pw")
SERVER_VHOST, SERVER_USER = "srv-v", "srv-u"  # on the server only: the file names them, as the import allows

#: One entry of each kind the server's import reads: (section, entry). Parameters come in three components.
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "users": ("users", {"name": "u1", "password_hash": HASH, "hashing_algorithm": "rabbit_password_hashing_sha256",
                        "tags": "monitoring"}),
    "vhosts": ("vhosts", {"name": "v1"}),
    "permissions": ("permissions", {"user": SERVER_USER, "vhost": SERVER_VHOST, "configure": ".*", "write": ".*",
                                    "read": ".*"}),
    "topic_permissions": ("topic_permissions", {"user": SERVER_USER, "vhost": SERVER_VHOST, "exchange": "amq.topic",
                                                "write": ".*", "read": ".*"}),
    "exchanges": ("exchanges", {"name": "e1", "vhost": SERVER_VHOST, "type": "direct", "durable": True,
                                "auto_delete": False, "internal": False, "arguments": {}}),
    "queues": ("queues", {"name": "q1", "vhost": SERVER_VHOST, "durable": True, "auto_delete": False,
                          "arguments": {}}),
    "bindings": ("bindings", {"source": "amq.direct", "vhost": SERVER_VHOST, "destination": "q-srv",
                              "destination_type": "queue", "routing_key": "k", "arguments": {}}),
    "policies": ("policies", {"vhost": SERVER_VHOST, "name": "p1", "pattern": "^q", "apply-to": "queues",
                              "definition": {"max-length": 5}, "priority": 0}),
    "operator_policy": ("parameters", {"vhost": SERVER_VHOST, "component": "operator_policy", "name": "op1",
                                       "value": {"pattern": "^q", "definition": {"max-length": 9}, "priority": 0,
                                                 "apply-to": "queues"}}),
    "vhost-limits": ("parameters", {"vhost": SERVER_VHOST, "component": "vhost-limits", "name": "limits",
                                    "value": {"max-connections": 100}}),
    "federation-upstream": ("parameters", {"vhost": SERVER_VHOST, "component": "federation-upstream", "name": "up1",
                                           "value": {"uri": "amqp://localhost"}}),
    "global_parameters": ("global_parameters", {"name": "cluster_name", "value": "c1"}),
}  # fmt: skip
#: Where each kind's entry lands in the model: (model kind, key).
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("user", ("u1",)),
    "vhosts": ("vhost", ("v1",)),
    "permissions": ("permission", (SERVER_USER, SERVER_VHOST)),
    "topic_permissions": ("topic_permission", (SERVER_USER, SERVER_VHOST, "amq.topic")),
    "exchanges": ("exchange", (SERVER_VHOST, "e1")),
    "queues": ("queue", (SERVER_VHOST, "q1")),
    "policies": ("policy", (SERVER_VHOST, "p1")),
    "operator_policy": ("operator_policy", (SERVER_VHOST, "op1")),
    "vhost-limits": ("vhost_limit", (SERVER_VHOST, "max-connections")),
    "federation-upstream": ("parameter", (SERVER_VHOST, "federation-upstream", "up1")),
    "global_parameters": ("global_parameter", ("cluster_name",)),
}
SETS = [(kind,) for kind in KINDS] + list(itertools.combinations(KINDS, 2))


def document(kinds: tuple[str, ...], version: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"rabbit_version": "3.10.8"} if version else {}
    for kind in kinds:
        section, entry = KINDS[kind]
        doc.setdefault(section, []).append(json.loads(json.dumps(entry)))
    return doc


def is_topology_by_rule(doc: dict[str, Any]) -> bool:
    """The documented rule: without a marker, and not made only of vhost-naming sections, a file is a topology."""
    return not any(key in DEFINITIONS_MARKERS for key in doc) and not all(key in VHOST_NAMING_SECTIONS for key in doc)


def placed(topology: Topology, kind: str) -> bool:
    if kind == "bindings":
        return any(b.vhost == SERVER_VHOST and b.source == "amq.direct" for b in topology.objects["binding"].values())
    model_kind, key = EXPECTED[kind]
    return key in topology.objects[model_kind]


@pytest.mark.parametrize("version", [True, False], ids=["with-rabbit_version", "without"])
@pytest.mark.parametrize("kinds", SETS, ids=["+".join(kinds) for kinds in SETS])
def test_every_section_alone_and_in_pairs_is_read_as_the_servers_import_reads_it(
    kinds: tuple[str, ...], version: bool
) -> None:
    doc = document(kinds, version)
    text = json.dumps(doc, indent=1)
    topology_reading = is_topology_by_rule(doc)
    assert is_definitions_document(doc) is not topology_reading
    names_unknown = any(k in ("permissions", "topic_permissions") for k in kinds)  # the server's user and vhost
    if topology_reading and names_unknown:
        with pytest.raises(TopologyError) as caught:
            load_topology_text(text, "defs.json")
        assert caught.value.problems, kinds
        for problem in caught.value.problems:
            assert problem.file == "defs.json" and problem.line and problem.field, problem
            assert problem.field.endswith((".user", ".vhost")), problem
            assert 'add "rabbit_version"' in problem.message, problem
        return
    topology = load_topology_text(text, "defs.json")
    for kind in kinds:
        assert placed(topology, kind), (kind, {k: list(v) for k, v in topology.objects.items() if v})
    if "vhosts" in kinds:  # the import's defaults clear a vhost's description and tags; a topology's leave them
        vhost = topology.objects["vhost"][("v1",)]
        assert (vhost.description, vhost.tags) == ((None, None) if topology_reading else ("", ()))
    # The server's vhost is a reference (plan checks the server has it), at the file's own fields.
    naming = tuple(KINDS[kind][0] for kind in kinds if "vhost" in KINDS[kind][1])
    referenced = [reference.field for reference in topology.server_references if reference.field.endswith(".vhost")]
    assert bool(referenced) is bool(naming) and all(field.startswith(naming) for field in referenced), referenced


def test_the_newcomers_policies_only_file_is_no_per_vhost_export() -> None:
    """defs-cap.json (RabbitMQ 3.10.8, 4.0.5: 204): refused before as 'a per-vhost export whose objects name no
    vhost', though its one policy names its vhost."""
    text = json.dumps({"rabbit_version": "3.10.8", "policies": [KINDS["policies"][1]]})
    topology = load_topology_text(text, "defs-cap.json")
    assert list(topology.objects["policy"]) == [(SERVER_VHOST, "p1")]


PER_VHOST_310 = {  # 3.10.8's GET /api/definitions/{vhost}: policies and parameters keep their vhost
    "rabbit_version": "3.10.8",
    "queues": [{"name": "q", "durable": True, "auto_delete": False, "arguments": {}}],
    "exchanges": [],
    "bindings": [],
    "policies": [KINDS["policies"][1]],
    "parameters": [KINDS["vhost-limits"][1]],
}
#: 4.0.5's: every object without its vhost, and the vhost's own description at the top.
PER_VHOST_40 = {
    "rabbit_version": "4.0.5",
    "rabbitmq_definition_format": "single_virtual_host",
    "original_vhost_name": SERVER_VHOST,
    "description": "",
    "limits": {},
    "queues": [],
    "exchanges": [],
    "bindings": [],
    "policies": [{k: v for k, v in KINDS["policies"][1].items() if k != "vhost"}],
    "parameters": [{k: v for k, v in KINDS["vhost-limits"][1].items() if k != "vhost"}],
}


@pytest.mark.parametrize(
    ("doc", "per_vhost"),
    [
        pytest.param(PER_VHOST_310, True, id="3.10-queues-name-no-vhost"),
        pytest.param({**PER_VHOST_310, "queues": []}, False, id="3.10-policies-and-parameters-name-theirs"),
        pytest.param(PER_VHOST_40, True, id="4.0-nothing-names-a-vhost"),
        pytest.param(
            {**PER_VHOST_40, "policies": [KINDS["policies"][1]], "parameters": []},
            False,
            id="4.0-marked-but-its-policy-names-its-vhost",
        ),
        pytest.param({"policies": [{**KINDS["policies"][1], "vhost": None}]}, False, id="null-vhost-is-named"),
    ],
)
def test_a_per_vhost_export_is_told_by_objects_that_name_no_vhost_as_the_server_tells_it(
    doc: dict[str, Any], per_vhost: bool
) -> None:
    """``rabbit_definitions:any_orphaned_in_doc/1`` (4.0.5): exchanges, queues or bindings without a vhost make a
    file a per-vhost export; a policy or parameter that names its vhost goes there (204 on 3.10.8 and 4.0.5)."""
    text = json.dumps(doc, indent=1)
    if per_vhost:
        with pytest.raises(TopologyError) as caught:
            load_topology_text(text, "one.json")
        [problem] = caught.value.problems
        assert "a per-vhost export" in problem.message and "--vhost NAME" in problem.message
        into = load_topology_text(text, "one.json", definitions_vhost="shop")
        assert ("shop", "p1") in into.objects["policy"] and ("shop", "max-connections") in into.objects["vhost_limit"]
        return
    try:
        topology = load_topology_text(text, "one.json")
    except TopologyError as exc:  # a null vhost is the validator's own problem, at its field
        assert all("per-vhost" not in p.message and p.field and p.field.endswith(".vhost") for p in exc.problems)
        return
    assert (SERVER_VHOST, "p1") in topology.objects["policy"]


@pytest.mark.parametrize("section", ["policies", "parameters"])
def test_a_policy_or_parameter_without_vhost_beside_named_ones_is_required_at_its_line(section: str) -> None:
    """The server's import: 400 ``no_such_vhost`` (3.10.8), 500 (4.0.5), after writing what it read first."""
    entry = KINDS["policies" if section == "policies" else "operator_policy"][1]
    unnamed = {k: v for k, v in entry.items() if k != "vhost"} | {"name": "other"}
    text = json.dumps({section: [entry, unnamed]}, indent=1)
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "defs.json")
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == (f"{section}[1].vhost", "is required")
    entry_lines = [number for number, line in enumerate(text.splitlines(), 1) if line.strip() == "{"]
    assert problem.line == entry_lines[2]  # the document's, the first entry's, the second's


def test_vhost_into_one_vhost_refuses_a_file_of_whole_server_sections() -> None:
    """``POST /api/definitions/{vhost}`` ignores users, vhosts and permissions: ``--vhost`` refuses them, saying so."""
    text = json.dumps({"permissions": [KINDS["permissions"][1]]}, indent=1)
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "perm.json", definitions_vhost="shop")
    [problem] = caught.value.problems
    assert problem.field == "permissions" and problem.line == 2
    assert "only a whole-server import reads: import it without --vhost" in problem.message


@pytest.mark.parametrize("nested", ["queues", "exchanges", "bindings", "policies", "operator_policies", "parameters"])
def test_a_topologys_nesting_in_a_file_read_as_definitions_is_refused_not_left_out(nested: str) -> None:
    """A YAML topology with a top-level ``policies`` (or ``queues``) is read as definitions: its vhosts' objects
    would be left out (and deleted by ``--prune``); refused instead, at the vhost's field, with the way out."""
    text = f"vhosts:\n  - name: v\n    {nested}:\n      - name: x\npolicies: []\n"
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml")
    [problem] = [p for p in caught.value.problems if p.field == f"vhosts[0].{nested}"]
    assert problem.line == 3 and "list them at the top, each naming its vhost" in problem.message


def test_users_and_vhosts_alone_stay_a_topology_and_rabbit_version_makes_them_definitions() -> None:
    """users-only.json (newcomer's case): valid either way; only the vhost's description and tags differ (the
    import's defaults clear them), which is why the documented rule keeps the topology reading without a version."""
    doc = document(("users", "vhosts"), version=False)
    assert set(doc) <= set(SHARED_SECTIONS) and not is_definitions_document(doc)
    assert is_definitions_document({**doc, "rabbit_version": "3.10.8"})
