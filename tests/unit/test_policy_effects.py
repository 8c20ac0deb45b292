"""What a plan's policy changes drop of the messages queues hold, whichever change is the cause.

A queue follows one policy, the applicable one of highest priority (``rabbit_policy:match_all/2``), merged with one
operator policy and its own arguments. Deleting, lowering, re-pointing or narrowing a policy can let a dropping
one of lower priority take effect without the plan writing it (found by a newcomer on 3.10.8 and 4.0.5: a queue of
7 messages went to 1 with no --allow-data-loss).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Plan
from rabbitadmin.engine.policy_effects import Limits, applies, compare, duration_ms, limits
from rabbitadmin.errors import Refused
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import OperatorPolicy, Policy, Queue

SHIELD = {"name": "shield", "pattern": "^c$", "priority": 10, "definition": {"max-length": 100000}}
LOW = {"name": "low", "pattern": ".*", "priority": 0, "definition": {"max-length": 1}}


def _text(*policies: dict[str, Any], queue: dict[str, Any] | None = None, operator: list[dict[str, Any]] = ()) -> str:
    vhost: dict[str, Any] = {"name": "v", "queues": [queue or {"name": "c"}], "policies": list(policies)}
    if operator:
        vhost["operator_policies"] = list(operator)
    return yaml.safe_dump({"vhosts": [vhost]}, sort_keys=False)


def _plan_after(
    base: str, change: str, *, messages: int = 7, version: str = "3.10.8", prune: bool = False
) -> tuple[Plan, MemoryBackend]:
    backend = MemoryBackend(version=version)
    execute_plan(make_plan(load_topology_text(base, "base.yaml"), backend), backend)
    backend.set_messages("v", "c", messages)
    return make_plan(load_topology_text(change, "change.yaml"), backend, prune=prune), backend


def _at_risk(plan: Plan) -> list[tuple[str, int | None]]:
    return [(c.subject, c.messages_at_risk) for c in plan.data_loss()]


@pytest.mark.parametrize("version", ["3.10.8", "4.0.5"])
@pytest.mark.parametrize(
    ("how", "change", "prune"),
    [
        ("deleted", _text({"name": "shield", "state": "absent"}, LOW), False),
        ("pruned", _text(LOW), True),
        ("demoted", _text({**SHIELD, "priority": -1}, LOW), False),
        ("re-pointed", _text({**SHIELD, "pattern": "^other$"}, LOW), False),
        ("narrowed to exchanges", _text({**SHIELD, "apply_to": "exchanges"}, LOW), False),
    ],
)
def test_a_higher_priority_policy_leaving_lets_the_dropping_one_take_effect(
    how: str, change: str, prune: bool, version: str
) -> None:
    plan, backend = _plan_after(_text(SHIELD, LOW), change, version=version, prune=prune)
    assert _at_risk(plan) == [("policy 'shield' in vhost 'v'", 6)], how
    warning = next(w for w in plan.warnings if "'c' (7 messages)" in w)
    assert "may then follow policy 'low' (priority 0)" in warning
    assert "6 message(s) over max-length are dropped" in warning
    with pytest.raises(Refused, match="6 message"):
        execute_plan(plan, backend)
    assert ("v", "shield") in backend.snapshot().policies or prune, "nothing written without the flag"
    execute_plan(plan, backend, allow_data_loss=True)


def test_the_loss_is_counted_on_the_policy_written_when_it_is_the_one_followed() -> None:
    tighter = {**LOW, "name": "tight", "priority": 20, "definition": {"max-length": 2}}
    plan, _ = _plan_after(_text(SHIELD, LOW), _text(SHIELD, LOW, tighter))
    assert _at_risk(plan) == [("policy 'tight' in vhost 'v'", 5)]


def test_a_new_policy_of_higher_priority_without_limits_drops_nothing() -> None:
    plain = {"name": "plain", "pattern": ".*", "priority": 50, "definition": {"dead-letter-exchange": "d"}}
    keeping = {"name": "c", "arguments": {"x-overflow": "reject-publish"}}
    plan, _ = _plan_after(_text(LOW, queue=keeping), _text(LOW, plain, queue=keeping))
    assert _at_risk(plan) == []


def test_deleting_the_dropping_policy_itself_drops_nothing() -> None:
    plan, _ = _plan_after(_text(SHIELD, LOW), _text(SHIELD, {"name": "low", "state": "absent"}))
    assert _at_risk(plan) == [] and not [w for w in plan.warnings if "then follow" in w]


def test_the_queue_s_own_lower_argument_already_governs() -> None:
    """``x-max-length`` 1 and a policy's max-length: the lower wins (``process_args_policy``, ``res_min``), so
    the queue already holds at most 1 and losing the shield changes nothing."""
    queue = {"name": "c", "arguments": {"x-max-length": 1}}
    plan, _ = _plan_after(_text(SHIELD, LOW, queue=queue), _text(LOW, queue=queue), messages=1, prune=True)
    assert _at_risk(plan) == []


@pytest.mark.parametrize(
    ("where", "queue_type", "at_risk"),
    [
        ("argument", "classic", []),  # reject-publish in effect before and after: nothing dropped
        ("policy", "quorum", []),  # the new config whole, then its limits: reject-publish keeps what is held
        # A classic queue applies the new max-length before the new overflow (process_args_policy/1): the excess
        # goes under the old drop-head (measured on 3.10.8 and 4.0.5: tests/integration/test_policy_effects.py).
        ("policy", "classic", [("policy 'shield' in vhost 'v'", 6)]),
    ],
)
def test_reject_publish_keeps_what_the_queue_holds_once_in_effect(
    where: str, queue_type: str, at_risk: list[tuple[str, int]]
) -> None:
    low = {**LOW, "definition": {"max-length": 1, "overflow": "reject-publish"}} if where == "policy" else LOW
    queue: dict[str, Any] = {"name": "c", "type": queue_type}
    if where == "argument":
        queue["arguments"] = {"x-overflow": "reject-publish"}
    plan, _ = _plan_after(_text(SHIELD, low, queue=queue), _text(low, queue=queue), prune=True)
    assert _at_risk(plan) == at_risk


def test_switching_overflow_back_to_drop_head_drops_the_excess_at_once() -> None:
    """``init_overflow``: drop-head after reject-publish drops what is over max-length at once."""
    keeping = {**LOW, "definition": {"max-length": 1, "overflow": "reject-publish"}}
    plan, _ = _plan_after(_text(keeping), _text({**keeping, "definition": {"max-length": 1}}))
    assert _at_risk(plan) == [("policy 'low' in vhost 'v'", 6)]


def test_an_operator_policy_caps_below_the_policy_the_lower_wins() -> None:
    operator = [{"name": "op", "pattern": ".*", "definition": {"max-length": 5}}]
    plan, _ = _plan_after(_text(SHIELD), _text(SHIELD, operator=operator), messages=40)
    assert _at_risk(plan) == [("operator policy 'op' in vhost 'v'", 35)]


def test_deleting_a_shielding_policy_under_an_operator_cap_counts_only_the_new_excess() -> None:
    operator = [{"name": "op", "pattern": ".*", "definition": {"max-length": 5}}]
    plan, _ = _plan_after(_text(SHIELD, LOW, operator=operator), _text(LOW, operator=operator), prune=True)
    assert _at_risk(plan) == [("policy 'shield' in vhost 'v'", 6)]  # 7 held (the memory backend drops none)


def test_a_policy_with_a_key_the_queue_type_does_not_take_does_not_apply_to_it() -> None:
    """``rabbit_queue_type:is_policy_applicable``: a stream key (max-age) keeps a policy off classic queues, so
    it never shielded the classic queue: deleting it changes nothing."""
    odd_shield = {**SHIELD, "definition": {"max-length": 100000, "max-age": "1D"}}
    plan, _ = _plan_after(_text(odd_shield, LOW), _text(LOW), messages=1, prune=True)
    assert _at_risk(plan) == []


def test_4_0_apply_to_a_queue_type_decides_what_a_queue_follows() -> None:
    quorum_shield = {**SHIELD, "apply_to": "quorum_queues"}
    base = _text(quorum_shield, LOW, queue={"name": "c", "type": "quorum"})
    plan, _ = _plan_after(base, _text(LOW, queue={"name": "c", "type": "quorum"}), version="4.0.5", prune=True)
    assert _at_risk(plan) == [("policy 'shield' in vhost 'v'", 6)]


def test_equal_priorities_count_the_tightest_the_server_may_pick() -> None:
    """``match_all/2`` sorts by priority only: of two tied policies the server may follow either."""
    rival = {**LOW, "name": "rival", "priority": 10, "pattern": "^c"}
    plan, _ = _plan_after(_text(SHIELD), _text(SHIELD, rival))
    assert _at_risk(plan) == [("policy 'rival' in vhost 'v'", 6)]


def test_a_queue_the_plan_deletes_is_counted_once_as_a_delete() -> None:
    plan, _ = _plan_after(_text(SHIELD, LOW), yaml.safe_dump({"vhosts": [{"name": "v", "policies": [LOW]}]}),
                          prune=True)  # fmt: skip
    assert sorted(_at_risk(plan)) == [("queue 'c' in vhost 'v'", 7)]


def test_an_unknown_depth_is_at_risk() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(_text(SHIELD, LOW), "b.yaml"), backend), backend)
    backend.set_messages("v", "c", None)  # type: ignore[arg-type]
    plan = make_plan(load_topology_text(_text(LOW), "c.yaml"), backend, prune=True)
    assert _at_risk(plan) == [("policy 'shield' in vhost 'v'", None)]


# -- the rules themselves ---------------------------------------------------------------------------------


def _policy(priority: int, definition: dict[str, Any], *, name: str = "p", operator: bool = False, **kw: Any) -> Policy:
    model = OperatorPolicy if operator else Policy
    return model("v", name, kw.pop("pattern", ".*"), definition, priority, kw.pop("apply_to", "all"))


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1s", 1000), ("2m", 120_000), ("1h", 3_600_000), ("7D", 7 * 86_400_000), ("1M", 30 * 86_400_000),
     ("1Y", 365 * 86_400_000), ("1d", None), ("h", None), ("", None), (5, None)],
)  # fmt: skip
def test_max_age_reads_as_check_max_age_does(text: Any, ms: int | None) -> None:
    assert duration_ms(text) == ms


def test_applies_honours_vhost_apply_to_type_keys_and_pattern() -> None:
    classic, stream = Queue("v", "jobs"), Queue("v", "jobs", type="stream")
    assert applies(_policy(0, {"max-length": 1}), classic, v4=False)
    assert not applies(_policy(0, {"max-length": 1}, pattern="^job$"), classic, v4=False)
    assert not applies(_policy(0, {"max-length": 1}, apply_to="exchanges"), classic, v4=True)
    assert not applies(_policy(0, {"max-length": 1}), stream, v4=True), "max-length is no stream policy"
    assert applies(_policy(0, {"max-age": "1D"}), stream, v4=True)
    assert applies(_policy(0, {}, apply_to="classic_queues"), classic, v4=True)
    assert not applies(_policy(0, {}, apply_to="classic_queues"), classic, v4=False), "3.x has no typed apply-to"
    assert not applies(_policy(0, {}, apply_to="streams"), classic, v4=True)
    assert not applies(_policy(0, {}, pattern="("), classic, v4=True), "a pattern that does not compile"
    assert not applies(Policy("w", "p", ".*"), classic, v4=True)


def test_a_3_10_quorum_queue_takes_the_policy_s_expires_over_its_argument() -> None:
    """3.10.8 ``rabbit_quorum_queue:ra_machine_config/1``: policy precedence; 4.0.5 and classic: the lower."""
    quorum = Queue("v", "q", type="quorum", arguments={"x-expires": 6000})
    policy = [_policy(0, {"expires": 3_600_000})]
    assert limits(quorum, policy, v4=False, tightest=True).values["expires"] == 3_600_000
    assert limits(quorum, policy, v4=True, tightest=True).values["expires"] == 6000
    assert (
        limits(Queue("v", "q", arguments={"x-expires": 6000}), policy, v4=False, tightest=True).values["expires"]
        == 6000
    )


def test_limits_merge_operator_policy_and_argument_as_the_server_does() -> None:
    queue = Queue("v", "q", arguments={"x-max-length": 50, "x-overflow": "reject-publish"})
    policies = [
        _policy(1, {"max-length": 100, "overflow": "drop-head", "message-ttl": 9}),
        _policy(0, {"max-length": 1}, name="low"),
        _policy(0, {"message-ttl": 3}, name="op", operator=True),
    ]
    found = limits(queue, policies, v4=True, tightest=True)
    assert dict(found.values) == {"max-length": 50, "message-ttl": 3, "overflow": "reject-publish"}
    assert [p.name for p in found.policies] == ["p", "op"]
    quorum = Queue("v", "q", type="quorum", arguments={"x-overflow": "reject-publish"})
    assert limits(quorum, [_policy(0, {"overflow": "drop-head"})], v4=True, tightest=True).values["overflow"] == (
        "drop-head"
    ), "a quorum queue takes the policy's overflow"


def test_compare_counts_only_what_the_after_state_newly_drops() -> None:
    queue = Queue("v", "q")
    loose, tight = Limits({"max-length": 10}, ()), Limits({"max-length": 4}, ())
    found = compare(queue, 7, loose, tight)
    assert found is not None and found.excess == 3 and found.at_risk == 3
    assert compare(queue, 7, tight, loose) is None, "raised: nothing dropped"
    assert compare(queue, 0, loose, tight) is None, "nothing held"
    assert compare(queue, 7, Limits({}, ()), Limits({"message-ttl": 5}, ())) is None, "stamped at enqueue"
    expiring = compare(queue, 7, Limits({}, ()), Limits({"expires": 5}, ()))
    assert expiring is not None and expiring.dropping == ("expires",) and expiring.at_risk == 7
    unknown = compare(queue, None, loose, tight)
    assert unknown is not None and unknown.at_risk is None


# -- states part-way through an apply, and what the first pass missed (found by a breaker helper) -------------


def test_renaming_a_shield_counts_the_window_between_its_delete_and_its_create() -> None:
    """Apply deletes before it creates (and may stop between): the renamed shield is missing for a while, and the
    dropping policy below it is in effect then (measured: 5 -> 1 on 3.10.8 and 4.0.5, both backends)."""
    renamed = {**SHIELD, "name": "shield-v2"}
    plan, _ = _plan_after(_text(SHIELD, LOW), _text({"name": "shield", "state": "absent"}, renamed, LOW))
    assert [count for _, count in _at_risk(plan)] == [6]


def test_an_update_before_a_create_counts_the_window_too() -> None:
    tighter_low = {**LOW, "definition": {"max-length": 1}}
    base = _text({**LOW, "definition": {"max-length": 100000}})
    plan, _ = _plan_after(base, _text(tighter_low, SHIELD))
    assert _at_risk(plan) == [("policy 'low' in vhost 'v'", 6)]


def test_an_update_alone_is_one_version_or_the_other_never_absent() -> None:
    """A PUT replaces a policy at once: changing the shield's other keys never exposes the policy below it."""
    plan, _ = _plan_after(_text(SHIELD, LOW), _text({**SHIELD, "definition": {"max-length": 200000}}, LOW))
    assert _at_risk(plan) == []


def test_a_pattern_the_library_here_cannot_read_may_match() -> None:
    """The server's Erlang PCRE stored it (``\\K`` in a lookahead); pcre2 here refuses it: it may apply."""
    hidden = {"name": "hidden", "pattern": "^c(?=\\K)", "priority": 0, "definition": {"max-length": 1}}
    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(_text(SHIELD), "b.yaml"), backend), backend)
    backend.create([Policy("v", "hidden", hidden["pattern"], {"max-length": 1}, 0)])  # as the server took it
    backend.set_messages("v", "c", 7)
    plan = make_plan(load_topology_text(_text({"name": "shield", "state": "absent"}), "c.yaml"), backend)
    assert _at_risk(plan) == [("policy 'shield' in vhost 'v'", 6)]


def test_a_quorum_queue_reads_reject_publish_dlx_as_drop_head() -> None:
    """``rabbit_quorum_queue:overflow/3``: reject-publish-dlx is not a quorum strategy; it warns, drops the head."""
    dlx = {**LOW, "priority": 20, "definition": {"max-length": 2, "overflow": "reject-publish-dlx"}}
    queue = {"name": "c", "type": "quorum"}
    plan, _ = _plan_after(_text(queue=queue), _text(dlx, queue=queue), messages=10)
    assert _at_risk(plan) == [("policy 'low' in vhost 'v'", 8)]
    keeping = {"name": "c", "arguments": {"x-overflow": "reject-publish-dlx"}}
    classic, _ = _plan_after(_text(queue=keeping), _text(dlx, queue=keeping), messages=10)
    assert _at_risk(classic) == [], "a classic queue keeps what it holds with reject-publish-dlx"


def test_an_exclusive_queue_s_messages_count_too() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(_text(), "b.yaml"), backend), backend)
    backend.add_exclusive_queue("v", "rpc-reply")
    backend.set_messages("v", "rpc-reply", 5)
    cap = {"name": "cap", "pattern": "^rpc-", "definition": {"max-length": 1}}
    plan = make_plan(load_topology_text(_text(cap), "c.yaml"), backend)
    assert _at_risk(plan) == [("policy 'cap' in vhost 'v'", 4)]


def test_removing_the_dead_letter_exchange_of_expiring_messages_drops_them() -> None:
    """With message-ttl in effect, what expires is dead-lettered while the policy names an exchange and dropped
    once it is gone (measured: retry-wait 5 -> 0, work 0, on 4.0.5 and 3.10.8)."""
    queue = {"name": "c", "arguments": {"x-message-ttl": 5000}}
    retry = {"name": "retry", "pattern": "^c$", "definition": {"dead-letter-exchange": "work"}}
    plan, _ = _plan_after(_text(retry, queue=queue), _text({"name": "retry", "state": "absent"}, queue=queue),
                          messages=5)  # fmt: skip
    assert _at_risk(plan) == [("policy 'retry' in vhost 'v'", 5)]
    assert any("dropped instead of dead-lettered" in w for w in plan.warnings)
    kept = {"name": "c", "arguments": {"x-message-ttl": 5000, "x-dead-letter-exchange": "own"}}
    plan, _ = _plan_after(_text(retry, queue=kept), _text({"name": "retry", "state": "absent"}, queue=kept))
    assert _at_risk(plan) == [], "the queue's own x-dead-letter-exchange wins over a policy's"
