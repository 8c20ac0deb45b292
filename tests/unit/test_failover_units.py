"""A cluster's URLs (``--url`` repeated, RABBITADMIN_URLS), replica warnings, replica listing fields, and the
lost-write rule after a failover: pure logic, no server (the behaviour on real nodes: tests/cluster,
tests/integration/test_url_failover.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rabbitadmin.backends.admin_ops import shaped
from rabbitadmin.backends.http.client import MAYBE_CARRIED_OUT
from rabbitadmin.backends.http.settle import settled
from rabbitadmin.connection import ConnectionSettings, cluster_urls, resolve_settings
from rabbitadmin.engine.plan import Action, Change, Plan
from rabbitadmin.engine.replicas import replica_warnings
from rabbitadmin.errors import AnswerLost
from rabbitadmin.model import Queue

A, B, C = "http://a:15672", "http://b:15672", "http://c:15672"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, []),
        ({"RABBITADMIN_URL": A}, [A]),
        ({"RABBITADMIN_URLS": f"{A},{B},{C}"}, [A, B, C]),
        ({"RABBITADMIN_URLS": f" {A} , ,{B}"}, [A, B]),
        # `sandbox env` sets both: RABBITADMIN_URL first, then the other nodes.
        ({"RABBITADMIN_URL": A, "RABBITADMIN_URLS": f"{A},{B},{C}"}, [A, B, C]),
        # Pointing RABBITADMIN_URL at node 3 by hand keeps the others as fallbacks.
        ({"RABBITADMIN_URL": C + "/", "RABBITADMIN_URLS": f"{A},{B},{C}"}, [C + "/", A, B]),
        # A URL of another server gets no fallbacks from a cluster it is not in.
        ({"RABBITADMIN_URL": "http://other:1", "RABBITADMIN_URLS": f"{A},{B}"}, ["http://other:1"]),
    ],
)
def test_cluster_urls_from_the_environment(env: dict[str, str], expected: list[str]) -> None:
    assert cluster_urls(env) == expected


def test_resolve_settings_takes_every_url_in_order() -> None:
    settings = resolve_settings(url=[B, A, B], environ={"RABBITADMIN_URLS": C})
    assert settings.urls == (B, A)
    single = resolve_settings(url=A, environ={"RABBITADMIN_URLS": f"{A},{B}"})
    assert single.urls == (A,), "an explicit URL is used alone"
    from_env = resolve_settings(environ={"RABBITADMIN_URL": B, "RABBITADMIN_URLS": f"{A},{B}"})
    assert (from_env.url, from_env.urls) == (B, (B, A))


def test_credentials_of_other_urls_are_dropped_never_kept() -> None:
    settings = resolve_settings(url=["http://u:first@a:1", "http://v:second@b:2"], environ={})
    assert settings.urls == ("http://a:1", "http://b:2")
    assert settings.user == "u" and settings.password is not None and settings.password.reveal() == "first"
    assert "second" not in repr(settings)


def test_a_malformed_other_url_is_a_usage_error() -> None:
    from rabbitadmin.errors import UsageError

    with pytest.raises(UsageError):
        ConnectionSettings(url=A, other_urls=("ftp://b",))


def _creating(*queues: Queue, action: Action = Action.CREATE) -> Plan:
    return Plan(changes=[Change(action, "queue", (q.vhost, q.name), desired=q) for q in queues])


QUORUM_5 = Queue("v", "q5", type="quorum", arguments={"x-quorum-initial-group-size": 5})
QUORUM_3 = Queue("v", "q3", type="quorum", arguments={"x-quorum-initial-group-size": 3})
STREAM_4 = Queue("v", "s4", type="stream", arguments={"x-initial-cluster-size": 4})
CLASSIC = Queue("v", "c")


@pytest.mark.parametrize(
    ("plan", "nodes", "warned"),
    [
        (_creating(QUORUM_5, QUORUM_3), 3, ["q5"]),
        (_creating(QUORUM_5, QUORUM_3), 5, []),
        (_creating(QUORUM_3), 1, ["q3"]),
        (_creating(STREAM_4), 3, ["s4"]),
        (_creating(QUORUM_5, action=Action.REPLACE), 3, ["q5"]),
        (_creating(QUORUM_5, action=Action.UPDATE), 3, []),  # an existing queue's members are not re-placed
    ],
)
def test_replica_warnings(plan: Plan, nodes: int, warned: list[str]) -> None:
    warnings = replica_warnings(plan, lambda: nodes)
    assert [w.split("'")[1] for w in warnings] == warned
    assert all(f"({nodes} node" in w for w in warnings)


def test_the_cluster_is_asked_its_size_only_when_a_queue_asks_for_members() -> None:
    def never() -> int:
        raise AssertionError("asked the node count for nothing")

    assert replica_warnings(_creating(CLASSIC, Queue("v", "qq", type="quorum")), never) == []
    assert replica_warnings(_creating(QUORUM_5), lambda: None) == []  # unknown size: no guess


def test_replica_fields_are_null_for_a_classic_queue_and_sorted_lists_otherwise() -> None:
    rows = shaped(
        "queues",
        [
            {"name": "c", "members": "", "leader": "", "online": ""},  # rabbitmqctl, classic queue
            {"name": "q", "members": ["n2", "n1"], "leader": "n2", "online": ["n2"]},
        ],
    )
    replicas = [(r["members"], r["leader"], r["online"]) for r in rows]
    assert replicas == [(None, None, None), (["n1", "n2"], "n2", ["n2"])]


def _lost() -> AnswerLost:
    return AnswerLost(f"PUT /api/queues/v/q: the connection to http://a was reset: {MAYBE_CARRIED_OUT}")


def _sender(outcomes: list[object]) -> tuple[Callable[[], object], list[int]]:
    calls: list[int] = []

    def send() -> object:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, calls


def test_a_lost_write_read_back_not_done_after_a_failover_is_sent_again_once() -> None:
    send, calls = _sender([_lost(), "sent"])
    assert settled(send, lambda: "queue 'q' is not there", on_done="done", resend_when=lambda: True) == "sent"
    assert len(calls) == 2


def test_without_a_failover_a_lost_write_read_back_not_done_fails() -> None:
    send, calls = _sender([_lost(), "sent"])
    with pytest.raises(AnswerLost, match="not done"):
        settled(send, lambda: "queue 'q' is not there", on_done="done", resend_when=lambda: False)
    assert len(calls) == 1


def test_a_write_lost_twice_is_not_sent_a_third_time() -> None:
    send, calls = _sender([_lost(), _lost(), "sent"])
    with pytest.raises(AnswerLost, match="not done"):
        settled(send, lambda: "queue 'q' is not there", on_done="done", resend_when=lambda: True)
    assert len(calls) == 2


def test_a_lost_write_read_back_done_is_not_sent_again() -> None:
    send, calls = _sender([_lost(), "sent"])
    assert settled(send, lambda: None, on_done="done", resend_when=lambda: True) == "done"
    assert len(calls) == 1
