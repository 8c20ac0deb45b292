"""Audit rules: each finding has a stable rule id, a severity, the objects concerned and advice."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from rabbitadmin.audit.access import PERMS, effective
from rabbitadmin.audit.common_passwords import COMMON_PASSWORDS
from rabbitadmin.audit.node import NodeFacts, node_rules
from rabbitadmin.audit.patterns import (
    grants_all,
    grants_nothing,
    means_nothing,
    names_that_matter,
    pattern_is_valid,
    permission_name,
)
from rabbitadmin.kinds import POLICY_KEYS, is_server_owned
from rabbitadmin.model import Exchange, Topology, User
from rabbitadmin.passwords import MD5, check_password


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
            "source": RULES[self.rule].source,
        }


# Where each rule comes from (RabbitMQ's own guides, https://www.rabbitmq.com/docs/...).
ACCESS_CONTROL = "RabbitMQ Access Control guide (access-control)"
PASSWORDS = "RabbitMQ Credentials and Passwords guide (passwords)"
PRODUCTION = "RabbitMQ Production Checklist (production-checklist), users and permissions"
NETWORKING = "RabbitMQ Networking guide (networking), interfaces"
VALIDATED_USER_ID = "RabbitMQ Validated User-ID guide (validated-user-id), impersonator tag"
DRIFT = "rabbitadmin: the topology file is the source of truth"
DEPRECATED = "RabbitMQ Deprecated Features guide (deprecated-features); docs/server-versions.md"
MIRRORING = (
    "RabbitMQ Classic Queue Mirroring guide (ha): deprecated in 3.9, removed in 4.0 "
    "(rabbit_mirror_queue_misc registers the ha-* policy keys up to 3.13 only)"
)

SECRETS_IN_FILES = (
    "RabbitMQ Shovel and Federation guides (shovel-dynamic, federation-reference): URIs carry credentials; "
    "rabbitadmin: secrets never sit in a topology file"
)

#: More users than this holding ``administrator`` or ``policymaker`` is RA019 (``audit --max-privileged``).
DEFAULT_MAX_PRIVILEGED = 2


@dataclass(frozen=True)
class Rule:
    """A rule's fixed identity, for ``--ignore`` and the docs; ``source`` is the guide it comes from."""

    id: str
    severity: Severity
    title: str
    advice: str
    source: str = ACCESS_CONTROL


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("RA001", Severity.medium, "the default guest user exists", "Delete guest (state: absent).", PRODUCTION),
        Rule("RA002", Severity.critical, "guest still has the default password", "Delete guest now.", PRODUCTION),
        Rule("RA003", Severity.high, "password is a common password", "Set a long random password.", PASSWORDS),
        Rule(
            "RA004",
            Severity.info,
            "user has the administrator tag",
            "Keep administrators few; use monitoring/management tags.",
        ),
        Rule(
            "RA005",
            Severity.medium,
            "user has no password, or a blank one (the server refuses blank passwords at login)",
            "Give it a non-blank password, or confirm it logs in by certificate (EXTERNAL) only.",
            PASSWORDS,
        ),
        Rule(
            "RA006",
            Severity.low,
            "user holds no permission anywhere (none, or only patterns that grant nothing)",
            "Delete the user or grant what it needs.",
            PRODUCTION,
        ),
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
            "configure, write and read each match every name (full access, whatever the spelling)",
            "Narrow the patterns to the resources the user needs.",
            PRODUCTION,
        ),
        Rule(
            "RA010",
            Severity.medium,
            "user may publish to amq.* exchanges",
            "Exclude amq.* from the write pattern, e.g. ^(?!amq\\.).*",
        ),
        Rule("RA011", Severity.high, "permission pattern is not a valid PCRE regular expression", "Fix the pattern."),
        Rule(
            "RA012",
            Severity.info,
            "permission pattern grants nothing by accident (matches no existing object and no name a client "
            "would use; '' and '^$' are the deliberate spellings and are exempt)",
            "Check the pattern for typos or anchoring; write '' (or '^$') to grant nothing.",
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
            DRIFT,
        ),
        Rule(
            "RA016",
            Severity.medium,
            "declared in the topology file but missing on the server",
            "Run rabbitadmin apply.",
            DRIFT,
        ),
        Rule(
            "RA017",
            Severity.medium,
            "password hashed with MD5 (rabbit_password_hashing_md5, from old exports)",
            "Set the password again: the server hashes it with SHA-256 (or the configured algorithm).",
            PASSWORDS,
        ),
        Rule(
            "RA018",
            Severity.medium,
            "user has the impersonator tag (may publish with any user_id)",
            "Remove the tag unless the user is a trusted relay such as a shovel or federation link.",
            VALIDATED_USER_ID,
        ),
        Rule(
            "RA019",
            Severity.low,
            "too many users hold administrator or policymaker",
            "Keep those tags to a few operators (audit --max-privileged N sets the limit).",
            PRODUCTION,
        ),
        Rule(
            "RA020",
            Severity.medium,
            "guest may log in from remote hosts (loopback_users does not list it)",
            "Keep the default loopback_users (guest), or delete guest.",
        ),
        Rule(
            "RA021",
            Severity.low,
            "AMQP or management listener bound to every interface",
            "Bind listeners to the interfaces clients use (listeners.tcp.1, management.tcp.ip).",
            NETWORKING,
        ),
        Rule(
            "RA022",
            Severity.info,
            "node setting not checked: this backend cannot read it",
            "Audit with --backend ctl, which reads the node's own configuration.",
            NETWORKING,
        ),
        # RA023: server-version findings (server_versions.py), kept apart from the permission rules.
        Rule(
            "RA023",
            Severity.medium,
            "deprecated RabbitMQ feature in use",
            "Stop using it before the version that removes it; see docs/server-versions.md.",
            DEPRECATED,
        ),
        Rule(
            "RA024",
            Severity.medium,
            "a policy mirrors classic queues (ha-* keys)",
            "Move the queues to quorum queues and delete the ha-* keys; RabbitMQ 4.0 refuses them.",
            MIRRORING,
        ),
        Rule(
            "RA025",
            Severity.high,
            "a parameter's URI carries a password written in the file",
            "Read the URI from the environment or a file ({env: NAME} / {file: PATH} as its value), or use "
            "x509 (EXTERNAL) authentication; rotate the password if the file was shared.",
            SECRETS_IN_FILES,
        ),
        Rule(
            "RA026",
            Severity.high,
            "a plain-text password sits in the file (a definitions file's users[].password)",
            "Use password_hash, or a topology with {env: VARIABLE} or {file: PATH}; `validate --strict` refuses it.",
            PASSWORDS,
        ),
    )
}


def deprecation_rules(uses: Iterable[tuple[str, str]]) -> Iterator[Finding]:
    """RA023: each (deprecated feature, explanation) from ``server_versions.deprecated_in_use``."""
    for feature, explanation in uses:
        yield _finding("RA023", f"deprecated feature {feature!r}: {explanation}", f"deprecated_feature:{feature}")


def _finding(rule_id: str, message: str, *objects: str) -> Finding:
    rule = RULES[rule_id]
    return Finding(rule_id, rule.severity, message, objects, rule.advice)


def _stored_password_is(candidate: str, user: User) -> bool | None:
    """True if the stored hash is ``candidate``'s under its own salt; None if it cannot be computed."""
    try:
        return check_password(candidate, user.password_hash or "", user.hashing_algorithm)
    except ValueError:
        return None  # an algorithm or hash we cannot evaluate: say nothing rather than guess


def _password_checks(user: User) -> Iterator[Finding]:
    obj = f"user:{user.name}"
    if user.password is not None:  # offline: a resolved secret from the file
        plain = user.password.reveal()
        if plain == "":
            yield _finding("RA005", f"user {user.name!r} has a blank password, which the server refuses", obj)
        elif user.name == "guest" and plain == "guest":
            yield _finding("RA002", "user 'guest' has the default password", "user:guest")
        elif plain in COMMON_PASSWORDS:
            yield _finding("RA003", f"user {user.name!r} has a common password", obj)
        return
    if not user.password_hash:
        yield _finding("RA005", f"user {user.name!r} has no password", obj)
        return
    # Hash each candidate with the stored salt and compare: no login attempt, nothing leaves this process.
    if _stored_password_is("", user):
        yield _finding("RA005", f"user {user.name!r} has a blank password, which the server refuses", obj)
        return
    for candidate in COMMON_PASSWORDS:
        if not _stored_password_is(candidate, user):
            continue
        if user.name == "guest" and candidate == "guest":
            yield _finding("RA002", "user 'guest' has the default password", "user:guest")
        else:
            yield _finding("RA003", f"user {user.name!r} has a common password", obj)
        return


def _holds_something(topo: Topology, user: str) -> bool:
    """True if one of the user's permissions grants something over the names that matter in its vhost."""
    for p in topo.permissions.values():
        if p.user != user:
            continue
        names = _checked_names(topo, p.vhost)
        for perm in PERMS:
            pattern = getattr(p, perm)
            if not pattern_is_valid(pattern) or not grants_nothing(pattern, names):
                return True  # an invalid pattern is RA011's business, not "nothing"
    return False


def user_rules(topo: Topology, max_privileged: int = DEFAULT_MAX_PRIVILEGED) -> Iterator[Finding]:
    """RA001-RA006, RA017-RA019."""
    privileged: list[str] = []
    for user in sorted(topo.users.values(), key=lambda u: u.name):
        obj = f"user:{user.name}"
        tags = user.tags or ()
        if user.name == "guest":
            yield _finding("RA001", "the default user 'guest' exists", "user:guest")
        yield from _password_checks(user)
        if user.password_hash and user.hashing_algorithm == MD5:
            yield _finding("RA017", f"the password of user {user.name!r} is hashed with MD5", obj)
        if "administrator" in tags:
            yield _finding("RA004", f"user {user.name!r} is an administrator", obj)
        if "impersonator" in tags:
            yield _finding("RA018", f"user {user.name!r} has the impersonator tag", obj)
        if {"administrator", "policymaker"} & set(tags):
            privileged.append(user.name)
        if not any(p.user == user.name for p in topo.permissions.values()):
            yield _finding("RA006", f"user {user.name!r} has no permissions on any vhost", obj)
        elif not _holds_something(topo, user.name):
            yield _finding("RA006", f"the permissions of user {user.name!r} grant nothing in any vhost", obj)
    if len(privileged) > max_privileged:
        yield _finding(
            "RA019",
            f"{len(privileged)} users hold administrator or policymaker (more than {max_privileged})",
            *(f"user:{name}" for name in privileged),
        )


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


def _checked_names(topo: Topology, vhost: str) -> tuple[str, ...]:
    """The names the server would check in ``vhost``: its exchanges (the default one as amq.default), its
    queues, and the probes (arbitrary names, server-named queues, the amq.* exchanges)."""
    existing = [permission_name("exchange", e.name) for e in topo.exchanges.values() if e.vhost == vhost]
    existing += [q.name for q in topo.queues.values() if q.vhost == vhost]
    return names_that_matter(existing)


def permission_rules(topo: Topology) -> Iterator[Finding]:
    """RA009-RA012, each decided by what the patterns match (PCRE, as the server), not by their spelling."""
    for p in sorted(topo.permissions.values(), key=lambda p: p.key):
        obj = f"permission:{p.user}@{p.vhost}"
        patterns = {perm: getattr(p, perm) for perm in PERMS}
        invalid = [perm for perm, pat in patterns.items() if not pattern_is_valid(pat)]
        for perm in invalid:
            yield _finding(
                "RA011", f"{perm} pattern {patterns[perm]!r} of user {p.user!r} in vhost {p.vhost!r} is invalid", obj
            )
        names = _checked_names(topo, p.vhost)
        if not invalid and all(grants_all(pat, names) for pat in patterns.values()):
            yield _finding("RA009", f"user {p.user!r} has full access to vhost {p.vhost!r}", obj)
        amq = sorted(
            e.name
            for e in topo.exchanges.values()
            if e.vhost == p.vhost
            and e.name.startswith("amq.")
            and effective(p, "exchange", e.name, internal=e.internal).write
        )
        if amq:
            yield _finding("RA010", f"user {p.user!r} may publish to {', '.join(amq)} in vhost {p.vhost!r}", obj)
        for perm, pat in patterns.items():
            if perm in invalid or means_nothing(pat, names):
                continue  # "" and "^$" are the documented ways to grant nothing
            if grants_nothing(pat, names):
                yield _finding(
                    "RA012",
                    f"{perm} pattern {pat!r} of user {p.user!r} in vhost {p.vhost!r} matches nothing that exists "
                    "and no name a client would use",
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


def drift_rules(desired: Topology, live: Topology) -> Iterator[Finding]:
    """RA015, RA016: objects on one side only (vhost-scoped kinds only within the file's vhosts)."""
    in_scope = {v.name for v in desired.vhosts.values()}
    for kind in ("vhost", "user", "permission", "topic_permission", "exchange", "queue", "binding"):
        # Server-owned objects (kinds.is_server_owned: amq.* names, exclusive queues and their bindings) are
        # never drift: no file lists them.
        want = {k for k, obj in desired.of(kind).items() if not is_server_owned(obj, desired)}
        have = {k for k, obj in live.of(kind).items() if not is_server_owned(obj, live)}
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


def policy_rules(topo: Topology) -> Iterator[Finding]:
    """RA024: policies (and operator policies) holding classic mirroring keys (``kinds.POLICY_KEYS``)."""
    for kind in ("policy", "operator_policy"):
        for key, policy in sorted(topo.of(kind).items()):
            definition = getattr(policy, "definition", {})
            mirrors = sorted(k for k in definition if k in POLICY_KEYS and POLICY_KEYS[k].mirrors)
            if mirrors:
                what = kind.replace("_", " ")
                yield _finding(
                    "RA024",
                    f"{what} {key[1]!r} in vhost {key[0]!r} mirrors classic queues ({', '.join(mirrors)})",
                    f"{kind}:{'/'.join(key)}",
                )


def parameter_rules(topo: Topology) -> Iterator[Finding]:
    """RA025: runtime or global parameters whose URI carries a password written in the file itself (from a
    topology or definitions file; not from ``{env:}``/``{file:}``). A server's state never raises it."""
    for kind in ("parameter", "global_parameter"):
        for key, parameter in sorted(topo.of(kind).items()):
            if getattr(parameter, "inline_secret", False):
                where = f"{key[1]} parameter {key[2]!r} in vhost {key[0]!r}" if kind == "parameter" else \
                    f"global parameter {key[0]!r}"
                yield _finding("RA025", f"{where} has a URI with a password written in the file",
                               f"{kind}:{'/'.join(key)}")  # fmt: skip


def file_secret_rules(topo: Topology) -> Iterator[Finding]:
    """RA026: secrets the file holds in plain text (``Topology.plain_secrets``; never the secret itself)."""
    for what, origin in topo.plain_secrets:
        yield _finding("RA026", f"a plain-text password of {what} sits in {origin}", what)


RuleSet = Callable[[Topology], Iterable[Finding]]
ALL: tuple[RuleSet, ...] = (
    vhost_rules, permission_rules, topic_rules, policy_rules, parameter_rules, file_secret_rules
)


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
    node: NodeFacts | None = None,
    max_privileged: int = DEFAULT_MAX_PRIVILEGED,
    deprecated: Iterable[tuple[str, str]] = (),
) -> Report:
    """Run every rule over ``topo`` (drift against ``desired`` and the node-configuration rules RA020-RA022
    over ``node`` when given), skipping ignored rule ids; findings sorted by severity, then rule id.

    ``deprecated``: deprecated features in use, as ``server_versions.deprecated_in_use`` gives them (RA023).
    """
    skip = {i.upper() for i in ignore}
    found: list[Finding] = list(user_rules(topo, max_privileged))
    for ruleset in ALL:
        found.extend(ruleset(topo))
    if node is not None:
        guest = "guest" in {u.name for u in topo.users.values()}
        found.extend(_finding(rule, message, *objects) for rule, message, objects in node_rules(node, guest=guest))
    found.extend(deprecation_rules(deprecated))
    if desired is not None:
        found.extend(drift_rules(desired, topo))
        if desired is not topo:  # the file's secrets (RA025, RA026), whatever the server holds
            found.extend(parameter_rules(desired))
            found.extend(file_secret_rules(desired))
    kept = [f for f in found if f.rule not in skip]
    kept.sort(key=lambda f: (-f.severity, f.rule, f.objects))
    return Report(kept)
