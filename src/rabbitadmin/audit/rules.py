"""Audit rules: each finding has a stable rule id, a severity, the objects concerned and advice."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from rabbitadmin.audit.access import PERMS, effective
from rabbitadmin.audit.common_passwords import COMMON_PASSWORDS
from rabbitadmin.audit.patterns import pattern_is_valid, pattern_matches
from rabbitadmin.model import Exchange, Topology, User
from rabbitadmin.passwords import check_password


class Severity(IntEnum):
    """Ordered so that ``--fail-on`` is a comparison."""

    info = 0
    low = 1
    medium = 2
    high = 3
    critical = 4


@dataclass(frozen=True)
class Finding:
    """One problem found; never carries a password or a hash."""

    rule: str
    severity: Severity
    message: str
    objects: tuple[str, ...]
    advice: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "rule": self.rule,
            "severity": self.severity.name,
            "message": self.message,
            "objects": list(self.objects),
            "advice": self.advice,
        }


@dataclass(frozen=True)
class Rule:
    """A rule's fixed identity, for ``--ignore`` and the docs."""

    id: str
    severity: Severity
    title: str
    advice: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("RA001", Severity.medium, "the default guest user exists", "Delete guest (state: absent)."),
        Rule("RA002", Severity.critical, "guest still has the default password", "Delete guest now."),
        Rule("RA003", Severity.high, "password is a common password", "Set a long random password."),
        Rule(
            "RA004",
            Severity.info,
            "user has the administrator tag",
            "Keep administrators few; use monitoring/management tags.",
        ),
        Rule(
            "RA005",
            Severity.medium,
            "user has no password",
            "Give it a password, or confirm it logs in by certificate only.",
        ),
        Rule("RA006", Severity.low, "user has no permissions anywhere", "Delete the user or grant what it needs."),
        Rule(
            "RA007",
            Severity.medium,
            "permission on a vhost that does not exist",
            "Remove the permission or create the vhost.",
        ),
        Rule("RA008", Severity.low, "no user can reach this vhost", "Delete the vhost or grant access to it."),
        Rule(
            "RA009",
            Severity.medium,
            "configure, write and read are all '.*'",
            "Narrow the patterns to the resources the user needs.",
        ),
        Rule(
            "RA010",
            Severity.medium,
            "user may publish to amq.* exchanges",
            "Exclude amq.* from the write pattern, e.g. ^(?!amq\\.).*",
        ),
        Rule("RA011", Severity.high, "permission pattern is not a valid regular expression", "Fix the pattern."),
        Rule(
            "RA012",
            Severity.info,
            "permission pattern matches no existing exchange or queue",
            "Check the pattern for typos or anchoring.",
        ),
        Rule(
            "RA013",
            Severity.low,
            "topic permission on an exchange that is missing or not a topic exchange",
            "Topic permissions only apply to topic exchanges; remove or fix it.",
        ),
        Rule(
            "RA014",
            Severity.low,
            "topic permission for a user without write/read on that exchange",
            "Topic permissions only narrow vhost permissions; grant those too or remove it.",
        ),
        Rule(
            "RA015",
            Severity.medium,
            "exists on the server but not in the topology file",
            "Add it to the file or remove it from the server.",
        ),
        Rule(
            "RA016",
            Severity.medium,
            "declared in the topology file but missing on the server",
            "Run rabbitadmin apply.",
        ),
        # RA040: server-version findings (server_versions.py), kept apart from the permission rules.
        Rule(
            "RA040",
            Severity.medium,
            "deprecated RabbitMQ feature in use",
            "Stop using it before the version that removes it; see docs/server-versions.md.",
        ),
    )
}


def deprecation_rules(uses: Iterable[tuple[str, str]]) -> Iterator[Finding]:
    """RA040: each (deprecated feature, explanation) from ``server_versions.deprecated_in_use``."""
    for feature, explanation in uses:
        yield _finding("RA040", f"deprecated feature {feature!r}: {explanation}", f"deprecated_feature:{feature}")


def _finding(rule_id: str, message: str, *objects: str) -> Finding:
    rule = RULES[rule_id]
    return Finding(rule_id, rule.severity, message, objects, rule.advice)


def _password_checks(user: User) -> Iterator[Finding]:
    digest = user.password_hash or ""
    if user.password is not None:  # offline: a resolved secret from the file
        plain = user.password.reveal()
        if user.name == "guest" and plain == "guest":
            yield _finding("RA002", "user 'guest' has the default password", "user:guest")
        elif plain in COMMON_PASSWORDS:
            yield _finding("RA003", f"user {user.name!r} has a common password", f"user:{user.name}")
        return
    if not digest:
        yield _finding("RA005", f"user {user.name!r} has no password", f"user:{user.name}")
        return
    # Hash each candidate with the stored salt and compare: no login attempt, nothing leaves this process.
    for candidate in COMMON_PASSWORDS:
        try:
            if not check_password(candidate, digest, user.hashing_algorithm):
                continue
        except ValueError:
            return  # an algorithm or hash we cannot evaluate: say nothing rather than guess
        if user.name == "guest" and candidate == "guest":
            yield _finding("RA002", "user 'guest' has the default password", "user:guest")
        else:
            yield _finding("RA003", f"user {user.name!r} has a common password", f"user:{user.name}")
        return


def user_rules(topo: Topology) -> Iterator[Finding]:
    """RA001-RA006."""
    users_with_perms = {p.user for p in topo.permissions.values()}
    for user in sorted(topo.users.values(), key=lambda u: u.name):
        if user.name == "guest":
            yield _finding("RA001", "the default user 'guest' exists", "user:guest")
        yield from _password_checks(user)
        if "administrator" in (user.tags or ()):
            yield _finding("RA004", f"user {user.name!r} is an administrator", f"user:{user.name}")
        if user.name not in users_with_perms:
            yield _finding("RA006", f"user {user.name!r} has no permissions on any vhost", f"user:{user.name}")


def vhost_rules(topo: Topology) -> Iterator[Finding]:
    """RA007, RA008."""
    vhosts = {v.name for v in topo.vhosts.values()}
    reached = set()
    for p in sorted(topo.permissions.values(), key=lambda p: p.key):
        if p.vhost not in vhosts:
            yield _finding(
                "RA007",
                f"user {p.user!r} has permissions on missing vhost {p.vhost!r}",
                f"permission:{p.user}@{p.vhost}",
            )
        else:
            reached.add(p.vhost)
    for name in sorted(vhosts - reached):
        yield _finding("RA008", f"no user has permissions on vhost {name!r}", f"vhost:{name}")


def _names(topo: Topology, vhost: str) -> list[tuple[str, str]]:
    return [("exchange", e.name) for e in topo.exchanges.values() if e.vhost == vhost] + [
        ("queue", q.name) for q in topo.queues.values() if q.vhost == vhost
    ]


def permission_rules(topo: Topology) -> Iterator[Finding]:
    """RA009-RA012."""
    for p in sorted(topo.permissions.values(), key=lambda p: p.key):
        obj = f"permission:{p.user}@{p.vhost}"
        if p.configure == p.write == p.read == ".*":
            yield _finding("RA009", f"user {p.user!r} has full access to vhost {p.vhost!r}", obj)
        patterns = {perm: getattr(p, perm) for perm in PERMS}
        invalid = [perm for perm, pat in patterns.items() if not pattern_is_valid(pat)]
        for perm in invalid:
            yield _finding(
                "RA011", f"{perm} pattern {patterns[perm]!r} of user {p.user!r} in vhost {p.vhost!r} is invalid", obj
            )
        amq = sorted(
            e.name
            for e in topo.exchanges.values()
            if e.vhost == p.vhost
            and e.name.startswith("amq.")
            and effective(p, "exchange", e.name, internal=e.internal).write
        )
        if amq:
            yield _finding("RA010", f"user {p.user!r} may publish to {', '.join(amq)} in vhost {p.vhost!r}", obj)
        names = _names(topo, p.vhost)
        for perm, pat in patterns.items():
            if perm in invalid or pat == "":
                continue  # "" is the documented way to grant nothing
            if not any(pattern_matches(pat, kind, name) for kind, name in names):
                yield _finding(
                    "RA012",
                    f"{perm} pattern {pat!r} of user {p.user!r} in vhost {p.vhost!r} matches nothing that exists",
                    obj,
                )


def topic_rules(topo: Topology) -> Iterator[Finding]:
    """RA013, RA014."""
    for tp in sorted(topo.topic_permissions.values(), key=lambda t: t.key):
        obj = f"topic_permission:{tp.user}@{tp.vhost}/{tp.exchange}"
        ex = topo.exchanges.get((tp.vhost, tp.exchange))
        if not isinstance(ex, Exchange) or ex.type != "topic":
            yield _finding(
                "RA013",
                f"topic permission of {tp.user!r} on {tp.exchange!r} in {tp.vhost!r} "
                "does not apply to a topic exchange",
                obj,
            )
            continue
        perm = topo.permissions.get((tp.user, tp.vhost))
        acc = effective(perm, "exchange", ex.name, internal=ex.internal) if perm else None
        if acc is None or not (acc.write or acc.read):
            yield _finding(
                "RA014",
                f"topic permission of {tp.user!r} on {tp.exchange!r} in {tp.vhost!r} has no vhost permission to narrow",
                obj,
            )


def _is_server_owned(kind: str, key: tuple[str, ...]) -> bool:
    if kind == "exchange":
        return key[1] == "" or key[1].startswith("amq.")
    if kind == "queue":
        return key[1].startswith("amq.gen-")
    return False


def drift_rules(desired: Topology, live: Topology) -> Iterator[Finding]:
    """RA015, RA016: objects on one side only (vhost-scoped kinds only within the file's vhosts)."""
    in_scope = {v.name for v in desired.vhosts.values()}
    for kind in ("vhost", "user", "permission", "topic_permission", "exchange", "queue", "binding"):
        want = {k for k in desired.of(kind) if not _is_server_owned(kind, k)}
        have = {k for k in live.of(kind) if not _is_server_owned(kind, k)}
        if kind in ("exchange", "queue", "binding"):
            have = {k for k in have if k[0] in in_scope}
        for key in sorted(have - want):
            yield _finding(
                "RA015", f"{kind} {'/'.join(key)} is on the server, not in the file", f"{kind}:{'/'.join(key)}"
            )
        for key in sorted(want - have):
            yield _finding(
                "RA016", f"{kind} {'/'.join(key)} is in the file, not on the server", f"{kind}:{'/'.join(key)}"
            )


RuleSet = Callable[[Topology], Iterable[Finding]]
ALL: tuple[RuleSet, ...] = (user_rules, vhost_rules, permission_rules, topic_rules)


@dataclass
class Report:
    """The findings of one audit run, filtered by ``--ignore``."""

    findings: list[Finding] = field(default_factory=list)

    def worst(self) -> Severity | None:
        """The highest severity present."""
        return max((f.severity for f in self.findings), default=None)


def audit(
    topo: Topology,
    *,
    desired: Topology | None = None,
    ignore: Iterable[str] = (),
    deprecated: Iterable[tuple[str, str]] = (),
) -> Report:
    """Run every rule over ``topo`` (and drift against ``desired`` if given), skipping ignored rule ids.

    ``deprecated``: deprecated features in use, as ``server_versions.deprecated_in_use`` gives them (RA040).
    """
    skip = {i.upper() for i in ignore}
    found: list[Finding] = []
    for ruleset in ALL:
        found.extend(ruleset(topo))
    found.extend(deprecation_rules(deprecated))
    if desired is not None:
        found.extend(drift_rules(desired, topo))
    kept = [f for f in found if f.rule not in skip]
    kept.sort(key=lambda f: (-f.severity, f.rule, f.objects))
    return Report(kept)
