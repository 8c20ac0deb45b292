"""``graph`` draws a definitions file's exchanges, queues and bindings in vhosts it only refers to."""

from __future__ import annotations

import json
from pathlib import Path

from rabbitadmin.loader import load_topology
from rabbitadmin.routing.graph import build


def test_a_vhost_the_file_only_refers_to_is_drawn(tmp_path: Path) -> None:
    path = tmp_path / "defs.json"
    document = {
        "vhosts": [{"name": "app"}],
        "exchanges": [{"name": "ex", "vhost": "ref", "type": "topic", "durable": True, "arguments": {}}],
        "queues": [{"name": "q", "vhost": "ref", "durable": True, "auto_delete": False, "arguments": {}}],
        "bindings": [
            {"source": "ex", "vhost": "ref", "destination": "q", "destination_type": "queue", "routing_key": "k.*"}
        ],
    }
    path.write_text(json.dumps(document))
    topology = load_topology(path)
    assert topology.referenced_vhosts() == {"ref"}
    graph = build(topology)
    assert {("exchange", "ref", "ex"), ("queue", "ref", "q")} <= set(graph.nodes)
    assert graph.has_edge(("exchange", "ref", "ex"), ("queue", "ref", "q"))


def test_a_queue_without_a_type_in_a_referred_vhost_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "defs.json"
    queues = [
        {"name": "plain", "vhost": "ref", "durable": True, "auto_delete": False, "arguments": {}},
        {"name": "typed", "vhost": "ref", "durable": True, "arguments": {"x-queue-type": "classic"}},
        {"name": "declared", "vhost": "app", "durable": True, "auto_delete": False, "arguments": {}},
    ]
    path.write_text(json.dumps({"vhosts": [{"name": "app"}], "queues": queues}))
    assert load_topology(path).server_typed_queues == {("ref", "plain")}
