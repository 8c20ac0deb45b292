"""The engine's front door: read the server, plan, apply. Everything a command or a module calls.

desired = load_topology("topology.yaml")
with HttpBackend(settings) as backend:   # or any other Backend
    plan = make_plan(desired, backend, prune=False)
    result = execute_plan(plan, backend, allow_data_loss=False)
"""

from __future__ import annotations

from rabbitadmin.apply import ApplyResult, PartialApply, Progress, check_safety, execute_plan
from rabbitadmin.backends.base import Backend
from rabbitadmin.diff import compute_plan
from rabbitadmin.model import Topology
from rabbitadmin.plan import Action, Plan

__all__ = ["ApplyResult", "PartialApply", "Progress", "check_safety", "execute_plan", "make_plan"]


def make_plan(desired: Topology, backend: Backend, *, prune: bool = False) -> Plan:
    """Read the server's state for the topology's scope and compute the plan (writes nothing)."""
    actual = backend.read_state(desired.vhosts_in_scope())
    plan = compute_plan(desired, actual, prune=prune, protected_user=backend.connected_user())
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
