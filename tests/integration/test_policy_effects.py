"""What a new or lowered policy limit does to the messages a queue ALREADY holds, measured on a real node.

Each test publishes persistent messages, sets the policy as users do (``rabbitadmin apply --allow-data-loss``),
waits a bounded time longer than the limit, and counts what is left. They describe the server (3.10.8 and
4.0.5), not rabbitadmin, so they hold whatever the planner counts; ``policy_effects.MAY_DROP_HELD`` follows them.

Sources (RabbitMQ 3.10.8 and 4.0.5; osiris 1.3.1 and 1.8.5):
- ``message-ttl``: stamped on each message at enqueue (classic ``rabbit_amqqueue_process:message_properties/3``,
  ``calculate_msg_expiry/2``; quorum ``rabbit_fifo:maybe_set_msg_ttl``, the ``expiry`` header); expiry compares
  only those stamps (``drop_expired_msgs/2``, ``rabbit_fifo:expire_msgs/4``), and neither a policy change
  (``process_args_policy/1``, ``rabbit_fifo`` ``#update_config{}``) nor a quorum ``tick/2`` restamps them: held
  messages are kept, later ones expire. A policy holding it never applies to a stream (``unsupported_policies``).
- ``expires``: a policy change restarts the clock from now, not from the last use (classic ``init_exp/2`` ->
  ``ensure_expiry_timer/1``; quorum ``rabbit_quorum_queue:ra_machine_config/1`` ``created => now`` ->
  ``rabbit_fifo:update_config/2`` ``last_active``, checked by ``is_expired/2`` at each ``tick``, every 5 s):
  the queue, with its messages, is deleted ``expires`` ms after the apply if nothing uses it meanwhile.
- ``max-length-bytes``: applied at once (classic ``init_max_bytes/2`` -> ``maybe_drop_head/1``; quorum
  ``#update_config{}`` -> ``checkout/4`` -> ``evaluate_limit/5`` -> ``drop_head``), unless ``overflow`` is
  ``reject-publish``; on a stream it is retention (``rabbit_stream_queue:update_stream_conf/2``).
- ``max-age`` (streams): ``rabbit_stream_coordinator:policy_changed/1`` -> ``osiris:update_retention`` ->
  ``osiris_log:update_retention/2`` evaluates retention at once: every closed segment whose last chunk is older
  is deleted (``eval_age/2``); the segment being written is always kept, whatever its age.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pika
import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner
from .test_safety_routing import amqp, depth, write

HELD = 5
QUEUE_TYPES = (("cq", "classic"), ("qq", "quorum"))
QUORUM_TICK = 5.0  # rabbit_quorum_queue ?TICK_TIMEOUT / ?TICK_INTERVAL (ms 5000): when is_expired is checked


def publish(node: SandboxInfo, vhost: str, queue: str, count: int, size: int = 10) -> None:
    """``count`` persistent messages of ``size`` bytes, each confirmed before the next (one stream chunk each)."""
    with amqp(node, vhost) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for _ in range(count):
            channel.basic_publish("", queue, b"x" * size, pika.BasicProperties(delivery_mode=2), mandatory=True)


def fetch_all(node: SandboxInfo, vhost: str, queue: str) -> int:
    """How many messages basic.get hands out before the queue answers empty (they are consumed)."""
    got = 0
    with amqp(node, vhost) as connection:
        channel = connection.channel()
        while channel.basic_get(queue, auto_ack=True)[0] is not None:
            got += 1
    return got


def stream_readable(node: SandboxInfo, vhost: str, queue: str, quiet: float = 2.0, bound: float = 20.0) -> int:
    """How many messages a consumer reads from a stream's first offset: until none comes for ``quiet`` s."""
    received = 0

    def on_message(ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        nonlocal received
        received += 1
        ch.basic_ack(method.delivery_tag)

    with amqp(node, vhost) as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=100)
        channel.basic_consume(queue, on_message, arguments={"x-stream-offset": "first"})
        start = last = time.monotonic()
        seen = -1
        while time.monotonic() - last < quiet and time.monotonic() - start < bound:
            connection.process_data_events(time_limit=0.2)
            if received != seen:
                seen, last = received, time.monotonic()
    return received


def apply_policy(
    rabbitadmin: CliRunner,
    tmp_path: Path,
    vhost: str,
    queues: list[dict[str, Any]],
    policies: list[dict[str, Any]],
    name: str,
) -> float:
    """Apply the queues with ``policies`` as users do; returns the monotonic time the apply ended."""
    document = {"vhosts": [{"name": vhost, "queues": queues, "policies": policies}]}
    rabbitadmin("apply", str(write(tmp_path, document, name)), "--yes", "--allow-data-loss", check=True)
    return time.monotonic()


def policy(name: str, pattern: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "pattern": pattern, "apply_to": "queues", "definition": definition}


def test_message_ttl_by_policy_keeps_the_messages_held_and_expires_the_later_ones(
    rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path
) -> None:
    queues = [
        {"name": "cq", "type": "classic"},
        {"name": "qq", "type": "quorum"},
        {"name": "cq-later", "type": "classic"},
        {"name": "qq-later", "type": "quorum"},
    ]
    rabbitadmin("apply", str(write(tmp_path, {"vhosts": [{"name": vhost, "queues": queues}]})), "--yes", check=True)
    for queue in ("cq", "qq"):
        publish(node, vhost, queue, HELD)

    ended = apply_policy(
        rabbitadmin, tmp_path, vhost, queues, [policy("ttl", "^(cq|qq)", {"message-ttl": 1000})], "ttl.yaml"
    )
    for queue in ("cq-later", "qq-later"):
        publish(node, vhost, queue, HELD)  # stamped with the policy's TTL: the proof the policy is in effect
    time.sleep(max(0.0, ended + 1.0 + QUORUM_TICK + 1.0 - time.monotonic()))  # past the TTL and a quorum tick

    left = {queue: depth(node, vhost, queue) for queue in ("cq", "qq", "cq-later", "qq-later")}
    assert left == {"cq": HELD, "qq": HELD, "cq-later": 0, "qq-later": 0}
    assert {queue: fetch_all(node, vhost, queue) for queue in ("cq", "qq")} == {"cq": HELD, "qq": HELD}


@pytest.mark.parametrize("definition", [{"message-ttl": 1}, {"expires": 1000}], ids=["message-ttl", "expires"])
def test_a_classic_and_quorum_limit_policy_does_not_apply_to_a_stream(
    rabbitadmin: CliRunner,
    node: SandboxInfo,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    definition: dict[str, Any],
) -> None:
    """``rabbit_stream_queue:capabilities/0`` lists both keys in ``unsupported_policies``: the policy holding one
    is not the stream's (``rabbit_policy:matches``, ``is_policy_applicable``), so nothing changes."""
    queues = [{"name": "sq", "type": "stream"}]
    rabbitadmin("apply", str(write(tmp_path, {"vhosts": [{"name": vhost, "queues": queues}]})), "--yes", check=True)
    publish(node, vhost, "sq", HELD)
    apply_policy(rabbitadmin, tmp_path, vhost, queues, [policy("p", "^sq$", definition)], "p.yaml")
    publish(node, vhost, "sq", HELD)
    time.sleep(3.0)  # past the TTL or expires, were they applied
    assert admin_client.get(api_path("queues", vhost, "sq")).get("policy") in (None, ""), "unsupported: not applied"
    assert stream_readable(node, vhost, "sq") == 2 * HELD


def test_expires_by_policy_counts_from_the_apply_not_from_the_last_use(
    rabbitadmin: CliRunner, node: SandboxInfo, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    """Left unused 12 s, then given expires 8 s: from the last use it would go at once (classic) or at the next
    tick (quorum, within 5 s); it stays 8 s from the apply and then goes with its messages."""
    expires = 8.0
    queues = [{"name": "cq", "type": "classic"}, {"name": "qq", "type": "quorum"}]
    rabbitadmin("apply", str(write(tmp_path, {"vhosts": [{"name": vhost, "queues": queues}]})), "--yes", check=True)
    for queue in ("cq", "qq"):
        publish(node, vhost, queue, HELD)
    time.sleep(12.0)  # unused (no consumer, no get, no declare) longer than the expires to come

    def there() -> set[str]:  # the HTTP API's queue read does not count as a use (a declare would)
        return {q for q in ("cq", "qq") if admin_client.get_or_none(api_path("queues", vhost, q)) is not None}

    ended = apply_policy(
        rabbitadmin, tmp_path, vhost, queues, [policy("exp", "^(cq|qq)$", {"expires": int(expires * 1000)})], "e.yaml"
    )
    time.sleep(max(0.0, ended + QUORUM_TICK + 1.5 - time.monotonic()))  # a tick has passed, expires has not
    assert there() == {"cq", "qq"}, "deleted counting from the last use"
    assert {q: int(admin_client.get(api_path("queues", vhost, q)).get("messages") or 0) for q in ("cq", "qq")} == {
        "cq": HELD,
        "qq": HELD,
    }
    deadline = ended + expires + QUORUM_TICK + 10.0
    while there() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert there() == set(), f"still there {time.monotonic() - ended:.1f} s after the apply"
    assert time.monotonic() - ended >= expires - 1.0


def test_expires_policy_against_the_queue_argument(
    rabbitadmin: CliRunner, admin_client: HttpClient, rabbitmq_version: str, vhost: str, tmp_path: Path
) -> None:
    """The lower of ``x-expires`` and the policy's, except a 3.10 quorum queue, which takes the policy's
    (3.10.8 ``rabbit_quorum_queue:ra_machine_config/1``: ``policyHasPrecedence``; 4.0.5 ``gather_policy_config``
    and classic ``process_args_policy/1``: ``min``/``res_min``)."""
    argument = 6.0
    queues = [{"name": q, "type": t, "arguments": {"x-expires": int(argument * 1000)}} for q, t in QUEUE_TYPES]
    ended = apply_policy(
        rabbitadmin, tmp_path, vhost, queues, [policy("exp", "^(cq|qq)$", {"expires": 3_600_000})], "arg.yaml"
    )
    time.sleep(max(0.0, ended + argument + QUORUM_TICK + 3.0 - time.monotonic()))  # past x-expires and a tick
    there = {q for q, _ in QUEUE_TYPES if admin_client.get_or_none(api_path("queues", vhost, q)) is not None}
    assert there == ({"qq"} if rabbitmq_version == "3.10" else set())


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_max_length_bytes_by_policy_drops_the_excess_at_once_unless_reject_publish_was_already_in_effect(
    rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path, queue_type: str
) -> None:
    """A classic queue applies the caps before ``overflow`` (``process_args_policy/1``'s table: ``init_max_length``,
    ``init_max_bytes``, then ``init_overflow``), so one policy bringing a cap and ``reject-publish`` together drops
    the excess under the drop-head still in effect; a quorum queue takes the whole config at once
    (``rabbit_fifo:update_config/2``, then ``evaluate_limit/5``) and keeps it. Already rejecting: both keep."""
    names = ("q", "q-keep", "ql-keep", "q-was")
    queues = [{"name": name, "type": queue_type} for name in names]
    reject = {"overflow": "reject-publish"}
    apply_policy(rabbitadmin, tmp_path, vhost, queues, [policy("was", "^q-was$", reject)], "start.yaml")
    for queue in names:
        publish(node, vhost, queue, 10, size=100)
    policies = [
        policy("bytes", "^q$", {"max-length-bytes": 350}),
        policy("keep", "^q-keep$", {"max-length-bytes": 350, **reject}),
        policy("len-keep", "^ql-keep$", {"max-length": 3, **reject}),
        policy("was", "^q-was$", {"max-length-bytes": 350, **reject}),
    ]
    apply_policy(rabbitadmin, tmp_path, vhost, queues, policies, "bytes.yaml")
    # at once: a passive declare right after the apply already sees it (no wait, no tick)
    together = 3 if queue_type == "classic" else 10
    expected = {"q": 3, "q-keep": together, "ql-keep": together, "q-was": 10}
    assert {q: depth(node, vhost, q) for q in names} == expected
    time.sleep(QUORUM_TICK + 1.0)
    assert {q: fetch_all(node, vhost, q) for q in names} == expected


@pytest.mark.parametrize("definition", [{"max-age": "1s"}, {"max-length-bytes": 1}], ids=["max-age", "max-bytes"])
def test_stream_retention_by_policy_deletes_closed_segments_at_once_and_keeps_the_open_one(
    rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path, definition: dict[str, Any]
) -> None:
    """``small``: segments of 300 bytes, which each confirmed 100-byte message (a chunk of ~170 bytes with its
    header) soon fills, so every message lies in a closed segment; ``one``: the default 500 MB segment, open."""
    queues = [
        {"name": "small", "type": "stream", "arguments": {"x-stream-max-segment-size-bytes": 300}},
        {"name": "one", "type": "stream"},
    ]
    rabbitadmin("apply", str(write(tmp_path, {"vhosts": [{"name": vhost, "queues": queues}]})), "--yes", check=True)
    for queue in ("small", "one"):
        publish(node, vhost, queue, 10, size=100)
        assert stream_readable(node, vhost, queue) == 10
    time.sleep(2.0)  # every chunk older than 1 s

    apply_policy(rabbitadmin, tmp_path, vhost, queues, [policy("ret", "^(small|one)$", definition)], "ret.yaml")
    time.sleep(2.0)  # osiris_retention evaluates in its own process, at once
    assert {queue: stream_readable(node, vhost, queue) for queue in ("small", "one")} == {"small": 0, "one": 10}
