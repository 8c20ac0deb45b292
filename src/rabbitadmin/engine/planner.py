"""The engine's front door: read the server, plan, apply. Everything a command or a module calls.

desired = load_topology("topology.yaml")
with HttpBackend(settings) as backend:   # or any other Backend
    plan = make_plan(desired, backend, prune=False)
    result = execute_plan(plan, backend, allow_data_loss=False)
"""

from __future__ import annotations

from dataclasses import replace

from rabbitadmin.argument_rules import ArgumentFinding, check_arguments
from rabbitadmin.backends.base import Backend
from rabbitadmin.engine.apply import ApplyResult, Progress, check_safety, execute_plan
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action, Plan
from rabbitadmin.errors import PartialApply
from rabbitadmin.kinds import SERVER_EXCHANGE_TYPES, message_total, vhost_queues
from rabbitadmin.model import Binding, Exchange, Queue, Topology, TopologyObject
from rabbitadmin.server_versions import version_notes

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
    for index, change in enumerate(plan.changes):
        if change not in destroyed:
            continue
        if change.kind == "queue":
            depth = depths.get(change.key)
            count, consumers = (depth.messages, depth.consumers) if depth is not None else (None, None)
        else:
            in_vhost = [depths.get(q.key) for q in queues if q.vhost == change.key[0]]
            count = message_total(d.messages if d is not None else None for d in in_vhost)
            consumers = message_total(d.consumers if d is not None else None for d in in_vhost)
        plan.changes[index] = replace(change, messages_at_risk=count, consumers=consumers)


def _check_server_version(plan: Plan, desired: Topology, backend: Backend) -> None:
    """What the server's version would refuse (a refusal, before any write) or deprecates (a warning)."""
    # Tolerant of backends written before server_facts existed (test doubles): they plan as before.
    facts = getattr(backend, "server_facts", None)
    version, phases = facts() if facts is not None else (None, None)
    plan.server_version = version
    for note in version_notes(desired, version, phases):
        text = f"{note} (RabbitMQ {version})"
        (plan.refusals if note.severity == "refuse" else plan.warnings).append(text)
    if version is None:
        return
    # validate warned about arguments only some supported versions refuse; this server's verdict is final.
    for change in plan.changes:
        if change.action in (Action.CREATE, Action.REPLACE) and change.desired is not None:
            for finding in _argument_findings(change.desired, desired, version):
                plan.refusals.append(
                    f"{change.subject}: argument {finding.argument} {finding.message} (RabbitMQ {version})"
                )


def _argument_findings(obj: TopologyObject, desired: Topology, version: str) -> list[ArgumentFinding]:
    """``argument_rules.check_arguments`` for one object to be created, with this server's version."""
    if isinstance(obj, Queue):
        return check_arguments("queue", obj.type, obj.arguments, server_version=version)
    if isinstance(obj, Exchange):
        return check_arguments("exchange", obj.type, obj.arguments, server_version=version)
    if isinstance(obj, Binding) and obj.arguments:
        source = desired.exchanges.get((obj.vhost, obj.source))
        source_type = source.type if source is not None else SERVER_EXCHANGE_TYPES.get(obj.source)
        return check_arguments("binding", source_type, obj.arguments, server_version=version)
    return []


def make_plan(desired: Topology, backend: Backend, *, prune: bool = False, state: Topology | None = None) -> Plan:
    """Read the server's state for the topology's scope and compute the plan (writes nothing).

    ``state``: the server's state for exactly that scope, already read (see ``prefetch``).
    """
    actual = state if state is not None else backend.read_state(desired.vhosts_in_scope())
    plan = compute_plan(desired, actual, prune=prune, protected_user=backend.connected_user())
    _check_server_version(plan, desired, backend)
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
            if reason:
                plan.refusals.append(f"the {backend.name} backend cannot {action} {change.subject}: {reason}")
    return plan
