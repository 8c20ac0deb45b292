"""Each audit rule: one topology that triggers it and one that does not."""

from __future__ import annotations

import pytest

from rabbitadmin.audit.access import with_builtin_exchanges
from rabbitadmin.audit.node import Listener, NodeFacts
from rabbitadmin.audit.rules import RULES, Severity, audit
from rabbitadmin.model import (
    Binding,
    Exchange,
    OperatorPolicy,
    Permission,
    Policy,
    Queue,
    TopicPermission,
    Topology,
    User,
    Vhost,
)
from rabbitadmin.passwords import DEFAULT_ALGORITHM as SHA256
from rabbitadmin.passwords import MD5, hash_password

STRONG = "x9-Tq!long-random-Password-77"


def topo(*objs: object, builtins: bool = True) -> Topology:
    t = Topology()
    for o in objs:
        t.add(o)  # type: ignore[arg-type]
    return with_builtin_exchanges(t) if builtins else t


def user(name: str, password: str | None = STRONG, tags: tuple[str, ...] = (), algorithm: str = SHA256) -> User:
    """A user as read from a server; ``password=None`` stores no hash at all (a password-less user)."""
    digest = hash_password(password, algorithm) if password is not None else ""
    return User(name=name, tags=tags, password_hash=digest, hashing_algorithm=algorithm)


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
    ("RA005", topo(*BASE, user("app", None), NARROW), topo(*BASE, user("app"), NARROW)),
    # A stored hash of the empty password: the server refuses every login with it (case 06).
    ("RA005", topo(*BASE, user("app", ""), NARROW), topo(*BASE, user("app", " "), NARROW)),
    ("RA006", topo(*BASE, user("app"), user("lonely"), NARROW), topo(*BASE, user("app"), NARROW)),
    # Permissions that grant nothing hold nothing, whatever the spelling.
    ("RA006", topo(*BASE, user("app"), Permission("app", "v", "", "^$", "")), topo(*BASE, user("app"), NARROW)),
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
        "RA017",
        topo(*BASE, user("app", algorithm=MD5), NARROW),
        topo(*BASE, user("app", algorithm="rabbit_password_hashing_sha512"), NARROW),
    ),
    (
        "RA018",
        topo(*BASE, user("app", tags=("impersonator",)), NARROW),
        topo(*BASE, user("app", tags=("monitoring",)), NARROW),
    ),
    (
        "RA019",
        topo(*BASE, *(user(f"a{i}", tags=("administrator",)) for i in range(2)), user("p", tags=("policymaker",))),
        topo(*BASE, *(user(f"a{i}", tags=("administrator",)) for i in range(2)), user("m", tags=("management",))),
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
    (
        "RA024",
        topo(*BASE, Policy("v", "ha", ".*", {"ha-mode": "all"})),
        topo(*BASE, Policy("v", "q", ".*", {"max-length": 1})),
    ),
    (
        "RA024",
        topo(*BASE, Policy("v", "ha", "^x", {"ha-sync-mode": "automatic", "expires": 5})),
        topo(*BASE, OperatorPolicy("v", "ttl", ".*", {"message-ttl": 1})),
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
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


def test_drift_leaves_out_what_the_server_owns() -> None:
    """An exclusive queue, a binding to it and an ``amq.*`` exchange on the server are their connection's
    or the server's: never reported as "on the server, not in the file" (kinds.is_server_owned)."""
    reply = Queue("v", "reply-to-me", exclusive=True)
    bound = Binding("v", "amq.topic", "queue", "reply-to-me", "#")
    to_exchange = Binding("v", "amq.topic", "exchange", "reply-to-me", "#")
    live = topo(*BASE, reply, bound, Exchange("v", "reply-to-me", "fanout"), to_exchange, user("app"), NARROW)
    desired = topo(*BASE, user("app"), NARROW, builtins=False)
    drift = {f.objects for f in audit(live, desired=desired).findings if f.rule == "RA015"}
    # The exchange named like the exclusive queue and the binding to it are the application's.
    assert drift == {("exchange:v/reply-to-me",), ("binding:" + "/".join(to_exchange.key),)}


def test_ignore_and_order() -> None:
    t = topo(*BASE, user("guest", "guest"), user("app", tags=("administrator",)), NARROW)
    report = audit(t, ignore=["ra004"])
    assert "RA004" not in {f.rule for f in report.findings}
    assert report.findings[0].severity is Severity.critical
    assert report.worst() is Severity.critical
    assert all(f.rule in RULES for f in report.findings)


@pytest.mark.parametrize("pattern", [".*", "^.*$", ".*.*", "(.*)", ".+", "^(.*)$", "(?s)^.*"])
def test_full_access_by_effect(pattern: str) -> None:
    """RA009 fires for every spelling of "everything" (case 07), and for a mix of spellings."""
    assert "RA009" in rules_of(topo(*BASE, user("app"), Permission("app", "v", pattern, ".*", pattern)))


@pytest.mark.parametrize("pattern", ["^(?!amq\\.).*", "^[a-z]+$", "^\\w+", ""])
def test_partial_access_is_not_full(pattern: str) -> None:
    assert "RA009" not in rules_of(topo(*BASE, user("app"), Permission("app", "v", pattern, ".*", ".*")))


def test_nothing_spellings_are_reported_alike() -> None:
    """'' and '^$' both grant nothing on purpose: neither gets RA012, both make RA006; a typo gets RA012."""
    reports = {}
    for nothing in ("", "^$"):
        t = topo(*BASE, user("app"), user("other"), NARROW, Permission("other", "v", nothing, nothing, nothing))
        reports[nothing] = sorted((f.rule, f.objects) for f in audit(t).findings)
    assert reports[""] == reports["^$"]
    assert ("RA006", ("user:other",)) in reports[""]
    assert not any(rule == "RA012" for rule, _ in reports["^$"])
    typo = topo(*BASE, user("app"), Permission("app", "v", "^jbos$", "^logs$", "^jobs$"))
    assert [f.message for f in audit(typo).findings if f.rule == "RA012"] == [
        "configure pattern '^jbos$' of user 'app' in vhost 'v' matches nothing that exists and no name a client "
        "would use"
    ]


def test_pcre_only_patterns_are_valid_and_evaluated() -> None:
    t = topo(*BASE, user("app"), Permission("app", "v", "\\p{L}+", "(?<svc>log)s", "\\Qjobs\\E"))
    assert not {"RA011", "RA012"} & rules_of(t)
    assert "RA011" in rules_of(topo(*BASE, user("app"), Permission("app", "v", "[[:nope:]]", ".*", ".*")))


def test_privileged_spread_threshold() -> None:
    t = topo(*BASE, NARROW, *(user(f"a{i}", tags=("administrator",)) for i in range(3)))
    assert "RA019" in {f.rule for f in audit(t).findings}
    assert "RA019" not in {f.rule for f in audit(t, max_privileged=3).findings}
    spread = next(f for f in audit(t).findings if f.rule == "RA019")
    assert spread.objects == ("user:a0", "user:a1", "user:a2")


LOCAL = (Listener("amqp", "127.0.0.1", 5672), Listener("http", "127.0.0.1", 15672))


@pytest.mark.parametrize(
    ("facts", "guest", "expected"),
    [
        (NodeFacts("ctl", (), LOCAL), True, {"RA020"}),
        (NodeFacts("ctl", ("guest",), LOCAL), True, set()),
        (NodeFacts("ctl", (), LOCAL), False, set()),
        (NodeFacts("http", None, LOCAL), True, {"RA022"}),
        (NodeFacts("ctl", ("guest",), (Listener("amqp", "::", 5672),)), True, {"RA021"}),
        (NodeFacts("ctl", ("guest",), (Listener("https", "0.0.0.0", 15671),)), False, {"RA021"}),  # noqa: S104
        (NodeFacts("http", None, (Listener("http", None, 15672),)), False, {"RA022"}),
    ],
)
def test_node_rules(facts: NodeFacts, guest: bool, expected: set[str]) -> None:
    users = (user("guest", STRONG),) if guest else ()
    t = topo(*BASE, user("app"), NARROW, *users)
    found = {f.rule for f in audit(t, node=facts).findings} & {"RA020", "RA021", "RA022"}
    assert found == expected


def test_every_rule_cites_a_source() -> None:
    assert all(rule.source for rule in RULES.values())
    numbers = [int(r[2:]) for r in RULES]
    # In order, none twice; RA025 is the parameters' secrets rule, written on another branch (issue 14).
    assert numbers == sorted(set(numbers)) and set(range(1, max(numbers) + 1)) - set(numbers) <= {25}
