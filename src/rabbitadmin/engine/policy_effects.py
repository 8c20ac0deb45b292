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
from typing import Any, NamedTuple

from rabbitadmin.model import OperatorPolicy, Policy, Queue

#: The keys whose value decides what a queue keeps of the messages it holds.
LIMIT_KEYS = (
    "max-length", "max-length-bytes", "message-ttl", "expires", "max-age", "overflow", "dead-letter-exchange",
)  # fmt: skip
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
    it, and policies often share a pattern (``.*``). None for a pattern the PCRE library here does not compile:
    the server's own PCRE (Erlang ``re``) stored it, so it may well match."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], bool | None] = {}

    def __call__(self, pattern: str, name: str) -> bool | None:
        key = (pattern, name)
        if key in self._found:
            return self._found[key]
        from rabbitadmin.audit.patterns import name_matches
        from rabbitadmin.errors import PatternError

        try:
            found: bool | None = name_matches(pattern, name)
        except PatternError:
            found = None
        self._found[key] = found
        return found


def applies(policy: Policy, queue: Queue, *, v4: bool, matches: PatternCache | None = None) -> bool | None:
    """Whether ``policy`` (or operator policy) is one ``queue`` may follow: same vhost, ``apply-to``, every key
    supported by the queue's type, and its pattern found in the name (PCRE, as ``re:run``). ``v4``: the
    server is 4.0 or later. None: its pattern cannot be read here, so it may or may not apply."""
    if policy.vhost != queue.vhost:
        return False
    if policy.apply_to not in ("all", "queues") and not (v4 and policy.apply_to == _TYPED_APPLY_TO.get(queue.type)):
        return False
    unsupported = UNSUPPORTED.get(queue.type, (frozenset(), frozenset()))[v4]
    if any(key in unsupported for key in policy.definition):
        return False
    return (matches or PatternCache())(policy.pattern, queue.name)


#: What one policy may be while a plan runs: as it is, as it will be, or absent (None). An apply runs its
#: changes in parallel, in phases (deletes, then updates, then creates) and may stop part-way (a failure,
#: Ctrl-C): any of them done or not is a state the server may be left in.
Versions = Sequence[Policy | None]


class Ranked:
    """Policies (each as its versions: see ``Versions``) ordered once for every queue of a vhost: every version,
    highest priority first."""

    def __init__(self, policies: Iterable[Versions]) -> None:
        self.sets = [list(versions) for versions in policies]
        self.order = sorted(
            ((v.priority, i, v) for i, versions in enumerate(self.sets) for v in versions if v is not None),
            key=lambda entry: -entry[0],
        )
        self.sizes = [sum(v is not None for v in versions) for versions in self.sets]
        self.absent = [None in versions or not versions for versions in self.sets]


def possible(
    queue: Queue, policies: Ranked | Iterable[Versions], *, v4: bool, matches: PatternCache | None = None
) -> tuple[tuple[Policy, ...], bool]:
    """The policy versions ``queue`` may follow in some state (each policy in any of its versions), and whether
    it may follow none. A version may be followed when it may apply and, for every other policy, some version
    of that one is absent, does not surely apply, or does not rank above it (equal priorities: the server picks
    either, ``rabbit_policy:match_all/2``). One version per policy: the state as it is."""
    ranked = policies if isinstance(policies, Ranked) else Ranked(policies)
    lowest = float("-inf")
    floors = [lowest if absent else float("inf") for absent in ranked.absent]
    left = list(ranked.sizes)  # versions not yet looked at, per policy
    final = lowest  # the highest floor of a policy whose every version was looked at
    may: list[tuple[int, Policy]] = []
    # Highest priority first: once a policy surely outranks what is left in all its versions (all looked at
    # then), nothing below can be followed, and the rest is not matched at all.
    for priority, index, version in ranked.order:
        if priority < final:
            break
        found = applies(version, queue, v4=v4, matches=matches)
        if found is not False:
            may.append((index, version))
        if found is not True:
            floors[index] = lowest
        elif priority < floors[index]:
            floors[index] = priority
        left[index] -= 1
        if left[index] == 0 and floors[index] > final:
            final = floors[index]
    first = second = (-1, lowest)  # the two highest floors seen, with their policies
    for index, floor in enumerate(floors):
        if left[index] > 0:
            continue  # not all looked at: its floor is below every version looked at, it excludes none of them
        if floor > first[1]:
            first, second = (index, floor), first
        elif floor > second[1]:
            second = (index, floor)
    followed = tuple(
        sorted(
            (p for i, p in may if p.priority >= (second[1] if i == first[0] else first[1])),
            key=lambda p: (p.name, -p.priority),
        )
    )
    return followed, first[1] == lowest


def _bound(values: Sequence[Any], key: str, *, tightest: bool, keeps: frozenset[str] = frozenset()) -> Any:
    """Of the values the policies a queue may follow give ``key`` (None: not set), the tightest or the loosest.
    ``keeps``: the overflow values that keep what the queue holds, for its type."""
    if key == "overflow":  # unset: drop-head, the default that drops
        drops = [v for v in values if v not in keeps]
        kept = [v for v in values if v in keeps]
        return (drops or kept)[0] if tightest else (kept or drops)[0]
    if key == "dead-letter-exchange":  # none is the tightest: what expires is dropped, not dead-lettered
        present = [v for v in values if v is not None]
        return None if (tightest and None in values) or not present else present[0]
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


class Candidates:
    """A vhost's policies and operator policies (each a policy as it is, or the versions it may have), split and
    ranked once for all its queues."""

    def __init__(self, policies: Iterable[Policy | Versions]) -> None:
        plain: list[Versions] = []
        operator: list[Versions] = []
        for entry in policies:
            versions: Versions = [entry] if isinstance(entry, Policy) else entry
            first = next((v for v in versions if v is not None), None)
            (operator if isinstance(first, OperatorPolicy) else plain).append(versions)
        self.plain, self.operator = Ranked(plain), Ranked(operator)


class Followed(NamedTuple):
    """What a queue may follow: its possible policies and operator policies (``possible``), and whether it may
    follow no policy, no operator policy."""

    plain: tuple[Policy, ...]
    no_plain: bool
    operator: tuple[Policy, ...]
    no_operator: bool


def follows(
    queue: Queue, policies: Candidates | Iterable[Policy | Versions], *, v4: bool, matches: PatternCache | None = None
) -> Followed:
    """``possible`` for the policies and for the operator policies of ``policies``."""
    prepared = policies if isinstance(policies, Candidates) else Candidates(policies)
    return Followed(
        *possible(queue, prepared.plain, v4=v4, matches=matches),
        *possible(queue, prepared.operator, v4=v4, matches=matches),
    )


def limits(
    queue: Queue,
    policies: Candidates | Iterable[Policy | Versions] | Followed,
    *,
    v4: bool,
    tightest: bool = False,
    matches: PatternCache | None = None,
) -> Limits:
    """The limits ``queue`` follows under ``policies`` (policies and operator policies mixed; each a policy as
    it is, or the versions it may have: see ``Versions``; or what ``follows`` found), with its own arguments.
    Where the server's choice is open (equal priorities), ``tightest`` takes the tightest value each key may
    have, else the loosest."""
    found = policies if isinstance(policies, Followed) else follows(queue, policies, v4=v4, matches=matches)
    plain, no_plain, operator, no_operator = found
    mine = [p.definition for p in plain] + [{}] * no_plain if plain else [{}]
    theirs = [p.definition for p in operator] + [{}] * no_operator if operator else [{}]
    return Limits(_values(queue, mine, theirs, v4=v4, tightest=tightest), plain + operator)


def options(
    queue: Queue,
    policies: Candidates | Iterable[Policy | Versions] | Followed,
    *,
    v4: bool,
    matches: PatternCache | None = None,
) -> list[Limits]:
    """Every set of limits ``queue`` may come to follow under ``policies``: one per policy and operator policy
    it may follow together (or none), each whole (the keys of one state, never mixed across states)."""
    found = policies if isinstance(policies, Followed) else follows(queue, policies, v4=v4, matches=matches)
    plain, no_plain, operator, no_operator = found
    result: list[Limits] = []
    for mine in [*plain, *([None] if no_plain or not plain else [])]:
        for theirs in [*operator, *([None] if no_operator or not operator else [])]:
            definitions = ([mine.definition] if mine else [{}], [theirs.definition] if theirs else [{}])
            values = _values(queue, *definitions, v4=v4, tightest=True)
            followed = tuple(p for p in (mine, theirs) if p is not None)
            if not any(option.values == values and option.policies == followed for option in result):
                result.append(Limits(values, followed))
    return result


def _values(
    queue: Queue, mine: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]], *, v4: bool, tightest: bool
) -> dict[str, Any]:
    """The limits of the policy definitions ``mine`` (ties: bounded, see ``limits``) merged with the operator
    policies' ``theirs`` and the queue's arguments."""
    keeps = keeps_held(queue.type)
    values: dict[str, Any] = {}
    for key in LIMIT_KEYS:
        policy_value = _bound([d.get(key) for d in mine], key, tightest=tightest, keeps=keeps)
        operator_value = _bound([d.get(key) for d in theirs], key, tightest=tightest, keeps=keeps)
        value = _merged(key, policy_value, operator_value)
        argument = queue.arguments.get(f"x-{key}")
        if argument is not None:
            value = _with_argument(key, value, argument, queue.type, v4=v4)
        if value is not None:
            values[key] = value
    return values


def keeps_held(queue_type: str) -> frozenset[str]:
    """The overflow values with which a queue of ``queue_type`` keeps what it holds over its limits: a quorum
    queue takes reject-publish-dlx as drop-head (``rabbit_quorum_queue:overflow/3`` warns and falls back)."""
    return frozenset({"reject-publish"}) if queue_type == "quorum" else KEEPS_HELD


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
    if (key == "overflow" and queue_type == "classic") or key == "dead-letter-exchange":
        return argument  # res_arg, queue_arg_has_precedence: the argument's
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
    "dead-letter-exchange": "the messages that expire (message-ttl) are dropped instead of dead-lettered",
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
    keeps = keeps_held(queue.type)
    keeps_before = not stream and before.values.get("overflow") in keeps
    drops_after = stream or after.values.get("overflow") not in keeps
    # A classic queue applies the new caps before the new overflow (``process_args_policy/1``'s order): a cap
    # and reject-publish arriving together still drop under the old drop-head. A quorum queue takes the whole
    # new config, then evaluates its limits (``rabbit_fifo``: update_config, checkout, evaluate_limit).
    if queue.type == "classic":
        drops_after = drops_after or not keeps_before
    found = []
    for key in MAY_DROP_HELD:
        new, old = after.values.get(key), before.values.get(key)
        if key == "dead-letter-exchange":  # removed while messages may expire: dropped instead
            if old is not None and new is None and after.values.get("message-ttl") is not None:
                found.append(key)
            continue
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
