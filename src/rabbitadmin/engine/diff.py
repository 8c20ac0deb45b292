"""Compare the desired topology with the server's state and produce a ``Plan``. Pure: no I/O.

The diff is a join on identity keys, kind by kind, followed by the consequences RabbitMQ imposes:
replacing or deleting a queue or an exchange drops its bindings on the server, deleting a vhost deletes
everything in it, and the user we connect as must survive the apply with its powers intact.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from rabbitadmin import passwords
from rabbitadmin.engine.apply_lock import is_apply_lock
from rabbitadmin.engine.plan import Action, Change, FieldChange, Plan, describe
from rabbitadmin.gc_pause import with_collector_paused
from rabbitadmin.kinds import (
    CREATE_ORDER,
    DELETE_ORDER,
    KINDS,
    SERVER_OWNED_KINDS,
    is_server_owned,
    message_total,
    vhost_queues,
)
from rabbitadmin.masking import masked_field
from rabbitadmin.model import Binding, Key, Permission, Queue, Topology, TopologyObject, User, Vhost
from rabbitadmin.normalize import breaks_binding_listings, same_value
from rabbitadmin.value_text import value_text

ADMIN_TAG = "administrator"


def _vhost_of(obj: TopologyObject) -> str | None:
    """The vhost a scoped object lives in (None for vhosts, users and users' limits)."""
    return getattr(obj, "vhost", None) if KINDS[obj.kind].scoped else None


@with_collector_paused
def compute_plan(
    desired: Topology,
    actual: Topology,
    *,
    prune: bool = False,
    protected_user: str | None = None,
    kept_user: str | None = None,
) -> Plan:
    """The changes that make ``actual`` match ``desired``, in execution order.

    Only vhosts the topology names (present or absent) are in scope. Objects on the server that the file
    does not mention are deleted only with ``prune``, and only inside those vhosts; users and vhosts are never
    pruned (say ``state: absent`` to delete one). ``protected_user`` (the user the backend acts as) is never
    deleted, demoted or stripped of its permissions; ``kept_user`` only keeps its permissions from a prune (the
    user the ctl transport's operator names for HTTP, which rabbitmqctl does not act as).
    """
    scope = desired.vhosts_in_scope()
    plan = Plan(scope=tuple(sorted(scope)))
    changes: list[Change] = []
    have_bindings: dict[Key, TopologyObject] = {}

    for kind in CREATE_ORDER:
        facts = KINDS[kind]
        have: dict[Key, TopologyObject] = {}
        scoped, may_be_owned = facts.scoped, kind in SERVER_OWNED_KINDS
        for key, obj in actual.of(kind).items():
            if scoped and getattr(obj, "vhost", None) not in scope:
                continue
            if kind == "vhost" and key[0] not in scope:
                continue
            if may_be_owned and is_server_owned(obj, actual):
                continue
            have[key] = obj
        if kind == "binding":
            have_bindings = have
        want = desired.of(kind)
        compared = facts.compared  # a binding is its key: nothing to compare once the key matched
        for key, obj in want.items():
            current = have.get(key)
            if current is None:
                changes.append(_create(obj))
            elif compared:
                change = _compare(obj, current, plan, protected_user)
                if change is not None:
                    changes.append(change)
        for key in desired.absent[kind]:
            deleted = (
                _delete(have[key], actual, "declared absent", plan, protected_user, explicit=True)
                if key in have
                else None
            )
            if deleted is not None:
                changes.append(deleted)
        if prune and facts.scoped:
            for key, obj in have.items():
                if key not in want and key not in desired.absent[kind]:
                    if kept_user is not None and getattr(obj, "user", None) == kept_user:
                        # rabbitmqctl acts as no user, but the operator's HTTP user would lose its access.
                        plan.notes.append(_kept_note(obj, kept_user))
                        continue
                    pruned = _delete(obj, actual, "not in the topology (--prune)", plan, protected_user)
                    if pruned is not None:
                        changes.append(pruned)

    for key in desired.queues:
        if is_apply_lock(key[1]):
            plan.refusals.append(
                f"refusing to declare queue {key[1]!r} in vhost {key[0]!r}: the name is rabbitadmin's apply lock"
            )
    changes = _apply_consequences(changes, desired, actual, plan)
    plan.changes = _order(changes)
    if not prune:
        _note_unlisted_bindings(plan, desired, have_bindings)
    for change in plan.changes:
        if isinstance(change.desired, Binding) and breaks_binding_listings(change.desired):
            plan.refusals.append(
                f"refusing to create {change.subject}: the management API (RabbitMQ 3.10) fails with HTTP 500 on "
                "every bindings listing and definitions export of a vhost holding a binding whose routing key "
                "contains '~' and that has arguments; use another routing key or no arguments"
            )
    return plan


# -- one object ------------------------------------------------------------------------------------------
def _create(obj: TopologyObject) -> Change:
    if isinstance(obj, User):
        obj = _with_hash(obj, None)
    return Change(Action.CREATE, obj.kind, obj.key, desired=obj)


def _with_hash(desired: User, actual: User | None) -> User:
    """The user as it will be sent: always with a password hash, never with the plain password.

    A user PUT without a hash would clear the password, so an unchanged password keeps the stored hash.
    """
    if desired.password_hash is not None:
        return replace(desired, password=None)
    if desired.password is not None:
        plain = desired.password.reveal()
        if (
            actual is not None
            and actual.password_hash
            and passwords.check_password(plain, actual.password_hash, actual.hashing_algorithm)
        ):
            return replace(
                desired, password=None, password_hash=actual.password_hash, hashing_algorithm=actual.hashing_algorithm
            )
        return replace(desired, password=None, password_hash=passwords.hash_password(plain, desired.hashing_algorithm))
    if actual is not None:
        return replace(desired, password_hash=actual.password_hash, hashing_algorithm=actual.hashing_algorithm)
    return replace(desired, password_hash="")


def _compare(desired: TopologyObject, actual: TopologyObject, plan: Plan, protected_user: str | None) -> Change | None:
    facts = KINDS[desired.kind]
    if isinstance(desired, User) and isinstance(actual, User):
        return _compare_user(desired, actual, plan, protected_user)
    if isinstance(desired, Vhost) and isinstance(actual, Vhost):
        return _compare_vhost(desired, actual, plan)
    immutable = _field_changes(desired, actual, facts.immutable)
    if immutable:
        reason = "; ".join(f"{f.name} changes from {value_text(f.before)} to {value_text(f.after)}" for f in immutable)
        messages = actual.messages if isinstance(actual, Queue) else 0
        conditional = not isinstance(actual, Queue) or can_delete_if_empty(actual)
        return Change(
            Action.REPLACE,
            desired.kind,
            desired.key,
            desired=desired,
            actual=actual,
            fields=tuple(immutable),
            reason=f"{reason} (cannot change in place)",
            messages_at_risk=messages,
            conditional=conditional,
        )
    updates = _field_changes(desired, actual, facts.updatable)
    if not updates:
        return None
    if isinstance(desired, Permission) and desired.user == protected_user:
        plan.refusals.append(
            f"refusing to change the permissions of {desired.user!r}, the user rabbitadmin connects as, "
            f"on vhost {desired.vhost!r}: it could lock this apply out"
        )
        return None
    return Change(Action.UPDATE, desired.kind, desired.key, desired=desired, actual=actual, fields=tuple(updates))


@functools.cache
def _field_rules(kind: str, names: tuple[str, ...]) -> tuple[tuple[str, bool, bool], ...]:
    """``(name, null_is_value, masked)`` of each of ``kind``'s fields ``names``: looked up once per plan, not
    once per object (a no-change plan of W(10000) compares 22,000 field lists)."""
    facts = KINDS[kind]
    return tuple((name, facts.field(name).null_is_value, facts.field(name).masked) for name in names)


def _field_changes(desired: TopologyObject, actual: TopologyObject, names: tuple[str, ...]) -> list[FieldChange]:
    result = []
    for name, null_is_value, masked in _field_rules(desired.kind, names):
        after: Any = getattr(desired, name)
        # None: the file leaves the field to the server's default, unless null is a value there (a parameter's).
        if after is None and not null_is_value:
            continue
        before: Any = getattr(actual, name)
        if not same_value(after, before):
            if masked:
                # Compared on the real values, shown masked: a change of a URI's password or of a secret-named
                # key's value alone shows as "(changed)", like a user's password.
                shown_before, shown_after = masked_field(desired, name, before), masked_field(desired, name, after)
                secret = same_value(shown_before, shown_after)  # only a password differs (true vs 1 is shown)
                result.append(FieldChange(name, None if secret else shown_before, None if secret else shown_after,
                                          secret=secret))  # fmt: skip
                continue
            result.append(FieldChange(name, before, after))
    return result


def _managed(desired: TopologyObject, actual: TopologyObject, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields ``names`` as an update sends them: the file's value, or the server's where the file has none."""
    return {name: getattr(actual, name) if getattr(desired, name) is None else getattr(desired, name) for name in names}


def _compare_vhost(desired: Vhost, actual: Vhost, plan: Plan) -> Change | None:
    facts = KINDS["vhost"]
    changes = _field_changes(desired, actual, facts.updatable)
    for name in facts.refused:
        wanted, default = getattr(desired, name), facts.field(name).default
        current = getattr(actual, name) or default  # the server reports nothing when its default applies
        if wanted is not None and wanted != current:
            plan.refusals.append(
                f"the {name.replace('_', ' ')} of vhost {desired.name!r} is {current!r} and "
                f"cannot be changed to {wanted!r} on an existing vhost; delete and re-create the vhost "
                "(this deletes everything in it)"
            )
    if not changes:
        return None
    merged = replace(actual, **_managed(desired, actual, facts.updatable), origin=desired.origin)
    return Change(Action.UPDATE, "vhost", desired.key, desired=merged, actual=actual, fields=tuple(changes))


def _compare_user(desired: User, actual: User, plan: Plan, protected_user: str | None) -> Change | None:
    fields = _field_changes(desired, actual, KINDS["user"].updatable)
    to_send = _with_hash(desired, actual)
    if to_send.password_hash != actual.password_hash or to_send.hashing_algorithm != actual.hashing_algorithm:
        fields.append(FieldChange("password", secret=True))
    if not fields:
        return None
    if desired.name == protected_user:
        if any(f.name == "password" for f in fields):
            plan.refusals.append(
                f"refusing to change the password of {desired.name!r}, the user rabbitadmin connects as, in the "
                "middle of an apply; change it with `rabbitadmin users passwd` first"
            )
            return None
        if desired.tags is not None and ADMIN_TAG in (actual.tags or ()) and ADMIN_TAG not in desired.tags:
            plan.refusals.append(
                f"refusing to remove the administrator tag from {desired.name!r}, the user rabbitadmin connects as"
            )
            return None
    merged = replace(to_send, **_managed(desired, actual, KINDS["user"].updatable))
    return Change(Action.UPDATE, "user", desired.key, desired=merged, actual=actual, fields=tuple(fields))


def _kept_note(obj: TopologyObject, user: str) -> str:
    return (
        f"kept {describe(obj.kind, obj.key, obj)}: {user!r} is the user rabbitadmin's HTTP settings name "
        "(--user, RABBITADMIN_USER); a prune over rabbitmqctl leaves its permissions (state: absent removes them)"
    )


def _delete(
    obj: TopologyObject,
    actual: Topology,
    reason: str,
    plan: Plan,
    protected_user: str | None,
    *,
    explicit: bool = False,
) -> Change | None:
    """The delete of ``obj``, or None (with a refusal or a note) if it is protected."""
    protected = (isinstance(obj, User) and obj.name == protected_user) or (
        isinstance(obj, Permission) and obj.user == protected_user
    )
    if protected:
        message = f"{describe(obj.kind, obj.key, obj)} belongs to the user rabbitadmin connects as"
        if explicit:
            plan.refusals.append(f"refusing to delete {message}")
        else:
            plan.notes.append(f"kept {message}")
        return None
    messages: int | None = 0
    conditional = True
    if isinstance(obj, Queue):
        messages = obj.messages
        conditional = can_delete_if_empty(obj)
    elif isinstance(obj, Vhost):
        queues = vhost_queues(actual, obj.name)
        messages = message_total(q.messages for q in queues)
        conditional = all(can_delete_if_empty(q) for q in queues)
    return Change(
        Action.DELETE, obj.kind, obj.key, actual=obj, reason=reason, messages_at_risk=messages, conditional=conditional
    )


def can_delete_if_empty(queue: Queue) -> bool:
    """Whether RabbitMQ deletes ``queue`` on condition that it is empty: classic queues only.

    Quorum queues refuse ``if-empty`` (HTTP 400, "not supported by quorum queues"); streams ignore it and
    are deleted with their messages (measured on 3.10.8; ``rabbit_quorum_queue:delete/4``,
    ``rabbit_stream_queue:delete/4``).
    """
    return queue.type == "classic"


# -- consequences ----------------------------------------------------------------------------------------
Dropped = set[tuple[str, str, str]]  # (vhost, "queue"|"exchange", name) of objects a change removes


def _touches(binding: Binding, objects: Dropped) -> bool:
    """True if the binding's source exchange or its destination is one of ``objects``."""
    return (binding.vhost, "exchange", binding.source) in objects or (
        binding.vhost,
        binding.destination_type,
        binding.destination,
    ) in objects


def _apply_consequences(changes: list[Change], desired: Topology, actual: Topology, plan: Plan) -> list[Change]:
    deleted_vhosts = {c.key[0] for c in changes if c.kind == "vhost" and c.action is Action.DELETE}
    # Bindings vanish with their queue or exchange, whether it is deleted or replaced.
    deleted: Dropped = set()
    replaced: Dropped = set()
    for change in changes:
        if change.kind in ("queue", "exchange") and change.action in (Action.DELETE, Action.REPLACE):
            target = deleted if change.action is Action.DELETE else replaced
            target.add((change.key[0], change.kind, change.key[1]))
    dropped = deleted | replaced
    # Bindings the plan deletes on purpose (--prune, state: absent): a replace does not bring them back.
    deleted_bindings = {c.key for c in changes if c.kind == "binding" and c.action is Action.DELETE}

    result: list[Change] = []
    for change in changes:
        obj = change.desired or change.actual
        vhost = _vhost_of(obj) if obj is not None else None
        if change.action is Action.DELETE and vhost in deleted_vhosts:
            continue  # deleting the vhost deletes it
        if change.action is Action.DELETE and isinstance(obj, Binding) and _touches(obj, dropped):
            continue  # the server drops it with its queue or exchange
        result.append(change)

    # Every binding the server has on a replaced object is created again after the replace, listed in the
    # file or not (applications bind their own queues), unless the plan deletes it or its other end.
    planned_creates = {c.key for c in result if c.kind == "binding" and c.action is Action.CREATE}
    for key, binding in actual.bindings.items():
        if binding.source == "" or not _touches(binding, replaced):
            continue
        if key in deleted_bindings or key in planned_creates or _touches(binding, deleted):
            continue
        if is_server_owned(binding, actual):
            plan.notes.append(
                f"{describe('binding', key, binding)} belongs to an exclusive queue's connection: the replace "
                "drops it and only that connection can bind it again"
            )
            continue
        listed = desired.bindings.get(key)
        reason = "re-created after its replace" if listed else "not in the file; re-created after its replace"
        recreated = listed if listed is not None else replace(binding, properties_key=None)
        result.append(Change(Action.CREATE, "binding", key, desired=recreated, reason=reason))
        planned_creates.add(key)
    return result


def _note_unlisted_bindings(plan: Plan, desired: Topology, have: dict[Key, TopologyObject]) -> None:
    """Say how many bindings the file does not list stay on the exchanges and queues it declares.

    Without a record of what an earlier apply created, an edited binding (new key or arguments) is a new
    binding: the old one stays, and keeps routing, until ``--prune`` deletes it.
    """
    listed, absent = desired.bindings, desired.absent["binding"]
    unlisted = [b for key, b in have.items() if key not in listed and key not in absent and isinstance(b, Binding)]
    count = 0
    if unlisted:  # most plans have none: the set of every declared exchange and queue is not built then
        managed: Dropped = {(key[0], "exchange", key[1]) for key in desired.exchanges}
        managed |= {(key[0], "queue", key[1]) for key in desired.queues}
        count = sum(1 for binding in unlisted if _touches(binding, managed))
    plan.unlisted_bindings = count
    if count:
        plan.notes.append(
            f"{count} binding(s) on exchanges and queues the file declares are not in the file and stay as they "
            "are, routing messages (an edited binding leaves its old version behind); --prune deletes them"
        )


def _order(changes: list[Change]) -> list[Change]:
    """Deletes first (children before parents), then updates and creates (parents before children)."""
    delete_rank = {kind: i for i, kind in enumerate(DELETE_ORDER)}
    create_rank = {kind: i for i, kind in enumerate(CREATE_ORDER)}

    def rank(change: Change) -> tuple[int, int, int]:
        if change.action is Action.DELETE:
            return (0, delete_rank[change.kind], 0)
        return (1, create_rank[change.kind], 0 if change.action is Action.UPDATE else 1)

    return sorted(changes, key=rank)
