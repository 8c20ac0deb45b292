"""Policies, operator policies, vhost limits and user limits through the engine on ``MemoryBackend``: plan,
apply, re-plan clean, update in place, prune, export round trip, definitions input, and the plan's warnings.
The same points are proven on real nodes by tests/integration/test_policies_limits.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.definitions import to_definitions, topology_from_definitions
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import Refused, TopologyError
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import OperatorPolicy, Policy, Topology, UserLimit, VhostLimit
from rabbitadmin.passwords import hash_password

from ..policy_values import ACCEPTED, BY_VERSION, REFUSED

CORPUS = Path(__file__).parent.parent / "corpus" / "policies_limits"
HASH = hash_password("unit")


def topology(policy_length: int = 100, *, limits: dict[str, int] | None = None, extra: str = "") -> str:
    return f"""
vhosts:
  - name: v
    limits: {json.dumps(limits if limits is not None else {"max-connections": 10, "max-queues": 50})}
    policies:
      - {{name: cap, pattern: '^jobs', apply_to: queues, priority: 2, definition: {{max-length: {policy_length}}}}}
      - {{name: dlx, pattern: '.*', definition: {{dead-letter-exchange: dead}}}}
    operator_policies:
      - {{name: ttl, pattern: '.*', definition: {{message-ttl: 60000}}}}
    queues:
      - {{name: jobs}}
{extra}
users:
  - {{name: app, password_hash: {HASH}, limits: {{max-connections: 3, max-channels: 20}}}}
permissions:
  - {{user: app, vhost: v, configure: '', write: '.*', read: '.*'}}
"""


def load(text: str) -> Topology:
    return load_topology_text(text, "t.yaml")


def apply(text: str, backend: MemoryBackend, *, prune: bool = False) -> None:
    execute_plan(make_plan(load(text), backend, prune=prune), backend)


def test_apply_then_replan_is_clean_and_the_server_holds_every_object() -> None:
    backend = MemoryBackend()
    plan = make_plan(load(topology()), backend)
    kinds = {c.kind for c in plan.changes if c.action is Action.CREATE}
    assert {"policy", "operator_policy", "vhost_limit", "user_limit"} <= kinds
    execute_plan(plan, backend)
    state = backend.snapshot()
    assert state.policies[("v", "cap")] == Policy("v", "cap", "^jobs", {"max-length": 100}, 2, "queues")
    assert state.operator_policies[("v", "ttl")] == OperatorPolicy("v", "ttl", ".*", {"message-ttl": 60000})
    assert state.vhost_limits[("v", "max-queues")] == VhostLimit("v", "max-queues", 50)
    assert state.user_limits[("app", "max-channels")] == UserLimit("app", "max-channels", 20)
    assert make_plan(load(topology()), backend).is_empty


def test_policies_and_limits_are_created_before_queues_and_deleted_after_them() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    creates = [kind for call, kind, _ in backend.calls if call == "create"]
    assert creates.index("policy") < creates.index("queue") and creates.index("user_limit") > creates.index("user")
    backend.calls.clear()
    apply("vhosts: [{name: v, state: absent}]", backend)
    assert backend.snapshot().policies == {} and backend.snapshot().vhost_limits == {}  # the vhost took them


def test_a_changed_field_is_an_update_in_place() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    plan = make_plan(load(topology(50, limits={"max-connections": 20, "max-queues": 50})), backend)
    changed = sorted((c.action, c.kind, tuple(f.name for f in c.fields)) for c in plan.changes)
    assert changed == [(Action.UPDATE, "policy", ("definition",)), (Action.UPDATE, "vhost_limit", ("value",))]
    execute_plan(plan, backend)
    assert backend.snapshot().policies[("v", "cap")].definition == {"max-length": 50}
    assert [call for call, _, _ in backend.calls if call == "delete"] == []  # never deleted and re-created


def test_prune_deletes_unlisted_policies_and_vhost_limits_but_never_user_limits() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    smaller = f"""
vhosts:
  - {{name: v, limits: {{max-queues: 50}}, queues: [{{name: jobs}}],
     policies: [{{name: dlx, pattern: '.*', definition: {{dead-letter-exchange: dead}}}}]}}
users: [{{name: app, password_hash: {HASH}}}]
permissions: [{{user: app, vhost: v, configure: '', write: '.*', read: '.*'}}]
"""
    assert {c.kind for c in make_plan(load(smaller), backend).changes} == set()  # without --prune: kept
    plan = make_plan(load(smaller), backend, prune=True)
    assert sorted((c.action, c.kind, c.key) for c in plan.changes) == [
        (Action.DELETE, "operator_policy", ("v", "ttl")),
        (Action.DELETE, "policy", ("v", "cap")),
        (Action.DELETE, "vhost_limit", ("v", "max-connections")),
    ]
    execute_plan(plan, backend)
    assert make_plan(load(smaller), backend, prune=True).is_empty
    assert ("app", "max-channels") in backend.snapshot().user_limits


def test_absent_policy_is_deleted() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    plan = make_plan(load("vhosts: [{name: v, policies: [{name: cap, state: absent}]}]"), backend)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.DELETE, ("v", "cap"))]


def test_export_round_trip_plans_nothing() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    document = export_document(backend.read_state({"v"}), ["v"], include_password_hashes=True)
    (vhost,) = document["vhosts"]
    assert vhost["limits"] == {"max-connections": 10, "max-queues": 50}
    assert vhost["policies"][0] == {
        "name": "cap", "pattern": "^jobs", "definition": {"max-length": 100}, "priority": 2, "apply_to": "queues"
    }  # fmt: skip
    assert vhost["policies"][1] == {"name": "dlx", "pattern": ".*", "definition": {"dead-letter-exchange": "dead"}}
    assert [u.get("limits") for u in document["users"] if u["name"] == "app"] == [
        {"max-channels": 20, "max-connections": 3}
    ]
    assert make_plan(load(yaml.safe_dump(document)), backend, prune=True).is_empty


def test_definitions_round_trip_groups_limits_as_the_server_does() -> None:
    objects = list(load(topology()))
    document = to_definitions(objects)
    (limits,) = [p for p in document["parameters"] if p["component"] == "vhost-limits"]
    assert limits == {"vhost": "v", "component": "vhost-limits", "name": "limits",
                      "value": {"max-connections": 10, "max-queues": 50}}  # fmt: skip
    assert [u["limits"] for u in document["users"]] == [{"max-connections": 3, "max-channels": 20}]
    back = topology_from_definitions(document)
    for kind in ("policy", "operator_policy", "vhost_limit", "user_limit"):
        assert set(back.of(kind)) == set(load(topology()).of(kind)), kind


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.json")))
def test_corpus_definitions_files_apply_and_replan_clean(name: str) -> None:
    text = (CORPUS / name).read_text(encoding="utf-8")
    desired = load_topology_text(text, name)
    backend = MemoryBackend()
    execute_plan(make_plan(desired, backend), backend)
    assert make_plan(load_topology_text(text, name), backend).is_empty
    expected: dict[str, Any] = json.loads(text)
    state = backend.snapshot()
    assert len(state.policies) == len(expected.get("policies", []))
    operator = [p for p in expected.get("parameters", []) if p["component"] == "operator_policy"]
    assert len(state.operator_policies) == len(operator)
    # 3.10.8 writes a vhost's limits as a list of pairs: dict() takes both shapes.
    vhosts = expected.get("vhosts", [])
    vhost_limits = {(v["name"], n): value for v in vhosts for n, value in dict(v.get("limits") or {}).items()}
    assert {key: limit.value for key, limit in state.vhost_limits.items()} == vhost_limits
    user_limits = {(u["name"], n): v for u in expected.get("users", []) for n, v in (u.get("limits") or {}).items()}
    assert {key: limit.value for key, limit in state.user_limits.items()} == user_limits


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("{name: p, pattern: x, definition: {max-length: -1}}", "definition.max-length: must be a whole number >= 0"),
        ("{name: p, pattern: x, definition: {expires: 0}}", "definition.expires: must be a whole number >= 1"),
        ("{name: p, pattern: x, definition: {overflow: drop}}", "definition.overflow: must be one of"),
        ("{name: p, pattern: x, definition: {max-lenght: 1}}", "did you mean 'max-length'"),
        ("{name: p, pattern: x, apply_to: queue, definition: {expires: 1}}", "apply_to: must be one of"),
        ("{name: p, pattern: '(', definition: {expires: 1}}", "pattern:"),
        ("{name: p, definition: {expires: 1}}", "pattern: is required"),
        ("{name: p, pattern: x}", "definition: is required"),
        ("{name: p, pattern: x, priority: true, definition: {expires: 1}}", "priority: must be a number"),
    ],
)
def test_what_the_server_refuses_in_a_policy_is_refused_with_its_place(policy: str, fragment: str) -> None:
    with pytest.raises(TopologyError) as info:
        load(f"vhosts:\n  - name: v\n    policies:\n      - {policy}\n")
    assert any(fragment in str(p) and ":4:" in str(p) for p in info.value.problems), info.value.problems


def _policy_text(definition: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {"vhosts": [{"name": "v", "policies": [{"name": "p", "pattern": "^q", "definition": definition}]}]}
    )


@pytest.mark.parametrize(("definition", "versions", "fragment"), REFUSED, ids=lambda v: str(v)[:40])
def test_a_policy_value_every_server_refuses_is_refused_at_its_key(
    definition: dict[str, Any], versions: tuple[str, ...], fragment: str
) -> None:
    with pytest.raises(TopologyError) as info:
        load(_policy_text(definition))
    assert any(fragment in str(p) and "policies[0].definition." in str(p) for p in info.value.problems), (
        info.value.problems
    )


@pytest.mark.parametrize(("definition", "versions"), BY_VERSION, ids=lambda v: str(v)[:40])
def test_a_policy_value_some_servers_refuse_is_refused_by_the_plan_for_those(
    definition: dict[str, Any], versions: tuple[str, ...]
) -> None:
    desired = load(_policy_text(definition))
    assert desired.warnings, "validate warns: the value depends on the server's version"
    for version in ("3.10.8", "4.0.5"):
        refusals = make_plan(desired, MemoryBackend(version=version)).refusals
        assert bool(refusals) is (version[:-2] in versions), (version, refusals)


@pytest.mark.parametrize("definition", ACCEPTED, ids=str)
def test_a_policy_value_every_server_takes_is_taken(definition: dict[str, Any]) -> None:
    desired = load(_policy_text(definition))
    assert desired.policies[("v", "p")].definition == definition
    assert make_plan(desired, MemoryBackend(version="3.10.8")).refusals == []


def test_operator_policy_keys_are_the_servers_few() -> None:
    with pytest.raises(TopologyError, match="'dead-letter-exchange' is not a key an operator policy may set"):
        load("vhosts: [{name: v, operator_policies: [{name: o, pattern: x, definition: {dead-letter-exchange: d}}]}]")


def test_a_negative_priority_or_limit_is_accepted_as_the_server_does() -> None:
    topo = load("vhosts: [{name: v, limits: {max-queues: -1}, policies: [{name: p, pattern: x, priority: -3, "
                "definition: {expires: 1}}]}]")  # fmt: skip
    assert topo.vhost_limits[("v", "max-queues")].value == -1 and topo.policies[("v", "p")].priority == -3


def test_the_plan_names_queues_a_lower_max_length_would_cut() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    backend.set_messages("v", "jobs", 40)
    plan = make_plan(load(topology(10)), backend)
    assert any("'jobs' (40 messages)" in w and "max-length 10" in w for w in plan.warnings), plan.warnings
    # 30 messages would go: like a queue delete, that takes --allow-data-loss.
    assert [(c.subject, c.messages_at_risk) for c in plan.data_loss()] == [("policy 'cap' in vhost 'v'", 30)]
    with pytest.raises(Refused, match="update policy 'cap' in vhost 'v': 30 message"):
        execute_plan(plan, backend)
    assert backend.snapshot().policies[("v", "cap")].definition == {"max-length": 100}  # nothing written
    execute_plan(plan, backend, allow_data_loss=True)
    assert backend.snapshot().policies[("v", "cap")].definition == {"max-length": 10}
    assert not any("jobs" in w for w in make_plan(load(topology(1000)), backend).warnings if "40 messages" in w)


def test_mirroring_keys_are_refused_by_a_4_0_plan_and_accepted_by_3_10() -> None:
    text = "vhosts: [{name: v, policies: [{name: ha, pattern: '.*', definition: {ha-mode: all}}]}]"
    desired = load(text)
    assert any("classic queue mirroring" in str(w) for w in desired.warnings)
    assert make_plan(desired, MemoryBackend(version="3.10.8")).refusals == []
    refusals = make_plan(desired, MemoryBackend(version="4.0.5")).refusals
    assert any("refuses the policy key 'ha-mode'" in r for r in refusals), refusals


def test_definitions_export_applies_back_with_nothing_to_do() -> None:
    from rabbitadmin.export import definitions_document

    backend = MemoryBackend()
    apply(topology(), backend)
    document = definitions_document(
        backend.read_state({"v"}), ["v"], include_password_hashes=True, server_version="3.10.8"
    )
    assert sorted(p["name"] for p in document["policies"]) == ["cap", "dlx"]
    components = sorted(p["component"] for p in document["parameters"])
    assert components == ["operator_policy", "vhost-limits"]
    assert [u["limits"] for u in document["users"] if u["name"] == "app"] == [
        {"max-connections": 3, "max-channels": 20}
    ]
    assert make_plan(load_topology_text(json.dumps(document), "d.json"), backend, prune=True).is_empty
    hidden = definitions_document(backend.read_state({"v"}), ["v"])
    assert all("password_hash" not in u for u in hidden["users"])


def test_plan_wording_names_each_new_kind() -> None:
    plan = make_plan(load(topology()), MemoryBackend())
    subjects = {c.subject for c in plan.changes}
    assert {"policy 'cap' in vhost 'v'", "operator policy 'ttl' in vhost 'v'", "vhost limit 'max-queues' in vhost 'v'",
            "user limit 'max-channels' of user 'app'"} <= subjects  # fmt: skip


def test_an_export_keeps_a_priority_of_0_0_so_its_plan_is_clean() -> None:
    """The server keeps 0.0 as given (its import takes any number); the default is 0: an export leaving it out
    planned ``priority: 0.0 -> 0`` (found by a helper)."""
    backend = MemoryBackend()
    apply("vhosts:\n  - name: v\n    policies:\n      - {name: p, pattern: '^z', definition: {max-length: 1}, "
          "priority: 0.0}\n", backend)  # fmt: skip
    document = export_document(backend.read_state({"v"}), ["v"])
    (policy,) = document["vhosts"][0]["policies"]
    assert policy["priority"] == 0.0 and isinstance(policy["priority"], float)
    assert make_plan(load(yaml.safe_dump(document)), backend).is_empty


def _dropping(definition: dict[str, Any] | None, operator: bool = False, queue_type: str = "classic") -> str:
    """A vhost with queues ``jobs`` and ``idle`` (of ``queue_type``) and one policy (or operator policy) over both
    (none: ``definition`` None)."""
    section = "operator_policies" if operator else "policies"
    queues = [{"name": name, "type": queue_type} for name in ("jobs", "idle")]
    vhost: dict[str, Any] = {"name": "v", "queues": queues}
    if definition is not None:
        vhost[section] = [{"name": "drop", "pattern": "^(jobs|idle)$", "apply_to": "queues", "definition": definition}]
    return yaml.safe_dump({"vhosts": [vhost]})


_DROPPING_CASES = [
    # Set where there was none, or lowered: every message the matched queues hold is at risk.
    (None, {"expires": 60000}, 40),
    # message-ttl never reaches messages already queued (stamped at enqueue: tests/integration/test_policy_effects.py)
    (None, {"message-ttl": 1000}, 0),
    (None, {"max-length-bytes": 10}, 40),
    (None, {"max-age": "1h"}, 40),  # on streams: the only queues max-age applies to
    ({"expires": 60000}, {"expires": 1000}, 40),
    ({"message-ttl": 5000}, {"message-ttl": 1000}, 0),
    ({"max-age": "7D"}, {"max-age": "1D"}, 40),
    ({"max-age": "7D"}, {"max-age": "1Y"}, 0),  # durations compared as the server reads them
    # Raised, unchanged, or a key that drops nothing held now: no flag needed.
    ({"expires": 1000}, {"expires": 60000}, 0),
    ({"message-ttl": 1000}, {"message-ttl": 1000, "max-length": 100}, 0),
    (None, {"delivery-limit": 5}, 0),
    (None, {"dead-letter-exchange": "d"}, 0),
]
_OPERATOR_KEYS = ("expires", "message-ttl", "max-length-bytes", "max-length", "delivery-limit")


@pytest.mark.parametrize(
    ("before", "after", "at_risk", "operator"),
    [
        (*case, operator)
        for case in _DROPPING_CASES
        for operator in (False, True)
        if not operator or all(key in _OPERATOR_KEYS for key in (*(case[0] or {}), *case[1]))
    ],
)
def test_a_policy_that_may_drop_what_queues_hold_needs_the_data_loss_flag(
    before: dict[str, Any] | None, after: dict[str, Any], at_risk: int, operator: bool
) -> None:
    queue_type = "stream" if "max-age" in after else "classic"
    backend = MemoryBackend()
    apply(_dropping(before, operator, queue_type), backend)
    backend.set_messages("v", "jobs", 40)  # idle holds none
    plan = make_plan(load(_dropping(after, operator, queue_type)), backend)
    risky = [(c.subject.split(" in ")[0], c.messages_at_risk) for c in plan.data_loss()]
    kind = "operator policy" if operator else "policy"
    if at_risk:
        assert risky == [(f"{kind} 'drop'", at_risk)]
        assert any("'jobs' (40 messages) may then follow" in w and "'idle'" not in w for w in plan.warnings)
        with pytest.raises(Refused, match=f"{at_risk} message"):
            execute_plan(plan, backend)
        execute_plan(plan, backend, allow_data_loss=True)
    else:
        assert risky == []
        execute_plan(plan, backend)
