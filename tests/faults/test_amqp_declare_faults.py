"""AMQP declares (``apply --create-with amqp``) cut part-way between the tool and a REAL node: the connection
dropped (TCP RST) or the server's answers stalled (each declare's wait bounded by the timeout). The apply
stops, what was answered is done, what was sent without an answer is read back (done if the server shows
it as asked, else failed), the rest is not attempted; a rerun converges."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology_text

from ..integration.test_amqp_create import text, topology
from .amqp_cut import AmqpCut

# Bytes the client sends before the cut: past the handshake (and the 3 s probe, which sends less), inside
# the declares.
CUT_AFTER = 6000


@pytest.mark.parametrize(("mode", "timeout"), [("drop", 30.0), ("stall", 3.0)])
def test_a_cut_part_way_is_settled_and_a_rerun_converges(
    mode: str, timeout: float, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    document = text(topology(vhost, plain_queues=150))
    cut = AmqpCut(settings.amqp_port or 5672, after=CUT_AFTER, mode=mode).start()
    engine = HttpBackend(
        replace(settings, amqp_port=cut.port, timeout=timeout), bulk_threshold=1, create_with=CreateWith.amqp
    )
    try:
        plan = make_plan(load_topology_text(document), engine)
        started = time.monotonic()
        with pytest.raises(PartialApply) as caught:
            execute_plan(plan, engine)
        waited = time.monotonic() - started
    finally:
        engine.close()
        cut.stop()
    assert cut.cuts >= 1
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.PARTIAL
    assert result.done and result.not_attempted  # the cut came part-way
    assert len(result.done) + len(result.failed) + len(result.not_attempted) == len(plan.changes)
    if mode == "stall":
        assert waited < 60  # bounded by the declare timeout, not hanging (no timing threshold asserted)
    # Read back: everything reported done is on the server.
    shown = {q["name"] for q in admin_client.get(api_path("queues", vhost), {"columns": "name"})}
    assert {c.key[1] for c in result.done if c.kind == "queue"} <= shown
    # A failed one was sent without an answer and not shown at read-back: its outcome is unknown (a declare
    # the server received before the cut may still complete), and the message says so.
    for _change, error in result.failed:
        assert "outcome unknown" in error and ("connection was lost" if mode == "drop" else "no answer") in error
    # The unanswered declares were read back, so done may exceed what was answered over AMQP.
    assert len(result.done) >= engine.declared_over_amqp
    again = HttpBackend(replace(settings, timeout=60), bulk_threshold=1, create_with=CreateWith.amqp)
    try:
        assert execute_plan(make_plan(load_topology_text(document), again), again).ok
        assert make_plan(load_topology_text(document), again).is_empty
    finally:
        again.close()
