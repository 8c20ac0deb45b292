"""``compute_plan``'s kept user: the user the HTTP settings name, whose permissions a prune over rabbitmqctl keeps
(session-20 breaker). Unlike the protected user (the one a backend acts as), it is only kept from a prune:
a file may still change its permissions or declare them absent."""

from __future__ import annotations

from rabbitadmin.backends.factory import TransportOptions, engine_backend
from rabbitadmin.engine.diff import compute_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Permission, Queue, TopicPermission, Topology, User, Vhost

ALL = ".*"


def server() -> Topology:
    actual = Topology()
    actual.add(Vhost("v"))
    actual.add(Queue("v", "q"))
    for user in ("ops", "app"):
        actual.add(User(user))
        actual.add(Permission(user, "v", ALL, ALL, ALL))
        actual.add(TopicPermission(user, "v", "amq.topic", ALL, ALL))
    return actual


def deleted(text: str, **users: str) -> set[tuple[str, str]]:
    plan = compute_plan(load_topology_text(text, "t.yaml"), server(), prune=True, **users)  # type: ignore[arg-type]
    return {(c.kind, str(c.key[0])) for c in plan.changes if c.action is Action.DELETE}


def test_a_prune_keeps_the_kept_users_permissions_with_a_note() -> None:
    text = "vhosts:\n- name: v\n  queues: [{name: q}]\n"
    assert deleted(text) == {("permission", "ops"), ("permission", "app"), ("topic_permission", "ops"),
                             ("topic_permission", "app")}  # fmt: skip
    assert deleted(text, kept_user="ops") == {("permission", "app"), ("topic_permission", "app")}
    plan = compute_plan(load_topology_text(text, "t.yaml"), server(), prune=True, kept_user="ops")
    assert any(note.startswith("kept permission of 'ops' on vhost 'v'") for note in plan.notes), plan.notes


def test_the_kept_user_is_not_protected_otherwise() -> None:
    ops = "users:\n- {name: ops}\n"
    absent = ops + "vhosts:\n- name: v\n  queues: [{name: q}]\npermissions:\n- {user: ops, vhost: v, state: absent}\n"
    assert ("permission", "ops") in deleted(absent, kept_user="ops")
    changed = (
        ops + "vhosts:\n- name: v\npermissions:\n- {user: ops, vhost: v, configure: '', write: '.*', read: '.*'}\n"
    )
    plan = compute_plan(load_topology_text(changed, "t.yaml"), server(), kept_user="ops")
    assert [(c.action, c.kind) for c in plan.changes] == [(Action.UPDATE, "permission")] and not plan.refusals


def test_the_ctl_transport_keeps_the_user_the_options_name() -> None:
    def backend(user: str | None) -> object:
        return engine_backend(TransportOptions("ctl", lambda: None, {"node": "rabbit@nowhere"}, user=user))  # type: ignore[arg-type, return-value]

    assert backend("ops").kept_user == "ops"
    assert backend(None).kept_user is None
