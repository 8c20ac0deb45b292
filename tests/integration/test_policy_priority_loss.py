"""A plan that deletes, demotes or prunes a policy of higher priority lets a lower one take effect: what that one
drops of the messages queues hold is counted, and the apply needs --allow-data-loss (found by a newcomer on 3.10.8
and 4.0.5, through both backends: a queue of 7 messages went to 1 with no flag and no warning).

The flagged apply then proves the count: the server drops exactly what the plan said, at once.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import Refused
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Queue

SHIELD = {"name": "shield", "pattern": "^c$", "apply_to": "queues", "priority": 10,
          "definition": {"max-length": 100000}}  # fmt: skip
LOW = {"name": "low", "pattern": ".*", "apply_to": "queues", "priority": 0, "definition": {"max-length": 1}}
CHANGES: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "deleted": ([{"name": "shield", "state": "absent"}, LOW], False),
    "demoted": ([{**SHIELD, "priority": -1}, LOW], False),
    "pruned": ([LOW], True),
    # Deleted, then created under its new name: the apply's window between the two (or a stop in it).
    "renamed": ([{"name": "shield", "state": "absent"}, {**SHIELD, "name": "shield-v2"}, LOW], False),
}


def _text(vhost: str, queue_type: str, policies: list[dict[str, Any]]) -> str:
    queue = {"name": "c", "type": queue_type}
    return yaml.safe_dump({"vhosts": [{"name": vhost, "queues": [queue], "policies": policies}]})


def _held(backend: Backend, vhost: str, queue_type: str) -> int | None:
    return backend.message_counts([Queue(vhost, "c", type=queue_type)])[(vhost, "c")].messages


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
@pytest.mark.parametrize("how", list(CHANGES))
def test_losing_a_shielding_policy_needs_the_flag_and_drops_what_the_plan_counted(
    how: str, queue_type: str, backend: Backend, admin_client: HttpClient, settings: ConnectionSettings,
    vhost: str,
) -> None:  # fmt: skip
    execute_plan(make_plan(load_topology_text(_text(vhost, queue_type, [SHIELD, LOW])), backend), backend)
    # rabbitmqctl grants no one access to the vhost it creates: let the test's publisher in.
    admin_client.put(api_path("permissions", vhost, settings.user), {"configure": "", "write": ".*", "read": ".*"})
    message = {"properties": {"delivery_mode": 2}, "routing_key": "c", "payload": "x", "payload_encoding": "string"}
    for _ in range(7):
        assert admin_client.post(api_path("exchanges", vhost, "amq.default", "publish"), message).json()["routed"]
    assert _held(backend, vhost, queue_type) == 7

    policies, prune = CHANGES[how]
    plan = make_plan(load_topology_text(_text(vhost, queue_type, policies)), backend, prune=prune)
    assert [(c.subject, c.messages_at_risk) for c in plan.data_loss()] == [(f"policy 'shield' in vhost {vhost!r}", 6)]
    assert any("'c' (7 messages) may then follow policy 'low'" in w for w in plan.warnings), plan.warnings
    with pytest.raises(Refused, match="6 message"):
        execute_plan(plan, backend)
    assert admin_client.get(api_path("policies", vhost, "shield"))["priority"] == 10, "nothing written"
    assert _held(backend, vhost, queue_type) == 7

    execute_plan(plan, backend, allow_data_loss=True)
    if how == "renamed":  # what the window drops depends on its length: the plan counted the worst
        assert (held := _held(backend, vhost, queue_type)) is not None and 1 <= held <= 7
        return
    deadline = time.monotonic() + 30  # the queue applies the policy in effect at once; the node may lag a moment
    while (held := _held(backend, vhost, queue_type)) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert held == 1, "the server dropped what the plan counted"
    assert make_plan(load_topology_text(_text(vhost, queue_type, policies)), backend, prune=prune).data_loss() == []
