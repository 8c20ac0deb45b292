"""A consumer that attaches after the plan cannot make apply lose its unacknowledged messages (real node).

The server's ``if-empty`` counts ready messages only: a classic queue whose messages were all delivered to a
consumer and not acknowledged is deleted with them. A queue the plan counted empty with no consumer is
therefore deleted with ``if-unused`` too; the server refuses while a consumer is attached, the apply keeps
the queue (exit 9), and the messages come back to the queue when the consumer goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Plan
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology, load_topology_text
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner
from .test_safety_routing import amqp, apply_at_prompt, depth, queues_doc, write

TIMEOUT = 30.0


class Consumer:
    """A pika consumer with manual acks that holds every delivery unacknowledged until it closes."""

    def __init__(self, node: SandboxInfo, vhost: str, queue: str) -> None:
        self.connection = amqp(node, vhost)
        self.channel = self.connection.channel()
        self.received: list[bytes] = []
        self.channel.basic_consume(queue, lambda _ch, _method, _props, body: self.received.append(body))
        self.queue = queue

    def publish_and_hold(self, count: int) -> None:
        """Publish ``count`` messages to the queue (confirmed) and wait, bounded, until all are delivered here."""
        self.channel.confirm_delivery()
        for i in range(count):
            self.channel.basic_publish("", self.queue, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
        deadline = time.monotonic() + TIMEOUT
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} deliveries after {TIMEOUT} s")
            self.connection.process_data_events(time_limit=0.2)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()  # unacknowledged deliveries go back to the queue


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    made: list[Consumer] = []
    yield made
    for consumer in made:
        consumer.close()


def ready_after_close(node: SandboxInfo, vhost: str, queue: str, expected: int) -> int:
    """The queue's ready count once the requeue of a closed consumer's deliveries shows (bounded wait)."""
    deadline = time.monotonic() + TIMEOUT
    while (count := depth(node, vhost, queue)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def drain(node: SandboxInfo, vhost: str, queue: str) -> None:
    with amqp(node, vhost) as connection:
        connection.channel().queue_purge(queue)


def grant(admin_client: HttpClient, node: SandboxInfo, vhost: str) -> None:
    """Let the node's user in (AMQP): rabbitmqctl add_vhost grants nobody, and a prune through ctl (which
    cannot tell the connected user) revokes a grant the topology does not list."""
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    admin_client.put(api_path("permissions", vhost, node.user), everything)


SHAPES: dict[str, Callable[[str], tuple[dict[str, Any], bool]]] = {
    "prune": lambda vhost: (queues_doc(vhost, [{"name": "b"}]), True),
    "vhost": lambda vhost: ({"vhosts": [{"name": vhost, "state": "absent"}]}, False),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_consumer_attached_after_the_plan_keeps_the_queue_and_its_unacked_messages(
    shape: str,
    backend: Backend,
    node: SandboxInfo,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    def plan_for(document: dict[str, Any], prune: bool) -> Plan:
        return make_plan(load_topology(write(tmp_path, document)), backend, prune=prune)

    execute_plan(plan_for(queues_doc(vhost, [{"name": "a"}, {"name": "b"}]), False), backend)
    grant(admin_client, node, vhost)
    document, prune = SHAPES[shape](vhost)
    plan = plan_for(document, prune)
    destroyed = [c for c in plan.changes if c.destroys_messages]
    assert destroyed and all(c.messages_at_risk == 0 and c.consumers == 0 for c in destroyed), plan.changes
    # After the plan: a consumer attaches and takes the messages published meanwhile, unacknowledged.
    consumer = Consumer(node, vhost, "a")
    consumers.append(consumer)
    consumer.publish_and_hold(3)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    assert caught.value.exit_code == ExitCode.MESSAGES_ARRIVED, caught.value
    [(kept, why)] = caught.value.result.kept
    assert kept.kind == ("queue" if shape == "prune" else "vhost")
    assert why.startswith("a consumer attached after the plan") and "'a'" in why, why
    assert admin_client.get_or_none(api_path("queues", vhost, "a")) is not None
    grant(admin_client, node, vhost)
    consumer.close()
    assert ready_after_close(node, vhost, "a", 3) == 3  # nothing lost: requeued when the consumer went
    # Once the consumer is gone (and its messages drained), the same command converges.
    drain(node, vhost, "a")
    execute_plan(plan_for(document, prune), backend)
    assert admin_client.get_or_none(api_path("queues", vhost, "a")) is None
    assert [c.subject for c in plan_for(document, prune).changes if c.kind in ("queue", "vhost")] == []


def test_the_command_exits_9_when_a_consumer_attaches_at_the_prompt(
    cli_env: dict[str, str],
    node: SandboxInfo,
    rabbitadmin: CliRunner,
    vhost: str,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    """At the confirmation prompt the plan is shown (0 consumers): a consumer attaching then is 'after the plan'."""
    rabbitadmin("apply", str(write(tmp_path, queues_doc(vhost, [{"name": "a"}, {"name": "b"}]))), "--yes", check=True)
    target = write(tmp_path, queues_doc(vhost, [{"name": "b"}]), "target.yaml")

    def attach() -> None:
        consumers.append(Consumer(node, vhost, "a"))
        consumers[-1].publish_and_hold(4)

    code, stdout, shown = apply_at_prompt(["apply", str(target), "--prune"], cli_env, attach)
    assert "delete queue 'a'" in shown and "consumer(s) would be cut off" not in shown, shown
    assert code == ExitCode.MESSAGES_ARRIVED, stdout
    assert "kept: queue 'a'" in stdout and ": a consumer attached after the plan" in stdout, stdout
    consumers[-1].close()
    assert ready_after_close(node, vhost, "a", 4) == 4


def test_the_memory_backend_keeps_and_deletes_what_the_node_does(
    settings: ConnectionSettings, node: SandboxInfo, vhost: str, consumers: list[Consumer]
) -> None:
    """Parity: 'a' planned unused gets a consumer after the plan (kept); 'b' was planned with its consumer
    shown (deleted, its consumer cut off). The memory backend keeps and deletes the same, with the same words."""
    http = HttpBackend(settings, parallelism=2)
    memory = MemoryBackend(version=http.server_facts()[0] or "", user=http.connected_user())
    start = load_topology_text(yaml.safe_dump(queues_doc(vhost, [{"name": "a"}, {"name": "b"}])), "start.yaml")
    target = load_topology_text(yaml.safe_dump(queues_doc(vhost, [{"name": "c"}])), "target.yaml")
    before = {"http": lambda: consumers.append(Consumer(node, vhost, "b")), "memory": lambda: None}
    attach = {
        "http": lambda: consumers.append(Consumer(node, vhost, "a")),
        "memory": lambda: memory.set_messages(vhost, "a", 0, consumers=1),
    }
    outcomes = []
    try:
        for backend in (http, memory):
            execute_plan(make_plan(start, backend), backend)
            before[backend.name]()
            if backend is memory:
                memory.set_messages(vhost, "b", 0, consumers=1)
            plan = make_plan(target, backend, prune=True)
            attach[backend.name]()
            with pytest.raises(PartialApply) as caught:
                execute_plan(plan, backend)
            shown = sorted((c.key, c.consumers) for c in plan.changes if c.destroys_messages)
            kept = [(c.subject, why) for c, why in caught.value.result.kept]
            outcomes.append((shown, kept, caught.value.exit_code, sorted(backend.read_state([vhost]).queues)))
    finally:
        http.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == [((vhost, "a"), 0), ((vhost, "b"), 1)]
    assert outcomes[0][3] == [(vhost, "a"), (vhost, "c")]
