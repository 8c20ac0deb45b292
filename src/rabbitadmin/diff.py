"""Compare the desired topology with the server's state and produce a ``Plan``. Pure: no I/O.

The diff is a join on identity keys, kind by kind, followed by the consequences RabbitMQ imposes:
replacing or deleting a queue or an exchange drops its bindings on the server, deleting a vhost deletes
everything in it, and the user we connect as must survive the apply with its powers intact.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rabbitadmin import passwords
from rabbitadmin.gc_pause import with_collector_paused
from rabbitadmin.kinds import CREATE_ORDER, DELETE_ORDER, KINDS
from rabbitadmin.model import Binding, Exchange, Key, Permission, Queue, Topology, TopologyObject, User, Vhost
from rabbitadmin.normalize import breaks_binding_listings, is_reserved_queue_name, is_server_owned_exchange
from rabbitadmin.plan import Action, Change, FieldChange, Plan, describe

ADMIN_TAG = "administrator"


def is_server_owned(obj: TopologyObject) -> bool:
    """Objects the server creates and manages itself: never planned, never pruned."""
    if isinstance(obj, Exchange):
        return is_server_owned_exchange(obj.name)
    if isinstance(obj, Queue):
        return obj.exclusive or is_reserved_queue_name(obj.name)
    if isinstance(obj, Binding):
        return obj.source == ""  # every queue's implicit binding to the default exchange
    return False


def _vhost_of(obj: TopologyObject) -> str | None:
    if isinstance(obj, Vhost | User):
        return None
    return obj.vhost


@with_collector_paused
def compute_plan(
    desired: Topology,
    actual: Topology,
    *,
    prune: bool = False,
    protected_user: str | None = None,
) -> Plan:
    """The changes that make ``actual`` match ``desired``, in execution order.

    Only vhosts the topology names (present or absent) are in scope. Objects on the server that the file
    does not mention are deleted only with ``prune``, and only inside those vhosts; users and vhosts are never
    pruned (say ``state: absent`` to delete one).
    """
    scope = desired.vhosts_in_scope()
    plan = Plan(scope=tuple(sorted(scope)))
    exclusive_queues = {key for key, q in actual.queues.items() if isinstance(q, Queue) and q.exclusive}
    changes: list[Change] = []

    for kind in CREATE_ORDER:
        facts = KINDS[kind]
        have: dict[Key, TopologyObject] = {}
        for key, obj in actual.of(kind).items():
            if is_server_owned(obj):
                continue
            if isinstance(obj, Binding) and (obj.vhost, obj.destination) in exclusive_queues:
                continue  # a binding of a server-named exclusive queue belongs to its connection
            vhost = _vhost_of(obj)
            if facts.scoped and vhost not in scope:
                continue
            if kind == "vhost" and key[0] not in scope:
                continue
            have[key] = obj
        want = desired.of(kind)
        for key, obj in want.items():
            current = have.get(key)
            if current is None:
                changes.append(_create(obj))
            else:
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
                    pruned = _delete(obj, actual, "not in the topology (--prune)", plan, protected_user)
                    if pruned is not None:
                        changes.append(pruned)

    changes = _apply_consequences(changes, desired, actual)
    plan.changes = _order(changes)
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
        reason = "; ".join(f"{f.name} changes from {f.before!r} to {f.after!r}" for f in immutable)
        messages = actual.messages if isinstance(actual, Queue) else 0
        return Change(
            Action.REPLACE,
            desired.kind,
            desired.key,
            desired=desired,
            actual=actual,
            fields=tuple(immutable),
            reason=f"{reason} (cannot change in place)",
            messages_at_risk=messages,
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


def _field_changes(desired: TopologyObject, actual: TopologyObject, names: tuple[str, ...]) -> list[FieldChange]:
    result = []
    for name in names:
        after: Any = getattr(desired, name)
        before: Any = getattr(actual, name)
        if after is not None and after != before:
            result.append(FieldChange(name, before, after))
    return result


def _compare_vhost(desired: Vhost, actual: Vhost, plan: Plan) -> Change | None:
    changes = _field_changes(desired, actual, ("description", "tags"))
    wanted_type = desired.default_queue_type
    if wanted_type is not None and wanted_type != (actual.default_queue_type or "classic"):
        plan.refusals.append(
            f"the default queue type of vhost {desired.name!r} is {actual.default_queue_type or 'classic'!r} and "
            f"cannot be changed to {wanted_type!r} on an existing vhost; delete and re-create the vhost "
            "(this deletes everything in it)"
        )
    if not changes:
        return None
    merged = replace(
        actual,
        description=desired.description if desired.description is not None else actual.description,
        tags=desired.tags if desired.tags is not None else actual.tags,
        origin=desired.origin,
    )
    return Change(Action.UPDATE, "vhost", desired.key, desired=merged, actual=actual, fields=tuple(changes))


def _compare_user(desired: User, actual: User, plan: Plan, protected_user: str | None) -> Change | None:
    fields = _field_changes(desired, actual, ("tags",))
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
    merged = replace(to_send, tags=desired.tags if desired.tags is not None else actual.tags)
    return Change(Action.UPDATE, "user", desired.key, desired=merged, actual=actual, fields=tuple(fields))


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
    if isinstance(obj, Queue):
        messages = obj.messages
    elif isinstance(obj, Vhost):
        counts = [q.messages for q in actual.queues.values() if q.vhost == obj.name]
        messages = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
    return Change(Action.DELETE, obj.kind, obj.key, actual=obj, reason=reason, messages_at_risk=messages)


# -- consequences ----------------------------------------------------------------------------------------
def _apply_consequences(changes: list[Change], desired: Topology, actual: Topology) -> list[Change]:
    deleted_vhosts = {c.key[0] for c in changes if c.kind == "vhost" and c.action is Action.DELETE}
    # Bindings vanish with their queue or exchange: (vhost, "queue"|"exchange", name) of every drop.
    dropped: set[tuple[str, str, str]] = set()
    for change in changes:
        if change.kind in ("queue", "exchange") and change.action in (Action.DELETE, Action.REPLACE):
            dropped.add((change.key[0], change.kind, change.key[1]))

    def touches_dropped(binding: Binding) -> bool:
        return (binding.vhost, "exchange", binding.source) in dropped or (
            binding.vhost,
            binding.destination_type,
            binding.destination,
        ) in dropped

    result: list[Change] = []
    for change in changes:
        obj = change.desired or change.actual
        vhost = _vhost_of(obj) if obj is not None else None
        if change.action is Action.DELETE and vhost in deleted_vhosts:
            continue  # deleting the vhost deletes it
        if change.action is Action.DELETE and isinstance(obj, Binding) and touches_dropped(obj):
            continue  # the server drops it with its queue or exchange
        result.append(change)

    # Desired bindings that exist now but will be dropped by a replace must be created again.
    planned_creates = {c.key for c in result if c.kind == "binding" and c.action is Action.CREATE}
    for key, binding in desired.bindings.items():
        if key in actual.bindings and key not in planned_creates and touches_dropped(binding):
            result.append(Change(Action.CREATE, "binding", key, desired=binding, reason="re-created after its replace"))
    return result


def _order(changes: list[Change]) -> list[Change]:
    """Deletes first (children before parents), then updates and creates (parents before children)."""
    delete_rank = {kind: i for i, kind in enumerate(DELETE_ORDER)}
    create_rank = {kind: i for i, kind in enumerate(CREATE_ORDER)}

    def rank(change: Change) -> tuple[int, int, int]:
        if change.action is Action.DELETE:
            return (0, delete_rank[change.kind], 0)
        return (1, create_rank[change.kind], 0 if change.action is Action.UPDATE else 1)

    return sorted(changes, key=rank)
