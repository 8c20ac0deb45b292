"""Accept a RabbitMQ definitions file (as ``export_definitions`` writes it) as a topology.

The definitions format is flat (every queue carries its ``vhost``); the topology format nests exchanges,
queues and bindings under their vhost. The conversion keeps the located mappings of the original file so
that problems still point at the right lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rabbitadmin.located import LocatedDict, LocatedList

DEFINITIONS_MARKERS = ("rabbit_version", "rabbitmq_version", "product_version", "queues", "exchanges", "bindings")
IGNORED_SECTIONS = (
    "rabbit_version",
    "rabbitmq_version",
    "product_name",
    "product_version",
    "global_parameters",
    # Written by 4.0's export (cluster-wide and per-vhost): descriptive only.
    "rabbitmq_definition_format",
    "original_cluster_name",
    "original_vhost_name",
    "explanation",
)
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


def _entries(document: LocatedDict, section: str, problem: ReportProblem) -> list[LocatedDict]:
    """The mappings of one section; a section or item of the wrong shape is a problem, not skipped."""
    raw = document.get(section)
    if raw is None:
        return []
    if not isinstance(raw, LocatedList):
        problem("expected a list", document.line_of(section), section)
        return []
    entries = []
    for index, item in enumerate(raw):
        if isinstance(item, LocatedDict):
            entries.append(item)
        else:
            problem("expected a mapping", raw.line_of(index), f"{section}[{index}]")
    return entries


def _without(source: LocatedDict, dropped: tuple[str, ...]) -> LocatedDict:
    return _copy(source, tuple(str(key) for key in source if key not in dropped))


def topology_document_from_definitions(document: LocatedDict, problem: ReportProblem) -> LocatedDict:
    """Rewrite a definitions document into the nested topology shape.

    Fields the definitions format carries but the topology does not manage (``limits``, ``metadata``
    once unpacked) are dropped; any other field is passed on, so the validator names unknown ones.
    """
    for section in UNSUPPORTED_SECTIONS:
        if document.get(section):
            problem(f"{section} are not supported yet; remove them from the file", document.line_of(section), section)
    known = (*IGNORED_SECTIONS, *UNSUPPORTED_SECTIONS, "vhosts", "users", "permissions", "topic_permissions")
    for key in document:
        if key not in known and key not in DEFINITIONS_MARKERS:
            problem(f"unknown definitions section {key!r}", document.line_of(key), str(key))

    vhosts: dict[str, LocatedDict] = {}
    for raw in _entries(document, "vhosts", problem):
        vhost = _without(raw, ("limits", "metadata", "tracing"))
        metadata = raw.get("metadata")
        if isinstance(metadata, LocatedDict):
            for key in ("description", "tags", "default_queue_type"):
                if key in metadata and key not in vhost:
                    vhost[key] = metadata[key]
                    vhost.key_lines[key] = metadata.line_of(key)
        name = str(raw.get("name"))
        if name in vhosts:
            problem(f"vhost {name!r} declared twice (first on line {vhosts[name].line})", raw.line, "vhosts")
            continue
        vhosts[name] = vhost

    for section in ("exchanges", "queues", "bindings"):
        for raw in _entries(document, section, problem):
            vhost_name = raw.get("vhost")
            if vhost_name is None:
                problem("is required", raw.line, f"{section}.vhost")
                continue
            owner = vhosts.get(str(vhost_name))
            if owner is None:
                problem(f"vhost {vhost_name!r} is not in the file's vhosts", raw.line_of("vhost"), f"{section}.vhost")
                continue
            owner.setdefault(section, _list([], raw.line)).append(_without(raw, ("vhost",)))
            owner[section].item_lines.append(raw.line)
            owner.key_lines.setdefault(section, raw.line)

    result = LocatedDict()
    result.line = document.line
    result.key_lines = {}
    result["vhosts"] = _list(list(vhosts.values()), document.line_of("vhosts"))
    result.key_lines["vhosts"] = document.line_of("vhosts")
    users = [_without(raw, ("limits",)) for raw in _entries(document, "users", problem)]
    result["users"] = _list(users, document.line_of("users"))
    result.key_lines["users"] = document.line_of("users")
    for section in ("permissions", "topic_permissions"):
        if section in document:
            result[section] = document[section]
            result.key_lines[section] = document.line_of(section)
    return result
