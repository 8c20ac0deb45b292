"""The in-memory backend against a real node: the same plans, from the same start, give the same state.

Each step plans the same topology against a real node (``HttpBackend``) and a ``MemoryBackend`` started
from the node's own state, applies it to both, and compares the plans and the states read back. The
steps cover creates (every kind, server defaults left to the server), updates, replaces, prune deletes
with their cascades, a vhost delete, and a conditional delete refused because the queue holds messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Plan
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Key, Topology, TopologyObject, User
from rabbitadmin.passwords import hash_password

PASSWORD_HASH = hash_password("parity")


@pytest.fixture
def http(settings: ConnectionSettings) -> Iterator[HttpBackend]:
    backend = HttpBackend(settings, parallelism=4)
    yield backend
    backend.close()


@pytest.fixture
def names(admin_client: HttpClient) -> Iterator[tuple[str, str, str]]:
    """Two vhosts and a user, unique to the test, removed afterwards."""
    token = secrets.token_hex(3)
    chosen = (f"parity {token}/é#%", f"parity-other-{token}", f"parity-user-{token}")
    yield chosen
    for vhost in chosen[:2]:
        admin_client.delete(api_path("vhosts", vhost))
    for user in (chosen[2], f"{chosen[2]}-gone"):
        admin_client.delete(api_path("users", user))


def comparable(topology: Topology, vhosts: set[str], user: str) -> dict[str, dict[Key, TopologyObject]]:
    """The state in the test's scope (the test's user only), by kind and key."""
    result: dict[str, dict[Key, TopologyObject]] = {}
    for kind, objects in topology.objects.items():
        result[kind] = {
            key: obj
            for key, obj in objects.items()
            if (obj.name.startswith(user) if isinstance(obj, User) else getattr(obj, "vhost", key[0]) in vhosts)
        }
    return result


def plan_rows(plan: Plan) -> list[tuple[str, str, tuple[str, ...], int | None]]:
    return sorted((c.action.value, c.kind, c.key, c.messages_at_risk) for c in plan.changes)


def apply_both(
    document: dict[str, Any],
    http: HttpBackend,
    memory: MemoryBackend,
    *,
    prune: bool = False,
    apply: bool = True,
    after_plan: dict[str, Callable[[], None]] | None = None,
) -> tuple[Plan, Plan]:
    """Plan ``document`` on both, run ``after_plan[backend.name]`` (if any), apply; return both plans."""
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    desired = load_topology_text(text, "parity.yaml")
    plans = []
    for backend in (http, memory):
        plan = make_plan(desired, backend, prune=prune)
        (after_plan or {}).get(backend.name, lambda: None)()
        if apply:
            try:
                execute_plan(plan, backend)
            except PartialApply as exc:
                assert exc.exit_code == ExitCode.MESSAGES_ARRIVED, str(exc)
        plans.append(plan)
    assert plan_rows(plans[0]) == plan_rows(plans[1])
    return plans[0], plans[1]


def assert_same_state(http: HttpBackend, memory: MemoryBackend, vhosts: set[str], user: str) -> None:
    real = comparable(http.read_state(vhosts), vhosts, user)
    fake = comparable(memory.read_state(vhosts), vhosts, user)
    for kind in real:
        only_real = [obj for key, obj in real[kind].items() if fake[kind].get(key) != obj]
        only_fake = [obj for key, obj in fake[kind].items() if real[kind].get(key) != obj]
        assert (only_real, only_fake) == ([], []), f"{kind}: (on the node, in memory)"


def topology(vhost: str, other: str, user: str, *, step: int) -> dict[str, Any]:
    first = step == 1
    return {
        "vhosts": [
            {
                "name": vhost,
                **({"description": "parity", "tags": ["a", "b"]} if first else {"description": "changed"}),
                "exchanges": [
                    {"name": "direct ex", "type": "direct"},
                    {"name": "fan/out", "type": "fanout", "durable": False},
                    *([{"name": "auto", "type": "topic", "auto_delete": True}] if first else []),
                    {"name": "top#ic", "type": "topic", "arguments": {"alternate-exchange": "fan/out"}},
                    {"name": "hdrs", "type": "headers", "internal": first},
                ],
                "queues": [
                    {"name": "plain"},
                    {"name": "ünï 100%", "arguments": {"x-message-ttl": 60000 if first else 1000}},
                    {"name": "quorum q", "type": "quorum", "arguments": {"x-delivery-limit": 5}},
                    {"name": "typed", "arguments": {"x-queue-type": "classic", "x-max-length": 10}},
                    {"name": "full"},
                    *([{"name": "ttl", "durable": False, "auto_delete": True}] if first else []),
                ],
                "bindings": [
                    {"source": "direct ex", "destination": "plain", "routing_key": "k"},
                    {"source": "top#ic", "destination": "quorum q", "routing_key": "a.*.#"},
                    {"source": "fan/out", "destination": "top#ic", "destination_type": "exchange"},
                    {"source": "hdrs", "destination": "ünï 100%", "arguments": {"x-match": "any", "k": "v"}},
                    {"source": "amq.topic", "destination": "plain", "routing_key": "x.y"},
                    *(
                        [
                            {"source": "auto", "destination": "plain"},
                            {"source": "direct ex", "destination": "ttl"},
                        ]
                        if first
                        else []
                    ),
                ],
            },
            {"name": other, "default_queue_type": "quorum", "queues": [{"name": "q", "type": "classic"}]}
            if first
            else {"name": other, "state": "absent"},
        ],
        "users": [
            {
                "name": user,
                "tags": ["management"] if first else ["monitoring", "policymaker"],
                "password_hash": PASSWORD_HASH,
            },
            # A user deleted in the second step takes its permissions with it.
            {"name": f"{user}-gone", "tags": ["management"]} if first else {"name": f"{user}-gone", "state": "absent"},
        ],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": "^$", "write": ".*", "read": "^(a|b)" if first else ".*"},
            *([{"user": user, "vhost": other, "configure": ".*", "write": ".*", "read": ".*"}] if first else []),
            *([{"user": f"{user}-gone", "vhost": vhost, "configure": "", "write": "", "read": ".*"}] if first else []),
        ],
        "topic_permissions": [{"user": user, "vhost": vhost, "exchange": "top#ic", "write": "^a\\.", "read": ".*"}],
    }


def test_the_memory_backend_ends_where_the_node_does(
    http: HttpBackend, admin_client: HttpClient, names: tuple[str, str, str]
) -> None:
    vhost, other, user = names
    scope = {vhost, other}
    memory = MemoryBackend(
        version=http.server_facts()[0] or "", user=http.connected_user(), state=http.read_state(None)
    )
    assert_same_state(http, memory, scope, user)

    created, _ = apply_both(topology(vhost, other, user, step=1), http, memory)
    assert {c.action.value for c in created.changes} == {"create"}
    assert_same_state(http, memory, scope, user)

    # A message reaches a queue the next step prunes, after the plan counted it empty: both keep it.
    def publish() -> None:
        admin_client.post(
            api_path("exchanges", vhost, "amq.default", "publish"),
            {"properties": {}, "routing_key": "full", "payload": "m", "payload_encoding": "string"},
        )

    document = topology(vhost, other, user, step=2)
    document["vhosts"][0]["queues"] = [q for q in document["vhosts"][0]["queues"] if q["name"] != "full"]
    after_plan = {"http": publish, "memory": lambda: memory.set_messages(vhost, "full", 1)}
    changed, _ = apply_both(document, http, memory, prune=True, after_plan=after_plan)
    assert {c.action.value for c in changed.changes} == {"create", "update", "replace", "delete"}
    assert_same_state(http, memory, scope, user)

    again, _ = apply_both(document, http, memory, prune=True, apply=False)
    assert [(c.action.value, c.key, c.messages_at_risk) for c in again.changes] == [("delete", (vhost, "full"), 1)]
