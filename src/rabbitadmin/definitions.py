"""The server's JSON shapes, both ways: listings and definitions into model objects, model objects into
definitions entries for a bulk import. Shared by every backend; all normalising happens here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rabbitadmin.kinds import SECTIONS, plain_from_server, plain_to_server
from rabbitadmin.model import (
    KIND_ORDER,
    Binding,
    Exchange,
    Permission,
    Queue,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    Vhost,
)
from rabbitadmin.normalize import as_integer, normalize_arguments, normalize_tags
from rabbitadmin.passwords import DEFAULT_ALGORITHM

JSON = dict[str, Any]


def vhost_from_server(data: JSON) -> Vhost:
    metadata = data.get("metadata") or {}
    queue_type = data.get("default_queue_type") or metadata.get("default_queue_type")
    return Vhost(
        name=data["name"],
        description=data.get("description", metadata.get("description")) or "",
        tags=normalize_tags(data.get("tags", metadata.get("tags"))),
        default_queue_type=None if queue_type in (None, "undefined") else str(queue_type),
        **plain_from_server("vhost", data),
    )


def user_from_server(data: JSON) -> User:
    return User(
        name=data["name"],
        tags=normalize_tags(data.get("tags")),
        password_hash=data.get("password_hash") or "",
        hashing_algorithm=data.get("hashing_algorithm") or DEFAULT_ALGORITHM,
    )


def permission_from_server(data: JSON) -> Permission:
    return Permission(data["user"], data["vhost"], data["configure"], data["write"], data["read"])


def topic_permission_from_server(data: JSON) -> TopicPermission:
    return TopicPermission(data["user"], data["vhost"], data["exchange"], data["write"], data["read"])


def exchange_from_server(data: JSON, vhost: str | None = None) -> Exchange:
    return Exchange(
        vhost=vhost if vhost is not None else data["vhost"],
        name=data["name"],
        type=data.get("type", "direct"),
        durable=bool(data.get("durable", True)),
        auto_delete=bool(data.get("auto_delete", False)),
        internal=bool(data.get("internal", False)),
        arguments=normalize_arguments(data.get("arguments")),
    )


def queue_from_server(data: JSON, vhost: str | None = None) -> Queue:
    arguments = data.get("arguments") or {}
    queue_type = data.get("type") or arguments.get("x-queue-type") or "classic"
    messages = data.get("messages")
    return Queue(
        vhost=vhost if vhost is not None else data["vhost"],
        name=data["name"],
        type=str(queue_type),
        durable=bool(data.get("durable", True)),
        auto_delete=bool(data.get("auto_delete", False)),
        arguments=normalize_arguments(arguments),
        messages=as_integer(messages) if messages is not None else None,
        exclusive=bool(data.get("exclusive", False)),
    )


def binding_from_server(data: JSON, vhost: str | None = None) -> Binding:
    return Binding(
        vhost=vhost if vhost is not None else data["vhost"],
        source=data["source"],
        destination_type=data["destination_type"],
        destination=data["destination"],
        routing_key=data.get("routing_key", ""),
        arguments=normalize_arguments(data.get("arguments")),
        properties_key=data.get("properties_key"),
    )


def topology_from_definitions(definitions: JSON, vhosts: Iterable[str] | None = None) -> Topology:
    """A server's exported definitions as the actual ``Topology`` (vhost contents limited to ``vhosts``)."""
    wanted = None if vhosts is None else set(vhosts)
    topology = Topology()
    for entry in definitions.get("vhosts", []):
        topology.add(vhost_from_server(entry))
    for entry in definitions.get("users", []):
        topology.add(user_from_server(entry))
    for entry in definitions.get("permissions", []):
        topology.add(permission_from_server(entry))
    for entry in definitions.get("topic_permissions", []):
        topology.add(topic_permission_from_server(entry))
    for section, parse in (
        ("exchanges", exchange_from_server),
        ("queues", queue_from_server),
        ("bindings", binding_from_server),
    ):
        for entry in definitions.get(section, []):
            if wanted is None or entry.get("vhost") in wanted:
                topology.add(parse(entry))
    return topology


# -- model to definitions --------------------------------------------------------------------------------
def to_definition(obj: TopologyObject) -> JSON:
    """One object as a definitions entry (users must already carry their password hash)."""
    if isinstance(obj, Vhost):
        entry: JSON = {"name": obj.name, "description": obj.description or "", "tags": list(obj.tags or ())}
        if obj.default_queue_type:
            entry["default_queue_type"] = obj.default_queue_type
        return {**entry, **plain_to_server(obj)}
    if isinstance(obj, User):
        if obj.password is not None:
            raise ValueError("a user must be hashed before it is sent")  # plaintext never leaves the engine
        return {
            "name": obj.name,
            "password_hash": obj.password_hash or "",
            "hashing_algorithm": obj.hashing_algorithm,
            "tags": ",".join(obj.tags or ()),
        }
    if isinstance(obj, Permission):
        return {"user": obj.user, "vhost": obj.vhost, "configure": obj.configure, "write": obj.write, "read": obj.read}
    if isinstance(obj, TopicPermission):
        return {"user": obj.user, "vhost": obj.vhost, "exchange": obj.exchange, "write": obj.write, "read": obj.read}
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
    for obj in objects:
        document[SECTIONS[obj.kind]].append(to_definition(obj))
    return {section: entries for section, entries in document.items() if entries}


def chunk_definitions(objects: Iterable[TopologyObject], max_bytes: int) -> Iterator[list[TopologyObject]]:
    """Split objects (in dependency order) into batches whose definitions stay under ``max_bytes``."""
    import json

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
