"""Which policies a queue follows before and after a plan, and which of its limits the plan tightens.

RabbitMQ applies to each queue one policy, the applicable one of highest priority among those whose pattern
matches its name, and likewise one operator policy; the two are merged key by key, and the result with the
queue's own ``x-`` arguments. A plan that never writes a dropping policy may still make one take effect: by
deleting, lowering, re-pointing or narrowing the policy that outranked it. So the plan compares each queue's
limits in effect before and after it, whichever policy change is the cause.

Sources (RabbitMQ 3.10.8 and 4.0.5):
- ``rabbit_policy``: ``match_all/2`` (priority order, ``priority_comparator/2``; equal priorities in no
  documented order), ``matches/2`` (vhost, ``apply-to``, ``is_applicable``, ``re:run`` of the pattern),
  ``matches_queue_type/3`` (4.0's ``classic_queues``, ``quorum_queues``, ``streams``),
  ``merge_operator_definitions/2``;
- ``rabbit_policies:merge_policy_value/3``: the lower of the two for the numeric limits, the operator
  policy's ``overflow`` (4.0);
- ``rabbit_queue_type:is_policy_applicable/2`` with each type's ``capabilities/0`` ``unsupported_policies``:
  a policy holding a key the queue's type does not support does not apply to that queue at all;
- how a queue resolves a policy value against its own argument (``rabbit_queue_type_util:args_policy_lookup``):
  ``rabbit_amqqueue_process:process_args_policy`` (classic: the lower limit, the argument's ``overflow``),
  ``rabbit_quorum_queue`` (the lower limit, the policy's ``overflow``), ``rabbit_stream_queue`` (the policy's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rabbitadmin.model import OperatorPolicy, Policy, Queue

#: The keys whose value decides what a queue keeps of the messages it holds.
LIMIT_KEYS = ("max-length", "max-length-bytes", "message-ttl", "expires", "max-age", "overflow")
#: Limits where the lower value wins: operator policy against policy, and (classic, quorum) against the argument.
_LOWER_WINS = frozenset({"max-length", "max-length-bytes", "message-ttl", "expires"})
#: The overflow values that never drop messages a queue holds (``maybe_drop_head``, ``rabbit_fifo:evaluate_limit``).
KEEPS_HELD = frozenset({"reject-publish", "reject-publish-dlx"})

_CLASSIC_POLICIES = frozenset({
    "expires", "message-ttl", "dead-letter-exchange", "dead-letter-routing-key", "max-length",
    "max-in-memory-length", "max-in-memory-bytes", "max-priority", "overflow", "queue-mode", "single-active-consumer",
    "delivery-limit", "ha-mode", "ha-params", "ha-sync-mode", "ha-promote-on-shutdown", "ha-promote-on-failure",
    "queue-master-locator",
})  # fmt: skip
_MIRRORING = frozenset({
    "max-priority", "queue-mode", "single-active-consumer", "ha-mode", "ha-params", "ha-sync-mode",
    "ha-promote-on-shutdown", "ha-promote-on-failure", "queue-master-locator",
})  # fmt: skip
_STREAM_ONLY = frozenset({"max-age", "stream-max-segment-size-bytes", "initial-cluster-size"})
#: ``unsupported_policies`` of each queue type's ``capabilities/0``: (3.x, 4.0).
UNSUPPORTED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "classic": (
        _STREAM_ONLY | {"queue-leader-locator", "delivery-limit", "dead-letter-strategy"},
        _STREAM_ONLY | {"delivery-limit", "dead-letter-strategy", "max-in-memory-length", "max-in-memory-bytes",
                        "target-group-size"},
    ),
    "quorum": (_MIRRORING | _STREAM_ONLY, _MIRRORING | _STREAM_ONLY),
    "stream": (
        _CLASSIC_POLICIES | {"dead-letter-strategy"},
        _CLASSIC_POLICIES | {"dead-letter-strategy", "target-group-size"},
    ),
}  # fmt: skip
_TYPED_APPLY_TO = {"classic": "classic_queues", "quorum": "quorum_queues", "stream": "streams"}
_DURATION = re.compile(r"^([0-9]+)([YMDhms])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "D": 86_400_000, "M": 30 * 86_400_000, "Y": 365 * 86_400_000}


def duration_ms(value: Any) -> int | None:
    """A ``max-age`` (``"7D"``, ``"1h"``...) in ms as ``rabbit_amqqueue:check_max_age/1`` reads it (a month is 30
    days, a year 365); None for what it does not read."""
    found = _DURATION.match(value) if isinstance(value, str) else None
    return int(found.group(1)) * _UNIT_MS[found.group(2)] if found else None


class PatternCache:
    """``name_matches`` remembered by (pattern, name): a plan asks the same pair for the state before and after
    it, and policies often share a pattern (``.*``). A pattern that does not compile matches nothing (the
    server never stored one)."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], bool] = {}

    def __call__(self, pattern: str, name: str) -> bool:
        found = self._found.get((pattern, name))
        if found is None:
            from rabbitadmin.audit.patterns import name_matches
            from rabbitadmin.errors import PatternError

            try:
                found = name_matches(pattern, name)
            except PatternError:
                found = False
            self._found[(pattern, name)] = found
        return found


def applies(policy: Policy, queue: Queue, *, v4: bool, matches: PatternCache | None = None) -> bool:
    """Whether ``policy`` (or operator policy) is one ``queue`` may follow: same vhost, ``apply-to``, every key
    supported by the queue's type, and its pattern found in the name (PCRE, as ``re:run``). ``v4``: the
    server is 4.0 or later."""
    if policy.vhost != queue.vhost:
        return False
    if policy.apply_to not in ("all", "queues") and not (v4 and policy.apply_to == _TYPED_APPLY_TO.get(queue.type)):
        return False
    unsupported = UNSUPPORTED.get(queue.type, (frozenset(), frozenset()))[v4]
    if any(key in unsupported for key in policy.definition):
        return False
    return (matches or PatternCache())(policy.pattern, queue.name)


def in_effect(
    queue: Queue, policies: Iterable[Policy], *, v4: bool, matches: PatternCache | None = None
) -> tuple[Policy, ...]:
    """The policies ``queue`` follows: the applicable one of highest priority, or all those tied at it (the
    server picks one of them, in no order it documents); () for none."""
    found: list[Policy] = []
    for policy in sorted(policies, key=lambda p: -p.priority):
        if found and policy.priority < found[0].priority:
            break  # the rest rank lower: no need to match them
        if applies(policy, queue, v4=v4, matches=matches):
            found.append(policy)
    return tuple(sorted(found, key=lambda p: p.name))


def _bound(values: Sequence[Any], key: str, *, tightest: bool) -> Any:
    """Of the values tied policies give ``key`` (None: not set), the tightest or the loosest."""
    if key == "overflow":  # unset: drop-head, the default that drops
        drops = [v for v in values if v not in KEEPS_HELD]
        keeps = [v for v in values if v in KEEPS_HELD]
        return (drops or keeps)[0] if tightest else (keeps or drops)[0]
    if None in values and not tightest:
        return None
    present = [v for v in values if v is not None]
    if not present:
        return None
    measure = duration_ms if key == "max-age" else _number
    return (min if tightest else max)(present, key=lambda v: _inf(measure(v)))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _inf(value: float | None) -> float:
    return float("inf") if value is None else value


@dataclass(frozen=True)
class Limits:
    """A queue's limits in effect (``LIMIT_KEYS``; absent: none), and the policies they come from."""

    values: Mapping[str, Any]
    policies: tuple[Policy, ...]


def limits(
    queue: Queue, policies: Iterable[Policy], *, v4: bool, tightest: bool, matches: PatternCache | None = None
) -> Limits:
    """The limits ``queue`` follows under ``policies`` (policies and operator policies mixed; cheapest in
    descending priority order) with its own arguments. Where equal priorities leave the server's choice open,
    ``tightest`` takes the tightest value each key may have, else the loosest (the plan compares the loosest
    before with the tightest after)."""
    chosen = list(policies)
    plain = in_effect(queue, (p for p in chosen if not isinstance(p, OperatorPolicy)), v4=v4, matches=matches)
    operator = in_effect(queue, (p for p in chosen if isinstance(p, OperatorPolicy)), v4=v4, matches=matches)
    values: dict[str, Any] = {}
    for key in LIMIT_KEYS:
        mine = _bound([p.definition.get(key) for p in plain], key, tightest=tightest) if plain else None
        theirs = _bound([p.definition.get(key) for p in operator], key, tightest=tightest) if operator else None
        value = _merged(key, mine, theirs)
        argument = queue.arguments.get(f"x-{key}")
        if argument is not None:
            value = _with_argument(key, value, argument, queue.type, v4=v4)
        if value is not None:
            values[key] = value
    return Limits(values, plain + operator)


def _merged(key: str, mine: Any, theirs: Any) -> Any:
    """A policy's value merged with the operator policy's (``rabbit_policies:merge_policy_value/3``)."""
    if mine is None or theirs is None:
        return theirs if mine is None else mine
    if key in _LOWER_WINS and _number(mine) is not None and _number(theirs) is not None:
        return min(mine, theirs)
    return theirs


def _with_argument(key: str, value: Any, argument: Any, queue_type: str, *, v4: bool) -> Any:
    """A policy value resolved against the queue's own ``x-`` argument (``args_policy_lookup``)."""
    if value is None:
        return argument
    if queue_type == "stream" or (queue_type == "quorum" and key == "expires" and not v4):
        return value  # policy_precedence (3.10's rabbit_quorum_queue:ra_machine_config/1 for expires)
    if key in _LOWER_WINS and _number(value) is not None and _number(argument) is not None:
        return min(value, argument)
    if key == "overflow" and queue_type == "classic":
        return argument  # res_arg: the argument's
    return value


#: What a tightened limit does to the messages a queue holds now, for the keys whose loss the plan cannot count
#: (``max-length`` is counted exactly: the excess over it). Measured on 3.10.8 and 4.0.5
#: (tests/integration/test_policy_effects.py). Not here: ``message-ttl``, which never reaches messages already
#: queued (each is stamped with its expiry when it is enqueued: ``rabbit_amqqueue_process:message_properties/3``,
#: ``rabbit_fifo:maybe_set_msg_ttl``; the new TTL applies to later messages), and ``delivery-limit``, which acts
#: on later redeliveries only.
MAY_DROP_HELD = {
    "expires": "the queue is deleted with its messages expires ms after the apply unless a consumer uses it "
    "meanwhile (the timer starts when the policy takes effect: init_exp/2, rabbit_fifo's tick)",
    "max-length-bytes": "the messages over max-length-bytes are dropped or dead-lettered at once",
    "max-age": "a stream's closed segments older than max-age are deleted (the segment being written is kept)",
}


@dataclass(frozen=True)
class Tightening:
    """What following ``after`` instead of ``before`` does to ``queue``, which holds ``messages`` (None: unknown):
    ``excess`` messages over a new max-length dropped (None: the depth is unknown), and the ``MAY_DROP_HELD``
    keys tightened, whose loss cannot be counted."""

    queue: Queue
    messages: int | None
    before: Limits
    after: Limits
    excess: int | None
    dropping: tuple[str, ...]

    @property
    def at_risk(self) -> int | None:
        """Messages counted at risk: every one held when a key that cannot be counted tightens, else the excess."""
        return self.messages if self.dropping else self.excess


def compare(queue: Queue, messages: int | None, before: Limits, after: Limits) -> Tightening | None:
    """What ``after`` drops of what ``queue`` holds (``messages``, None: unknown) that ``before`` kept, or None
    when it drops nothing more: a queue that holds no message loses none."""
    if before.values == after.values or messages == 0:
        return None
    stream = queue.type == "stream"
    keeps_before = not stream and before.values.get("overflow") in KEEPS_HELD
    drops_after = stream or after.values.get("overflow") not in KEEPS_HELD
    # A classic queue applies the new caps before the new overflow (``process_args_policy/1``'s order): a cap
    # and reject-publish arriving together still drop under the old drop-head. A quorum queue takes the whole
    # new config, then evaluates its limits (``rabbit_fifo``: update_config, checkout, evaluate_limit).
    if queue.type == "classic":
        drops_after = drops_after or not keeps_before
    found = []
    for key in MAY_DROP_HELD:
        new, old = after.values.get(key), before.values.get(key)
        if new is None or (key == "max-length-bytes" and not drops_after):
            continue  # unset, or over it new publishes are refused and what is held is kept
        measure = duration_ms if key == "max-age" else _number
        lower = old is None or _inf(measure(new)) < _inf(measure(old)) or (measure(new) is None and new != old)
        if lower or (key == "max-length-bytes" and keeps_before):  # the cap starts dropping
            found.append(key)
    over: int | None = 0
    limit, old_limit = _number(after.values.get("max-length")), _number(before.values.get("max-length"))
    if not stream and drops_after and limit is not None and (keeps_before or _inf(limit) < _inf(old_limit)):
        over = None if messages is None else max(0, messages - int(limit))
    if not found and over == 0:
        return None
    return Tightening(queue, messages, before, after, over, tuple(found))
