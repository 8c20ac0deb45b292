"""A definitions file's problems name the file's own paths and lines (``queues[3].arguments.x-max-length``), not
the topology's regrouped ones (``vhosts[1].queues[1]...``), in every section; and a definitions file is read as
the server's import reads it (hashes by ``rabbit_version``, plain-text passwords, users' tags, vhost metadata)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Topology
from rabbitadmin.passwords import MD5, check_password, hash_password

SHA256 = "rabbit_password_hashing_sha256"
Doc = dict[str, Any]


def base() -> Doc:
    """Two vhosts whose objects alternate in each section, so that regrouping by vhost changes every index."""

    def queue(name: str, vhost: str, **arguments: Any) -> Doc:
        return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}

    return {
        "rabbit_version": "3.10.8",
        "users": [
            {"name": f"u{i}", "password_hash": hash_password("pw"), "hashing_algorithm": SHA256, "tags": []}
            for i in range(3)
        ],
        "vhosts": [
            {"name": "a", "metadata": {"description": "", "tags": []}},
            {"name": "b", "metadata": {"description": "", "tags": [], "default_queue_type": "classic"}},
        ],
        "permissions": [
            {"user": f"u{i}", "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
            for i, v in ((0, "a"), (1, "b"))
        ],
        "topic_permissions": [
            {"user": "u0", "vhost": v, "exchange": e, "write": ".*", "read": ".*"} for v, e in (("a", "x"), ("b", ""))
        ],
        "parameters": [
            {"vhost": "b", "component": "vhost-limits", "name": "limits", "value": {"max-queues": 10}},
            {
                "vhost": "b",
                "component": "operator_policy",
                "name": "op",
                "value": {"pattern": ".*", "definition": {"max-length": 5}, "priority": 0, "apply-to": "queues"},
            },
        ],
        "policies": [
            {"vhost": v, "name": f"p{v}", "pattern": ".*", "apply-to": "all", "definition": {"max-length": 1}}
            for v in ("a", "b")
        ],
        "exchanges": [
            {
                "name": f"x{i}",
                "vhost": v,
                "type": "direct",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for i, v in enumerate(("a", "b", "a", "b"))
        ],
        "queues": [queue(f"q{i}", v) for i, v in enumerate(("a", "b", "a", "b", "a"))],
        "bindings": [
            {
                "source": f"x{i}",
                "vhost": v,
                "destination": f"q{i}",
                "destination_type": "queue",
                "routing_key": "k",
                "arguments": {},
            }
            for i, v in enumerate(("a", "b", "a", "b"))
        ],
    }


def setting(path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


# (how the file is broken, the field the problem must name, a text that stands on the problem's line)
CASES: list[tuple[Callable[[Doc], None], str, str]] = [
    (setting(("queues", 3, "arguments", "x-max-length"), -77777), "queues[3].arguments.x-max-length", "-77777"),
    (setting(("queues", 4, "arguments", "x-queue-type"), "quorom"), "queues[4].arguments.x-queue-type", '"quorom"'),
    (setting(("queues", 3, "durable"), "maybe"), "queues[3].durable", '"maybe"'),
    (setting(("exchanges", 3, "type"), "weird"), "exchanges[3].type", '"weird"'),
    (setting(("bindings", 2, "destination_type"), "queuee"), "bindings[2].destination_type", '"queuee"'),
    (setting(("users", 2, "password_hash"), "not a hash"), "users[2].password_hash", '"not a hash"'),
    (setting(("users", 1, "tags"), 5), "users[1].tags", '"tags": 5'),
    (setting(("users", 1, "limits"), {"max-chanels": 3}), "users[1].limits.max-chanels", '"max-chanels"'),
    (
        setting(("vhosts", 1, "metadata", "default_queue_type"), "quorom"),
        "vhosts[1].metadata.default_queue_type",
        '"quorom"',
    ),
    (setting(("vhosts", 1, "description"), ["x"]), "vhosts[1].description", '"description": ['),
    (setting(("permissions", 1, "read"), "(unclosed"), "permissions[1].read", '"(unclosed"'),
    (setting(("topic_permissions", 1, "write"), "[unclosed"), "topic_permissions[1].write", '"[unclosed"'),
    (setting(("policies", 1, "definition", "max-length"), "many"), "policies[1].definition.max-length", '"many"'),
    (setting(("policies", 1, "apply-to"), "queuez"), "policies[1].apply-to", '"queuez"'),
    (
        setting(("parameters", 1, "value", "definition", "max-lenght"), 1),
        "parameters[1].value.definition.max-lenght",
        '"max-lenght"',
    ),
    (setting(("parameters", 1, "value", "apply-to"), "queuez"), "parameters[1].value.apply-to", '"queuez"'),
    (setting(("parameters", 1, "name"), ""), "parameters[1].name", '"name": ""'),
    (setting(("parameters", 0, "value", "max-queuez"), 3), "parameters[0].value.max-queuez", '"max-queuez"'),
]


@pytest.mark.parametrize(("change", "field", "marker"), CASES, ids=[case[1] for case in CASES])
def test_a_problem_names_the_files_own_path_and_line(change: Callable[[Doc], None], field: str, marker: str) -> None:
    document = copy.deepcopy(base())
    change(document)
    text = json.dumps(document, indent=2)
    assert text.count(marker) >= 1, marker
    line = text[: text.index(marker)].count("\n") + 1
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "defs.json")
    located = [(p.field, p.line) for p in caught.value.problems]
    assert (field, line) in located, located
    assert not any(p.field and p.field.startswith("vhosts[") and ".queues" in p.field for p in caught.value.problems)


def _loaded_with(change: Callable[[Doc], None], marker: str) -> tuple[Topology, int]:
    """The base file with ``change`` made, loaded (it must load), and the line where ``marker`` first stands."""
    document = copy.deepcopy(base())
    change(document)
    text = json.dumps(document, indent=2)
    return load_topology_text(text, "defs.json"), text[: text.index(marker)].count("\n") + 1


# A reference to an object the file does not declare: the server's import takes it when the server has the object,
# so it is a warning (and a ``ServerReference`` the planner checks), at the file's own path and line.
REFERENCES: list[tuple[Callable[[Doc], None], str, str]] = [
    (setting(("exchanges", 2, "vhost"), "nowhere"), "exchanges[2].vhost", '"nowhere"'),
    (setting(("bindings", 3, "destination"), "missing"), "bindings[3].destination", '"missing"'),
    (setting(("permissions", 1, "vhost"), "nowhere"), "permissions[1].vhost", '"nowhere"'),
    (setting(("policies", 1, "vhost"), "nowhere"), "policies[1].vhost", '"nowhere"'),
    (setting(("permissions", 0, "user"), "ghost"), "permissions[0].user", '"ghost"'),
    (setting(("bindings", 1, "source"), "elsewhere"), "bindings[1].source", '"elsewhere"'),
    (setting(("parameters", 0, "vhost"), "nowhere"), "parameters[0].vhost", '"nowhere"'),
]


@pytest.mark.parametrize(("change", "field", "marker"), REFERENCES, ids=[case[1] for case in REFERENCES])
def test_a_reference_to_the_server_is_warned_at_the_files_own_path_and_line(
    change: Callable[[Doc], None], field: str, marker: str
) -> None:
    topology, line = _loaded_with(change, marker)
    assert (field, line) in [(w.field, w.line) for w in topology.warnings if "must exist on the server" in w.message]
    assert (field, line) in [(r.field, r.origin.line if r.origin else None) for r in topology.server_references]


# A field the server's import does not read: ignored there, left out here with a warning at the file's own place.
IGNORED: list[tuple[Callable[[Doc], None], str, str]] = [
    (setting(("exchanges", 2, "colour"), "red"), "exchanges[2].colour", '"colour"'),
    (setting(("vhosts", 1, "colour"), "red"), "vhosts[1].colour", '"colour"'),
    (setting(("queues", 2, "node"), "rabbit@x"), "queues[2].node", '"node"'),
]


@pytest.mark.parametrize(("change", "field", "marker"), IGNORED, ids=[case[1] for case in IGNORED])
def test_an_ignored_field_is_warned_at_the_files_own_path_and_line(
    change: Callable[[Doc], None], field: str, marker: str
) -> None:
    topology, line = _loaded_with(change, marker)
    assert (field, line) in [(w.field, w.line) for w in topology.warnings], topology.warnings


def test_the_unbroken_file_is_valid() -> None:
    topology = load_topology_text(json.dumps(base(), indent=2), "defs.json")
    assert len(topology.queues) == 5 and len(topology.operator_policies) == 1
    assert ("u0", "b", "") in topology.topic_permissions  # exchange "" as the server takes it


def document(**changes: Any) -> str:
    doc = base()
    doc.update(changes)
    return json.dumps(doc, indent=2)


@pytest.mark.parametrize(
    ("versions", "algorithm"),
    [
        ({"rabbit_version": "3.0.4"}, MD5),
        ({"rabbit_version": "3.5.7"}, MD5),
        ({"rabbit_version": "3.6.0"}, SHA256),
        ({"rabbit_version": "3.12.1"}, SHA256),
        ({"rabbit_version": "3.0.4", "rabbitmq_version": "3.8.0"}, SHA256),  # the server reads rabbitmq_version first
        ({"rabbit_version": "3.8.0", "rabbitmq_version": "3.1.0"}, MD5),
        ({}, SHA256),
    ],
)
def test_a_hash_without_algorithm_is_read_by_the_files_version(versions: dict[str, str], algorithm: str) -> None:
    doc = {k: v for k, v in base().items() if k not in ("rabbit_version", "rabbitmq_version")}
    doc.update(versions)
    stored = hash_password("old-pw", algorithm, b"\x00\x01\x02\x03")
    doc["users"] = [{"name": "legacy", "password_hash": stored, "tags": "administrator"}]
    doc["permissions"] = doc["topic_permissions"] = []
    topology = load_topology_text(json.dumps(doc, indent=2), "old.json")
    user = topology.users[("legacy",)]
    assert user.hashing_algorithm == algorithm and check_password("old-pw", user.password_hash or "", algorithm)


def test_an_md5_hash_in_a_file_that_says_nothing_old_is_refused_at_its_path() -> None:
    users = [{"name": "u0", "password_hash": hash_password("pw", MD5), "tags": ""}]
    text = document(users=users, permissions=[], topic_permissions=[], rabbit_version="3.6.0")
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "defs.json")
    assert [p.field for p in caught.value.problems] == ["users[0].password_hash"]
    assert SHA256 in caught.value.problems[0].message


def test_a_plain_text_password_is_taken_warned_about_and_never_shown() -> None:
    users = [{"name": "u0", "password": "Sup3r-s3cret", "tags": "management", "hashing_algorithm": MD5}]
    text = document(users=users, permissions=[], topic_permissions=[])
    topology = load_topology_text(text, "defs.json")
    user = topology.users[("u0",)]
    assert user.password is not None and user.password.reveal() == "Sup3r-s3cret"
    assert user.hashing_algorithm == SHA256  # the server hashes a plain password with its own module
    fields = [w.field for w in topology.warnings]
    assert "users[0].password" in fields and "users[0].hashing_algorithm" in fields
    assert [(what, origin.line) for what, origin in topology.plain_secrets] == [
        ("user:u0", text[: text.index('"password"')].count("\n") + 1)
    ]
    assert "Sup3r-s3cret" not in " ".join(str(w) for w in topology.warnings) + repr(user)


def test_a_topology_still_refuses_a_plain_text_password() -> None:
    with pytest.raises(TopologyError, match="plain-text passwords are not accepted in a topology"):
        load_topology_text("users: [{name: u, password: secret}]\n", "topology.yaml")


@pytest.mark.parametrize(
    ("user", "tags"),
    [
        ({"tags": "administrator, management"}, ("administrator", "management")),
        ({"tags": ["monitoring", " policymaker "]}, ("monitoring", "policymaker")),
        ({"tags": ""}, ()),
        ({"administrator": True}, ("administrator",)),
        ({"administrator": "false"}, ()),
    ],
)
def test_users_tags_are_read_in_every_shape_the_server_reads(user: Doc, tags: tuple[str, ...]) -> None:
    text = document(users=[{"name": "u0", **user}], permissions=[], topic_permissions=[])
    assert load_topology_text(text, "defs.json").users[("u0",)].tags == tags


def test_a_user_without_tags_is_refused_as_the_server_refuses_it() -> None:
    text = document(users=[{"name": "u0"}, {"name": "u1", "tags": ""}], permissions=[], topic_permissions=[])
    with pytest.raises(TopologyError, match="tags_not_present") as caught:
        load_topology_text(text, "defs.json")
    assert [p.field for p in caught.value.problems] == ["users[0]"]


@pytest.mark.parametrize(
    ("vhost", "expected"),
    [
        ({"metadata": {"description": "d", "tags": ["t"], "default_queue_type": "quorum"}}, ("d", ("t",), "quorum")),
        ({"description": "top", "tags": ["a"], "metadata": {"description": "m", "tags": ["b"]}}, ("top", ("a",), None)),
        ({"default_queue_type": "stream", "metadata": {"default_queue_type": "quorum"}}, ("", (), "quorum")),
        ({"default_queue_type": "undefined", "metadata": {}}, ("", (), None)),
        ({}, ("", (), None)),  # the import clears description and tags an entry leaves out
    ],
)
def test_vhost_metadata_is_read_as_the_servers_import_reads_it(
    vhost: Doc, expected: tuple[str, tuple[str, ...], str | None]
) -> None:
    text = document(vhosts=[{"name": "a", **vhost}, {"name": "b"}], parameters=[])
    read = load_topology_text(text, "defs.json").vhosts[("a",)]
    assert (read.description, read.tags, read.default_queue_type) == expected


def test_a_top_level_default_queue_type_alone_is_applied_with_a_warning() -> None:
    text = document(vhosts=[{"name": "a", "default_queue_type": "quorum"}, {"name": "b"}], parameters=[])
    topology = load_topology_text(text, "defs.json")
    assert topology.vhosts[("a",)].default_queue_type == "quorum"
    assert [w.field for w in topology.warnings] == ["vhosts[0].default_queue_type"]


def test_the_vhost_limits_parameter_wins_over_the_vhosts_own_limits() -> None:
    vhosts = [{"name": "a", "limits": {"max-queues": 1}}, {"name": "b", "limits": [["max-queues", 99]]}]
    topology = load_topology_text(document(vhosts=vhosts), "defs.json")
    limits = {(key, limit.value) for key, limit in topology.vhost_limits.items()}
    assert limits == {(("a", "max-queues"), 1), (("b", "max-queues"), 10)}
    assert [w.field for w in topology.warnings if "limits" in (w.field or "")] == ["vhosts[0].limits"]


@pytest.mark.parametrize(
    ("queue", "warned"),
    [
        ({"type": "quorum", "arguments": {}}, True),  # the server's import would make it classic
        ({"type": "stream"}, True),
        ({"type": "quorum", "arguments": {"x-queue-type": "quorum"}}, False),  # both say quorum
        ({"type": "classic", "arguments": {}}, False),  # the same queue either way
    ],
)
def test_a_queue_type_field_is_honoured_and_the_server_imports_difference_said(
    queue: dict[str, Any], warned: bool
) -> None:
    entry = {"name": "q", "vhost": "v", "durable": True, "auto_delete": False, **queue}
    text = json.dumps({"rabbit_version": "3.10.8", "vhosts": [{"name": "v"}], "queues": [entry]}, indent=1)
    topology = load_topology_text(text, "defs.json")
    assert topology.queues[("v", "q")].type == queue["type"]
    said = [str(w) for w in topology.warnings if "ignores a queue's type field" in str(w)]
    assert bool(said) is warned, topology.warnings
    if warned:
        assert said[0].startswith("defs.json:") and "queues[0].type" in said[0]


def test_tags_go_to_the_management_api_as_lists_kept_whole() -> None:
    # A string is split at its commas by the server (rabbit_vhost:parse_tags/1, tag_list_from/1): the tag 'a,b'
    # became 'a' and 'b', and every later plan wanted 'a,b' back (the node test: corpus tags-with-commas.json).
    from rabbitadmin.backends.http import quirks
    from rabbitadmin.definitions import to_definition
    from rabbitadmin.model import User

    assert quirks.user_tags(("a,b", "management")) == ["a,b", "management"]
    assert quirks.vhost_body("d", ("x,y",), None)["tags"] == ["x,y"]
    assert to_definition(User("u", ("a,b",), password_hash="h"))["tags"] == ["a,b"]


@pytest.mark.parametrize("field", ["tags", "password", "password_hash", "limits"])
def test_a_user_field_the_servers_import_cannot_read_as_null_is_refused_at_its_place(field: str) -> None:
    # In a topology an empty field means its default; the server's import fails on these (the node test:
    # tests/integration/test_definitions_nulls.py).
    user = {"name": "u", "tags": "", "password_hash": "", field: None}
    text = json.dumps({"rabbit_version": "3.10.8", "users": [user]}, indent=1)
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "defs.json")
    (problem,) = caught.value.problems
    assert problem.field == f"users[0].{field}" and "is null, which the server's import refuses" in problem.message
