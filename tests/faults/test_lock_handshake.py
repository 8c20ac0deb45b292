"""The apply lock's AMQP connection when the handshake is dropped (a busy broker past its handshake_timeout
does this: the README tour saw exit 3 once under load 10): tried again a bounded number of times, through a
TCP forwarder in front of the REAL node that resets the first connections at a chosen stage of the handshake.

pika names a stream lost after connection.start a "probable authentication error" and one lost after
connection.tune a "probable access denied error" (CI saw the first when the server's connection.start won the
race against a cut meant to come before it): a drop at any stage is tried again and never reported as refused
credentials; the broker's own refusals are final at once and named as such.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from rabbitadmin.backends.http.amqp_probe import connection_parameters, handshake_dropped
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine.apply_lock import CONNECT_ATTEMPTS, LOCK_QUEUE, AmqpTransport
from rabbitadmin.errors import ConnectionFailed, LockUnavailable, LockVhostMissing
from rabbitadmin.model import Secret
from rabbitadmin.routing.verify import Prober
from rabbitadmin.tutorials.amqp import AmqpTarget, connect

from .amqp_cut import AmqpCut

#: The client's reads, each sent once the server has answered the one before: where the cut comes.
STAGES = {"protocol header": 1, "connection.start-ok": 2, "connection.tune-ok": 3}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("dropped", [1, CONNECT_ATTEMPTS - 1])
def test_a_dropped_handshake_is_tried_again_and_the_lock_is_taken(
    dropped: int, stage: str, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, at_read=STAGES[stage], mode="drop", first=dropped).start()
    try:
        held = AmqpTransport(replace(settings, amqp_port=cut.port)).try_lock(vhost, {})
        assert held is not None and cut.cuts == dropped
        names = {q["name"] for q in admin_client.get(api_path("queues", vhost), {"columns": "name"})}
        assert LOCK_QUEUE in names
        held.release()
    finally:
        cut.stop()


@pytest.mark.parametrize("stage", STAGES)
def test_the_tries_are_bounded_and_the_error_names_the_cause(
    stage: str, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, at_read=STAGES[stage], mode="drop").start()
    try:
        with pytest.raises(LockUnavailable, match="cannot take the apply lock over AMQP") as caught:
            AmqpTransport(replace(settings, amqp_port=cut.port)).try_lock(vhost, {})
    finally:
        cut.stop()
    assert cut.cuts == CONNECT_ATTEMPTS
    said = str(caught.value)
    assert f"{CONNECT_ATTEMPTS} tries" in said and "refused" not in said and "permissions" not in said, said
    expected = "before answering the AMQP protocol header" if STAGES[stage] == 1 else "lost during the AMQP handshake"
    assert expected in said, said


@pytest.mark.parametrize("stage", ["connection.start-ok", "connection.tune-ok"])
def test_a_tutorial_runner_names_a_dropped_handshake_not_a_refused_login(
    stage: str, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, at_read=STAGES[stage], mode="drop").start()
    password = Secret(settings.password.reveal() if settings.password else "")
    target = AmqpTarget("127.0.0.1", cut.port, vhost, settings.user, password, "hello-world")
    try:
        with pytest.raises(ConnectionFailed) as caught:
            connect(target)
    finally:
        cut.stop()
    said = str(caught.value)
    assert "lost during the AMQP handshake" in said and "refused" not in said, said


def test_a_routing_probe_names_a_dropped_handshake(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    cut = AmqpCut(settings.amqp_port or 5672, at_read=STAGES["connection.start-ok"], mode="drop").start()
    try:
        with pytest.raises(ConnectionFailed) as caught:
            Prober(replace(settings, amqp_port=cut.port), vhost, [])
    finally:
        cut.stop()
    said = str(caught.value)
    assert "lost during the AMQP handshake" in said and "authentication" not in said, said


@pytest.mark.parametrize("refusal", ["wrong password", "missing vhost"])
def test_the_brokers_refusals_are_not_read_as_drops(
    refusal: str, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    """The same pika classes as a drop, raised by the broker's connection.close: final, and named as such."""
    import pika
    import pika.exceptions

    if refusal == "missing vhost":
        tried, expected = settings, LockVhostMissing
    else:
        admin_client.put(api_path("vhosts", vhost), {})
        tried, expected = replace(settings, password=Secret("not-the-password")), LockUnavailable
    with pytest.raises(pika.exceptions.AMQPConnectionError) as raw:
        pika.BlockingConnection(connection_parameters(tried, vhost))
    assert isinstance(
        raw.value, (pika.exceptions.ProbableAuthenticationError, pika.exceptions.ProbableAccessDeniedError)
    ), repr(raw.value)
    assert handshake_dropped(raw.value) is None, repr(raw.value)
    with pytest.raises(expected) as caught:
        AmqpTransport(tried).try_lock(vhost, {})
    if refusal == "wrong password":
        assert "refused the credentials" in str(caught.value)


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
