"""A definitions file may name objects it does not declare (a permission's user, a binding's source, the vhost of a
policy): the server's own import takes such a file when the server has them (3.10.8 and 4.0.5, measured; see
tests/integration/test_server_references.py). Offline: accepted, with a warning at the file's line and field; at
plan: refused before any write when the server does not have them either, else planned as references (no change).
A topology (YAML) keeps the strict rule: there an undeclared name is a typo caught before any write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import Refused, TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Exchange, Parameter, Policy, Queue, Topology, User, Vhost

Doc = dict[str, Any]
SHOVEL = {"src-uri": "amqp://", "src-queue": "q", "dest-uri": "amqp://", "dest-queue": "d"}


def fault_file() -> Doc:
    """The brief's file: a user, a source exchange and a policy's vhost the file does not declare."""
    return {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "app"}],
        "permissions": [{"user": "guest", "vhost": "app", "configure": ".*", "write": ".*", "read": ".*"}],
        "exchanges": [],
        "queues": [{"name": "q1", "vhost": "app", "durable": True, "auto_delete": False, "arguments": {}}],
        "bindings": [
            {
                "source": "onserver",
                "vhost": "app",
                "destination": "q1",
                "destination_type": "queue",
                "routing_key": "k",
                "arguments": {},
            }
        ],
        "policies": [
            {
                "vhost": "other",
                "name": "p",
                "pattern": ".*",
                "apply-to": "queues",
                "definition": {"max-length": 5},
                "priority": 0,
            }
        ],
    }


def text_of(document: Doc) -> str:
    return json.dumps(document, indent=2)


def line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


def load(document: Doc) -> Topology:
    return load_topology_text(text_of(document), "defs.json")


EXPECTED = [  # (field, the text on its line, the object)
    ("permissions[0].user", '"user": "guest"', "user 'guest'"),
    ("bindings[0].source", '"source": "onserver"', "source exchange 'onserver' in vhost 'app'"),
    ("policies[0].vhost", '"vhost": "other"', "vhost 'other'"),
]


def test_the_references_are_accepted_offline_with_a_warning_at_file_line_and_field() -> None:
    text = text_of(fault_file())
    topology = load_topology_text(text, "defs.json")
    warned = {(w.file, w.line, w.field): w.message for w in topology.warnings}
    for field, marker, subject in EXPECTED:
        message = warned[("defs.json", line_of(text, marker), field)]
        assert message.startswith(f"{subject} is not in this file") and "must exist on the server" in message
    assert sorted((r.kind, r.key) for r in topology.server_references) == [
        ("exchange", ("app", "onserver")),
        ("user", ("guest",)),
        ("vhost", ("other",)),
    ]
    # The referenced vhost is not one the file manages; its policy is still the file's.
    assert ("other",) not in topology.vhosts and topology.vhosts_in_scope() == {"app"}
    assert topology.referenced_vhosts() == {"other"} and ("other", "p") in topology.policies


@pytest.mark.parametrize(
    ("section", "entry", "field"),
    [
        ("queues", {"name": "q", "vhost": "other", "durable": True, "auto_delete": False}, "queues[0].vhost"),
        ("exchanges", {"name": "e", "vhost": "other", "type": "fanout", "durable": True}, "exchanges[0].vhost"),
        (
            "permissions",
            {"user": "u", "vhost": "other", "configure": "", "write": "", "read": ""},
            "permissions[0].vhost",
        ),
        (
            "topic_permissions",
            {"user": "ghost", "vhost": "v", "exchange": "", "write": "", "read": ""},
            "topic_permissions[0].user",
        ),
        (
            "parameters",
            {"vhost": "other", "component": "vhost-limits", "name": "limits", "value": {"max-queues": 3}},
            "parameters[0].vhost",
        ),
        (
            "parameters",
            {
                "vhost": "other",
                "component": "operator_policy",
                "name": "op",
                "value": {"pattern": ".*", "definition": {"max-length": 1}, "apply-to": "queues", "priority": 0},
            },
            "parameters[0].vhost",
        ),
        (
            "parameters",
            {"vhost": "other", "component": "shovel", "name": "s", "value": SHOVEL},
            "parameters[0].vhost",
        ),
        (
            "bindings",
            {
                "source": "amq.direct",
                "vhost": "v",
                "destination": "gone",
                "destination_type": "exchange",
                "routing_key": "",
                "arguments": {},
            },
            "bindings[0].destination",
        ),
    ],
)
def test_every_kind_of_reference_is_a_warning_not_a_problem(section: str, entry: Doc, field: str) -> None:
    document: Doc = {"rabbit_version": "3.10.8", "vhosts": [{"name": "v"}], "users": [{"name": "u", "tags": ""}]}
    document[section] = [entry]
    topology = load(document)
    assert field in [w.field for w in topology.warnings if "must exist on the server" in w.message]
    assert field in [r.field for r in topology.server_references]


def test_many_objects_in_one_referenced_vhost_warn_once() -> None:
    queues = [{"name": f"q{i}", "vhost": "other", "durable": True, "auto_delete": False} for i in range(50)]
    topology = load({"rabbit_version": "3.10.8", "queues": queues})
    assert len(topology.queues) == 50 and topology.vhosts == {}
    assert [r.field for r in topology.server_references] == ["queues[0].vhost"]


def test_a_vhost_name_a_topology_would_refuse_is_still_refused_at_the_reference() -> None:
    with pytest.raises(TopologyError) as caught:
        load({"rabbit_version": "3.10.8", "queues": [{"name": "q", "vhost": "", "durable": True}]})
    assert [(p.field, p.message) for p in caught.value.problems] == [("queues[0].vhost", "must not be empty")]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "vhosts: [{name: v}]\npermissions: [{user: ghost, vhost: v, configure: '', write: '', read: ''}]",
            "user 'ghost' is not declared",
        ),
        (
            "vhosts: [{name: v, queues: [{name: q}], bindings: [{source: typo, destination: q}]}]",
            "source exchange 'typo' is not declared",
        ),
        (
            "vhosts: [{name: v, exchanges: [{name: e}], bindings: [{source: e, destination: typo}]}]",
            "destination queue 'typo' is not declared",
        ),
    ],
)
def test_a_topology_keeps_the_strict_rule(text: str, fragment: str) -> None:
    """In a topology the file is the whole truth: an undeclared name is a typo, refused offline."""
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml")
    assert any(fragment in p.message for p in caught.value.problems)


# -- at plan: the server decides ------------------------------------------------------------------------------
def server_with_references(backend: MemoryBackend) -> None:
    """What the fault file names without declaring it, made by other means."""
    backend.create([Vhost("app"), Vhost("other"), User("guest", (), password_hash="")])
    backend.create([Exchange("app", "onserver")])


def writes(backend: MemoryBackend) -> list[tuple[str, str, tuple[str, ...]]]:
    return [call for call in backend.calls if call[0] != "read_state"]


def test_plan_refuses_before_any_write_what_exists_in_neither_the_file_nor_the_server() -> None:
    text = text_of(fault_file())
    backend = MemoryBackend(user="admin")
    plan = make_plan(load_topology_text(text, "defs.json"), backend)
    for field, marker, _ in EXPECTED:
        assert any(r.startswith(f"defs.json:{line_of(text, marker)}: {field}: ") for r in plan.refusals), plan.refusals
    assert all("exists in neither this file nor the server" in r for r in plan.refusals)
    assert len(plan.refusals) == 3
    before = list(backend.calls)
    with pytest.raises(Refused):
        execute_plan(plan, backend)
    assert backend.calls == before  # nothing written


def test_plan_takes_the_servers_objects_and_converges() -> None:
    backend = MemoryBackend(user="admin")
    server_with_references(backend)
    plan = make_plan(load(fault_file()), backend)
    assert plan.refusals == []
    assert {(c.kind, c.key) for c in plan.changes} == {
        ("permission", ("guest", "app")),
        ("policy", ("other", "p")),
        ("queue", ("app", "q1")),
        ("binding", ("app", "onserver", "queue", "q1", "k", "{}")),
    }
    assert plan.scope == ("app",)  # the vhost only referred to is not in scope
    execute_plan(plan, backend)
    again = make_plan(load(fault_file()), backend)
    assert again.changes == [] and again.refusals == []
    assert backend.read_state(None).policies[("other", "p")] == Policy(
        "other", "p", ".*", {"max-length": 5}, 0, "queues"
    )


def test_objects_in_a_referenced_vhost_are_compared_not_recreated() -> None:
    document = {
        "rabbit_version": "3.10.8",
        "queues": [{"name": "q", "vhost": "other", "durable": True, "auto_delete": False, "arguments": {}}],
        "parameters": [{"vhost": "other", "component": "shovel", "name": "s", "value": SHOVEL}],
    }
    backend = MemoryBackend(user="admin")
    backend.create([Vhost("other")])
    execute_plan(make_plan(load(document), backend), backend)
    assert ("other", "q") in backend.read_state(None).queues
    assert ("other", "shovel", "s") in backend.read_state(None).parameters
    again = make_plan(load(document), backend)
    assert again.changes == [] and again.refusals == []
    # A changed queue there is planned as such (replace), as in a vhost the file declares.
    document["queues"][0]["arguments"] = {"x-max-length": 5}
    changed = make_plan(load(document), backend)
    assert [(c.action.value, c.key) for c in changed.changes] == [("replace", ("other", "q"))]


def test_prune_leaves_the_referenced_objects_and_vhosts_alone() -> None:
    backend = MemoryBackend(user="admin")
    server_with_references(backend)
    backend.create([Queue("other", "theirs"), Exchange("other", "theirs"), Parameter("other", "shovel", "s2", SHOVEL)])
    execute_plan(make_plan(load(fault_file()), backend), backend)
    backend.create([Queue("app", "unlisted")])
    plan = make_plan(load(fault_file()), backend, prune=True)
    deleted = [(c.kind, c.key) for c in plan.changes]
    # In 'app' (declared): the unlisted queue is pruned; the exchange the file's binding comes from is not.
    assert ("queue", ("app", "unlisted")) in deleted and ("exchange", ("app", "onserver")) not in deleted
    # In 'other' (only referred to): nothing is pruned.
    assert not any(key[0] == "other" for _, key in deleted)
    execute_plan(plan, backend)
    state = backend.read_state(None)
    assert ("app", "onserver") in state.exchanges and ("other", "theirs") in state.queues
    assert ("app", "onserver", "queue", "q1", "k", "{}") in state.bindings


def test_a_referenced_vhost_that_is_missing_is_refused_once_with_its_first_reference() -> None:
    queues = [{"name": f"q{i}", "vhost": "nowhere", "durable": True, "auto_delete": False} for i in range(3)]
    text = text_of({"rabbit_version": "3.10.8", "queues": queues})
    backend = MemoryBackend(user="admin")
    plan = make_plan(load_topology_text(text, "defs.json"), backend)
    line = line_of(text, '"vhost": "nowhere"')
    assert plan.refusals == [
        f"defs.json:{line}: queues[0].vhost: vhost 'nowhere' exists in neither this file nor the server (the "
        "server's own import would fail part-way); create it on the server first, or declare it in the file"
    ]


def test_a_bindings_destination_on_the_server_is_taken_and_a_missing_one_refused() -> None:
    document = {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "app"}],
        "exchanges": [{"name": "e", "vhost": "app", "type": "fanout", "durable": True, "auto_delete": False}],
        "bindings": [
            {"source": "e", "vhost": "app", "destination": "theirs", "destination_type": "queue", "routing_key": "",
             "arguments": {}},
            {"source": "e", "vhost": "app", "destination": "x2", "destination_type": "exchange", "routing_key": "",
             "arguments": {}},
        ],
    }  # fmt: skip
    backend = MemoryBackend(user="admin")
    backend.create([Vhost("app")])
    backend.create([Queue("app", "theirs")])
    plan = make_plan(load(document), backend)
    assert [r.split(": ", 2)[1:] for r in plan.refusals] == [
        ["bindings[1].destination", "exchange 'x2' in vhost 'app' exists in neither this file nor the server (the "
         "server's own import would drop the binding (3.10) or fail part-way (4.0)); create it on the server first, "
         "or declare it in the file"],
    ]  # fmt: skip
    backend.create([Exchange("app", "x2", "topic")])
    execute_plan(make_plan(load(document), backend), backend)
    assert make_plan(load(document), backend).changes == []
