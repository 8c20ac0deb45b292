"""A plan is data: the ordered changes that would make the server match the topology.

Nothing here does I/O or prints; ``render.py`` turns a plan into text and ``to_dict`` into JSON. The JSON
form is published as a JSON Schema (``schema/plan.schema.json``, ``rabbitadmin schema --plan``) and carries
``FORMAT_VERSION``: a change that would break a reader of an earlier version raises it.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rabbitadmin.kinds import KINDS, OnChange
from rabbitadmin.masking import MASK, masked, masked_field
from rabbitadmin.model import Binding, Key, Permission, TopicPermission, TopologyObject

#: The version of the JSON plan (``Plan.to_dict``) and of its schema, ``schema/plan.schema.json``.
FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. A secret field shows only that it changed, never a value."""

    name: str
    before: Any = None
    after: Any = None
    secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        if self.secret:
            return {"field": self.name, "changed": True}
        return {"field": self.name, "before": masked(self.before), "after": masked(self.after)}


@dataclass(frozen=True)
class Change:
    """One step of a plan.

    ``desired`` is what will exist afterwards (for an update: the merged object to send); ``actual`` is what
    the server has now (for a delete: the object as read, with its server handle such as a properties key).
    ``messages_at_risk`` is the number of messages a delete or replace would destroy, None if unknown;
    ``consumers`` the number of consumers it would cut off (None if unknown), for queues and vhosts.
    ``conditional`` is False when RabbitMQ cannot delete the queue (or every queue of the vhost) on condition
    that it is empty: quorum queues refuse ``if-empty`` and streams ignore it (``rabbit_quorum_queue:delete/4``,
    ``rabbit_stream_queue:delete/4``), so messages arriving after the plan would be lost.
    """

    action: Action
    kind: str
    key: Key
    desired: TopologyObject | None = None
    actual: TopologyObject | None = None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""
    messages_at_risk: int | None = 0
    consumers: int | None = 0
    conditional: bool = True

    @property
    def subject(self) -> str:
        return describe(self.kind, self.key, self.desired or self.actual)

    @property
    def destroys_messages(self) -> bool:
        """True if this change deletes something that holds messages (a queue, or a vhost with its queues),
        whatever their count: the changes whose messages are counted, and whose deletes are conditional."""
        return self.action in (Action.DELETE, Action.REPLACE) and KINDS[self.kind].holds_messages

    @property
    def loses_messages(self) -> bool:
        """True if carrying this change out may destroy messages: a known count above 0, an unknown count, or
        a queue RabbitMQ cannot delete on condition that it is empty (``conditional`` False)."""
        if not self.destroys_messages:
            # A policy whose new max-length is below queues' depth drops (or dead-letters) the excess at once; one
            # whose new TTL, expiry or byte cap reaches queues holding messages may (None: a depth unknown).
            return self.kind in ("policy", "operator_policy") and (
                self.messages_at_risk is None or self.messages_at_risk > 0
            )
        return self.messages_at_risk is None or self.messages_at_risk > 0 or not self.conditional

    def to_dict(self) -> dict[str, Any]:
        obj = self.desired or self.actual
        identity = (
            object_identity(obj) if obj is not None else dict(zip(_identity_fields(self.kind), self.key, strict=False))
        )
        data: dict[str, Any] = {
            "action": str(self.action),
            "kind": self.kind,
            # The identity's values in key order; a binding's arguments as an object, not JSON in a string.
            "key": list(identity.values()),
            "identity": identity,
            "subject": self.subject,
            "before": object_values(self.actual) if self.action is not Action.CREATE and self.actual else None,
            "after": object_values(self.desired) if self.action is not Action.DELETE and self.desired else None,
        }
        if self.fields:
            data["fields"] = [f.to_dict() for f in self.fields]
        if self.reason:
            data["reason"] = self.reason
        if self.destroys_messages:
            data["messages_at_risk"] = self.messages_at_risk
            data["consumers"] = self.consumers
            data["conditional"] = self.conditional
        return data


@dataclass
class Plan:
    """Ordered changes plus what the safety rules say about them.

    ``refusals`` block an apply outright (protected user, impossible change); ``notes`` are informational
    (for example objects that ``--prune`` left alone on purpose). ``unlisted_bindings`` counts the bindings
    the file does not list that stay on the exchanges and queues it declares (0 with ``--prune``).
    """

    changes: list[Change] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scope: tuple[str, ...] = ()
    unlisted_bindings: int = 0
    #: The server's RabbitMQ version as read for this plan, and what that version deprecates or ignores in
    #: the topology (``server_versions``).
    server_version: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, int]:
        counts = Counter(str(change.action) for change in self.changes)
        return {str(action): counts.get(str(action), 0) for action in Action}

    def data_loss(self) -> list[Change]:
        return [change for change in self.changes if change.loses_messages]

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data, in the shape ``schema/plan.schema.json`` publishes (``FORMAT_VERSION``)."""
        return {
            "format_version": FORMAT_VERSION,
            "scope": {"vhosts": list(self.scope)},
            "changes": [change.to_dict() for change in self.changes],
            "summary": self.summary(),
            "refusals": list(self.refusals),
            "notes": list(self.notes),
            "server_version": self.server_version,
            "warnings": list(self.warnings),
            "unlisted_bindings": self.unlisted_bindings,
            "data_loss": [
                # ``conditional``: a delete the server carries out only while the queue is empty; a policy's
                # change has no such guard, whatever the field's default says.
                {
                    "subject": c.subject,
                    "messages": c.messages_at_risk,
                    "conditional": c.conditional and c.destroys_messages,
                }
                for c in self.data_loss()
            ],
        }


@functools.cache
def _value_fields(kind: str) -> tuple[tuple[str, bool, Any], ...]:
    """(name, secret, default) of each field of ``kind`` in the facts table, looked up once per kind."""
    return tuple((f.name, f.on_change is OnChange.SECRET, f.default) for f in KINDS[kind].fields)


@functools.cache
def _identity_fields(kind: str) -> tuple[str, ...]:
    return KINDS[kind].identity


def object_identity(obj: TopologyObject) -> dict[str, Any]:
    """The fields that identify ``obj`` (``KindFacts.identity``), as JSON values in key order."""
    return {name: masked(getattr(obj, name)) for name in _identity_fields(obj.kind)}


def object_values(obj: TopologyObject) -> dict[str, Any]:
    """Every field of ``obj`` the facts table lists, as JSON values, secrets masked (``masking``).

    A field the object leaves unset (None: not managed) shows the server's default where the facts table
    names one: what a create will set. A secret field shows ``MASK`` when the object has a value (for a
    user: a password or a stored hash), ``None`` when it has none (a user that cannot log in with one).
    """
    values: dict[str, Any] = {}
    for name, secret, default in _value_fields(obj.kind):
        if secret:
            held = getattr(obj, name, None) or getattr(obj, f"{name}_hash", None)
            values[name] = MASK if held else None
            continue
        value = getattr(obj, name)
        values[name] = masked_field(obj, name, default if value is None else value)
    return values


def describe(kind: str, key: Key, obj: TopologyObject | None = None) -> str:
    """A short, unambiguous, human name for an object."""
    label = KINDS[kind].label
    if kind in ("vhost", "user"):
        return f"{label} {key[0]!r}"
    if kind == "permission" and isinstance(obj, Permission | None):
        return f"{label} of {key[0]!r} on vhost {key[1]!r}"
    if kind == "topic_permission" and isinstance(obj, TopicPermission | None):
        return f"{label} of {key[0]!r} on exchange {key[2]!r} in vhost {key[1]!r}"
    if kind == "user_limit":
        return f"{label} {key[1]!r} of user {key[0]!r}"
    if kind == "global_parameter":
        return f"{label} {key[0]!r}"
    if kind == "parameter":
        return f"{key[1]} {label} {key[2]!r} in vhost {key[0]!r}"
    if kind == "binding" and isinstance(obj, Binding):
        args = f" {obj.arguments}" if obj.arguments else ""
        return (
            f"{label} {obj.source!r} -> {obj.destination_type} {obj.destination!r} "
            f"key {obj.routing_key!r}{args} in vhost {obj.vhost!r}"
        )
    return f"{label} {key[1]!r} in vhost {key[0]!r}"
