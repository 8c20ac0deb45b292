"""The apply lock outlives a policy's ``expires`` that matches its queue (an ``.*`` clean-up policy): an unused
queue expires, so each transport keeps its lock queue in use (AMQP: a consumer; ctl: the eval asks the queue its
length every 100 ms). Before, the queue and the lock vanished within the policy's time, and a second apply of
the same vhost ran beside the first. Session node (management, AMQP and rabbitmqctl), 3.10 and 4.0."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine.apply_lock import LOCK_QUEUE, AmqpTransport, LockTransport

EXPIRES_MS = 300


@pytest.fixture
def expiring_vhost(admin_client: HttpClient, vhost: str) -> Iterator[str]:
    """The test's vhost with a policy that expires every queue left unused for 300 ms."""
    policy = {"pattern": ".*", "apply-to": "queues", "definition": {"expires": EXPIRES_MS}, "priority": 0}
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("policies", vhost, "cleanup"), policy)
    yield vhost


@pytest.mark.parametrize("transport_name", ["amqp", "ctl"])
def test_the_lock_queue_does_not_expire_while_the_lock_is_held(
    transport_name: str,
    settings: ConnectionSettings,
    session_ctl_backend: CtlBackend,
    admin_client: HttpClient,
    expiring_vhost: str,
) -> None:
    transport: LockTransport = AmqpTransport(settings) if transport_name == "amqp" else session_ctl_backend
    held = transport.try_lock(expiring_vhost, {})
    assert held is not None
    try:
        time.sleep(EXPIRES_MS / 1000 * 6)  # six times the policy's time: long expired, were the queue unused
        assert admin_client.get_or_none(api_path("queues", expiring_vhost, LOCK_QUEUE)) is not None
        assert transport.try_lock(expiring_vhost, {}) is None  # still held: a second apply would wait
    finally:
        held.release()
    deadline = time.monotonic() + 30
    while admin_client.get_or_none(api_path("queues", expiring_vhost, LOCK_QUEUE)) is not None:
        assert time.monotonic() < deadline, "the lock queue outlived its release"
        time.sleep(0.1)
    again = transport.try_lock(expiring_vhost, {})
    assert again is not None
    again.release()
