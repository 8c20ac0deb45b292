"""The engine: diff, plan, apply, the background read of the server, and the per-vhost apply lock."""

from rabbitadmin.engine.planner import (
    ApplyResult,
    PartialApply,
    Progress,
    check_safety,
    execute_plan,
    make_plan,
)

__all__ = ["ApplyResult", "PartialApply", "Progress", "check_safety", "execute_plan", "make_plan"]
