"""Accept a RabbitMQ definitions file (as ``export_definitions`` writes it) as a topology.

The definitions format is flat (every queue carries its ``vhost``); the topology format nests exchanges,
queues and bindings under their vhost. The conversion keeps the located mappings of the original file so
that problems still point at the right lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rabbitadmin.kinds import SERVER_EXCHANGE_TYPES, SERVER_OWNED_GLOBAL_PARAMETERS
from rabbitadmin.located import LocatedDict, LocatedList, WrittenFloat, WrittenInt
from rabbitadmin.passwords import DEFAULT_ALGORITHM, MD5

#: Top-level keys a topology never has (it nests queues, exchanges, bindings, policies and parameters under their
#: vhost): a document with any of them is definitions.
DEFINITIONS_MARKERS = (
    "rabbit_version", "rabbitmq_version", "product_version", "queues", "exchanges", "bindings", "policies",
    "parameters",
)  # fmt: skip
#: The sections whose every object names its vhost (``rabbit_definitions:apply_defs``, v3.10.8 and v4.0.5). A file
#: made only of these is definitions too, as the server's import reads it (204 with or without ``rabbit_version``,
#: measured on 3.10.8 and 4.0.5): the two a topology also has (permissions, topic_permissions) could only name users
#: and vhosts the file does not declare, which a topology refuses.
VHOST_NAMING_SECTIONS = (
    "permissions", "topic_permissions", "policies", "parameters", "queues", "exchanges", "bindings",
)  # fmt: skip
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
#: ``rabbit_version`` prefixes of exports whose users carry MD5 hashes without saying so: the server's own
#: rule (``rabbit_auth_backend_internal:hashing_algorithm/2``, 3.10.8 and 4.0.5) for a user entry without
#: ``hashing_algorithm``; any other version (or none) gets the server's configured module, SHA-256 by default.
MD5_VERSION_PREFIXES = ("3.0.", "3.1.", "3.2.", "3.3.", "3.4.", "3.5.")


class SourcePaths:
    """Where each part of the rewritten (nested) document came from in the definitions file.

    The validator names fields by the topology's paths (``vhosts[0].queues[1].arguments.x-max-length``);
    ``translate`` turns such a path back into the file's own (``queues[4].arguments.x-max-length``) by its
    longest recorded prefix, so that every problem points at what the user wrote.
    """

    def __init__(self) -> None:
        self._prefixes: dict[str, str] = {}

    def add(self, topology_path: str, file_path: str) -> None:
        self._prefixes[topology_path] = file_path

    def translate(self, field: str | None) -> str | None:
        if not field:
            return field
        cut = len(field)
        while cut > 0:
            prefix = field[:cut]
            if prefix in self._prefixes:
                return self._prefixes[prefix] + field[cut:]
            cut = max(field.rfind(".", 0, cut), field.rfind("[", 0, cut))
        return field


def md5_by_version(version: Any) -> bool:
    """True if a user entry without ``hashing_algorithm`` in a file of this ``rabbit_version`` holds MD5."""
    return isinstance(version, str) and version.startswith(MD5_VERSION_PREFIXES)


def is_definitions_document(document: Any) -> bool:
    """True if the document looks like server definitions rather than a nested topology."""
    return isinstance(document, dict) and is_definitions_keys(document)


def is_definitions_keys(keys: Iterable[Any]) -> bool:
    """True for the top-level keys of a definitions document: any of ``DEFINITIONS_MARKERS``, or only sections of
    ``VHOST_NAMING_SECTIONS`` (and keys the import ignores, ``IGNORED_SECTIONS``). Users, vhosts and global
    parameters alone stay a topology (the documented rule: ``rabbit_version`` makes them definitions), except
    while ``reading_as_definitions`` holds: then every mapping is definitions."""
    if _AS_DEFINITIONS:
        return True
    names = list(keys)
    if any(name in DEFINITIONS_MARKERS for name in names):
        return True
    sections = [name for name in names if name not in IGNORED_SECTIONS]
    return bool(sections) and all(name in VHOST_NAMING_SECTIONS for name in sections)


#: One entry per ``reading_as_definitions`` running. Process-wide rather than a ``ContextVar``: a fleet's apply loads
#: the file in worker threads, which would not see a ``ContextVar`` set here (one command runs per process).
_AS_DEFINITIONS: list[bool] = []


@contextmanager
def reading_as_definitions() -> Iterator[None]:
    """Within it, every top-level mapping is read as RabbitMQ definitions, whatever its keys (``is_definitions_keys``).

    For ``rabbitadmin definitions import FILE``: the user says FILE is definitions, so a file of users, vhosts or
    global parameters alone, which ``apply`` reads as a topology, is read as the server's ``POST /api/definitions``
    reads it (``rabbit_definitions:apply_defs/5``, v3.10.8 and v4.0.5: every section optional, none needing
    ``rabbit_version``); a vhost entry without description or tags then clears them, as that import does.
    """
    _AS_DEFINITIONS.append(True)
    try:
        yield
    finally:
        _AS_DEFINITIONS.pop()


#: The sections a topology shares with definitions files. A JSON file of these alone, without ``rabbit_version``,
#: is a topology (JSON topologies are documented); where it names a user or vhost it does not declare, a topology
#: refuses it while the server's import takes it (the server's objects): ``topology_hint`` says how to make it
#: definitions.
SHARED_SECTIONS = ("users", "vhosts", "permissions", "topic_permissions", "global_parameters")
TOPOLOGY_HINT = (
    '; this JSON file has no "rabbit_version", so it is read as a topology, which must declare every user and vhost '
    "it names: if it is RabbitMQ definitions (whose import takes the server's users and vhosts), add "
    '"rabbit_version" (the server\'s version, e.g. "3.10.8") at its top'
)


def topology_hint(document: Any, text: str) -> str | None:
    """``TOPOLOGY_HINT`` for a problem of ``document``'s topology reading that the definitions reading would not
    have (an undeclared user or vhost), when the file could be definitions: JSON text of ``SHARED_SECTIONS`` only."""
    if not text.lstrip().startswith("{") or not isinstance(document, dict) or is_definitions_document(document):
        return None
    return TOPOLOGY_HINT if document and all(key in SHARED_SECTIONS for key in document) else None


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


def _without(source: LocatedDict, dropped: tuple[str, ...]) -> LocatedDict:
    return _copy(source, tuple(str(key) for key in source if key not in dropped))


def _queue_type_warning(raw: LocatedDict, source: str, warning: ReportProblem) -> None:
    """A queue entry's ``type`` (``GET /api/queues`` writes one) is honoured, as in a topology; the server's own
    import ignores it and takes the type from ``arguments.x-queue-type`` alone (``rabbit_definitions``
    ``add_queue_int/3``, 3.10.8 and 4.0.5). Said when the two would create different queues."""
    arguments = raw.get("arguments")
    declared = arguments.get("x-queue-type") if isinstance(arguments, dict) else None
    if declared is None and raw["type"] not in (None, "classic"):
        warning(f"the server's own import ignores a queue's type field (it reads arguments.x-queue-type): it would "
                f"create this queue as classic (4.0: the vhost's default type); rabbitadmin creates it as "
                f"{raw['type']!r}", raw.line_of("type"), f"{source}.type")  # fmt: skip


def _renamed(source: LocatedDict, dropped: tuple[str, ...] = ("vhost",)) -> LocatedDict:
    """A policy entry in the topology's spelling (``apply-to`` is ``apply_to``), without ``dropped``."""
    result = _without(source, (*dropped, "apply-to"))
    if "apply-to" in source:
        result["apply_to"] = source["apply-to"]
        result.key_lines["apply_to"] = source.line_of("apply-to")
    return result


def _mapping(value: Any, line: int) -> Any:
    """A JSON object printed as a list of pairs (3.10's ``vhosts[].limits``, which the import ignores). Where the
    import itself reads the object, a list is refused instead (``OBJECT_ONLY``)."""
    if isinstance(value, list) and value and all(isinstance(p, list) and len(p) == 2 for p in value):
        result = LocatedDict()
        result.line = line
        result.key_lines = {}
        for name, item in value:
            result[str(name)] = item
            result.key_lines[str(name)] = getattr(value, "line_of", lambda _i: line)(0)
        return result
    return value


def _attach(
    owner: LocatedDict, owner_path: str, field: str, item: Any, line: int, paths: SourcePaths, source: str
) -> None:
    """Put ``item`` in ``owner``'s list ``field`` and remember that it came from ``source`` in the file."""
    items = owner.setdefault(field, _list([], line))
    paths.add(f"{owner_path}.{field}[{len(items)}]", source)
    items.append(item)
    items.item_lines.append(line)
    owner.key_lines.setdefault(field, line)


def topology_document_from_definitions(
    document: LocatedDict,
    problem: ReportProblem,
    warning: ReportProblem | None = None,
    paths: SourcePaths | None = None,
    into_vhost: str | None = None,
) -> LocatedDict:
    """Rewrite a definitions document into the nested topology shape.

    ``into_vhost``: the document is a per-vhost export (``GET /api/definitions/{vhost}``), imported into this
    vhost as the server's ``POST /api/definitions/{vhost}`` does: its objects go there, and the vhost's own
    description, tags and default queue type are left as they are (the vhost is created if missing).

    Policies go under their vhost's ``policies``; runtime parameters of the operator_policy and vhost-limits
    components under ``operator_policies`` and ``limits``, those of any other component (shovel,
    federation-upstream...) under ``parameters``; users keep their ``limits``; global parameters stay at the
    top, without the node's own (``kinds.SERVER_OWNED_GLOBAL_PARAMETERS``).
    Fields the topology does not hold (``metadata`` once unpacked) are dropped; fields and sections the server's
    import ignores (``IMPORT_READS``) and objects it skips (``_skipped``) are left out, each with one warning.
    ``paths`` learns where each rewritten part came from in the file (``SourcePaths.translate``); problems
    reported here already name the file's own paths.
    """
    paths = SourcePaths() if paths is None else paths
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
    if into_vhost is not None:
        whole = [name for name in WHOLE_SERVER_SECTIONS if document.get(name)]
        if not _fits_one_vhost(document):
            problem(f"--vhost {into_vhost!r} is for a per-vhost export; this file names the vhosts of its objects",
                    document.line, "vhosts")  # fmt: skip
            return LocatedDict()
        if whole and document.get("rabbitmq_definition_format") != "single_virtual_host":
            problem(f"--vhost {into_vhost!r} is for a per-vhost export; this file holds {', '.join(whole)}, which "
                    "only a whole-server import reads: import it without --vhost", document.line_of(whole[0]),
                    whole[0])  # fmt: skip
            return LocatedDict()
        _place_in_vhost(document, into_vhost)
    elif _is_per_vhost_export(document):
        # One problem rather than "vhost: is required" on every item: the file is fine, its shape is another.
        problem(
            "a per-vhost export (GET /api/definitions/{vhost}, or the UI's export of one vhost): its objects name "
            "no vhost; import it with `rabbitadmin definitions import FILE --vhost NAME`, or export the whole "
            "server",
            document.line,
            "vhosts",
        )
        return LocatedDict()
    if into_vhost is not None:  # what a per-vhost export says of its own vhost: not imported (see above)
        known = (*known, *PER_VHOST_ONLY_SECTIONS)
    for key in document:
        if key not in known and key not in DEFINITIONS_MARKERS and warning is not None:
            warning(f"unknown definitions section {key!r}: the server's import ignores it too (it reads its known "
                    "sections only); rabbitadmin leaves it out", document.line_of(key), str(key))  # fmt: skip
    _refuse_topology_nesting(document, problem)
    _leave_out_ignored_fields(document, warning)
    for section in LIST_SECTIONS:
        if section in document and document[section] is None:
            problem("is null: the server's import fails on it (HTTP 500, after writing the sections it reads first); "
                    "give [] for none", document.line_of(section), section)  # fmt: skip

    vhosts: dict[str, LocatedDict] = {}
    vhost_paths: dict[str, str] = {}
    for index, raw in _indexed(document, "vhosts", problem):
        source = f"vhosts[{index}]"
        _check(raw, "vhosts", source, problem)
        vhost = _without(raw, ("limits", "metadata", "default_queue_type"))
        if raw.get("limits"):  # 4.x exports (3.10.8: as a list of pairs)
            vhost["limits"] = _mapping(raw["limits"], raw.line_of("limits"))
            vhost.key_lines["limits"] = raw.line_of("limits")
        name = str(raw.get("name"))
        if name in vhosts:
            problem(f"vhost {name!r} declared twice (first on line {vhosts[name].line})", raw.line, source)
            continue
        target = f"vhosts[{len(vhosts)}]"
        paths.add(target, source)
        if name != into_vhost:  # the vhost a per-vhost export goes into keeps its own metadata
            _vhost_metadata(raw, vhost, paths, target, source, warning)
            _tags_warning(raw, "vhosts", source, warning)
        vhosts[name] = vhost
        vhost_paths[name] = target

    for section in ("exchanges", "queues", "bindings"):
        for index, raw in _indexed(document, section, problem):
            source = f"{section}[{index}]"
            vhost_name = raw.get("vhost")
            if vhost_name is None:
                problem("is required", raw.line, f"{source}.vhost")
                continue
            skipped = _skipped(section, raw)
            if skipped is not None:
                if warning is not None:
                    warning(f"{skipped}; rabbitadmin leaves it out too", raw.line, source)
                continue
            owner = _owner(vhosts, vhost_paths, vhost_name, raw, paths, source)
            if owner is None:
                problem(f"vhost {vhost_name!r} is not in the file's vhosts", raw.line_of("vhost"), f"{source}.vhost")
                continue
            if section == "queues" and "type" in raw and warning is not None:
                _queue_type_warning(raw, source, warning)
            _check(raw, section, source, problem, warning)
            if section == "queues" and warning is not None:
                missing = [key for key in ("durable", "auto_delete") if key not in raw]
                if missing:
                    warning(f"RabbitMQ 3.x's import refuses a queue without {' and '.join(missing)} (4.0's, as "
                            "rabbitadmin, takes durable true and auto_delete false)", raw.line, source)  # fmt: skip
            entry = _empty_lists_as_objects(_without(raw, ("vhost",)), section)
            _attach(owner, vhost_paths[str(vhost_name)], section, entry, raw.line, paths, source)

    for index, raw in _indexed(document, "policies", problem):
        source = f"policies[{index}]"
        if "vhost" not in raw:  # the server's import: 400 no_such_vhost (3.10.8), 500 (4.0.5)
            problem("is required", raw.line, f"{source}.vhost")
            continue
        owner = _owner(vhosts, vhost_paths, raw.get("vhost"), raw, paths, source)
        if owner is None:
            problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts", raw.line_of("vhost"), f"{source}.vhost")
            continue
        _check(raw, "policies", source, problem)
        owner_path = vhost_paths[str(raw.get("vhost"))]
        paths.add(f"{owner_path}.policies[{len(owner.get('policies', ()))}].apply_to", f"{source}.apply-to")
        _attach(owner, owner_path, "policies", _renamed(raw), raw.line, paths, source)
    own_limits = {name: vhost_paths[name] for name, vhost in vhosts.items() if "limits" in vhost}
    for index, raw in _indexed(document, "parameters", problem):
        source = f"parameters[{index}]"
        if "vhost" not in raw:  # as a policy's (above)
            problem("is required", raw.line, f"{source}.vhost")
            continue
        component = str(raw.get("component"))
        field = MANAGED_COMPONENTS.get(component)
        owner = _owner(vhosts, vhost_paths, raw.get("vhost"), raw, paths, source)
        if field is None:
            _runtime_parameter(raw, owner, vhost_paths.get(str(raw.get("vhost"))), paths, source, problem)
            continue
        value = raw.get("value")
        if owner is None:
            problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts", raw.line_of("vhost"), f"{source}.vhost")
            continue
        if component in FIXED_NAMES and raw.get("name") != FIXED_NAMES[component]:
            problem(f"a {component} parameter named {raw.get('name')!r}: the server's import stores it (where it "
                    f"limits nothing) and then fails (HTTP 500); name it {FIXED_NAMES[component]!r}",
                    raw.line_of("name"), f"{source}.name")  # fmt: skip
            continue
        if not _check(raw, component, source, problem):
            continue
        if component == "vhost-limits" and value == []:  # the import stores it as no limits
            value = _empty_lists_as_objects(raw, component)["value"]
        if not isinstance(value, LocatedDict):
            problem("expected a mapping", raw.line_of("value"), f"{source}.value")
            continue
        owner_path = vhost_paths[str(raw.get("vhost"))]
        if field == "limits":  # what the server's import reads (it ignores vhosts[].limits)
            owner["limits"] = value
            owner.key_lines["limits"] = raw.line
            paths.add(f"{owner_path}.limits", f"{source}.value")
            own_limits.pop(str(raw.get("vhost")), None)
            continue
        policy = _renamed(value, ())
        policy["name"] = raw.get("name")
        policy.key_lines["name"] = raw.line_of("name")
        target = f"{owner_path}.operator_policies[{len(owner.get('operator_policies', ()))}]"
        paths.add(f"{target}.name", f"{source}.name")
        paths.add(f"{target}.apply_to", f"{source}.value.apply-to")
        _attach(owner, owner_path, "operator_policies", policy, raw.line, paths, f"{source}.value")
    for name, target in own_limits.items():
        if warning is not None:  # exports write both; a hand-written file may carry only these
            where = paths.translate(f"{target}.limits")
            warning("the server's own import ignores a vhost's limits here (it reads the vhost-limits parameter); "
                    "rabbitadmin applies them", vhosts[name].line_of("limits"), where)  # fmt: skip

    result = LocatedDict()
    result.line = document.line
    result.key_lines = {}
    result["vhosts"] = _list(list(vhosts.values()), document.line_of("vhosts"))
    result.key_lines["vhosts"] = document.line_of("vhosts")
    version = document.get("rabbitmq_version", document.get("rabbit_version"))
    version_line = document.line_of("rabbitmq_version" if "rabbitmq_version" in document else "rabbit_version")
    users: list[LocatedDict] = []
    for index, raw in _indexed(document, "users", problem):
        paths.add(f"users[{len(users)}]", f"users[{index}]")
        users.append(_user(raw, version, version_line, problem, f"users[{index}]", warning))
    result["users"] = _list(users, document.line_of("users"))
    result.key_lines["users"] = document.line_of("users")
    for section in ("permissions", "topic_permissions"):
        if section in document:
            result[section] = document[section]
            result.key_lines[section] = document.line_of(section)
    if "global_parameters" in document:
        # The node's own (internal_cluster_id, cluster_tags) are in every export: never managed, left out without
        # a word (a deliberate difference, docs/topology.md: the server's own import would replace the node's
        # values with the file's, 3.10.8 and 4.0.5; a warning on every whole-server export would fail --strict).
        kept: list[LocatedDict] = []
        for index, raw in _indexed(document, "global_parameters", problem):
            if raw.get("name") not in SERVER_OWNED_GLOBAL_PARAMETERS:
                paths.add(f"global_parameters[{len(kept)}]", f"global_parameters[{index}]")
                kept.append(raw)
        result["global_parameters"] = _list(kept, document.line_of("global_parameters"))
        result.key_lines["global_parameters"] = document.line_of("global_parameters")
    return result


#: The key of the entry ``_owner`` makes for a vhost the file's objects name but its ``vhosts`` does not: not a
#: string, so no file can write it. Its value is the file's field of the first such reference.
REFERENCED = object()


def _owner(
    vhosts: dict[str, LocatedDict], vhost_paths: dict[str, str], name: Any, raw: LocatedDict, paths: SourcePaths,
    source: str,
) -> LocatedDict | None:
    """The entry of the vhost ``name`` that an object of the file names; for a vhost not in the file's ``vhosts``,
    an entry marked ``REFERENCED`` (made once): the server's import takes such a file when the vhost exists on
    the server (3.10.8 and 4.0.5, measured), so the vhost is only referred to (``validate`` warns, the planner
    checks the server). A name that is not a string is looked up in the file's vhosts only (None: not there)."""
    if not isinstance(name, str):
        return vhosts.get(str(name))
    owner = vhosts.get(name)
    if owner is None:
        owner = LocatedDict(name=name)
        owner.line = raw.line_of("vhost")
        owner[REFERENCED] = f"{source}.vhost"
        target = f"vhosts[{len(vhosts)}]"
        paths.add(target, f"{source}.vhost")
        paths.add(f"{target}.name", f"{source}.vhost")
        vhosts[name] = owner
        vhost_paths[name] = target
    return owner


def _runtime_parameter(
    raw: LocatedDict, owner: LocatedDict | None, owner_path: str | None, paths: SourcePaths, source: str,
    problem: ReportProblem,
) -> None:
    """A ``parameters`` entry of a plugin's component (shovel, federation-upstream...) under its vhost's
    ``parameters``, in the topology's shape (component, name, value). Its value is passed on as the import passes
    it to the plugin's validator: a list of pairs is a list (refused where the plugin wants an object)."""
    if owner is None or owner_path is None:
        problem(f"vhost {raw.get('vhost')!r} is not in the file's vhosts", raw.line_of("vhost"), f"{source}.vhost")
        return
    if _check(raw, str(raw.get("component")), source, problem):
        _attach(owner, owner_path, "parameters", _without(raw, ("vhost",)), raw.line, paths, source)


def _is_per_vhost_export(document: LocatedDict) -> bool:
    """True for the shape of ``GET /api/definitions/{vhost}`` that a whole-server import cannot read: no vhosts,
    and exchanges, queues and bindings that name no vhost (``rabbit_definitions:any_orphaned_in_doc/1``, v4.0.5,
    refuses such a file; 3.10.8 fails on it part-way), or, with none of those, policies or parameters that name
    none (3.10.8: 400 ``no_such_vhost``; 4.0.5: 500). Where they name theirs the file is whole-server: 3.10.8's
    per-vhost export keeps a policy's and a parameter's ``vhost`` (4.0.5's strips them), and the server's own import
    of a file of them alone puts each into the vhost it names (204, measured on 3.10.8 and 4.0.5), as rabbitadmin
    then does. 4.0's ``rabbitmq_definition_format`` is no part of the rule: the server's import does not read it."""
    if document.get("vhosts") is not None:
        return False
    objects = [item for name in PER_VHOST_SECTIONS for item in _entries(document, name)]
    placed = [item for name in ("queues", "exchanges", "bindings") for item in _entries(document, name)]
    named = [item for item in (placed or objects) if "vhost" in item]
    return any("vhost" not in item for item in objects) and not named


def _fits_one_vhost(document: LocatedDict) -> bool:
    """True for a document ``--vhost`` may import into one vhost, as ``POST /api/definitions/{vhost}`` does: a
    per-vhost export (4.0's says so; 3.10's exchanges, queues and bindings name no vhost, its policies and parameters
    the one it came from), or one holding nothing."""
    if document.get("rabbitmq_definition_format") == "single_virtual_host":  # 4.0's own word for it
        return True
    return not any("vhost" in item for name in ("queues", "exchanges", "bindings") for item in _entries(document, name))


def _entries(document: LocatedDict, section: str) -> list[LocatedDict]:
    """The mappings of one section (anything else is ``_indexed``'s problem)."""
    items = document.get(section)
    return [item for item in items if isinstance(item, LocatedDict)] if isinstance(items, list) else []


#: The sections of a per-vhost export, whose objects carry no ``vhost`` field.
PER_VHOST_SECTIONS = ("queues", "exchanges", "bindings", "policies", "parameters")
#: The sections only a whole-server import reads (``rabbit_definitions:apply_defs/4``, for one vhost, skips them).
WHOLE_SERVER_SECTIONS = ("users", "vhosts", "permissions", "topic_permissions", "global_parameters")
#: What 4.0.5's per-vhost export adds about the vhost itself. Its own import into another vhost leaves that
#: vhost's description, tags and default queue type as they are (seen on 4.0.5); limits come through the
#: ``vhost-limits`` parameter, which ``parameters`` carries too.
PER_VHOST_ONLY_SECTIONS = (
    "rabbitmq_definition_format", "original_vhost_name", "explanation", "metadata", "description",
    "default_queue_type", "limits",
)  # fmt: skip


def _place_in_vhost(document: LocatedDict, vhost: str) -> None:
    """Put every object of a per-vhost export in ``vhost``, and give the document that vhost (at its first
    line). A policy's own ``vhost`` field (exports keep it) is replaced, as the server's import does."""
    for name in PER_VHOST_SECTIONS:
        section = document.get(name)
        for item in section if isinstance(section, list) else ():
            if isinstance(item, LocatedDict):
                item["vhost"] = vhost
                item.key_lines["vhost"] = item.line
    entry = LocatedDict(name=vhost)
    entry.line = document.line
    document["vhosts"] = _list([entry], document.line)
    document.key_lines["vhosts"] = document.line


def _indexed(document: LocatedDict, section: str, problem: ReportProblem) -> list[tuple[int, LocatedDict]]:
    """The mappings of one section with their index in the file (an item of the wrong shape is a problem)."""
    raw = document.get(section)
    if raw is None:
        return []
    if not isinstance(raw, LocatedList):
        problem("expected a list", document.line_of(section), section)
        return []
    entries = []
    for index, item in enumerate(raw):
        if isinstance(item, LocatedDict):
            entries.append((index, item))
        else:
            problem("expected a mapping", raw.line_of(index), f"{section}[{index}]")
    return entries


def _vhost_metadata(
    raw: LocatedDict, vhost: LocatedDict, paths: SourcePaths, target: str, source: str, warning: ReportProblem | None
) -> None:
    """A vhost's description, tags and default queue type, read as the server's import reads them
    (``rabbit_definitions:add_vhost/2``, 3.10.8 and 4.0.5): description and tags at the top level win over
    ``metadata``'s, and default to empty (so an entry without them clears them, as the import does); the
    default queue type is read from ``metadata`` only. A top-level ``default_queue_type``
    alone (what some hand-written files carry) is honoured, with a warning that the server's import ignores it.
    """
    metadata = raw.get("metadata")
    metadata = metadata if isinstance(metadata, LocatedDict) else LocatedDict()
    for key in ("description", "tags", "default_queue_type"):
        if key in metadata and (key == "default_queue_type" or key not in raw):
            vhost[key] = metadata[key]
            vhost.key_lines[key] = metadata.line_of(key)
            paths.add(f"{target}.{key}", f"{source}.metadata.{key}")
    if "default_queue_type" in raw and "default_queue_type" not in metadata:
        vhost["default_queue_type"] = raw["default_queue_type"]
        vhost.key_lines["default_queue_type"] = raw.line_of("default_queue_type")
        if warning is not None and raw["default_queue_type"] not in (None, "undefined", "classic"):
            warning("the server's own import reads the default queue type from metadata.default_queue_type "
                    "only and ignores this one; rabbitadmin applies it", raw.line_of("default_queue_type"),
                    f"{source}.default_queue_type")  # fmt: skip
    for key, empty in (("description", ""), ("tags", _list([], raw.line))):
        if key not in vhost:  # the import's own defaults: an entry without them clears them on the server
            vhost[key] = empty
            vhost.key_lines[key] = raw.line
    if vhost["tags"] is None:  # the import reads null tags as none (3.10.8 and 4.0.5, measured): cleared too
        vhost["tags"] = _list([], vhost.line_of("tags"))
    if vhost.get("default_queue_type") == "undefined":  # what 3.10 exports for a vhost without one
        del vhost["default_queue_type"]


def _user(
    raw: LocatedDict, version: Any, version_line: int, problem: ReportProblem, source: str,
    warning: ReportProblem | None = None,
) -> LocatedDict:
    """A user entry as the server's import reads it (``rabbit_auth_backend_internal:put_user/3``).

    ``limits`` as a mapping only (the import refuses a list, even ``[]``); ``administrator`` (2.x exports) for tags
    when ``tags`` is missing; no tags at all is refused, as the server refuses it (``tags_not_present``);
    a hash without ``hashing_algorithm`` is read by the file's ``rabbit_version`` (MD5 before 3.6).
    A plain-text ``password`` is passed on for the validator to take, warn about and hash locally.
    """
    user = _without(raw, ("limits", "administrator", "permissions"))
    if raw.get("permissions") and warning is not None:  # {} (what some exports write) sets nothing
        warning("the server's import sets a user's own permissions only when it creates the user "
                "(rabbit_auth_backend_internal:put_user/3); rabbitadmin leaves them out: give them in the "
                "permissions section", raw.line_of("permissions"), f"{source}.permissions")  # fmt: skip
    if raw.get("limits") is not None and not isinstance(raw["limits"], list):  # a list: OBJECT_ONLY's problem
        user["limits"] = raw["limits"]
        user.key_lines["limits"] = raw.line_of("limits")
    if "tags" not in raw:
        if "administrator" in raw:
            administrator = raw["administrator"] in (True, "true")
            user["tags"] = _list(["administrator"] if administrator else [], raw.line_of("administrator"))
            user.key_lines["tags"] = raw.line_of("administrator")
        else:
            problem('has no "tags": the server\'s import refuses such a user (tags_not_present); give "tags": ""'
                    " for none", raw.line, source)  # fmt: skip
    _check(raw, "users", source, problem)
    _tags_warning(raw, "users", source, warning)
    if "password_hash" in raw and "hashing_algorithm" not in raw:
        user["hashing_algorithm"] = MD5 if md5_by_version(version) else DEFAULT_ALGORITHM
        user.key_lines["hashing_algorithm"] = version_line if md5_by_version(version) else raw.line
    return user


#: The fields of each section's entries that the server's own import reads (v3.10.8 and v4.0.5):
#: ``rabbit_definitions``' add_vhost/2, add_permission/2, add_topic_permission/2, add_exchange_int/3,
#: add_queue_int/3, add_binding_int/4, add_policy/3, add_parameter/3 and add_global_parameter/2, and
#: ``rabbit_auth_backend_internal:put_user/3`` for users. The one place that says which fields a definitions entry
#: may have: any other the import ignores (measured on 3.10.8 and 4.0.5: 204, the object created without it), and
#: rabbitadmin leaves it out, with a warning (``IGNORED_FIELD_NOTES``). A queue's ``exclusive`` 4.0.5 reads only to
#: choose a queue type; both create the queue non-exclusive: it is left out, said as ignored.
IMPORT_READS: dict[str, tuple[str, ...]] = {
    "users": ("name", "password", "password_hash", "hashing_algorithm", "tags", "administrator", "limits",
              "permissions"),
    "vhosts": ("name", "description", "tags", "metadata", "tracing"),
    "permissions": ("user", "vhost", "configure", "write", "read"),
    "topic_permissions": ("user", "vhost", "exchange", "write", "read"),
    "exchanges": ("name", "vhost", "type", "durable", "auto_delete", "internal", "arguments"),
    "queues": ("name", "vhost", "durable", "auto_delete", "arguments"),
    "bindings": ("source", "vhost", "destination", "destination_type", "routing_key", "arguments"),
    "policies": ("vhost", "name", "pattern", "definition", "priority", "apply-to"),
    "parameters": ("vhost", "component", "name", "value"),
    "global_parameters": ("name", "value"),
}  # fmt: skip
#: Fields the import ignores that rabbitadmin reads, each with its own warning where the results differ: a queue's
#: ``type`` (``_queue_type_warning``), a vhost's ``limits`` and top-level ``default_queue_type`` (4.0.5's export
#: writes both; ``_vhost_metadata`` and the vhost-limits parameter).
ALSO_READ: dict[str, tuple[str, ...]] = {"queues": ("type",), "vhosts": ("limits", "default_queue_type")}
#: What a warning says of an ignored field, where more is to be said than that it is ignored.
IGNORED_FIELD_NOTES: dict[tuple[str, str], str] = {
    ("queues", "exclusive"): "the server's import ignores it too (it never creates an exclusive queue; 4.0.5 reads "
                             "it only to choose the queue's type); rabbitadmin leaves it out",
}  # fmt: skip


def _leave_out_ignored_fields(document: LocatedDict, warning: ReportProblem | None) -> None:
    """Drop (in place) each entry's fields that ``IMPORT_READS`` and ``ALSO_READ`` do not name, one warning each
    at its own line: the server's import takes such a file and ignores them, and so does rabbitadmin. ``state``
    ``present`` or ``absent`` is rabbitadmin's own (docs/topology.md: a hand-written file may delete with it); any
    other ``state`` (``running``, as ``GET /api/vhosts`` writes it) is an ignored field like the others."""
    for section, read in IMPORT_READS.items():
        entries = document.get(section)
        if not isinstance(entries, list):
            continue
        allowed = frozenset((*read, *ALSO_READ.get(section, ())))
        for index, entry in enumerate(entries):
            if not isinstance(entry, LocatedDict) or entry.keys() <= allowed:  # the common case, at C speed
                continue
            for key in [key for key in entry if key not in allowed and not _own_state(key, entry[key])]:
                if warning is not None:
                    note = IGNORED_FIELD_NOTES.get((section, str(key)))
                    if key == "state":
                        note = (f"state {entry[key]!r} is not rabbitadmin's present or absent: the server's import "
                                "ignores it too; rabbitadmin leaves it out")
                    warning(note or f"unknown field {key!r}: the server's import ignores it too; rabbitadmin "
                            "leaves it out", entry.line_of(key), f"{section}[{index}].{key}")  # fmt: skip
                del entry[key]


#: A topology's fields of a vhost that hold its objects: in a definitions file's ``vhosts`` they are a topology read as
#: definitions (because of a marker such as a top-level ``queues`` or ``policies``), not fields to leave out.
TOPOLOGY_NESTING = ("exchanges", "queues", "bindings", "policies", "operator_policies", "parameters")


def _refuse_topology_nesting(document: LocatedDict, problem: ReportProblem) -> None:
    """A vhost entry holding a topology's list of objects is refused, where an unknown field is otherwise left out
    (the server's import ignores it): leaving them out would drop every object listed there, and ``--prune`` would
    then delete them on the server. The message says why the file is definitions, and the two ways out."""
    vhosts = document.get("vhosts")
    markers = [str(key) for key in document if key in DEFINITIONS_MARKERS or key in VHOST_NAMING_SECTIONS]
    # Without a marker the file is definitions because `definitions import` was told so (reading_as_definitions).
    why, way_out = (
        (f"it has {', '.join(markers[:3])} at its top", f"make the file a topology (no {markers[0]} at its top)")
        if markers
        else ("given to `rabbitadmin definitions import`", "for a topology use `rabbitadmin apply`")
    )
    for index, entry in enumerate(vhosts if isinstance(vhosts, list) else ()):
        for key in TOPOLOGY_NESTING if isinstance(entry, LocatedDict) else ():
            if isinstance(entry.get(key), list):
                problem(f"a topology's {key} inside a vhost, in a file read as RabbitMQ definitions ({why}): list "
                        f"them at the top, each naming its vhost, or {way_out}", entry.line_of(key),
                        f"vhosts[{index}].{key}")  # fmt: skip


def _own_state(key: Any, value: Any) -> bool:
    """True for rabbitadmin's own ``state`` field (present or absent), which the validator reads."""
    return key == "state" and value in ("present", "absent")


def _is_skipped_exchange(name: Any) -> bool:
    """An ``amq.*`` exchange name the import skips that is none of the server's own (no binding can name it)."""
    return isinstance(name, str) and name.startswith("amq.") and name not in SERVER_EXCHANGE_TYPES


def _skipped(section: str, raw: LocatedDict) -> str | None:
    """Why the server's import skips this exchange, queue or binding (None: it does not), measured on 3.10.8 and
    4.0.5 (204, nothing created). ``rabbit_definitions:add_queue_int/3`` skips a queue named ``amq.*``,
    ``add_exchange_int/3`` the default exchange and ``amq.*`` exchanges (the server's own exist already). A binding
    of the default exchange 3.10.8 ignores; 4.0.5 stores it as a listed binding no client could declare. A binding
    to or from an object the import skipped 3.10.8 skips; 4.0.5 refuses the file (400 not_found) unless the object
    exists on the server."""
    name = raw.get("name")
    if section == "queues" and isinstance(name, str) and name.startswith("amq."):
        return "the server's import skips a queue whose name begins with amq. (reserved for the server)"
    if section == "exchanges" and name == "":
        return "the server's import skips the default exchange (the server's own)"
    if section == "exchanges" and isinstance(name, str) and name.startswith("amq."):
        return "the server's import skips an exchange whose name begins with amq. (reserved for the server)"
    if section != "bindings":
        return None
    source, destination, kind = raw.get("source"), raw.get("destination"), raw.get("destination_type")
    if source == "":
        return ("a binding of the default exchange, which no client can declare: the server's import skips it "
                "(3.10.8), or stores it as a listed binding (4.0.5)")
    if _is_skipped_exchange(source) or (kind == "exchange" and _is_skipped_exchange(destination)):
        return ("a binding of an amq.* exchange that is not the server's own, which the import skips: 3.10.8's "
                "import skips the binding too; 4.0.5's refuses the file (not_found)")
    if kind == "queue" and isinstance(destination, str) and destination.startswith("amq."):
        return ("a binding to a queue named amq.*, which the import skips: 3.10.8's import skips the binding "
                "too; 4.0.5's binds it if the queue exists on the server and refuses the file otherwise")
    return None


#: Fields the server's own import refuses as null (400 function_clause, badarg or case_clause, or 500; measured on
#: 3.10.8 and 4.0.5, tests/integration/test_definitions_nulls.py), where a topology reads an empty field as its default.
#: Left out, most of them get the import's defaults; null it cannot read. Keys are definitions sections, plus
#: ``operator_policy`` and ``vhost-limits`` for a ``parameters`` entry of that component; a dotted field is inside
#: the entry (``value.apply-to``). A vhost's ``tracing`` null is refused after the import created the vhost;
#: ``metadata.default_queue_type`` null 3.10.8 answers 204 to and creates no vhost at all.
NOT_NULL: dict[str, tuple[str, ...]] = {
    "users": ("tags", "password", "password_hash", "limits"),
    "vhosts": ("tracing", "metadata", "metadata.default_queue_type"),
    "exchanges": ("type", "durable", "arguments"),
    "queues": ("durable", "auto_delete", "arguments"),
    "bindings": ("destination_type", "arguments"),
    "policies": ("apply-to",),
    "operator_policy": ("value.apply-to",),
}


#: Fields without which the server's own import refuses an entry (3.10.8 and 4.0.5, measured; a queue's durable and
#: auto_delete only 3.x refuses to miss: a warning). An operator policy's pattern and definition the validator
#: requires itself.
REQUIRED: dict[str, tuple[str, ...]] = {
    "exchanges": ("type", "durable"),
    "queues": (),
    "bindings": ("destination_type",),
    "operator_policy": ("value.priority",),  # 400 "Key priority not found" (a policy's defaults to 0)
}


#: Fields the server's own import reads as an object only (400; 3.10.8: 500 for a user's limits; both: 500 for a
#: plugin parameter's string; measured, tests/integration/test_definitions_shapes.py): a list of pairs
#: (``rabbitmqctl export_definitions``' way of printing an object) or a string is refused, where rabbitadmin would
#: read it. Null is ``NOT_NULL``'s; ``[]`` is ``EMPTY_LIST_IS_OBJECT``'s where the import takes it; ``vhosts[].limits``,
#: which the import ignores, keeps 3.10's list of pairs.
OBJECT_ONLY: dict[str, tuple[str, ...]] = {
    "users": ("limits",),
    "vhosts": ("metadata",),
    "operator_policy": ("value", "value.definition"),
    "vhost-limits": ("value",),
    "shovel": ("value",),  # the plugins' own validators: 400 "Unrecognised terms" for a list of pairs
    "federation-upstream": ("value",),
}


#: Fields the server's own import reads ``[]`` in as ``{}`` (``rabbit_definitions:args/1``; the vhost-limits
#: validator; 3.10.8 and 4.0.5, measured): taken so, as a topology's empty mapping. Other lists are refused (by
#: ``OBJECT_ONLY`` or the validator's "expected a mapping"), as the import refuses them.
EMPTY_LIST_IS_OBJECT: dict[str, tuple[str, ...]] = {
    "exchanges": ("arguments",),
    "queues": ("arguments",),
    "bindings": ("arguments",),
    "vhost-limits": ("value",),
}


#: Values the server's own import takes and stores as they are, which no client can declare and which do not act as
#: rabbitadmin's reading of them would (measured on 3.10.8 and 4.0.5): refused, with what the server would make of
#: them. The check: ``null`` (the value null), ``string`` (anything but a string, null too; YAML's ``010`` is its text
#: as written, as everywhere), ``present`` (missing).
#: A vhost's ``metadata.description`` counts only without its own ``description`` (``rabbit_definitions:add_vhost/2``
#: reads the entry's first).
STORED_AS_GIVEN: dict[str, dict[str, tuple[str, str]]] = {
    "users": {
        "hashing_algorithm": ("null", "stores null as the user's hashing algorithm, and the user cannot log in; give "
                                      "it, or leave the field out (SHA-256)"),
    },
    "vhosts": {
        "description": ("string", 'stores it as it is (null, a number...), not as text; give a string ("" for none)'),
        "metadata.description": ("string", "stores it as it is (null, a number...), not as text; give a string "
                                           '("" for none)'),
    },
    "exchanges": {
        "auto_delete": ("null", "stores null as auto_delete (listed as null; acting as false); give false"),
        "internal": ("null", "stores null as internal (listed as null; acting as false); give false"),
    },
    "bindings": {
        "routing_key": ("string", "binds with it as it is (null, a number...), not as text, and no message's routing "
                                  'key equals it; give a string ("" for none)'),
    },
    "operator_policy": {
        "value.apply-to": ("present", 'stores an operator policy without it as applying to "undefined": to nothing; '
                                      'give "queues" or "all"'),
    },
}  # fmt: skip


#: Fields the server's own import stores as the Erlang atom ``undefined`` when they are missing (listed as
#: "undefined"; measured on 3.10.8 and 4.0.5): rabbitadmin writes its default instead, and says so.
UNDEFINED_WHEN_MISSING: dict[str, dict[str, str]] = {
    "exchanges": {"auto_delete": "stores auto_delete as undefined (acting as false); rabbitadmin writes false"},
    "bindings": {
        "routing_key": "binds with the key undefined, which no message's routing key equals (a fanout or headers "
                       'exchange, which ignores keys, still routes through it); rabbitadmin binds with ""',
    },
}  # fmt: skip


#: The one name the server's import takes for a parameter of these components: another is stored (and limits
#: nothing) before the import fails with HTTP 500 (3.10.8 and 4.0.5, measured).
FIXED_NAMES: dict[str, str] = {"vhost-limits": "limits"}
#: The sections the import iterates over: given as null (or as anything but a list) it fails with HTTP 500 after
#: writing the sections it reads first (users and vhosts come first; 3.10.8 and 4.0.5, measured).
LIST_SECTIONS = (
    "users", "vhosts", "permissions", "topic_permissions", "exchanges", "global_parameters", "policies",
    "parameters", "queues", "bindings",
)  # fmt: skip

_MISSING = object()
_NO_OWNER = object()


def _at(entry: LocatedDict, field: str) -> tuple[Any, LocatedDict | None, str]:
    """The value at a dotted ``field`` of an entry, the mapping that holds it and its last key: ``_MISSING`` if
    absent, ``_NO_OWNER`` if a mapping on the way is not one (that one's own problem)."""
    *outer, key = field.split(".")
    owner: Any = entry
    for part in outer:
        owner = owner.get(part, _MISSING) if isinstance(owner, dict) else _NO_OWNER
        if owner is _MISSING:
            return _MISSING, None, key
    if not isinstance(owner, LocatedDict):
        return _NO_OWNER, None, key
    return owner.get(key, _MISSING), owner, key


def _shape(value: Any) -> str:
    """How a JSON value that is not an object is named in a message."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, list):
        return "a list of pairs" if value and all(isinstance(p, list) and len(p) == 2 for p in value) else "a list"
    return "a string" if isinstance(value, str) else "a number" if isinstance(value, (int, float)) else "null"


def _check(
    raw: LocatedDict, kind: str, source: str, problem: ReportProblem, warning: ReportProblem | None = None
) -> bool:
    """Put one entry to the tables above; False if it has a problem."""
    found = False

    def refuse(field: str, message: str, line: int) -> None:
        nonlocal found
        found = True
        problem(message, line, f"{source}.{field}")

    for field in OBJECT_ONLY.get(kind, ()):
        value, owner, key = _at(raw, field)
        taken = value in (_MISSING, None) or (value == [] and field in EMPTY_LIST_IS_OBJECT.get(kind, ()))
        if owner is not None and not taken and not isinstance(value, dict):
            refuse(field, f"expected an object: the server's import refuses {_shape(value)} here", owner.line_of(key))
    for field in NOT_NULL.get(kind, ()):
        value, owner, key = _at(raw, field)
        if owner is not None and value is None:
            instead = 'give "" for no tags' if field == "tags" else "give a value"
            refuse(field, f"is null, which the server's import refuses; {instead}", owner.line_of(key))
    for field in REQUIRED.get(kind, ()):
        value, owner, key = _at(raw, field)
        if owner is not None and value is _MISSING:
            refuse(field, "is required: the server's import refuses an entry without it", owner.line)
    for field, (check, effect) in STORED_AS_GIVEN.get(kind, {}).items():
        value, owner, key = _at(raw, field)
        if owner is None or (field.startswith("metadata.") and field.removeprefix("metadata.") in raw):
            continue
        if check == "null" and value is None:
            refuse(field, f"is null: the server's import {effect}", owner.line_of(key))
        elif check == "string" and value is not _MISSING and not isinstance(value, (str, WrittenInt, WrittenFloat)):
            refuse(field, f"is {_shape(value)}: the server's import {effect}", owner.line_of(key))
        elif check == "present" and value is _MISSING:
            refuse(field, f"is required: the server's import {effect}", owner.line)
    for field, effect in UNDEFINED_WHEN_MISSING.get(kind, {}).items():
        if field not in raw and warning is not None:
            warning(f"is missing: the server's import {effect}", raw.line, f"{source}.{field}")
    return not found


def _empty_lists_as_objects(entry: LocatedDict, kind: str) -> LocatedDict:
    """``entry`` with each of ``EMPTY_LIST_IS_OBJECT``'s fields given as ``[]`` made an empty mapping (in place)."""
    for field in EMPTY_LIST_IS_OBJECT.get(kind, ()):
        if entry.get(field) == [] and not isinstance(entry[field], dict):
            empty = LocatedDict()
            empty.line = entry.line_of(field)
            entry[field] = empty
    return entry


def _tags_warning(raw: LocatedDict, kind: str, source: str, warning: ReportProblem | None) -> None:
    """Duplicate or empty tags: the server's import keeps them (a user's tags string drops its empty ones;
    ``rabbit_auth_backend_internal`` and ``rabbit_vhost:parse_tags/1``, measured on 3.10.8 and 4.0.5); rabbitadmin
    sets each tag once and no empty one. Said, not refused: the tags mean the same."""
    field = "tags" if "tags" in raw or kind == "users" else "metadata.tags"
    value, owner, key = _at(raw, field)
    if warning is None or owner is None:
        return
    if isinstance(value, str):
        stored = [tag.strip() for tag in value.split(",")]
        stored = [tag for tag in stored if tag] if kind == "users" else stored
    elif isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        stored = list(value)
    else:
        return
    kept = [tag for tag in dict.fromkeys(stored) if tag]
    if stored not in ([""], kept):  # a vhost's "" is no tags to both
        warning(f"the server's import keeps duplicate and empty tags as given ({stored}); rabbitadmin sets each tag "
                f"once and no empty one ({kept})", owner.line_of(key), f"{source}.{field}")  # fmt: skip
