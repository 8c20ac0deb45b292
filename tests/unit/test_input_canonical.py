"""What a file says reaches the plan in the server's canonical form, so a second run plans nothing.

Each test here kills a hand-made mutation that no other test caught (see issue 13.6): queue arguments
taken from the file without normalising, definitions input putting every object in the first vhost, tags
split on commas but not stripped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Topology
from rabbitadmin.passwords import hash_password

HASH = hash_password("pw")


def load_yaml(document: dict[str, Any]) -> Topology:
    return load_topology_text(yaml.safe_dump(document, sort_keys=False), "t.yaml")


def converges(desired: Topology) -> None:
    """Applying ``desired`` to a server, then planning it again, plans nothing."""
    backend = MemoryBackend()
    execute_plan(make_plan(desired, backend), backend)
    again = make_plan(desired, backend)
    assert again.is_empty, [change.subject for change in again.changes]


# -- queue arguments -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "expected_type", "expected_arguments"),
    [
        ({"x-queue-type": "quorum"}, "quorum", {}),
        ({"x-queue-type": "classic", "x-message-ttl": 60000}, "classic", {"x-message-ttl": 60000}),
        ({"x-single-active-consumer": True, "x-queue-type": "quorum"}, "quorum", {"x-single-active-consumer": True}),
        ({"x-max-length": 10, "x-expires": 1000}, "classic", {"x-expires": 1000, "x-max-length": 10}),
    ],
)
def test_queue_arguments_from_the_file_are_canonical(
    arguments: dict[str, Any], expected_type: str, expected_arguments: dict[str, Any]
) -> None:
    desired = load_yaml({"vhosts": [{"name": "v", "queues": [{"name": "q", "arguments": arguments}]}]})
    queue = desired.queues[("v", "q")]
    assert (queue.type, queue.arguments) == (expected_type, expected_arguments)
    assert list(queue.arguments) == sorted(queue.arguments)
    converges(desired)


def test_queue_arguments_from_definitions_are_canonical() -> None:
    document = {
        "vhosts": [{"name": "v"}],
        "queues": [
            {"name": "q", "vhost": "v", "durable": True, "auto_delete": False, "arguments": {"x-queue-type": "quorum"}}
        ],
    }
    desired = load_topology_text(json.dumps(document), "defs.json")
    assert (desired.queues[("v", "q")].type, desired.queues[("v", "q")].arguments) == ("quorum", {})
    converges(desired)


# -- definitions input: each object in its own vhost -----------------------------------------------------
def test_definitions_input_puts_each_object_in_its_own_vhost() -> None:
    vhosts = ["first", "second", "third"]
    document: dict[str, Any] = {
        "vhosts": [{"name": name} for name in vhosts],
        "users": [{"name": "u", "password_hash": HASH, "tags": ""}],
        "exchanges": [],
        "queues": [],
        "bindings": [],
        "permissions": [],
    }
    for name in reversed(vhosts):  # listed in another order than the vhosts
        document["exchanges"].append({"name": f"e-{name}", "vhost": name, "type": "fanout", "durable": True})
        document["queues"].append({"name": f"q-{name}", "vhost": name, "durable": True, "arguments": {}})
        document["bindings"].append(
            {
                "source": f"e-{name}",
                "vhost": name,
                "destination": f"q-{name}",
                "destination_type": "queue",
                "routing_key": name,
                "arguments": {},
            }
        )
        document["permissions"].append({"user": "u", "vhost": name, "configure": name, "write": ".*", "read": ".*"})
    desired = load_topology_text(json.dumps(document), "defs.json")
    assert set(desired.exchanges) == {(name, f"e-{name}") for name in vhosts}
    assert set(desired.queues) == {(name, f"q-{name}") for name in vhosts}
    assert {(b.vhost, b.source, b.destination, b.routing_key) for b in desired.bindings.values()} == {
        (name, f"e-{name}", f"q-{name}", name) for name in vhosts
    }
    assert {(p.vhost, p.configure) for p in desired.permissions.values()} == {(name, name) for name in vhosts}
    converges(desired)


# -- tags ------------------------------------------------------------------------------------------------
TAG_SPELLINGS = ["administrator, management", " management ,administrator", "administrator,,management, "]


@pytest.mark.parametrize("tags", [*TAG_SPELLINGS, ["administrator ", " management"]])
def test_user_and_vhost_tags_are_split_and_stripped(tags: str | list[str]) -> None:
    desired = load_yaml(
        {
            "vhosts": [{"name": "v", "tags": tags}],
            "users": [{"name": "u", "password_hash": HASH, "tags": tags}],
        }
    )
    assert desired.users[("u",)].tags == ("administrator", "management")
    assert desired.vhosts[("v",)].tags == ("administrator", "management")
    converges(desired)


@pytest.mark.parametrize("tags", TAG_SPELLINGS)
def test_user_tags_from_definitions_are_split_and_stripped(tags: str) -> None:
    document = {"vhosts": [], "users": [{"name": "u", "password_hash": HASH, "tags": tags}]}
    desired = load_topology_text(json.dumps(document), "defs.json")
    assert desired.users[("u",)].tags == ("administrator", "management")
    converges(desired)
