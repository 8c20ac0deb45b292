"""The effective-access matrix: which existing exchanges and queues each user may configure, write, read.

Operation -> permission (as the broker checks them): declaring or deleting = configure on that resource;
publishing = write on the exchange; basic.get/consume/purge = read on the queue; binding = write on the
destination and read on the source. On top of the patterns, the broker refuses some things to everyone:
declaring a queue named ``amq.*`` (other than passively), declaring the default exchange, and publishing
to an internal exchange.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rabbitadmin.audit.patterns import SAMPLE_GENERATED_QUEUE, pattern_matches
from rabbitadmin.errors import PatternError
from rabbitadmin.kinds import BUILTIN_EXCHANGES
from rabbitadmin.model import Exchange, Permission, Queue, Topology

PERMS = ("configure", "write", "read")


@dataclass(frozen=True)
class Access:
    """One user's effective rights on one resource."""

    user: str
    vhost: str
    kind: str  # "exchange" or "queue"
    name: str
    configure: bool
    write: bool
    read: bool

    def allows(self, perm: str) -> bool:
        """The right named ``perm`` (configure, write or read)."""
        return bool(getattr(self, perm))

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "user": self.user,
            "vhost": self.vhost,
            "kind": self.kind,
            "name": self.name,
            "configure": self.configure,
            "write": self.write,
            "read": self.read,
        }


def with_builtin_exchanges(topology: Topology) -> Topology:
    """Add the server's own exchanges to every vhost of ``topology`` (in place) and return it."""
    for vhost in list(topology.vhosts):
        for name, type_, internal in BUILTIN_EXCHANGES:
            if (vhost[0], name) not in topology.exchanges:
                topology.add(Exchange(vhost=vhost[0], name=name, type=type_, internal=internal))
    return topology


def _grant(permission: Permission, perm: str, kind: str, name: str) -> bool:
    try:
        return pattern_matches(getattr(permission, perm), kind, name)
    except PatternError:
        return False  # the server would not have accepted it; report it in the audit, grant nothing here


def effective(permission: Permission, kind: str, name: str, *, internal: bool = False) -> Access:
    """What ``permission`` lets its user do to one resource, including the server's fixed refusals."""
    # The default exchange is never declared; ``amq.*`` names cannot be created, but an existing amq.*
    # exchange may be redeclared (equivalently) under the configure pattern; queue names are always checked.
    reserved = name == "" if kind == "exchange" else name.startswith("amq.")
    configure = _grant(permission, "configure", kind, name) and not reserved
    write = _grant(permission, "write", kind, name) and not (kind == "exchange" and internal)
    read = _grant(permission, "read", kind, name) and not (kind == "exchange" and name == "")
    return Access(permission.user, permission.vhost, kind, name, configure, write, read)


SERVER_NAMED_QUEUE = "amq.gen-*"


def server_named_queue(permission: Permission) -> Access:
    """Rights on queues the server names: for ``queue.declare`` with an empty name the server checks the
    generated name (``amq.gen-`` and 22 characters); the reserved-name refusal does not apply to it."""
    c, w, r = (_grant(permission, perm, "queue", SAMPLE_GENERATED_QUEUE) for perm in PERMS)
    return Access(permission.user, permission.vhost, "queue", SERVER_NAMED_QUEUE, c, w, r)


def _resources(topology: Topology, vhost: str) -> Iterable[Exchange | Queue]:
    for ex in sorted(topology.exchanges.values(), key=lambda e: e.name):
        if ex.vhost == vhost:
            yield ex
    for q in sorted(topology.queues.values(), key=lambda q: q.name):
        if q.vhost == vhost:
            yield q


def access_matrix(topology: Topology, user: str | None = None, vhost: str | None = None) -> list[Access]:
    """Every (user, resource) pair where a permission exists, one row each, sorted; the last row of each
    (user, vhost) is ``amq.gen-*``, the queues the server names."""
    rows: list[Access] = []
    for perm in sorted(topology.permissions.values(), key=lambda p: (p.user, p.vhost)):
        if (user is not None and perm.user != user) or (vhost is not None and perm.vhost != vhost):
            continue
        for res in _resources(topology, perm.vhost):
            internal = isinstance(res, Exchange) and res.internal
            rows.append(effective(perm, res.kind, res.name, internal=internal))
        rows.append(server_named_queue(perm))
    return rows


def who_can(topology: Topology, perm: str, kind: str, vhost: str, name: str) -> list[str]:
    """The users allowed ``perm`` on one resource: e.g. who can write to an exchange, who can read a queue."""
    internal = any(e.internal for e in topology.exchanges.values() if (e.vhost, e.name) == (vhost, name))
    return sorted(
        p.user
        for p in topology.permissions.values()
        if p.vhost == vhost and effective(p, kind, name, internal=internal).allows(perm)
    )
