"""Turn a server's state into a topology document that plans no changes when applied back."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from rabbitadmin.kinds import KINDS, is_server_owned
from rabbitadmin.masking import MASK, global_parameter_secret, mask_secrets
from rabbitadmin.model import Binding, Exchange, Policy, Queue, Topology, TopologyObject
from rabbitadmin.normalize import same_value


def export_document(
    actual: Topology,
    vhosts: Collection[str] | None = None,
    *,
    include_password_hashes: bool = False,
    include_secrets: bool = False,
    include_uri_passwords: bool = False,
    masked_out: list[str] | None = None,
) -> dict[str, Any]:
    """A topology document (plain dicts and lists) of ``actual``, limited to ``vhosts`` if given.

    Users are exported with their tags; their password hashes only on request, since a hash is still a
    secret worth guarding. With ``vhosts``, only users holding permissions there are exported. Runtime and
    global parameters' values, policies' definitions and arguments carry their secrets (what a plan masks: values under
    secret-named keys, URI passwords; ``masking.mask_secrets``) only with ``include_secrets`` (its old name
    ``include_uri_passwords`` still works); otherwise each reads ``***``, which validation refuses to apply
    back, and ``masked_out`` (if given) gets one line per object naming the masked fields, never a value.
    """
    shown = _Shown(include_secrets or include_uri_passwords, masked_out)
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
            policies = [
                _policy(p, shown) for p in actual.of(kind).values() if isinstance(p, Policy) and p.vhost == name
            ]
            if policies:
                doc[section] = sorted(policies, key=lambda item: str(item["name"]))
        parameters = [
            {"component": p.component, "name": p.name, "value": shown.parameter(p.value, name, p.component, p.name)}
            for p in sorted(actual.parameters.values(), key=lambda p: (p.component, p.name))
            if p.vhost == name
        ]
        if parameters:
            doc["parameters"] = parameters
        exchanges = [_exchange(e, shown) for e in actual.exchanges.values() if e.vhost == name and kept(e)]
        queues = [_queue(q, shown) for q in actual.queues.values() if q.vhost == name and kept(q)]
        bindings = [_binding(b, shown) for b in actual.bindings.values() if b.vhost == name and kept(b)]
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
        {"name": g.name, "value": g.value}
        for g in sorted(actual.global_parameters.values(), key=lambda g: g.name)
        if kept(g)
    ]
    if global_parameters and vhosts is None:  # cluster-wide: only in a whole-server export
        for entry in global_parameters:
            entry["value"] = shown.global_parameter(entry["value"], entry["name"])
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


def _exchange(exchange: Exchange, shown: _Shown) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": exchange.name, "type": exchange.type}
    if not exchange.durable:
        doc["durable"] = False
    if exchange.auto_delete:
        doc["auto_delete"] = True
    if exchange.internal:
        doc["internal"] = True
    if exchange.arguments:
        doc["arguments"] = shown.arguments(dict(exchange.arguments), f"exchange {exchange.name!r}", exchange.vhost)
    return doc


def _queue(queue: Queue, shown: _Shown) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": queue.name, "type": queue.type, "durable": queue.durable}
    if queue.auto_delete:
        doc["auto_delete"] = True
    if queue.arguments:
        doc["arguments"] = shown.arguments(dict(queue.arguments), f"queue {queue.name!r}", queue.vhost)
    return doc


def _binding(binding: Binding, shown: _Shown) -> dict[str, Any]:
    doc: dict[str, Any] = {"source": binding.source, "destination": binding.destination}
    if binding.destination_type != "queue":
        doc["destination_type"] = binding.destination_type
    if binding.routing_key:
        doc["routing_key"] = binding.routing_key
    if binding.arguments:
        subject = f"binding {binding.source!r} -> {binding.destination!r}"
        doc["arguments"] = shown.arguments(dict(binding.arguments), subject, binding.vhost)
    return doc


def definitions_document(
    actual: Topology,
    vhosts: Collection[str] | None = None,
    *,
    include_password_hashes: bool = False,
    include_secrets: bool = False,
    include_uri_passwords: bool = False,
    server_version: str | None = None,
    masked_out: list[str] | None = None,
) -> dict[str, Any]:
    """``actual`` in the server's definitions format (what ``rabbitmqctl import_definitions`` and
    ``POST /api/definitions`` take): the objects ``export_document`` would write, each kind in its section
    (operator policies and vhost limits as runtime parameters, users' limits in ``users[].limits``), every
    section present. Password hashes only on request (a user without one is imported without a password);
    secrets in parameters and policies masked as ``export_document`` masks them.
    """
    from rabbitadmin.definitions import to_definitions
    from rabbitadmin.model import KIND_ORDER

    topology = export_document(actual, vhosts, include_password_hashes=True, include_secrets=True)
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
    if not (include_secrets or include_uri_passwords):
        body = masked_definitions(body, masked_out)
    for entry in body.get("users", []):
        if not include_password_hashes:
            entry.pop("password_hash", None)
            entry.pop("hashing_algorithm", None)
    document: dict[str, Any] = {"rabbit_version": server_version} if server_version else {}
    for section in dict.fromkeys(KINDS[kind].section for kind in KIND_ORDER):
        document[section] = body.get(section, [])
    return document


def masked_definitions(document: dict[str, Any], masked_out: list[str] | None = None) -> dict[str, Any]:
    """A definitions document (ours, or the server's own export, whole-server or per vhost) with the secrets of
    its parameters, global parameters, policies and arguments masked as ``export_document`` masks them; a copy of the
    sections it changes. ``masked_out`` gets one line per masked object (subject and fields)."""
    shown = _Shown(False, masked_out)
    result = dict(document)

    def each(section: str, field: str, mask: Callable[[dict[str, Any]], Any]) -> None:
        entries = document.get(section)
        if isinstance(entries, list):
            result[section] = [
                {**entry, field: mask(entry)} if isinstance(entry, dict) and field in entry else entry
                for entry in entries
            ]

    each("policies", "definition", lambda e: shown.policy(e["definition"], "policy", e.get("vhost"), e.get("name")))
    each(
        "parameters", "value", lambda e: shown.parameter(e["value"], e.get("vhost"), e.get("component"), e.get("name"))
    )
    each("global_parameters", "value", lambda e: shown.global_parameter(e["value"], e.get("name")))
    for section, kind in (("exchanges", "exchange"), ("queues", "queue"), ("bindings", "binding")):
        each(section, "arguments", shown.entry_arguments(kind))
    return result


def _policy(policy: Policy, shown: _Shown) -> dict[str, Any]:
    """A policy or operator policy; priority and apply_to only where they differ from the server's default."""
    definition = shown.policy(dict(policy.definition), policy.kind.replace("_", " "), policy.vhost, policy.name)
    doc: dict[str, Any] = {"name": policy.name, "pattern": policy.pattern, "definition": definition}
    for fact in KINDS[policy.kind].plain_fields:
        if not same_value(getattr(policy, fact.name), fact.default):  # a priority of 0.0 is not the default 0
            doc[fact.name] = getattr(policy, fact.name)
    return doc


class _Shown:
    """What an export writes of a value that may hold secrets: the value as it is (``keep``), or masked
    (``masking.mask_secrets``) with one line per masked object added to ``report`` (subject and fields)."""

    def __init__(self, keep: bool, report: list[str] | None) -> None:
        self.keep = keep
        self.report = report

    def __call__(self, value: Any, subject: str, where: str) -> Any:
        if self.keep:
            return value
        shown, fields = mask_secrets(value, where)
        if fields and self.report is not None:
            self.report.append(f"{subject}: {', '.join(fields)}")
        return shown

    def global_parameter(self, value: Any, name: Any) -> Any:
        """A global parameter's value; all of it masked under a secret-named name (``global_parameter_secret``)."""
        subject = f"global parameter {name!r}"
        if self.keep or not global_parameter_secret(name, value):
            return self(value, subject, "value")
        if self.report is not None:
            self.report.append(f"{subject}: value (its name names a secret)")
        return MASK

    def parameter(self, value: Any, vhost: Any, component: Any, name: Any) -> Any:
        return self(value, f"parameter {component} {name!r}{_in(vhost)}", "value")

    def policy(self, definition: Any, kind: str, vhost: Any, name: Any) -> Any:
        return self(definition, f"{kind} {name!r}{_in(vhost)}", "definition")

    def entry_arguments(self, kind: str) -> Callable[[dict[str, Any]], Any]:
        """``arguments`` for a definitions entry of ``kind`` (exchange, queue, binding), named as the server does."""

        def mask(entry: dict[str, Any]) -> Any:
            if kind == "binding":
                subject = f"binding {entry.get('source')!r} -> {entry.get('destination')!r}"
            else:
                subject = f"{kind} {entry.get('name')!r}"
            return self.arguments(entry["arguments"], subject, entry.get("vhost"))

        return mask

    def arguments(self, arguments: Any, subject: str, vhost: Any) -> Any:
        """An exchange's, queue's or binding's arguments: a plan masks a secret-named key's value or a URI's
        password there too (``masking.masked`` on every field), so an export does."""
        return self(arguments, f"{subject}{_in(vhost)}", "arguments")


def _in(vhost: Any) -> str:
    """`` in vhost 'v'``; nothing for a per-vhost export's entries, which name no vhost."""
    return f" in vhost {vhost!r}" if vhost is not None else ""
