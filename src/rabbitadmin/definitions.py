"""The server's JSON shapes, both ways: listings and definitions into model objects, model objects into
definitions entries for a bulk import. Shared by every backend; all normalising happens here.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rabbitadmin.errors import Unaddressable
from rabbitadmin.kinds import KINDS, SECTIONS, plain_from_server, plain_to_server
from rabbitadmin.model import (
    KIND_ORDER,
    Binding,
    Exchange,
    GlobalParameter,
    OperatorPolicy,
    Parameter,
    Permission,
    Policy,
    Queue,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    UserLimit,
    Vhost,
    VhostLimit,
)
from rabbitadmin.normalize import as_integer, normalize_arguments, normalize_parameter_value, normalize_tags
from rabbitadmin.passwords import DEFAULT_ALGORITHM

JSON = dict[str, Any]


# -- objects no client can address (``errors.Unaddressable``) ---------------------------------------------
def _addressable(kind: str, data: JSON, fields: tuple[str, ...], vhost: str | None = None) -> None:
    """Raise ``Unaddressable`` unless every one of ``data``'s ``fields`` is a string (``vhost``: the vhost
    the row was listed in, for the message). One type check a field: it runs on every row a state read
    builds (20,000 at W(10000)), so no more than that."""
    for field in fields:
        if data[field].__class__ is not str:
            raise Unaddressable(kind, data, fields, vhost)


def _to_stderr(text: str) -> None:
    # Where every command's warnings go (stdout stays parseable); one write of the whole line.
    sys.stderr.write(f"warning: {text}\n")


#: Where ``warn_unaddressable`` sends its text (a test or an embedding program may replace it).
unaddressable_notice: Callable[[str], None] = _to_stderr
_warned: set[str] = set()
_warned_lock = threading.Lock()


_plans_say_it = threading.Event()


@contextlib.contextmanager
def left_out_in_plans() -> Iterator[None]:
    """While inside, ``warn_unaddressable`` says nothing: a plan names what its read left out among its own
    warnings (``Topology.left_out``, ``make_plan``), attributed to its target in a fleet, and once."""
    _plans_say_it.set()
    try:
        yield
    finally:
        _plans_say_it.clear()


def warn_unaddressable(skipped: Unaddressable) -> None:
    """Say once per process that ``skipped`` is left out: an apply reads the state more than once (after
    its locks, after its changes), and the operator needs the warning once, not once per read."""
    if _plans_say_it.is_set():
        return
    text = str(skipped)
    with _warned_lock:  # the listings are turned into objects on several threads: one line at a time
        if text in _warned:
            return
        _warned.add(text)
        unaddressable_notice(text)


def leave_out(topology: Topology, skipped: Unaddressable) -> None:
    """Name ``skipped`` in ``topology.left_out`` (once) and warn of it (``warn_unaddressable``)."""
    warn_unaddressable(skipped)
    text = str(skipped)
    if text not in topology.left_out:
        topology.left_out.append(text)


def vhost_from_server(data: JSON) -> Vhost:
    """A vhost from a listing or a ``vhosts`` entry, its name as the server has it: ``vhosts list`` shows
    every vhost, addressable or not; a state read checks the name first (``check_vhost``)."""
    metadata = data.get("metadata") or {}
    queue_type = data.get("default_queue_type") or metadata.get("default_queue_type")
    return Vhost(
        name=data["name"],
        description=data.get("description", metadata.get("description")) or "",
        tags=normalize_tags(data.get("tags", metadata.get("tags"))),
        default_queue_type=None if queue_type in (None, "undefined") else str(queue_type),
        **plain_from_server("vhost", data),
    )


def check_vhost(data: JSON) -> None:
    """Raise ``Unaddressable`` for a vhost whose name is not a string (a state read leaves it out)."""
    _addressable("vhost", data, ("name",))


def user_from_server(data: JSON) -> User:
    _addressable("user", data, ("name",))
    return User(
        name=data["name"],
        tags=normalize_tags(data.get("tags")),
        password_hash=data.get("password_hash") or "",
        hashing_algorithm=data.get("hashing_algorithm") or DEFAULT_ALGORITHM,
    )


def permission_from_server(data: JSON) -> Permission:
    _addressable("permission", data, ("user", "vhost"))
    return Permission(data["user"], data["vhost"], data["configure"], data["write"], data["read"])


def topic_permission_from_server(data: JSON) -> TopicPermission:
    _addressable("topic permission", data, ("user", "vhost", "exchange"))
    return TopicPermission(data["user"], data["vhost"], data["exchange"], data["write"], data["read"])


def exchange_from_server(data: JSON, vhost: str | None = None) -> Exchange:
    name, where = data["name"], data["vhost"] if vhost is None else vhost
    if name.__class__ is not str or where.__class__ is not str:  # inline: once a row, 20,000 rows a read
        raise Unaddressable("exchange", data, ("vhost", "name") if vhost is None else ("name",), vhost)
    return Exchange(
        vhost=where,
        name=name,
        type=data.get("type", "direct"),
        durable=bool(data.get("durable", True)),
        auto_delete=bool(data.get("auto_delete", False)),
        internal=bool(data.get("internal", False)),
        arguments=normalize_arguments(data.get("arguments")),
    )


def queue_from_server(data: JSON, vhost: str | None = None) -> Queue:
    name, where = data["name"], data["vhost"] if vhost is None else vhost
    if name.__class__ is not str or where.__class__ is not str:  # inline: once a row, 20,000 rows a read
        raise Unaddressable("queue", data, ("vhost", "name") if vhost is None else ("name",), vhost)
    arguments = data.get("arguments") or {}
    queue_type = data.get("type") or arguments.get("x-queue-type") or "classic"
    messages = data.get("messages")
    return Queue(
        vhost=where,
        name=name,
        type=str(queue_type),
        durable=bool(data.get("durable", True)),
        auto_delete=bool(data.get("auto_delete", False)),
        arguments=normalize_arguments(arguments),
        messages=as_integer(messages) if messages is not None else None,
        exclusive=bool(data.get("exclusive", False)),
    )


def binding_from_server(data: JSON, vhost: str | None = None) -> Binding:
    source, destination_type, destination = data["source"], data["destination_type"], data["destination"]
    where = data["vhost"] if vhost is None else vhost
    if (
        source.__class__ is not str
        or destination.__class__ is not str
        or destination_type.__class__ is not str
        or where.__class__ is not str
    ):  # inline: once a row, 20,000 rows a read
        fields = ("vhost", *_BINDING_FIELDS) if vhost is None else _BINDING_FIELDS
        raise Unaddressable("binding", data, fields, vhost)
    return Binding(
        vhost=where,
        source=source,
        destination_type=destination_type,
        destination=destination,
        routing_key=data.get("routing_key", ""),
        arguments=normalize_arguments(data.get("arguments")),
        properties_key=data.get("properties_key"),
    )


_BINDING_FIELDS = ("source", "destination_type", "destination")


def as_mapping(value: Any) -> Any:
    """A JSON object the server may print as an Erlang proplist (``[["max-length", 5]]``: 3.10.8's
    ``export_definitions`` does so for operator policy definitions and vhosts' ``limits``) as a mapping."""
    if isinstance(value, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        return {str(name): item for name, item in value}
    return value


def policy_from_server(data: JSON, kind: type[Policy] = Policy) -> Policy:
    """A policy from a listing entry or a ``policies`` entry (``kind=OperatorPolicy`` for operator policies)."""
    _addressable(kind.kind.replace("_", " "), data, ("vhost", "name"))
    return kind(
        vhost=data["vhost"],
        name=data["name"],
        pattern=str(data.get("pattern", "")),
        definition=normalize_arguments(as_mapping(data.get("definition"))),
        **plain_from_server("policy", data),
    )


def limits_from_server(kind: type[VhostLimit] | type[UserLimit], owner: str, value: Any) -> list[Any]:
    """The limits of one vhost or user (the server's ``{"max-connections": 10, ...}``), one object each."""
    if owner.__class__ is not str:
        owned = "vhost" if kind is VhostLimit else "user"
        raise Unaddressable(f"{owned}'s limits", {owned: owner}, (owned,))
    value = as_mapping(value)
    if not isinstance(value, dict):
        return []
    return [kind(owner, str(name), limit) for name, limit in value.items() if as_integer(limit) is not None]


def parameter_from_server(data: JSON) -> list[TopologyObject] | None:
    """The objects a runtime parameter entry of a definitions file holds; None: a component not managed."""
    component, value = data.get("component"), data.get("value")
    if component == KINDS["operator_policy"].component and isinstance(value, dict):
        return [policy_from_server({**value, "vhost": data["vhost"], "name": data["name"]}, OperatorPolicy)]
    if component == KINDS["vhost_limit"].component and data["vhost"].__class__ is not str:
        raise Unaddressable("vhost's limits", data, ("vhost",))
    if component == KINDS["vhost_limit"].component:
        return limits_from_server(VhostLimit, data["vhost"], value)
    if not isinstance(component, str) or not component:
        return None
    _addressable(f"{component} parameter", data, ("vhost", "name"))
    value = normalize_parameter_value(as_json_value(value))
    return [Parameter(str(data["vhost"]), component, str(data["name"]), value)]


def as_json_value(value: Any) -> Any:
    """A parameter value as the server reports it, in its own shape: a list (even one of pairs, such as
    ``[["a", 1]]``) stays a list. The management API and the ctl read (``backends.ctl.definitions_read``) give
    objects as objects; only rabbitmqctl's ``export_definitions`` prints some as lists of pairs, and the ctl
    read turns those back itself."""
    if isinstance(value, dict):
        return {str(key): as_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json_value(item) for item in value]
    return value


def global_parameter_from_server(data: JSON) -> GlobalParameter:
    """A global parameter from ``GET /api/global-parameters`` or a definitions file's ``global_parameters``."""
    _addressable("global parameter", data, ("name",))
    return GlobalParameter(str(data["name"]), normalize_parameter_value(as_json_value(data.get("value"))))


def topology_from_definitions(definitions: JSON, vhosts: Iterable[str] | None = None) -> Topology:
    """A server's exported definitions as the actual ``Topology`` (vhost contents limited to ``vhosts``).

    An entry no client can address (``Unaddressable``: a name that is not a string, ...) is left out with
    one warning and named in ``left_out`` (``leave_out``), and so is everything inside a vhost so named."""
    wanted = None if vhosts is None else set(vhosts)
    topology = Topology()
    add = topology.add
    for entry in definitions.get("vhosts", []):
        try:
            check_vhost(entry)
            add(vhost_from_server(entry))
            for limit in limits_from_server(VhostLimit, entry["name"], entry.get("limits")):
                add(limit)  # newer exports (4.x) keep them here as well as in parameters
        except Unaddressable as skipped:
            leave_out(topology, skipped)
    for entry in definitions.get("users", []):
        try:
            add(user_from_server(entry))
            for limit in limits_from_server(UserLimit, entry["name"], entry.get("limits")):
                add(limit)
        except Unaddressable as skipped:
            leave_out(topology, skipped)
    for entry in definitions.get("parameters", []):
        try:
            for obj in parameter_from_server(entry) or ():
                if wanted is None or not isinstance(obj, Parameter) or obj.vhost in wanted:
                    add(obj)
        except Unaddressable as skipped:
            leave_out(topology, skipped)
    sections: list[tuple[str, Callable[[JSON], TopologyObject]]] = [
        ("policies", policy_from_server),
        ("global_parameters", global_parameter_from_server),
        ("permissions", permission_from_server),
        ("topic_permissions", topic_permission_from_server),
    ]
    for section, parse in sections:
        add_each(topology, parse, definitions.get(section, []))
    for section, parse in (
        ("exchanges", exchange_from_server),
        ("queues", queue_from_server),
        ("bindings", binding_from_server),
    ):
        entries = definitions.get(section, [])
        if wanted is not None:  # a vhost that is no string is in no scope (and no set holds a list)
            entries = [e for e in entries if e.get("vhost").__class__ is str and e["vhost"] in wanted]
        add_each(topology, parse, entries)
    return topology


def add_each(topology: Topology, parse: Callable[[JSON], TopologyObject], entries: Iterable[JSON]) -> None:
    """``parse`` each entry into ``topology``; those no client can address are left out (``leave_out``)."""
    add = topology.add
    for entry in entries:
        try:
            add(parse(entry))
        except Unaddressable as skipped:
            leave_out(topology, skipped)


# -- model to definitions --------------------------------------------------------------------------------
def to_definition(obj: TopologyObject) -> JSON:
    """One object as a definitions entry (users must already carry their password hash)."""
    if isinstance(obj, Vhost):
        entry: JSON = {"name": obj.name, "description": obj.description or "", "tags": list(obj.tags or ())}
        if obj.default_queue_type:
            entry["default_queue_type"] = obj.default_queue_type
        # The server's import reads the default queue type from metadata only (rabbit_definitions:add_vhost/2).
        entry["metadata"] = {key: value for key, value in entry.items() if key != "name"}
        return {**entry, **plain_to_server(obj)}
    if isinstance(obj, User):
        if obj.password is not None:
            raise ValueError("a user must be hashed before it is sent")  # plaintext never leaves the engine
        return {
            "name": obj.name,
            "password_hash": obj.password_hash or "",
            "hashing_algorithm": obj.hashing_algorithm,
            "tags": list(obj.tags or ()),  # as 3.10 and 4.0 export them; a string would be split at commas
        }
    if isinstance(obj, Permission):
        return {"user": obj.user, "vhost": obj.vhost, "configure": obj.configure, "write": obj.write, "read": obj.read}
    if isinstance(obj, TopicPermission):
        return {"user": obj.user, "vhost": obj.vhost, "exchange": obj.exchange, "write": obj.write, "read": obj.read}
    if isinstance(obj, OperatorPolicy):
        value = {"pattern": obj.pattern, "definition": obj.definition, **plain_to_server(obj)}
        return {"vhost": obj.vhost, "component": KINDS[obj.kind].component, "name": obj.name, "value": value}
    if isinstance(obj, Policy):
        return {"vhost": obj.vhost, "name": obj.name, "pattern": obj.pattern, "definition": obj.definition,
                **plain_to_server(obj)}  # fmt: skip
    if isinstance(obj, VhostLimit):
        # One parameter holds all of a vhost's limits: to_definitions merges them.
        value = {obj.name: obj.value}
        return {"vhost": obj.vhost, "component": KINDS[obj.kind].component, "name": "limits", "value": value}
    if isinstance(obj, UserLimit):
        return {"user": obj.user, "limits": {obj.name: obj.value}}  # to_definitions puts it in users[].limits
    if isinstance(obj, Parameter):
        return {"vhost": obj.vhost, "component": obj.component, "name": obj.name, "value": obj.value}
    if isinstance(obj, GlobalParameter):
        return {"name": obj.name, "value": obj.value}
    if isinstance(obj, Exchange):
        return {
            "name": obj.name,
            "vhost": obj.vhost,
            "type": obj.type,
            "durable": obj.durable,
            "auto_delete": obj.auto_delete,
            "internal": obj.internal,
            "arguments": obj.arguments,
        }
    if isinstance(obj, Queue):
        return {
            "name": obj.name,
            "vhost": obj.vhost,
            "durable": obj.durable,
            "auto_delete": obj.auto_delete,
            # Always explicit: otherwise the vhost's default queue type would decide.
            "arguments": {**obj.arguments, "x-queue-type": obj.type},
        }
    return {
        "source": obj.source,
        "vhost": obj.vhost,
        "destination": obj.destination,
        "destination_type": obj.destination_type,
        "routing_key": obj.routing_key,
        "arguments": obj.arguments,
    }


def to_definitions(objects: Iterable[TopologyObject]) -> JSON:
    """Objects grouped into a definitions document, sections in dependency order."""
    document: JSON = {SECTIONS[kind]: [] for kind in KIND_ORDER}
    vhost_limits: dict[str, JSON] = {}
    for obj in objects:
        if isinstance(obj, UserLimit):
            continue  # with their users below
        entry = to_definition(obj)
        if isinstance(obj, VhostLimit):
            if obj.vhost in vhost_limits:
                vhost_limits[obj.vhost]["value"].update(entry["value"])
                continue
            vhost_limits[obj.vhost] = entry
        document[SECTIONS[obj.kind]].append(entry)
    user_limits = user_limits_by_user(objects)
    for entry in document["users"]:
        if entry["name"] in user_limits:
            entry["limits"] = user_limits[entry["name"]]
    return {section: entries for section, entries in document.items() if entries}


def user_limits_by_user(objects: Iterable[TopologyObject]) -> dict[str, JSON]:
    """User limits grouped as ``users[].limits`` carries them: user -> {name: value}."""
    result: dict[str, JSON] = {}
    for obj in objects:
        if isinstance(obj, UserLimit):
            result.setdefault(obj.user, {})[obj.name] = obj.value
    return result


def chunk_definitions(objects: Iterable[TopologyObject], max_bytes: int) -> Iterator[list[TopologyObject]]:
    """Split objects (in dependency order) into batches whose definitions stay under ``max_bytes``."""

    batch: list[TopologyObject] = []
    size = 0
    for obj in objects:
        entry_size = len(json.dumps(to_definition(obj), ensure_ascii=False).encode("utf-8")) + 2
        if batch and size + entry_size > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(obj)
        size += entry_size
    if batch:
        yield batch
