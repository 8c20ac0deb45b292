"""The engine: read the server, diff, plan, apply, under the per-vhost apply lock.

The front door is ``session``: ``EngineSession`` (load a file while the server is read, plan, apply under the
lock) and ``plan_file``. The CLI, the Ansible module and the tutorials call these, and nothing below them.
``make_plan``/``execute_plan`` remain for callers that hold a backend and a ``Topology`` already (tests).
"""

from rabbitadmin.engine.apply import ApplyResult, Progress, check_safety, execute_plan
from rabbitadmin.engine.planner import make_plan
from rabbitadmin.engine.session import EngineSession, LockOptions, plan_file
from rabbitadmin.errors import ApplyInterrupted, PartialApply

__all__ = [
    "ApplyInterrupted",
    "ApplyResult",
    "EngineSession",
    "LockOptions",
    "PartialApply",
    "Progress",
    "check_safety",
    "execute_plan",
    "make_plan",
    "plan_file",
]
