"""Each audit rule: one topology that triggers it and one that does not."""

from __future__ import annotations

import pytest

from rabbitadmin.audit.access import with_builtin_exchanges
from rabbitadmin.audit.rules import RULES, Severity, audit
from rabbitadmin.model import Exchange, Permission, Queue, TopicPermission, Topology, User, Vhost
from rabbitadmin.passwords import hash_password

STRONG = "x9-Tq!long-random-Password-77"


def topo(*objs: object, builtins: bool = True) -> Topology:
    t = Topology()
    for o in objs:
        t.add(o)  # type: ignore[arg-type]
    return with_builtin_exchanges(t) if builtins else t


def user(name: str, password: str = STRONG, tags: tuple[str, ...] = ()) -> User:
    return User(name=name, tags=tags, password_hash=hash_password(password) if password else "")


BASE = (Vhost("v"), Exchange("v", "logs", "fanout"), Queue("v", "jobs"))
NARROW = Permission("app", "v", "^jobs$", "^logs$", "^jobs$")


def rules_of(t: Topology, desired: Topology | None = None) -> set[str]:
    return {f.rule for f in audit(t, desired=desired).findings}


CASES: list[tuple[str, Topology, Topology]] = [
    (
        "RA001",
        topo(*BASE, user("guest"), user("app"), NARROW, Permission("guest", "v", "^jobs$", "^logs$", "^jobs$")),
        topo(*BASE, user("app"), NARROW),
    ),
    (
        "RA002",
        topo(*BASE, user("guest", "guest"), NARROW, user("app")),
        topo(*BASE, user("guest"), NARROW, user("app")),
    ),
    ("RA003", topo(*BASE, user("app", "changeme"), NARROW), topo(*BASE, user("app"), NARROW)),
    (
        "RA004",
        topo(*BASE, user("app", tags=("administrator",)), NARROW),
        topo(*BASE, user("app", tags=("management",)), NARROW),
    ),
    ("RA005", topo(*BASE, user("app", ""), NARROW), topo(*BASE, user("app"), NARROW)),
    ("RA006", topo(*BASE, user("app"), user("lonely"), NARROW), topo(*BASE, user("app"), NARROW)),
    (
        "RA007",
        topo(*BASE, user("app"), NARROW, Permission("app", "gone", "^jobs$", "", "")),
        topo(*BASE, user("app"), NARROW),
    ),
    ("RA008", topo(*BASE, Vhost("empty"), user("app"), NARROW), topo(*BASE, user("app"), NARROW)),
    ("RA009", topo(*BASE, user("app"), Permission("app", "v", ".*", ".*", ".*")), topo(*BASE, user("app"), NARROW)),
    (
        "RA010",
        topo(*BASE, user("app"), Permission("app", "v", "^jobs$", "logs|amq\\.topic", "^jobs$")),
        topo(*BASE, user("app"), Permission("app", "v", "^jobs$", "^(?!amq\\.).*logs", "^jobs$")),
    ),
    (
        "RA011",
        topo(*BASE, user("app"), Permission("app", "v", "(jobs", "^logs$", "^jobs$")),
        topo(*BASE, user("app"), NARROW),
    ),
    (
        "RA012",
        topo(*BASE, user("app"), Permission("app", "v", "^jbos$", "^logs$", "^jobs$")),
        topo(*BASE, user("app"), NARROW),
    ),
    (
        "RA013",
        topo(*BASE, user("app"), NARROW, TopicPermission("app", "v", "logs", ".*", ".*")),
        topo(
            *BASE,
            user("app"),
            Permission("app", "v", "^jobs$", "^amq\\.topic$", "^jobs$"),
            TopicPermission("app", "v", "amq.topic", "^a\\.", ".*"),
        ),
    ),
    (
        "RA014",
        topo(*BASE, user("app"), NARROW, TopicPermission("app", "v", "amq.topic", "^a\\.", ".*")),
        topo(
            *BASE,
            user("app"),
            Permission("app", "v", "^jobs$", "^amq\\.topic$", "^jobs$"),
            TopicPermission("app", "v", "amq.topic", "^a\\.", ".*"),
        ),
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), CASES, ids=[c[0] for c in CASES])
def test_rule_triggers_and_does_not(rule: str, bad: Topology, good: Topology) -> None:
    assert rule in rules_of(bad)
    assert rule not in rules_of(good)


def test_drift_rules_both_ways() -> None:
    live = topo(*BASE, Queue("v", "extra"), user("app"), NARROW)
    desired = topo(*BASE, Exchange("v", "planned"), user("app"), NARROW, builtins=False)
    findings = audit(live, desired=desired).findings
    assert {f.objects for f in findings if f.rule == "RA015"} == {("queue:v/extra",)}
    assert {f.objects for f in findings if f.rule == "RA016"} == {("exchange:v/planned",)}
    same = topo(*BASE, user("app"), NARROW)
    assert not {"RA015", "RA016"} & rules_of(same, desired=topo(*BASE, user("app"), NARROW, builtins=False))


def test_ignore_and_order() -> None:
    t = topo(*BASE, user("guest", "guest"), user("app", tags=("administrator",)), NARROW)
    report = audit(t, ignore=["ra004"])
    assert "RA004" not in {f.rule for f in report.findings}
    assert report.findings[0].severity is Severity.critical
    assert report.worst() is Severity.critical
    assert all(f.rule in RULES for f in report.findings)
