"""A prune plan's message counts on a real node (issue 19.3): the vhost's queues with their counts are listed once,
beside the state read (``HttpBackend.read_depths``, or the early read of a ``plan --prune`` command line), not
again after the plan is computed; and they are still each queue's own count, so messages published right
before the plan are counted (``paths.QUEUE_DEPTH_PARAMS``), with or without the early read.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner as InProcessRunner

from rabbitadmin import early_read
from rabbitadmin.backends.http.backend import LIVE_PROBE_LIMIT, HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import QUEUE_DEPTH_PARAMS, api_path, server_listings
from rabbitadmin.cli import app
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.early_read.fetch import EarlyAnswer
from rabbitadmin.engine import make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.loader import load_topology
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner
from .test_early_read import EARLY_OFF, _no_answers_left  # noqa: F401  (autouse: no early answer left over)
from .test_safety_routing import publish, queues_doc, write

MANY = LIVE_PROBE_LIMIT + 20  # counted from the listing: no AMQP probe per queue
#: What the early read sends for ``plan --prune`` of a file naming one vhost: its three listings and its queue
#: counts, then the server's listings, its version read and the deprecated features.
SENT_FOR_ONE_VHOST_PRUNED = 4 + len(server_listings()) + 2


class Sent:
    """Every GET of a vhost's queues, sent by the client or by the early read: (when, whether with counts)."""

    def __init__(self) -> None:
        self.gets: list[tuple[float, bool]] = []
        self._lock = threading.Lock()

    def add(self, path: str, params: dict[str, str] | None, queues_path: str) -> None:
        if path == queues_path:
            with self._lock:
                self.gets.append((time.monotonic(), dict(params or {}) == QUEUE_DEPTH_PARAMS))

    def counted(self) -> list[float]:
        return [when for when, counts in self.gets if counts]

    def plain(self) -> list[float]:
        return [when for when, counts in self.gets if not counts]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch, vhost: str) -> Sent:
    record = Sent()
    queues_path = api_path("queues", vhost)
    call, fetch = HttpClient._call, EarlyAnswer._fetch

    def spy_call(self: HttpClient, method: str, path: str, **kwargs: Any) -> Any:
        if method == "GET":
            record.add(path, kwargs.get("params"), queues_path)
        return call(self, method, path, **kwargs)

    def spy_fetch(self: EarlyAnswer, connection: Any) -> None:
        record.add(self.listing.path, self.listing.params, queues_path)
        fetch(self, connection)

    monkeypatch.setattr(HttpClient, "_call", spy_call)
    monkeypatch.setattr(EarlyAnswer, "_fetch", spy_fetch)
    return record


def names(n: int) -> list[str]:
    return [f"q.{i:04d}" for i in range(n)]


@pytest.fixture
def many_queues(rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path) -> Path:
    """``MANY`` empty queues on the server, 3 messages published (confirmed) into ``q.0000`` just now; returns
    a file that lists none of them (``plan --prune`` deletes them all)."""
    everything = write(tmp_path, queues_doc(vhost, [{"name": n} for n in names(MANY)]))
    rabbitadmin("apply", str(everything), "--yes", check=True)
    publish(node, vhost, "q.0000", 3)  # no wait for the statistics: the listing asks the queue itself
    return write(tmp_path, queues_doc(vhost, []), "none.yaml")


def deletes_of(plan_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"][-1]: c for c in plan_json["changes"] if c["action"] == "delete" and c["kind"] == "queue"}


def test_a_prune_plan_lists_the_counts_with_the_state_once_and_counts_what_was_just_published(
    settings: ConnectionSettings,
    many_queues: Path,
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    backend = HttpBackend(settings, parallelism=4)
    request.addfinalizer(backend.close)
    backend.read_depths = True  # what the engine sets for a prune plan
    counting: list[float] = []
    message_counts = backend.message_counts

    def timed(queues: Any) -> Any:
        counting.append(time.monotonic())
        return message_counts(queues)

    monkeypatch.setattr(backend, "message_counts", timed)
    plan = make_plan(load_topology(many_queues), backend, prune=True)

    deletes = {c.key[1]: c for c in plan.changes if c.action is Action.DELETE and c.kind == "queue"}
    assert sorted(deletes) == names(MANY)
    assert (deletes["q.0000"].messages_at_risk, deletes["q.0000"].consumers) == (3, 0)
    assert all(c.messages_at_risk == 0 for k, c in deletes.items() if k != "q.0000")
    # One listing of the state, one of the counts, asked before the plan counted: none after it.
    assert len(sent.plain()) == 1 and len(counting) == 1
    assert len(sent.counted()) == 1 and sent.counted()[0] < counting[0]
    # Taken once: a later count asks the server again (what it says now, not what the read listed).
    backend.message_counts([deletes["q.0000"].actual])  # type: ignore[list-item]
    assert len(sent.counted()) == 2


def test_without_the_hint_the_counts_are_asked_after_the_plan_as_before(
    settings: ConnectionSettings, many_queues: Path, sent: Sent, request: pytest.FixtureRequest
) -> None:
    backend = HttpBackend(settings, parallelism=4)
    request.addfinalizer(backend.close)
    plan = make_plan(load_topology(many_queues), backend, prune=True)
    counts = {c.key[1]: c.messages_at_risk for c in plan.changes if c.action is Action.DELETE}
    assert counts["q.0000"] == 3 and len(counts) == MANY
    assert (len(sent.plain()), len(sent.counted())) == (1, 1)
    assert sent.plain()[0] < sent.counted()[0]


def test_a_prune_command_line_sends_the_counts_early_and_plans_the_same(
    rabbitadmin: CliRunner, cli_env: dict[str, str], many_queues: Path, sent: Sent
) -> None:
    file = str(many_queues)
    assert early_read.begin(["plan", file], cli_env) == SENT_FOR_ONE_VHOST_PRUNED - 1  # no counts without --prune
    assert not early_read.sent_depths()
    early_read.settle()  # its fetches end before the count restarts (under load one was counted with the next)
    early_read.forget()
    sent.gets.clear()

    assert early_read.begin(["plan", "--prune", file], cli_env) == SENT_FOR_ONE_VHOST_PRUNED
    assert early_read.sent_depths()
    result = InProcessRunner().invoke(app, ["plan", "--prune", file, "-o", "json"], env=cli_env)
    assert result.exit_code == 0, result.output
    # Each queue listing sent once, early, and taken: the client sent none again, the plan's count included.
    assert (len(sent.plain()), len(sent.counted())) == (1, 1)
    assert early_read.untaken() == 0 and not early_read.sent_depths()
    early = json.loads(result.stdout)
    assert deletes_of(early)["q.0000"]["messages_at_risk"] == 3

    # As users run it (the launcher sends the early read), and with the early read off: the same plan.
    with_early = rabbitadmin("plan", "--prune", file, "-o", "json")
    without = rabbitadmin("plan", "--prune", file, "-o", "json", env=EARLY_OFF)
    assert with_early.returncode == without.returncode == 0, without.stderr
    assert early == json.loads(with_early.stdout) == json.loads(without.stdout)
    assert len(deletes_of(early)) == MANY
