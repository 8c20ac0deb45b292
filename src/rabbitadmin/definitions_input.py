"""Accept a RabbitMQ definitions file (as ``export_definitions`` writes it) as a topology.

The definitions format is flat (every queue carries its ``vhost``); the topology format nests exchanges,
queues and bindings under their vhost. The conversion keeps the located mappings of the original file so
that problems still point at the right lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rabbitadmin.kinds import SERVER_OWNED_GLOBAL_PARAMETERS
from rabbitadmin.located import LocatedDict, LocatedList

DEFINITIONS_MARKERS = ("rabbit_version", "rabbitmq_version", "product_version", "queues", "exchanges", "bindings")
IGNORED_SECTIONS = (
    "rabbit_version",
    "rabbitmq_version",
    "product_name",
    "product_version",
    # Written by 4.0's export (cluster-wide and per-vhost): descriptive only.
    "rabbitmq_definition_format",
    "original_cluster_name",
    "original_vhost_name",
    "explanation",
)
#: Sections whose entries are not managed yet: said in a warning, never dropped in silence (issue 14).
NOT_MANAGED_SECTIONS: tuple[str, ...] = ()
#: Runtime parameter components that are objects of their own (kinds.py's ``component``), by the field of the
#: topology's vhost that holds them.
MANAGED_COMPONENTS = {"operator_policy": "operator_policies", "vhost-limits": "limits"}
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


def _renamed(source: LocatedDict, dropped: tuple[str, ...] = ("vhost",)) -> LocatedDict:
    """A policy entry in the topology's spelling (``apply-to`` is ``apply_to``), without ``dropped``."""
    result = _without(source, (*dropped, "apply-to"))
    if "apply-to" in source:
        result["apply_to"] = source["apply-to"]
        result.key_lines["apply_to"] = source.line_of("apply-to")
    return result


def _mapping(value: Any, line: int) -> Any:
    """A JSON object 3.10's export prints as a list of pairs (``limits``, operator policy definitions)."""
    if isinstance(value, list) and value and all(isinstance(p, list) and len(p) == 2 for p in value):
        result = LocatedDict()
        result.line = line
        result.key_lines = {}
        for name, item in value:
            result[str(name)] = item
            result.key_lines[str(name)] = getattr(value, "line_of", lambda _i: line)(0)
        return result
    return value


def _attach(owner: LocatedDict, field: str, item: Any, line: int) -> None:
    owner.setdefault(field, _list([], line)).append(item)
    owner[field].item_lines.append(line)
    owner.key_lines.setdefault(field, line)


def topology_document_from_definitions(
    document: LocatedDict, problem: ReportProblem, warning: ReportProblem | None = None
) -> LocatedDict:
    """Rewrite a definitions document into the nested topology shape.

    Policies go under their vhost's ``policies``; runtime parameters of the components rabbitadmin manages
    (operator policies, vhost limits) under ``operator_policies`` and ``limits``; users keep their ``limits``.
    Parameters of other components and global parameters are not managed: ``warning`` says how many.
    Fields the topology does not hold (``metadata`` once unpacked) are dropped; any other field is passed
    on, so the validator names unknown ones.
    """
    known = (
        *IGNORED_SECTIONS, *NOT_MANAGED_SECTIONS, "vhosts", "users", "permissions", "topic_permissions",
        "policies", "parameters", "global_parameters",
    )  # fmt: skip
    for section in NOT_MANAGED_SECTIONS:
        entries = document.get(section)
        if entries and warning is not None:
            what = section.replace("_", " ")
            warning(f"not managed: {len(entries)} {what} (left as they are on the server)",
                    document.line_of(section), section)  # fmt: skip
    for key in document:
        if key not in known and key not in DEFINITIONS_MARKERS:
            problem(f"unknown definitions section {key!r}", document.line_of(key), str(key))

    vhosts: dict[str, LocatedDict] = {}
    for raw in _entries(document, "vhosts", problem):
        vhost = _without(raw, ("limits", "metadata", "tracing"))
        if raw.get("limits"):  # 4.x exports (3.10.8: as a list of pairs)
            vhost["limits"] = _mapping(raw["limits"], raw.line_of("limits"))
            vhost.key_lines["limits"] = raw.line_of("limits")
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

    for index, raw in enumerate(_entries(document, "policies", problem)):
        owner = vhosts.get(str(raw.get("vhost")))
        if owner is None:
            problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts", raw.line, f"policies[{index}].vhost")
            continue
        _attach(owner, "policies", _renamed(raw), raw.line)
    not_managed: dict[str, int] = {}
    for index, raw in enumerate(_entries(document, "parameters", problem)):
        component = str(raw.get("component"))
        field = MANAGED_COMPONENTS.get(component)
        owner = vhosts.get(str(raw.get("vhost")))
        if field is None:
            _runtime_parameter(raw, owner, index, problem)
            continue
        value = _mapping(raw.get("value"), raw.line_of("value"))
        if owner is None or not isinstance(value, LocatedDict):
            problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts" if owner is None else
                    "expected a mapping", raw.line, f"parameters[{index}]")  # fmt: skip
            continue
        if field == "limits":
            if "limits" not in owner:
                owner["limits"] = value
                owner.key_lines["limits"] = raw.line
            continue
        policy = _renamed(value, ())
        policy["name"] = raw.get("name")
        policy.key_lines["name"] = raw.line_of("name")
        if "definition" in policy:
            policy["definition"] = _mapping(policy["definition"], policy.line_of("definition"))
        _attach(owner, "operator_policies", policy, raw.line)
    if not_managed and warning is not None:
        count = sum(not_managed.values())
        components = ", ".join(sorted(not_managed))
        warning(f"not managed: {count} parameters (components: {components}; left as they are on the server)",
                document.line_of("parameters"), "parameters")  # fmt: skip

    result = LocatedDict()
    result.line = document.line
    result.key_lines = {}
    result["vhosts"] = _list(list(vhosts.values()), document.line_of("vhosts"))
    result.key_lines["vhosts"] = document.line_of("vhosts")
    users = [
        raw if isinstance(raw.get("limits"), LocatedDict) or "limits" not in raw else _limits_as_mapping(raw)
        for raw in _entries(document, "users", problem)
    ]
    result["users"] = _list(users, document.line_of("users"))
    result.key_lines["users"] = document.line_of("users")
    for section in ("permissions", "topic_permissions"):
        if section in document:
            result[section] = document[section]
            result.key_lines[section] = document.line_of(section)
    if "global_parameters" in document:
        # The node's own (internal_cluster_id, cluster_tags) are in every export: never managed, left out.
        kept = [raw for raw in _entries(document, "global_parameters", problem)
                if raw.get("name") not in SERVER_OWNED_GLOBAL_PARAMETERS]  # fmt: skip
        result["global_parameters"] = _list(kept, document.line_of("global_parameters"))
        result.key_lines["global_parameters"] = document.line_of("global_parameters")
    return result


def _runtime_parameter(raw: LocatedDict, owner: LocatedDict | None, index: int, problem: ReportProblem) -> None:
    """A ``parameters`` entry of a plugin's component (shovel, federation-upstream...) under its vhost's
    ``parameters``, in the topology's shape (component, name, value)."""
    if owner is None:
        problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts", raw.line, f"parameters[{index}].vhost")
        return
    entry = _without(raw, ("vhost",))
    if "value" in entry:
        entry["value"] = _mapping(entry["value"], raw.line_of("value"))
    _attach(owner, "parameters", entry, raw.line)


def _limits_as_mapping(raw: LocatedDict) -> LocatedDict:
    user = _without(raw, ("limits",))
    limits = _mapping(raw["limits"], raw.line_of("limits"))
    if limits not in ([], None):
        user["limits"] = limits
        user.key_lines["limits"] = raw.line_of("limits")
    return user
