"""Accept a RabbitMQ definitions file (as ``export_definitions`` writes it) as a topology.

The definitions format is flat (every queue carries its ``vhost``); the topology format nests exchanges,
queues and bindings under their vhost. The conversion keeps the located mappings of the original file so
that problems still point at the right lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rabbitadmin.loader import LocatedDict, LocatedList

DEFINITIONS_MARKERS = ("rabbit_version", "rabbitmq_version", "product_version", "queues", "exchanges", "bindings")
IGNORED_SECTIONS = ("rabbit_version", "rabbitmq_version", "product_name", "product_version", "global_parameters")
UNSUPPORTED_SECTIONS = ("policies", "parameters")
ReportProblem = Callable[[str, int | None, str | None], None]


def is_definitions_document(document: Any) -> bool:
    """True if the document looks like server definitions rather than a nested topology."""
    return isinstance(document, dict) and any(marker in document for marker in DEFINITIONS_MARKERS)


def _copy(source: LocatedDict, keys: tuple[str, ...]) -> LocatedDict:
    result = LocatedDict()
    result.line = source.line
    result.key_lines = {}
    for key in keys:
        if key in source:
            result[key] = source[key]
            result.key_lines[key] = source.line_of(key)
    return result


def _list(items: list[Any], line: int) -> LocatedList:
    result = LocatedList(items)
    result.line = line
    result.item_lines = [getattr(item, "line", line) for item in items]
    return result


def topology_document_from_definitions(document: LocatedDict, problem: ReportProblem) -> LocatedDict:
    """Rewrite a definitions document into the nested topology shape."""
    for section in UNSUPPORTED_SECTIONS:
        if document.get(section):
            problem(f"{section} are not supported yet; remove them from the file", document.line_of(section), section)
    known = (*IGNORED_SECTIONS, *UNSUPPORTED_SECTIONS, "vhosts", "users", "permissions", "topic_permissions")
    for key in document:
        if key not in known and key not in DEFINITIONS_MARKERS:
            problem(f"unknown definitions section {key!r}", document.line_of(key), str(key))

    vhosts: dict[str, LocatedDict] = {}
    for raw in document.get("vhosts") or []:
        if not isinstance(raw, LocatedDict):
            continue  # the validator reports the shape
        vhost = _copy(raw, ("name", "description", "tags", "default_queue_type"))
        metadata = raw.get("metadata")
        if isinstance(metadata, LocatedDict):
            for key in ("description", "tags", "default_queue_type"):
                if key in metadata and key not in vhost:
                    vhost[key] = metadata[key]
                    vhost.key_lines[key] = metadata.line_of(key)
        vhosts[str(raw.get("name"))] = vhost

    for section in ("exchanges", "queues", "bindings"):
        for raw in document.get(section) or []:
            if not isinstance(raw, LocatedDict):
                continue
            name = raw.get("vhost")
            if name is None:
                problem("is required", raw.line, f"{section}.vhost")
                continue
            owner = vhosts.get(str(name))
            if owner is None:
                problem(f"vhost {name!r} is not in the file's vhosts", raw.line_of("vhost"), f"{section}.vhost")
                continue
            entry = _copy(raw, tuple(k for k in raw if k != "vhost"))
            if section == "queues" and "type" in entry:
                # Newer servers export the queue type beside x-queue-type; the topology has one field.
                entry["type"] = entry.pop("type")
            owner.setdefault(section, _list([], raw.line)).append(entry)
            owner[section].item_lines.append(raw.line)
            owner.key_lines.setdefault(section, raw.line)

    result = LocatedDict()
    result.line = document.line
    result.key_lines = {}
    result["vhosts"] = _list(list(vhosts.values()), document.line_of("vhosts"))
    result.key_lines["vhosts"] = document.line_of("vhosts")
    users = []
    for raw in document.get("users") or []:
        if isinstance(raw, LocatedDict):
            users.append(_copy(raw, ("name", "tags", "password_hash", "hashing_algorithm")))
    result["users"] = _list(users, document.line_of("users"))
    result.key_lines["users"] = document.line_of("users")
    for section in ("permissions", "topic_permissions"):
        if section in document:
            result[section] = document[section]
            result.key_lines[section] = document.line_of(section)
    return result
