"""The apply lock's AMQP connection when the handshake is dropped (a busy broker past its handshake_timeout
does this: the README tour saw exit 3 once under load 10): tried again a bounded number of times, through a
TCP forwarder that resets the first connections right after the protocol header, in front of the REAL node."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine.apply_lock import CONNECT_ATTEMPTS, LOCK_QUEUE, AmqpTransport
from rabbitadmin.errors import LockUnavailable

from .amqp_cut import AmqpCut

PROTOCOL_HEADER = 8  # b"AMQP\x00\x00\x09\x01": the cut comes before the server's connection.start


@pytest.mark.parametrize("dropped", [1, CONNECT_ATTEMPTS - 1])
def test_a_dropped_handshake_is_tried_again_and_the_lock_is_taken(
    dropped: int, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, after=PROTOCOL_HEADER, mode="drop", first=dropped).start()
    try:
        held = AmqpTransport(replace(settings, amqp_port=cut.port)).try_lock(vhost, {})
        assert held is not None and cut.cuts == dropped
        names = {q["name"] for q in admin_client.get(api_path("queues", vhost), {"columns": "name"})}
        assert LOCK_QUEUE in names
        held.release()
    finally:
        cut.stop()


def test_the_tries_are_bounded_and_the_error_names_the_cause(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, after=PROTOCOL_HEADER, mode="drop").start()
    try:
        with pytest.raises(LockUnavailable, match="cannot take the apply lock over AMQP"):
            AmqpTransport(replace(settings, amqp_port=cut.port)).try_lock(vhost, {})
    finally:
        cut.stop()
    assert cut.cuts == CONNECT_ATTEMPTS


def test_a_port_that_accepts_and_never_answers_is_a_clear_error_not_a_traceback(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    """pika ends such a handshake with AMQPConnectorStackTimeout, which is not one of its AMQPError family."""
    admin_client.put(api_path("vhosts", vhost), {})
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        port = int(silent.getsockname()[1])
        with pytest.raises(LockUnavailable, match=f"cannot take the apply lock over AMQP at .*:{port}"):
            AmqpTransport(replace(settings, amqp_port=port, timeout=2.0)).try_lock(vhost, {})
    finally:
        silent.close()
