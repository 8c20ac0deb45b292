"""Turn a server's state into a topology document that plans no changes when applied back."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from rabbitadmin.kinds import KINDS, is_server_owned
from rabbitadmin.model import Binding, Exchange, Policy, Queue, Topology, TopologyObject
from rabbitadmin.normalize import same_value
from rabbitadmin.uri_secrets import mask_value


def export_document(
    actual: Topology,
    vhosts: Collection[str] | None = None,
    *,
    include_password_hashes: bool = False,
    include_uri_passwords: bool = False,
) -> dict[str, Any]:
    """A topology document (plain dicts and lists) of ``actual``, limited to ``vhosts`` if given.

    Users are exported with their tags; their password hashes only on request, since a hash is still a
    secret worth guarding. With ``vhosts``, only users holding permissions there are exported. Runtime and
    global parameters' URIs carry their passwords only with ``include_uri_passwords``; otherwise they read
    ``amqp://user:***@host`` (``uri_secrets``), which validation refuses to apply back.
    """
    shown: Callable[[Any], Any] = _as_is if include_uri_passwords else mask_value
    names = sorted(key[0] for key in actual.vhosts if vhosts is None or key[0] in vhosts)

    def kept(obj: TopologyObject) -> bool:
        return not is_server_owned(obj, actual)

    vhost_docs = []
    for name in names:
        vhost = actual.vhosts[(name,)]
        doc: dict[str, Any] = {"name": name}
        if vhost.description:
            doc["description"] = vhost.description
        if vhost.tags:
            doc["tags"] = list(vhost.tags)
        if vhost.default_queue_type:
            doc["default_queue_type"] = vhost.default_queue_type
        for fact in KINDS["vhost"].plain_fields:  # what the server applies anyway is left out
            if getattr(vhost, fact.name) is not None and not same_value(getattr(vhost, fact.name), fact.default):
                doc[fact.name] = getattr(vhost, fact.name)
        limits = {limit.name: limit.value for limit in actual.vhost_limits.values() if limit.vhost == name}
        if limits:
            doc["limits"] = dict(sorted(limits.items()))
        for section, kind in (("policies", "policy"), ("operator_policies", "operator_policy")):
            policies = [_policy(p) for p in actual.of(kind).values() if isinstance(p, Policy) and p.vhost == name]
            if policies:
                doc[section] = sorted(policies, key=lambda item: str(item["name"]))
        parameters = [
            {"component": p.component, "name": p.name, "value": shown(p.value)}
            for p in sorted(actual.parameters.values(), key=lambda p: (p.component, p.name))
            if p.vhost == name
        ]
        if parameters:
            doc["parameters"] = parameters
        exchanges = [_exchange(e) for e in actual.exchanges.values() if e.vhost == name and kept(e)]
        queues = [_queue(q) for q in actual.queues.values() if q.vhost == name and kept(q)]
        bindings = [_binding(b) for b in actual.bindings.values() if b.vhost == name and kept(b)]
        for section, items, sort_key in (
            ("exchanges", exchanges, "name"),
            ("queues", queues, "name"),
            ("bindings", bindings, "source"),
        ):
            if items:
                doc[section] = sorted(items, key=lambda item, k=sort_key: (item[k], str(item)))  # type: ignore[misc]
        vhost_docs.append(doc)

    permissions = sorted(
        (p for p in actual.permissions.values() if p.vhost in names),
        key=lambda p: (p.vhost, p.user),
    )
    topic_permissions = sorted(
        (p for p in actual.topic_permissions.values() if p.vhost in names),
        key=lambda p: (p.vhost, p.user, p.exchange),
    )
    wanted_users = None if vhosts is None else {p.user for p in permissions} | {p.user for p in topic_permissions}
    users = []
    for user in sorted(actual.users.values(), key=lambda u: u.name):
        if wanted_users is not None and user.name not in wanted_users:
            continue
        entry: dict[str, Any] = {"name": user.name, "tags": list(user.tags or ())}
        user_limits = {limit.name: limit.value for limit in actual.user_limits.values() if limit.user == user.name}
        if user_limits:
            entry["limits"] = dict(sorted(user_limits.items()))
        if include_password_hashes and user.password_hash:
            entry["password_hash"] = user.password_hash
            entry["hashing_algorithm"] = user.hashing_algorithm
        users.append(entry)

    document: dict[str, Any] = {"vhosts": vhost_docs, "users": users}
    global_parameters = [
        {"name": g.name, "value": shown(g.value)}
        for g in sorted(actual.global_parameters.values(), key=lambda g: g.name)
        if kept(g)
    ]
    if global_parameters and vhosts is None:  # cluster-wide: only in a whole-server export
        document["global_parameters"] = global_parameters
    document["permissions"] = [
        {"user": p.user, "vhost": p.vhost, "configure": p.configure, "write": p.write, "read": p.read}
        for p in permissions
    ]
    if topic_permissions:
        document["topic_permissions"] = [
            {"user": p.user, "vhost": p.vhost, "exchange": p.exchange, "write": p.write, "read": p.read}
            for p in topic_permissions
        ]
    return document


def _exchange(exchange: Exchange) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": exchange.name, "type": exchange.type}
    if not exchange.durable:
        doc["durable"] = False
    if exchange.auto_delete:
        doc["auto_delete"] = True
    if exchange.internal:
        doc["internal"] = True
    if exchange.arguments:
        doc["arguments"] = dict(exchange.arguments)
    return doc


def _queue(queue: Queue) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": queue.name, "type": queue.type, "durable": queue.durable}
    if queue.auto_delete:
        doc["auto_delete"] = True
    if queue.arguments:
        doc["arguments"] = dict(queue.arguments)
    return doc


def _binding(binding: Binding) -> dict[str, Any]:
    doc: dict[str, Any] = {"source": binding.source, "destination": binding.destination}
    if binding.destination_type != "queue":
        doc["destination_type"] = binding.destination_type
    if binding.routing_key:
        doc["routing_key"] = binding.routing_key
    if binding.arguments:
        doc["arguments"] = dict(binding.arguments)
    return doc


def definitions_document(
    actual: Topology,
    vhosts: Collection[str] | None = None,
    *,
    include_password_hashes: bool = False,
    include_uri_passwords: bool = False,
    server_version: str | None = None,
) -> dict[str, Any]:
    """``actual`` in the server's definitions format (what ``rabbitmqctl import_definitions`` and
    ``POST /api/definitions`` take): the objects ``export_document`` would write, each kind in its section
    (operator policies and vhost limits as runtime parameters, users' limits in ``users[].limits``), every
    section present. Password hashes only on request (a user without one is imported without a password).
    """
    from rabbitadmin.definitions import to_definitions
    from rabbitadmin.model import KIND_ORDER

    topology = export_document(actual, vhosts, include_password_hashes=True)
    names = {v["name"] for v in topology["vhosts"]}
    users = {u["name"] for u in topology["users"]}
    objects = [
        obj for obj in actual
        if not is_server_owned(obj, actual)
        and (obj.key[0] in users if obj.kind in ("user", "user_limit") else
             vhosts is None if obj.kind == "global_parameter" else
             (obj.key[0] if obj.kind == "vhost" else getattr(obj, "vhost", None)) in names)
    ]  # fmt: skip
    body = to_definitions(objects)
    if not include_uri_passwords:
        for section in ("parameters", "global_parameters"):
            for entry in body.get(section, []):
                entry["value"] = mask_value(entry["value"])
    for entry in body.get("users", []):
        if not include_password_hashes:
            entry.pop("password_hash", None)
            entry.pop("hashing_algorithm", None)
    document: dict[str, Any] = {"rabbit_version": server_version} if server_version else {}
    for section in dict.fromkeys(KINDS[kind].section for kind in KIND_ORDER):
        document[section] = body.get(section, [])
    return document


def _policy(policy: Policy) -> dict[str, Any]:
    """A policy or operator policy; priority and apply_to only where they differ from the server's default."""
    doc: dict[str, Any] = {"name": policy.name, "pattern": policy.pattern, "definition": dict(policy.definition)}
    for fact in KINDS[policy.kind].plain_fields:
        if not same_value(getattr(policy, fact.name), fact.default):  # a priority of 0.0 is not the default 0
            doc[fact.name] = getattr(policy, fact.name)
    return doc


def _as_is(value: Any) -> Any:
    return value
