"""The engine's front door: read the server, plan, apply. Everything a command or a module calls.

desired = load_topology("topology.yaml")
with HttpBackend(settings) as backend:   # or any other Backend
    plan = make_plan(desired, backend, prune=False)
    result = execute_plan(plan, backend, allow_data_loss=False)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from rabbitadmin.argument_rules import MASTER_LOCATORS_3, ArgumentFinding, check_arguments
from rabbitadmin.backends.base import Backend
from rabbitadmin.engine.apply import ApplyResult, Progress, check_safety, execute_plan
from rabbitadmin.engine.apply_lock import LOCK_QUEUE
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action, Change, Plan
from rabbitadmin.errors import PartialApply
from rabbitadmin.kinds import (
    APPLY_TO_FROM_4,
    BUILTIN_EXCHANGE_TYPES,
    EXCHANGE_TYPE_PLUGINS,
    KINDS,
    PARAMETER_COMPONENTS,
    POLICY_KEYS,
    QUEUE_TYPES,
    SERVER_EXCHANGE_TYPES,
    SHIPPED_PLUGINS,
    message_total,
    policy_key_known,
    vhost_queues,
)
from rabbitadmin.model import (
    Binding,
    Exchange,
    Key,
    OperatorPolicy,
    Parameter,
    Policy,
    Queue,
    Topology,
    TopologyObject,
    VhostLimit,
)
from rabbitadmin.parameter_rules import check_parameter
from rabbitadmin.server_versions import parse_version, version_notes
from rabbitadmin.suggest import did_you_mean

__all__ = ["ApplyResult", "PartialApply", "Progress", "check_safety", "execute_plan", "make_plan"]


def _refresh_message_counts(plan: Plan, actual: Topology, backend: Backend) -> None:
    """Replace statistics-based counts with exact ones for every queue the plan would destroy, and count
    the consumers each delete or replace would cut off (one bulk read, only when something is destroyed)."""
    destroyed = [c for c in plan.changes if c.destroys_messages]
    if not destroyed:
        return
    gone_vhosts = {c.key[0] for c in destroyed if c.kind == "vhost"}
    queues = [q for vhost in gone_vhosts for q in vhost_queues(actual, vhost)]
    queues += [c.actual for c in destroyed if isinstance(c.actual, Queue)]
    depths = backend.message_counts(queues)
    # By identity: ``change not in destroyed`` compared dataclasses field by field, n x n of them
    # (4.5 million comparisons, most of a 3,000-queue prune plan).
    destroyed_ids = {id(change) for change in destroyed}
    for index, change in enumerate(plan.changes):
        if id(change) not in destroyed_ids:
            continue
        if change.kind == "queue":
            depth = depths.get(change.key)
            count, consumers = (depth.messages, depth.consumers) if depth is not None else (None, None)
        else:
            in_vhost = [depths.get(q.key) for q in queues if q.vhost == change.key[0]]
            count = message_total(d.messages if d is not None else None for d in in_vhost)
            consumers = message_total(d.consumers if d is not None else None for d in in_vhost)
        plan.changes[index] = replace(change, messages_at_risk=count, consumers=consumers)


def _check_server_version(plan: Plan, desired: Topology, backend: Backend, actual: Topology | None = None) -> None:
    """What the server's version would refuse (a refusal, before any write) or deprecates (a warning).
    ``actual``: the server's exchanges, the type of a binding's source the file only refers to."""
    # Tolerant of backends written before server_facts existed (test doubles): they plan as before.
    facts = getattr(backend, "server_facts", None)
    version, phases = facts() if facts is not None else (None, None)
    plan.server_version = version
    for note in version_notes(desired, version, phases):
        text = f"{note} (RabbitMQ {version})"
        (plan.refusals if note.severity == "refuse" else plan.warnings).append(text)
    if version is None:
        return
    # validate warned about arguments and parameter keys only some supported versions refuse (or none it
    # models); this server's verdict is final.
    for change in plan.changes:
        if change.action in (Action.CREATE, Action.REPLACE) and change.desired is not None:
            for finding in _argument_findings(change.desired, desired, version, actual):
                plan.refusals.append(
                    f"{change.subject}: argument {finding.argument} {finding.message} (RabbitMQ {version})"
                )
        if change.action is not Action.DELETE and isinstance(change.desired, Parameter):
            obj = change.desired
            for found in check_parameter(obj.component, obj.name, obj.value, server_version=version):
                if found.severity == "error":
                    where = f"value.{found.key}" if found.key else "value"
                    plan.refusals.append(f"{change.subject}: {where} {found.message} (RabbitMQ {version})")


def _argument_findings(
    obj: TopologyObject, desired: Topology, version: str, actual: Topology | None = None
) -> list[ArgumentFinding]:
    """``argument_rules.check_arguments`` for one object to be created, with this server's version. A binding's
    arguments are checked against its source's type: the file's exchange, a server-owned one, or (a definitions
    file's binding from an exchange only on the server) the server's, as validation checks the file's."""
    if isinstance(obj, Queue):
        return check_arguments("queue", obj.type, obj.arguments, server_version=version)
    if isinstance(obj, Exchange):
        return check_arguments("exchange", obj.type, obj.arguments, server_version=version)
    if isinstance(obj, Binding) and obj.arguments:
        source = desired.exchanges.get((obj.vhost, obj.source))
        if source is None and actual is not None:
            source = actual.exchanges.get((obj.vhost, obj.source))
        source_type = source.type if source is not None else SERVER_EXCHANGE_TYPES.get(obj.source)
        return check_arguments("binding", source_type, obj.arguments, server_version=version)
    return []


def _check_policies(plan: Plan, actual: Topology, backend: Backend, plugins: _ServerPlugins) -> None:
    """Policies against this server's version (a key or apply-to it refuses is a refusal), a plugin's key
    (``federation-upstream-set``) against the server's plugins (the plugin registers it as a policy validator,
    ``rabbit_federation_parameters``: without the plugin the server answers "not recognised policy settings",
    HTTP 400, in the middle of the apply; operator policies never take it), and what the plan's policy
    changes drop of the messages queues hold (``_check_policy_effects``)."""
    version = parse_version(plan.server_version or "") if plan.server_version else None
    for change in _written(plan, Policy):
        policy = change.desired
        assert isinstance(policy, Policy)
        operator = isinstance(policy, OperatorPolicy)
        needed: dict[str, str] = {}  # plugin -> the first key of this policy that needs it
        for key in policy.definition:
            facts = POLICY_KEYS.get(key)
            if facts is not None and facts.plugin and operator:
                plan.refusals.append(
                    f"{change.subject}: the server refuses the policy key {key!r} in an operator policy (the "
                    f"{facts.plugin} plugin registers it for policies only)"
                )
            elif facts is not None and facts.plugin:
                needed.setdefault(facts.plugin, key)
            elif facts is not None and version is not None and not policy_key_known(key, version, operator=operator):
                plan.refusals.append(
                    f"{change.subject}: RabbitMQ {plan.server_version} refuses the policy key {key!r}"
                    + (" (classic queue mirroring was removed in 4.0)" if facts.mirrors else "")
                )
        for plugin, key in needed.items():
            plugins.refuse_missing(change, f"policy key {key!r} needs", plugin, plan)
        if version is not None:
            if policy.apply_to in APPLY_TO_FROM_4 and version < (4,):
                plan.refusals.append(
                    f"{change.subject}: RabbitMQ {plan.server_version} refuses apply-to {policy.apply_to!r} (4.0 on)"
                )
            limit = policy.definition.get("delivery-limit")
            if isinstance(limit, int) and limit < 0 and version < (4,):  # rabbit_policies: ">= 0" until 4.0
                plan.refusals.append(
                    f"{change.subject}: RabbitMQ {plan.server_version} refuses a negative delivery-limit ({limit}; "
                    "4.0 on reads it as no limit)"
                )
            locator = policy.definition.get("queue-master-locator")
            if locator is not None and locator not in MASTER_LOCATORS_3 and version < (4,):
                plan.refusals.append(
                    f"{change.subject}: RabbitMQ {plan.server_version} refuses queue-master-locator {locator!r} "
                    f"(it takes {', '.join(MASTER_LOCATORS_3)})"
                )
    _check_policy_effects(plan, actual, backend, version)


_VERBS = {Action.CREATE: "creating", Action.UPDATE: "changing", Action.DELETE: "deleting", Action.REPLACE: "replacing"}


def _check_policy_effects(plan: Plan, actual: Topology, backend: Backend, version: tuple[int, ...] | None) -> None:
    """Count what the plan's policy changes drop of the messages queues hold, whichever change is the cause.

    Each surviving queue's limits in effect are worked out before and after the plan (``policy_effects``: the
    applicable policy of highest priority and operator policy, merged, with the queue's arguments): a policy
    written, deleted, lowered in priority, re-pointed or narrowed may each let a dropping one take effect
    (``rabbit_amqqueue_process``/``rabbit_fifo`` apply the policy in effect at once). The messages at risk are
    counted on one change per queue (the policy it follows after, if the plan writes it, else the one it
    followed), so apply needs ``--allow-data-loss`` as for a queue delete.
    """
    from rabbitadmin.engine import policy_effects as effects

    changes = [c for c in plan.changes if c.kind in ("policy", "operator_policy")]
    if not changes:
        return
    v4 = version is None or version >= (4,)  # unknown: the newest rules
    written = {(c.kind, c.key): c.desired for c in changes}
    # Before: each policy as it is. After: each changed one as it is, as it will be or absent, in any mix (an
    # apply runs in parallel and in phases, and may stop part-way: deleting a policy before its renamed copy is
    # created leaves a window where a dropping one of lower priority is in effect).
    before_sets: dict[str, list[Policy]] = {c.key[0]: [] for c in changes}
    after_sets: dict[str, list[effects.Versions]] = {c.key[0]: [] for c in changes}
    for kind in ("policy", "operator_policy"):
        for key, policy in actual.of(kind).items():
            if key[0] in before_sets and isinstance(policy, Policy):
                before_sets[key[0]].append(policy)
                if (kind, key) not in written:
                    after_sets[key[0]].append([policy])
    touched: list[Policy] = []
    for change in changes:
        versions = [v if isinstance(v, Policy) else None for v in (change.actual, change.desired)]
        after_sets[change.key[0]].append(versions)
        touched += [v for v in versions if v is not None]
    ranked_before = {vhost: effects.Candidates(sets) for vhost, sets in before_sets.items()}
    ranked_after = {vhost: effects.Candidates(sets) for vhost, sets in after_sets.items()}
    matches = effects.PatternCache()
    destroyed = {(c.kind, c.key) for c in plan.changes if c.destroys_messages}  # counted as deletes already
    moved: list[tuple[Queue, effects.Limits, effects.Limits]] = []
    for queue in actual.queues.values():  # exclusive ones too: a client's queue holds messages as well
        if queue.vhost not in before_sets:
            continue
        if ("queue", queue.key) in destroyed or ("vhost", (queue.vhost,)) in destroyed:
            continue
        # Only a queue some changed policy may apply to (as it was, or as it will be) can follow anything else.
        if not any(effects.applies(p, queue, v4=v4, matches=matches) is not False for p in touched):
            continue
        was = effects.follows(queue, ranked_before[queue.vhost], v4=v4, matches=matches)
        may = effects.follows(queue, ranked_after[queue.vhost], v4=v4, matches=matches)
        if was == may and len(may.plain) + may.no_plain <= 1 and len(may.operator) + may.no_operator <= 1:
            continue  # one state, the same policies as now: nothing changes for this queue
        before = effects.limits(queue, was, v4=v4)
        for after in effects.options(queue, may, v4=v4):
            if before.values != after.values:
                moved.append((queue, before, after))
    at_risk = [(q, b, a) for q, b, a in moved if effects.compare(q, None, b, a) is not None]
    depths = backend.message_counts(list({q.key: q for q, _, _ in at_risk}.values())) if at_risk else {}
    worst: dict[Key, effects.Tightening] = {}  # per queue, the state that drops the most of what it holds
    for queue, before, after in at_risk:
        depth = depths.get(queue.key)
        tightening = effects.compare(queue, depth.messages if depth is not None else None, before, after)
        if tightening is None:
            continue
        known = worst.get(queue.key)
        if known is None or _risk_rank(tightening.at_risk) > _risk_rank(known.at_risk):
            worst[queue.key] = tightening
    index = {(c.kind, c.key): i for i, c in enumerate(plan.changes)}
    found: dict[int, list[effects.Tightening]] = {}
    dropping_ids: set[Key] = set(worst)
    for tightening in worst.values():
        queue, before, after = tightening.queue, tightening.before, tightening.after
        causes = [(p.kind, p.key) for p in (*after.policies, *before.policies) if (p.kind, p.key) in written]
        causes.append(next((c.kind, c.key) for c in changes if c.key[0] == queue.vhost))  # a pattern unread here
        found.setdefault(index[causes[0]], []).append(tightening)
    for position, tightenings in found.items():
        change = plan.changes[position]
        counts = [t.at_risk for t in tightenings]
        total = None if None in counts else sum(c for c in counts if c is not None)
        plan.changes[position] = replace(change, messages_at_risk=total)
        plan.warnings.append(_tightening_warning(change, tightenings))
    for change in changes:  # written limits that change queues without dropping what they hold: worth a line
        new = change.desired
        if not isinstance(new, Policy):
            continue
        old = change.actual.definition if isinstance(change.actual, Policy) else {}
        caps = {k: v for k, v in new.definition.items() if k in POLICY_KEYS and POLICY_KEYS[k].caps}
        if all(old.get(k) == new.definition.get(k) for k in POLICY_KEYS if POLICY_KEYS[k].caps):
            continue
        names = list(
            dict.fromkeys(q.name for q, _, after in moved if new in after.policies and q.key not in dropping_ids)
        )
        if names:
            listed = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
            shown = ", ".join(f"{k} {v!r}" for k, v in caps.items()) or "no limit"
            plan.warnings.append(f"{change.subject} sets {shown}: it changes how the matching queue(s) {listed} behave")


def _risk_rank(at_risk: int | None) -> float:
    """Messages at risk as an order: an unknown count (None) ranks above any known one."""
    return float("inf") if at_risk is None else at_risk


def _tightening_warning(change: Change, tightenings: list[Any]) -> str:
    """One line for what one policy change drops: the queues (with what they hold), and what they follow then."""
    from rabbitadmin.engine.policy_effects import MAY_DROP_HELD

    def followed(policies: tuple[Policy, ...]) -> str:
        if not policies:
            return "no policy"
        return " or ".join(f"{p.kind.replace('_', ' ')} {p.name!r} (priority {p.priority})" for p in policies)

    groups: dict[str, list[Any]] = {}
    for t in tightenings:
        shown = ", ".join(f"{k} {v!r}" for k, v in t.after.values.items()) or "no limit"
        groups.setdefault(f"{followed(t.after.policies)}: {shown}", []).append(t)
    parts = []
    for follows, group in groups.items():
        listed = ", ".join(
            f"{t.queue.name!r} ({'an unknown number of' if t.messages is None else t.messages} messages)"
            for t in group[:10]
        ) + (" ..." if len(group) > 10 else "")
        effects = []
        excess = [t.excess for t in group if t.excess != 0]
        if excess:
            count = "an unknown number of" if None in excess else str(sum(e for e in excess if e is not None))
            effects.append(f"{count} message(s) over max-length are dropped or dead-lettered at once")
        keys = sorted({key for t in group for key in t.dropping}, key=list(MAY_DROP_HELD).index)
        effects += [MAY_DROP_HELD[key] for key in keys]
        parts.append(f"queue(s) {listed} may then follow {follows}; " + "; ".join(effects))
    return f"{_VERBS[change.action]} {change.subject}: " + " | ".join(parts)


def _written(plan: Plan, model: type) -> list[Change]:
    """The plan's creates and updates of objects of ``model`` (or a subclass)."""
    return [c for c in plan.changes if c.action in (Action.CREATE, Action.UPDATE) and isinstance(c.desired, model)]


#: Seconds a plan waits for the server to list its nodes' plugins when it needs them and they are not listed yet:
#: measured on 3.10.8 and 4.0.5, a node just started lists them about 5 s after it answers (the management
#: agent's first ``node_stats``, then every ``collect_statistics_interval``, 5 s by default).
PLUGIN_WAIT = 10.0
#: Exchange types a plugin registers at its boot (``rabbit_federation_upstream_exchange``'s boot step), which
#: the server lists from its first moment (``GET /api/overview``'s ``exchange_types`` reads ``rabbit_registry``
#: at each request): the plugin runs on the node that answers exactly when its type is listed.
_PLUGIN_EXCHANGE_TYPES = {"rabbitmq_federation": "x-federation-upstream"}


class _ServerPlugins:
    """Which plugins the server runs, read only when the plan needs one (at most once each way).

    First the nodes' plugins as listed (``enabled_plugins``); while a node just started lists none, a plugin
    that registers an exchange type is told from the live exchange types, and any other is waited for,
    ``PLUGIN_WAIT`` seconds at most (never on a server that keeps no statistics: it never lists them)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._listed: set[str] | None = None
        self._reads = 0  # 1: read without waiting, 2: waited too
        self._types: set[str] | None = None
        self._types_read = False

    def listed(self, *, wait: bool = False) -> set[str] | None:
        """The plugins the server lists (None: unknown); ``wait``: wait for them up to ``PLUGIN_WAIT`` s."""
        reader = getattr(self.backend, "enabled_plugins", None)
        if reader is None:
            return None
        if self._reads == 0 or (wait and self._reads == 1 and self._listed is None):
            self._listed = reader(wait=PLUGIN_WAIT) if wait else reader()
            self._reads = 2 if wait else 1
        return self._listed

    def running(self, plugin: str) -> bool | None:
        """Whether the server runs ``plugin``, or None when it cannot be told."""
        listed = self.listed()
        if listed is None and plugin in _PLUGIN_EXCHANGE_TYPES:
            if not self._types_read:
                reader = getattr(self.backend, "exchange_types", None)
                self._types = reader() if reader is not None else None
                self._types_read = True
            if self._types is not None:
                return _PLUGIN_EXCHANGE_TYPES[plugin] in self._types
        if listed is None:
            listed = self.listed(wait=True)
        return None if listed is None else plugin in listed

    def unknown(self, subject: str, needs: str, plugin: str, plan: Plan, where: str = "") -> None:
        """``subject`` needs ``plugin`` and the server does not say whether it runs it: a refusal while a node
        may still be starting (the apply would stop part-way at it), a warning where it never says."""
        disabled = getattr(self.backend, "statistics_disabled", None)
        if disabled is not None and disabled():
            plan.warnings.append(
                f"{where}{subject}: {needs} the {plugin} plugin, and the server keeps no management statistics "
                "(management_agent.disable_metrics_collector), so its nodes do not list their plugins: the server "
                f"decides; without {plugin} the apply stops at this object (check with rabbitmq-plugins list, or "
                "plan with the ctl transport, which asks the node itself)"
            )
            return
        plan.refusals.append(
            f"{subject}: {needs} the {plugin} plugin, and the server's nodes still list no plugins after "
            f"{PLUGIN_WAIT:g} s (a node that has just started lists them about 5 s after it answers): run the plan "
            "again in a few seconds"
        )

    def refuse_missing(self, change: Change, needs: str, plugin: str, plan: Plan) -> None:
        """A refusal or a warning when ``change`` needs ``plugin`` and the server does not (or may not) run it
        (a refusal is placed at the object's file and line by ``_place_refusals``, a warning here)."""
        subject = change.subject
        running = self.running(plugin)
        if running is None:
            origin = getattr(change.desired, "origin", None)
            self.unknown(subject, needs, plugin, plan, f"{origin}: " if origin is not None else "")
        elif not running:
            plan.refusals.append(
                f"{subject}: {needs} the {plugin} plugin, which is not enabled on the server (rabbitmq-plugins "
                f"enable {plugin}; for a sandbox: --plugins {plugin})"
            )


def _unknown_plugin(application: str) -> bool:
    """A plugin RabbitMQ does not ship (``rabbitmq_delayed_message_exchange``): it may register components."""
    return application.startswith("rabbitmq_") and application not in SHIPPED_PLUGINS


def _check_components(plan: Plan, plugins: _ServerPlugins) -> None:
    """A parameter whose component's plugin is not running on the server is refused here, before any write
    (the server would answer "component ... not found", HTTP 400, in the middle of the apply)."""
    wanted = _written(plan, Parameter)
    if not wanted:
        return
    for change in wanted:
        assert isinstance(change.desired, Parameter)
        component = change.desired.component
        facts = PARAMETER_COMPONENTS.get(component)
        if facts is None:
            listed = plugins.listed()
            others = None if listed is None else sorted(p for p in listed if _unknown_plugin(p))
            if others == []:  # only RabbitMQ's own plugins run there: none registers it
                known = ", ".join(sorted(PARAMETER_COMPONENTS))
                plan.refusals.append(
                    f"{change.subject}: no plugin on the server registers component {component!r} (it runs RabbitMQ's "
                    f"own plugins only, whose components are {known}){did_you_mean(component, PARAMETER_COMPONENTS)}"
                )
            else:
                running = f" (the server runs plugins rabbitadmin does not know: {', '.join(others)})" if others else ""
                plan.warnings.append(
                    f"{change.subject}: rabbitadmin does not know which plugin registers component {component!r}; "
                    f"the server refuses it unless one does{running}"
                )
        else:
            plugins.refuse_missing(change, f"component {component!r} needs", facts.plugin, plan)


def _check_exchange_types(plan: Plan, backend: Backend) -> None:
    """An exchange of a type the server does not have (a plugin's, not enabled) is refused here, before any
    write: the server would answer "unknown exchange type" (HTTP 400) in the middle of the apply. The server is
    asked only when the plan creates an exchange of a type other than its own four."""
    wanted = [
        c for c in plan.changes
        if c.action in (Action.CREATE, Action.REPLACE) and isinstance(c.desired, Exchange)
        and c.desired.type not in BUILTIN_EXCHANGE_TYPES
    ]  # fmt: skip
    reader = getattr(backend, "exchange_types", None)
    if not wanted or reader is None:
        return
    types = reader()
    if types is None:  # the server does not say: it decides
        return
    for change in wanted:
        assert isinstance(change.desired, Exchange)
        kind = change.desired.type
        if kind not in types:
            plugin = EXCHANGE_TYPE_PLUGINS.get(kind)
            advice = f"; it comes with the {plugin} plugin" if plugin else ""
            plan.refusals.append(
                f"{change.subject}: the server has no exchange type {kind!r} (it has {', '.join(sorted(types))})"
                + advice
            )


def _check_queue_limits(plan: Plan, desired: Topology, actual: Topology, locked: bool, vhosts: set[str]) -> None:
    """A vhost that would hold more queues than its ``max-queues`` (as this plan leaves the limit) is refused
    here: the server refuses each queue past the limit ("queue limit in vhost ... is reached", HTTP 400) in the
    middle of the apply. With the apply lock, its exclusive queue counts too while the apply runs (the server
    counts every queue, exclusive ones included; ``rabbit_vhost_limit:is_over_queue_limit/1``). ``vhosts``: those
    the apply locks (in scope, or only referred to by a definitions file); each refusal names the file and line
    of the limit, else of the vhost."""
    # Only the vhosts the plan is for: the state read lists every vhost's limits but only their queues.
    limits = {
        key: limit.value for key, limit in actual.vhost_limits.items() if key[1] == "max-queues" and key[0] in vhosts
    }
    for change in plan.changes:
        if change.kind == "vhost_limit" and change.key[1] == "max-queues":
            if change.action is Action.DELETE:
                limits.pop(change.key, None)
            elif isinstance(change.desired, VhostLimit):
                limits[change.key] = change.desired.value
    if not limits:
        return
    gone = {c.key[0] for c in plan.changes if c.kind == "vhost" and c.action is Action.DELETE}
    counts: dict[str, int] = {}
    for queue in actual.queues.values():
        if queue.name != LOCK_QUEUE:
            counts[queue.vhost] = counts.get(queue.vhost, 0) + 1
    for change in plan.changes:
        if change.kind == "queue" and change.action in (Action.CREATE, Action.DELETE):
            step = 1 if change.action is Action.CREATE else -1
            counts[str(change.key[0])] = counts.get(str(change.key[0]), 0) + step
    for (vhost, _), limit in sorted(limits.items()):
        held = counts.get(vhost, 0)
        if vhost in gone or limit < 0 or held + 1 <= limit:
            continue
        where = _where(desired, vhost, "max-queues")
        no_room = (
            f"{where}vhost {vhost!r}: max-queues {limit} leaves no room for the apply lock's queue while the apply "
            f"runs (the vhost will hold {held} queue(s)); allow one more queue, or pass --no-lock"
        )
        if held > limit:
            plan.refusals.append(
                f"{where}vhost {vhost!r} would hold {held} queue(s), more than its max-queues {limit}: the server "
                "refuses every queue past the limit"
            )
        else:
            _no_room_for_the_lock(plan, no_room, locked)


def _check_connection_limits(
    plan: Plan, desired: Topology, actual: Topology, backend: Backend, locked: bool, vhosts: set[str]
) -> None:
    """A ``max-connections`` (of a vhost in the plan's scope, or of the user rabbitadmin connects as) that, as this
    plan leaves it, leaves no room for the apply lock's AMQP connections (one per vhost, as that user, held while
    the apply runs): a refusal under the lock, a warning in a plan. Without it, the apply that sets such a limit
    succeeds and every later apply with the lock fails at its first step ("connection limit ... is reached").
    The server refuses a connection once the vhost (user) has ``max-connections`` of them
    (``rabbit_vhost_limit:is_over_connection_limit/1``, ``rabbit_auth_backend_internal:is_over_connection_limit``
    via ``rabbit_reader``); only the lock's own connections are counted here, not other clients' (a live count
    would include the lock's own while an apply holds it). The ctl transport's lock (a ``rabbitmqctl eval`` on
    the node, ``backends.ctl.lock``) opens no connection: a backend that takes the lock itself (``try_lock``)
    needs no room. ``vhosts``: those the apply locks (in scope, or only referred to by a definitions file)."""
    if getattr(backend, "try_lock", None) is not None:
        return
    scope = vhosts
    vhost_limits = {
        key: limit for key, limit in actual.vhost_limits.items() if key[1] == "max-connections" and key[0] in scope
    }
    user = backend.connected_user()
    user_limits = {key: limit for key, limit in actual.user_limits.items() if key == (user, "max-connections")}
    gone_users: set[str] = set()
    gone = {str(c.key[0]) for c in plan.changes if c.kind == "vhost" and c.action is Action.DELETE}
    created = {str(c.key[0]) for c in plan.changes if c.kind == "vhost" and c.action is Action.CREATE}
    for change in plan.changes:
        if change.kind == "user" and change.action is Action.DELETE:
            gone_users.add(str(change.key[0]))
        if change.kind not in ("vhost_limit", "user_limit") or change.key[1] != "max-connections":
            continue
        limits: dict[Any, Any] = vhost_limits if change.kind == "vhost_limit" else user_limits
        if change.kind == "user_limit" and change.key != (user, "max-connections"):
            continue
        if change.kind == "vhost_limit" and change.key[0] not in scope:
            continue
        if change.action is Action.DELETE:
            limits.pop(change.key, None)
        elif change.desired is not None:
            limits[change.key] = change.desired
    # The vhosts the next apply locks: those of the scope that exist once this plan is applied.
    locked_vhosts = sorted(({key[0] for key in actual.vhosts} | created) & scope - gone)
    problems: list[str] = []
    for (vhost, _), limit in sorted(vhost_limits.items()):
        value = limit.value
        if vhost in gone or vhost not in locked_vhosts or value < 0 or value >= 1:
            continue
        where = f"{limit.origin}: " if limit.origin is not None else _where(desired, vhost, "max-connections")
        problems.append(
            f"{where}vhost {vhost!r}: max-connections {value} leaves no room for the apply lock's AMQP connection "
            "(one per vhost while the apply runs; the server refuses a connection once the vhost holds "
            "max-connections, and counts other clients' too): every later apply with the lock would fail before "
            "writing; allow at least one connection, or apply with --no-lock"
        )
    for (name, _), user_limit in sorted(user_limits.items()):
        value, needed = user_limit.value, len(locked_vhosts)
        if name in gone_users or value < 0 or needed == 0 or value >= needed:
            continue
        where = f"{user_limit.origin}: " if user_limit.origin is not None else ""
        listed = ", ".join(repr(v) for v in locked_vhosts[:10]) + (" ..." if needed > 10 else "")
        problems.append(
            f"{where}user {name!r}: max-connections {value} leaves no room for the apply lock's {needed} AMQP "
            f"connection(s) as that user (rabbitadmin connects as {name!r}; one per vhost while the apply runs: "
            f"{listed}; the server counts the user's other connections too): every later apply with the lock would "
            f"fail; allow at least {needed} connection(s), or apply with --no-lock"
        )
    for problem in problems:
        _no_room_for_the_lock(plan, problem, locked)


def _where(desired: Topology, vhost: str, limit: str) -> str:
    """``"file:line: "`` for a refusal about ``vhost``'s ``limit``: the file's limit, else the file's vhost (a
    limit only on the server: the vhost is where the file puts what needs room), else where the file first
    refers to it; "" when the file names it nowhere."""
    found = desired.vhost_limits.get((vhost, limit))
    origin = found.origin if found is not None else None
    if origin is None:
        entry = desired.vhosts.get((vhost,))
        origin = entry.origin if entry is not None else desired.absent["vhost"].get((vhost,))
    if origin is None:
        origin = next((ref.origin for ref in desired.server_references if ref.key == (vhost,)), None)
    return f"{origin}: " if origin is not None else ""


def _no_room_for_the_lock(plan: Plan, problem: str, locked: bool) -> None:
    """A limit that leaves the apply lock no room: refused under the lock; in a plan (or an apply with
    --no-lock), a warning of what an apply with the lock would refuse."""
    if locked:
        plan.refusals.append(problem)
    else:
        plan.warnings.append(f"{problem} (an apply with the lock refuses it)")


def _check_server_references(plan: Plan, desired: Topology, actual: Topology) -> None:
    """What a definitions file names without declaring it (``Topology.server_references``: a permission's user,
    a binding's source, a policy's vhost...) must exist on the server: refused here, before any write, when it
    does not. The server's own import would fail part-way, after writing the sections it reads first
    (``rabbit_definitions``, measured on 3.10.8 and 4.0.5: a missing user or vhost answers HTTP 400; a binding's
    missing source or destination is dropped in silence by 3.10.8 and answers HTTP 400 on 4.0.5).
    ``actual`` holds the server's users, vhosts, and the exchanges and queues of every vhost in scope or referred
    to (``make_plan``), which is where every referenced object lives."""
    for ref in sorted(desired.server_references, key=lambda r: (r.origin.line if r.origin else 0, r.field)):
        if ref.key in actual.of(ref.kind):
            continue
        where = f"{ref.origin}: " if ref.origin is not None else ""
        binds = ref.field.startswith("bindings[")
        effect = "drop the binding (3.10) or fail part-way (4.0)" if binds else "fail part-way"
        plan.refusals.append(
            f"{where}{ref.field}: {ref.subject} exists in neither this file nor the server (the server's own import "
            f"would {effect}); create it on the server first, or declare it in the file"
        )


@dataclass
class _ReferencedInScope(Topology):
    """``desired`` as ``compute_plan`` sees it when a definitions file puts objects in vhosts it only refers to:
    those vhosts count as in scope there, so that the objects are compared with the server's (not created on
    every run). The vhosts are still not managed: ``_out_of_prune`` keeps ``--prune`` out of them."""

    referenced: set[str] = field(default_factory=set)

    def vhosts_in_scope(self) -> set[str]:
        return Topology.vhosts_in_scope(self) | self.referenced


def _server_typed(desired: Topology, actual: Topology) -> dict[Key, Queue]:
    """The file's queues in vhosts it only refers to that name no type (``Topology.server_typed_queues``), typed
    as the server's import types them: the vhost's ``default_queue_type`` (4.0: vhost metadata; 3.10 has none)
    when the queue can be of that type (durable, not auto-delete), else classic (``rabbit_definitions``
    ``add_queue_int/3`` declares them without ``x-queue-type``; ``rabbit_amqqueue:augment_declare_args/5`` adds
    the default, or the fallback when the queue's properties do not fit it; 4.0.5)."""
    retyped: dict[Key, Queue] = {}
    for key in desired.server_typed_queues:
        queue = desired.queues.get(key)
        vhost = actual.vhosts.get((key[0],))
        default = vhost.default_queue_type if vhost is not None else None
        if queue is None or default not in QUEUE_TYPES or default == queue.type:
            continue
        if queue.durable and not queue.auto_delete:
            retyped[key] = replace(queue, type=default)
    return retyped


def _with_vhosts(actual: Topology, read: Topology, vhosts: set[str]) -> Topology:
    """``actual`` (not changed) with what ``read`` holds in ``vhosts``: the exchanges, queues and bindings that a
    state read lists only for the vhosts it is asked for."""
    merged = Topology(absent=actual.absent)
    for kind, objects in actual.objects.items():
        added = {
            key: obj for key, obj in read.of(kind).items()
            if KINDS[kind].scoped and getattr(obj, "vhost", None) in vhosts and key not in objects
        }  # fmt: skip
        merged.objects[kind] = {**objects, **added} if added else objects  # a kind without additions is shared
    return merged


def _out_of_prune(actual: Topology, desired: Topology, referenced: set[str]) -> Topology:
    """``actual`` as ``compute_plan`` sees it under ``--prune`` when a definitions file refers to the server's
    objects: without what the file refers to (the exchange a binding of the file comes from is not deleted), and,
    in the vhosts the file only refers to, without anything the file does not name (those vhosts are not
    managed: nothing in them is pruned)."""
    kept = {(ref.kind, ref.key) for ref in desired.server_references}
    view = Topology(absent=actual.absent)
    for kind, objects in actual.objects.items():
        if not KINDS[kind].scoped:
            view.objects[kind] = objects
            continue
        wanted = desired.of(kind)
        view.objects[kind] = {
            key: obj for key, obj in objects.items()
            if (kind, key) not in kept and (key in wanted or getattr(obj, "vhost", None) not in referenced)
        }  # fmt: skip
    return view


def _users(backend: Backend) -> dict[str, str | None]:
    """``compute_plan``'s protected user (the one the backend acts as) and kept user (a backend's optional
    ``kept_user``: the ctl transport's operator's HTTP user, whose permissions a prune keeps)."""
    return {"protected_user": backend.connected_user(), "kept_user": getattr(backend, "kept_user", None)}


def make_plan(
    desired: Topology,
    backend: Backend,
    *,
    prune: bool = False,
    state: Topology | None = None,
    locked: bool = False,
) -> Plan:
    """Read the server's state for the topology's scope and compute the plan (writes nothing).

    ``state``: the server's state for exactly that scope, already read (see ``prefetch``). ``locked``: the
    apply runs under the apply lock, whose queue counts against each vhost's queue limit.
    """
    scope = desired.vhosts_in_scope()
    actual = state if state is not None else backend.read_state(scope)
    left_out = list(actual.left_out)
    referenced = desired.referenced_vhosts()
    if referenced:  # a definitions file's objects in vhosts it does not declare: read those, manage none
        read = backend.read_state(referenced)
        left_out.extend(text for text in read.left_out if text not in left_out)
        actual = _with_vhosts(actual, read, referenced)
    compared = _out_of_prune(actual, desired, referenced) if prune and desired.server_references else actual
    if referenced:  # compared with the server's, not created on every run (see _ReferencedInScope)
        widened = _ReferencedInScope(**{f.name: getattr(desired, f.name) for f in fields(Topology)})
        widened.referenced = referenced
        retyped = _server_typed(desired, actual)
        if retyped:  # a new dict: the caller's topology is not changed
            widened.objects = {**desired.objects, "queue": {**desired.queues, **retyped}}
        plan = compute_plan(widened, compared, prune=prune, **_users(backend))
        plan.scope = tuple(sorted(scope))
    else:
        plan = compute_plan(desired, compared, prune=prune, **_users(backend))
    # What the read left out (no client can address it: ``errors.Unaddressable``) is the plan's to say, so
    # that a fleet's plans each say their own and JSON readers see it.
    plan.warnings.extend(left_out)
    _check_server_references(plan, desired, actual)
    _check_server_version(plan, desired, backend, actual)
    plugins = _ServerPlugins(backend)
    _check_policies(plan, actual, backend, plugins)
    _check_components(plan, plugins)
    _check_exchange_types(plan, backend)
    locks = set(plan.scope) | referenced  # the vhosts the apply locks (engine.session)
    _check_queue_limits(plan, desired, actual, locked, locks)
    _check_connection_limits(plan, desired, actual, backend, locked, locks)
    _refresh_message_counts(plan, actual, backend)
    for change in plan.changes:
        steps: list[tuple[str, object]] = []
        if change.action in (Action.DELETE, Action.REPLACE):
            steps.append(("delete", change.actual))
        if change.action in (Action.CREATE, Action.REPLACE):
            steps.append(("create", change.desired))
        if change.action is Action.UPDATE:
            steps.append(("update", change.desired))
        for action, obj in steps:
            reason = backend.unsupported(obj, action) if obj is not None else None  # type: ignore[arg-type]
            if reason:  # at the file's line of the object (its declaration, or its ``state: absent``), if any
                origin = getattr(change.desired, "origin", None) or desired.absent[change.kind].get(change.key)
                where = f"{origin}: " if origin is not None else ""
                plan.refusals.append(f"{where}the {backend.name} backend cannot {action} {change.subject}: {reason}")
    _place_refusals(plan)
    return plan


def _place_refusals(plan: Plan) -> None:
    """Start each refusal that opens with an object of the file (``queue 'q' in vhost 'v': ...``) with that
    object's file and line, as validation's problems start: the refusals that need the server (its version,
    plugins, limits) are read at 3 a.m. without the warnings above them."""
    if not plan.refusals:
        return
    origins: dict[str, str] = {}
    for change in plan.changes:
        origin = getattr(change.desired, "origin", None)
        if origin is not None:
            origins.setdefault(change.subject, str(origin))
    placed = []
    for refusal in plan.refusals:
        # The longest subject that opens it (a name may hold ": " itself), looked up at each ": " from the end:
        # a plan may refuse thousands of objects, each looked up in constant time.
        found = None
        end = len(refusal)
        while found is None and (end := refusal.rfind(": ", 0, end)) > 0:
            found = origins.get(refusal[:end])
        placed.append(f"{found}: {refusal}" if found is not None else refusal)
    plan.refusals[:] = placed
