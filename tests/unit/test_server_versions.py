"""What each server version refuses, deprecates or ignores (server_versions): pure, data-driven."""

from __future__ import annotations

import pytest

from rabbitadmin.audit.rules import audit
from rabbitadmin.model import Queue, Topology
from rabbitadmin.server_versions import (
    argument_notes,
    deprecated_in_use,
    parse_version,
    quorum_default_delivery_limit,
    version_notes,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4.0.5", (4, 0, 5)), ("3.10.8", (3, 10, 8)), ("4.1.0-beta.2", (4, 1, 0)), ("", None), (None, None), ("x", None)],
)
def test_parse_version(text: str | None, expected: tuple[int, ...] | None) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    ("queue_type", "arguments", "version", "expected"),
    [
        ("classic", {"x-queue-mode": "lazy"}, (3, 10, 8), []),
        ("classic", {"x-queue-mode": "lazy"}, (4, 0, 5), ["warn"]),
        ("classic", {"x-queue-version": 1}, (3, 10, 8), []),
        ("classic", {"x-queue-version": 1}, (4, 0, 5), ["warn"]),
        ("quorum", {"x-max-in-memory-length": 5}, (4, 0, 5), ["warn"]),
        ("quorum", {"x-max-in-memory-bytes": 5}, (3, 10, 8), []),
        ("classic", {"x-max-in-memory-length": 5}, (4, 0, 5), []),  # a classic queue refuses it on every version
        ("quorum", {"x-queue-master-locator": "min-masters"}, (4, 0, 5), ["warn"]),
        ("classic", {"x-message-ttl": 5}, (4, 0, 5), []),
        ("classic", {"x-queue-mode": "lazy"}, None, []),
        ("classic", {"x-queue-mode": "default"}, (4, 3, 0), ["refuse"]),  # 4.3.0 release notes, on paper
        ("classic", {"x-queue-version": 1}, (4, 3, 0), ["refuse"]),
        ("classic", {"x-queue-version": 2}, (4, 3, 0), ["warn"]),
    ],
)
def test_argument_notes(
    queue_type: str, arguments: dict[str, object], version: tuple[int, ...] | None, expected: list[str]
) -> None:
    assert [n.severity for n in argument_notes("queue", queue_type, arguments, version)] == expected


def test_a_deprecated_feature_the_server_refuses_is_a_refusal() -> None:
    phases = {"queue_master_locator": "denied_by_default"}
    notes = argument_notes("queue", "classic", {"x-queue-master-locator": "min-masters"}, (4, 2, 0), phases)
    assert [n.severity for n in notes] == ["refuse"] and "denied_by_default" in notes[0].message


def topology(*queues: Queue) -> Topology:
    topo = Topology()
    for queue in queues:
        topo.add(queue)
    return topo


@pytest.mark.parametrize(
    ("version", "phase", "expected"),
    [
        ("3.10.8", None, []),
        ("4.0.5", None, ["warn"]),  # the phases 4.0 is known to have
        ("4.0.5", "permitted_by_default", ["warn"]),
        ("4.3.0", "denied_by_default", ["refuse"]),
        ("4.3.0", "removed", ["refuse"]),
    ],
)
def test_transient_non_exclusive_queues(version: str, phase: str | None, expected: list[str]) -> None:
    phases = None if phase is None else {"transient_nonexcl_queues": phase}
    notes = version_notes(topology(Queue(vhost="v", name="t", durable=False)), version, phases)
    assert [n.severity for n in notes] == expected
    durable = version_notes(topology(Queue(vhost="v", name="d")), version, phases)
    assert durable == []


def test_quorum_default_delivery_limit_is_one_warning() -> None:
    queues = [Queue(vhost="v", name=f"q{i}", type="quorum") for i in range(3)]
    limited = Queue(vhost="v", name="limited", type="quorum", arguments={"x-delivery-limit": 5})
    assert quorum_default_delivery_limit((3, 10, 8)) is None and quorum_default_delivery_limit((4, 0, 5)) == 20
    assert version_notes(topology(*queues, limited), "3.10.8") == []
    notes = version_notes(topology(*queues, limited), "4.0.5")
    assert len(notes) == 1 and "3 quorum queue(s)" in str(notes[0]) and "20 redeliveries" in str(notes[0])


def test_deprecated_in_use_from_the_server_or_from_the_objects() -> None:
    topo = topology(Queue(vhost="v", name="t", durable=False), Queue(vhost="v", name="ok"))
    reported = deprecated_in_use(topo, "4.0.5", [{"name": "transient_nonexcl_queues", "deprecation_phase": "x"}])
    assert reported == [("transient_nonexcl_queues", "the server reports it in use (phase x)")]
    assert deprecated_in_use(topo, "4.0.5", []) == []  # the server says none: trust it
    upgrade = deprecated_in_use(topo, "3.10.8", None)
    assert [f for f, _ in upgrade] == ["transient_nonexcl_queues"] and "in RabbitMQ 4.0" in upgrade[0][1]
    findings = audit(topo, deprecated=upgrade).findings
    assert [(f.rule, f.objects) for f in findings if f.rule == "RA023"] == [
        ("RA023", ("deprecated_feature:transient_nonexcl_queues",))
    ]
    assert [f.rule for f in audit(topo, deprecated=upgrade, ignore=["ra023"]).findings if f.rule == "RA023"] == []


class _TimingOutBackend:
    """A backend whose creates time out the way 4.0.5's rabbitmqctl does when given stdin (engine test)."""

    name = "ctl"
    parallelism = 1
    bulk_threshold = 1

    def __init__(self, permanent: bool) -> None:
        self.permanent = permanent

    def create(self, objects: object, progress: object = None, stop: object = None) -> None:
        from rabbitadmin.errors import CtlTimeout

        raise CtlTimeout("rabbitmqctl import_definitions did not finish", permanent=self.permanent)


@pytest.mark.parametrize("permanent", [True, False])
def test_run_again_is_advised_only_when_a_re_run_can_finish(permanent: bool) -> None:
    from rabbitadmin.engine.apply import execute_plan
    from rabbitadmin.engine.diff import compute_plan
    from rabbitadmin.errors import PartialApply

    desired = topology(Queue(vhost="v", name="q"))
    plan = compute_plan(desired, Topology())
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, _TimingOutBackend(permanent))  # type: ignore[arg-type]
    message = str(caught.value)
    assert ("run the same command again to finish" in message) is not permanent
    assert ("will not finish it" in message) is permanent
    assert caught.value.result.permanent is permanent


class _VersionOnly:
    """Just enough backend for ``_check_server_version``: the server's version and no deprecations."""

    def __init__(self, version: str) -> None:
        self.version = version

    def server_facts(self) -> tuple[str, None]:
        return self.version, None


@pytest.mark.parametrize(
    ("version", "refused"), [("3.10.8", True), ("4.0.5", False)], ids=["rabbitmq-3.10", "rabbitmq-4.0"]
)
def test_plan_refuses_arguments_this_servers_version_refuses(version: str, refused: bool) -> None:
    # validate only warns (3.10 refuses x-queue-leader-locator on a classic queue, 4.0 takes it); the plan,
    # which knows the server, turns the warning into a refusal before any write, or lets it through.
    from rabbitadmin.engine.diff import compute_plan
    from rabbitadmin.engine.planner import _check_server_version

    queue = Queue(vhost="v", name="q", arguments={"x-queue-leader-locator": "balanced"})
    desired = topology(queue)
    plan = compute_plan(desired, Topology(), prune=False, protected_user=None)
    _check_server_version(plan, desired, _VersionOnly(version))  # type: ignore[arg-type]
    found = [r for r in plan.refusals if "x-queue-leader-locator" in r]
    assert bool(found) is refused, plan.refusals
