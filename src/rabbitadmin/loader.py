"""Read a topology file (YAML, or RabbitMQ definitions JSON) into mappings that remember their lines.

Every mapping comes back as a ``LocatedDict`` and every sequence as a ``LocatedList`` so that validation
can say ``topology.yaml:12: vhosts[0].queues[2].durable: ...``. Duplicate keys are problems, not silently
overwritten values.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from array import array
from collections.abc import Callable, Container, Mapping
from pathlib import Path
from typing import Any

import yaml

from rabbitadmin.definitions_input import is_definitions_keys, topology_hint
from rabbitadmin.errors import InputFileError, Problem, TopologyError
from rabbitadmin.gc_pause import with_collector_paused
from rabbitadmin.input_files import MAX_TOPOLOGY_BYTES, read_bounded
from rabbitadmin.json_strings import json_strings_for_yaml, lone_surrogate
from rabbitadmin.located import LocatedDict, LocatedList, as_written
from rabbitadmin.model import Topology
from rabbitadmin.validate import validate_document
from rabbitadmin.variables import substitute
from rabbitadmin.yaml_floats import add_exponent_floats

# libyaml's parser keeps node marks too and parses large files about five times faster.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NUMBERS = (_INT, "tag:yaml.org,2002:float")
#: The node each collection tag needs: PyYAML builds the others from whatever it is given.
_COLLECTION_TAGS: dict[str, type[yaml.Node]] = {
    _MAP: yaml.MappingNode,
    _SEQ: yaml.SequenceNode,
    "tag:yaml.org,2002:set": yaml.MappingNode,
    "tag:yaml.org,2002:omap": yaml.SequenceNode,
    "tag:yaml.org,2002:pairs": yaml.SequenceNode,
}
#: What the loader hands on: JSON's scalars (and its objects and arrays, built as located containers).
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
#: Names for the values of YAML's other types, in problems.
_YAML_ONLY = {
    datetime.date: "date",
    datetime.datetime: "timestamp",
    bytes: "binary value",
    set: "set",
    list: "list of pairs",  # !!omap, !!pairs
}
_IN_PROGRESS = object()
_RESOLVED_CACHE = 10_000  # plain scalars whose resolved tag is remembered (repeated keys and values)
_ScalarEvent, _MappingEndEvent, _SequenceEndEvent = yaml.ScalarEvent, yaml.MappingEndEvent, yaml.SequenceEndEvent
_MappingStartEvent, _SequenceStartEvent = yaml.MappingStartEvent, yaml.SequenceStartEvent
# ``_new_dict(LocatedDict)``: a LocatedDict without its Python __init__ (the events path sets its two slots).
_new_dict = dict.__new__
#: Mappings and lists nest at most this deep (a topology needs 7 levels; arguments a few more).
MAX_DEPTH = 64
#: Aliases may add at most this many nodes to a document, or as many as it has, if that is more: enough
#: for anchors of shared arguments, far too few for a "billion laughs" (649 bytes that expand to 270 MB).
MAX_ALIAS_EXPANSION = 100_000
#: Integers of more digits are refused (RabbitMQ's are 64-bit: 19 digits; Python refuses 4,300).
MAX_INTEGER_DIGITS = 100

#: Called with the vhosts a topology declares as soon as the file is parsed, before validation.
ScopeHook = Callable[[frozenset[str]], None]
#: Called with each vhost name of the top-level ``vhosts`` list as the parser reaches it (events path only).
VhostHook = Callable[[str], None]
#: Builders for the values of some keys of a mapping, given the value's first event (``_mapping_from_events``).
_Hooks = Mapping[Any, Callable[[Any], Any]]


class _LocatedLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Builds located mappings, lists and plain strings itself, everything else the usual way.

    PyYAML's generic ``construct_object`` costs a few microseconds a node, a third of loading W(10000);
    nearly every node of a topology is a plain string, mapping or list, built here directly. Aliases
    still give one shared object, and a recursive alias is refused as PyYAML refuses it. Problems that
    do not stop parsing (duplicate keys) are collected in ``problems``.
    """

    def __init__(self, text: str, filename: str) -> None:
        super().__init__(text)
        self.filename = filename
        self.problems: list[Problem] = []
        self._built: dict[int, Any] = {}
        self._depth = 0
        #: Told each top-level vhost's name as soon as it is parsed (``parse_events``); None: nobody asks.
        self.on_vhost: VhostHook | None = None
        # A plain scalar whose first character starts no implicit resolver (``q.0000001``, ``classic``) is a
        # string: the resolver need not run its regular expressions (about half the events path's Python
        # time). Read off this loader's own resolvers, so one added later is honoured; none of the shortcut
        # when a resolver takes any first character or a path resolver is set.
        resolvers = self.yaml_implicit_resolvers
        self._plain_str_shortcut = None not in resolvers and not self.yaml_path_resolvers
        self._resolver_starts: Container[str] = (
            frozenset(key for key in resolvers if key) if self._plain_str_shortcut else _EVERYTHING
        )
        self._resolved: dict[str, str] = {}  # plain scalars the resolver did run on (keys: name, type...)
        # ``durable: true`` on every queue: PyYAML's own bool constructor is a lookup in ``bool_values``, made
        # here without building a node for it (while this loader keeps that constructor).
        self._bools: Mapping[str, bool] = (
            self.bool_values
            if self.yaml_constructors.get(_BOOL) is yaml.constructor.SafeConstructor.construct_yaml_bool
            else {}
        )

    def build(self, node: yaml.Node) -> Any:
        if node.__class__ is yaml.ScalarNode and node.tag == _STR:
            return node.value
        if node.tag == _MAP and isinstance(node, yaml.MappingNode):
            return self._memoized(node, self.construct_mapping)
        if node.tag == _SEQ and isinstance(node, yaml.SequenceNode):
            return self._memoized(node, self.construct_sequence)
        shape = _COLLECTION_TAGS.get(node.tag)
        if shape is not None and not isinstance(node, shape):  # PyYAML reads !!map "" as {}, !!seq x as a list
            self._problem(f"a {_node_kind(node)} cannot be {_short_tag(node.tag)}", node)
            return None
        if node.tag == _INT and isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_INTEGER_DIGITS:
            self._problem(f"a number of {len(node.value):,} characters; at most {MAX_INTEGER_DIGITS} are read", node)
            return None
        try:
            value = self.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # a value PyYAML parses but Python cannot hold
            self._problem(f"cannot read this value: {exc}", node)
            return None
        except yaml.YAMLError:  # reported with its own message and place (``_parsed``)
            raise
        except Exception:  # PyYAML's constructors fail on some tagged values with KeyError
            # (!!bool maybe), IndexError (!!int ""), AttributeError (!!timestamp foo), TypeError (!!map [1]).
            written = f"{node.value!r}" if isinstance(node, yaml.ScalarNode) else f"a {_node_kind(node)}"
            self._problem(f"cannot read {written} as {_short_tag(node.tag)}", node)
            return None
        if value.__class__ is float and not math.isfinite(value):
            # .nan, .inf: no JSON number holds them (the management API and the server's import refuse them).
            self._problem(f"{node.value!r} is not a number JSON can carry (NaN or infinity)", node)
            return None
        if value.__class__ not in _JSON_SCALARS:
            # A date, !!binary, !!set, !!omap: YAML's, not JSON's; every value is sent as JSON (an argument's too).
            what = _YAML_ONLY.get(value.__class__, value.__class__.__name__)
            tag = _short_tag(node.tag)
            self._problem(f"a {what} ({tag}) is not a value JSON can carry: quote it for a string", node)
            return None
        # Plain (unquoted) style is None from PyYAML's parser, "" from libyaml's: a string field takes it as written.
        if not getattr(node, "style", None) and node.tag in _NUMBERS:
            return as_written(value, node.value)
        return value

    def _problem(self, message: str, node: yaml.Node) -> None:
        mark = node.start_mark
        self.problems.append(Problem(message, self.filename, mark.line + 1, mark.column + 1))

    def _memoized(self, node: Any, construct: Callable[[Any], Any]) -> Any:
        key = id(node)
        if key in self._built:
            value = self._built[key]
            if value is _IN_PROGRESS:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unconstructable recursive node", node.start_mark
                )
            return value
        self._built[key] = _IN_PROGRESS
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.constructor.ConstructorError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark
                )
            self._built[key] = value = construct(node)
        finally:
            self._depth -= 1
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = LocatedDict()
        mapping.line = node.start_mark.line + 1
        key_lines: dict[Any, int] = {}
        build = self.build
        own: set[Any] = set()
        if any(key_node.tag == _MERGE for key_node, _ in node.value):
            # Merge keys (``<<: *defaults``, YAML 1.1) as safe_load reads them: the merged keys first, a later
            # pair winning (``_merged_pairs``), then the mapping's own keys, which win over any merged one.
            for key_node, value_node in _merged_pairs(node, frozenset()):
                key = build(key_node)
                if key.__hash__ is None:
                    line = key_node.start_mark.line + 1
                    self.problems.append(Problem("a mapping key must be a plain value", self.filename, line))
                    continue
                mapping[key] = build(value_node)
                key_lines[key] = key_node.start_mark.line + 1
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = build(key_node)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                self.problems.append(Problem("a mapping key must be a plain value", self.filename, line))
                continue
            if key in own:
                message = f"duplicate key {key!r} (first given on line {key_lines[key]})"
                self.problems.append(Problem(message, self.filename, line))
                continue
            own.add(key)
            mapping[key] = build(value_node)
            key_lines[key] = line
        _keep_key_lines(mapping, key_lines)
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        sequence = LocatedList(map(self.build, node.value))
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = array("q", [child.start_mark.line + 1 for child in node.value])
        return sequence

    # -- building straight from the parser's events (see ``parse_document``) ------------------------------
    def build_from_events(self) -> Any:
        """The single document, built from parser events without composing a node tree first.

        Same values, lines and problems as ``build(get_single_node())``; raises ``_NeedsNodes`` on
        anything only the node path handles (anchors, aliases, tags on collections other than map/seq).
        """
        self.get_event()  # stream start
        if self.check_event(yaml.StreamEndEvent):
            self.get_event()
            return None
        start = self.get_event()  # document start
        document = self._from_event(self.get_event(), None if self.on_vhost is None else {"vhosts": self._vhosts})
        self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                self.get_event().start_mark,
            )
        return document

    def _scalar_tag(self, event: Any) -> str:
        """The tag of a scalar event, as the composer gives it (``resolve`` for none or ``!``)."""
        tag: str | None = event.tag
        if tag is not None and tag != "!":
            return tag
        value: str = event.value
        implicit = event.implicit
        if (self._plain_str_shortcut and not implicit[0]) or (value and value[0] not in self._resolver_starts):
            return _STR  # quoted, or plain with no resolver for its first character: what resolve() returns
        resolved = self._resolved.get(value) if implicit[0] else None
        if resolved is None:
            resolved = self.resolve(yaml.ScalarNode, value, implicit)
            if implicit[0] and len(self._resolved) < _RESOLVED_CACHE:
                self._resolved[value] = resolved
        return resolved

    def _vhosts(self, event: Any) -> Any:
        """The top-level ``vhosts`` value; each item mapping's ``name`` told to ``on_vhost`` as it is parsed."""
        return self._from_event(event, {"name": self._vhost_name} if event.__class__ is _SequenceStartEvent else None)

    def _vhost_name(self, event: Any) -> Any:
        name = self._from_event(event)
        if isinstance(name, str) and self.on_vhost is not None:
            self.on_vhost(name)
        return name

    def _from_event(self, event: Any, hooks: _Hooks | None = None) -> Any:  # a yaml.Event (marks typed loosely)
        """The value starting at ``event``. ``hooks``: builders for some keys' values of the mapping it starts,
        or of each mapping item of the list it starts."""
        kind = event.__class__
        if kind is yaml.ScalarEvent:
            if event.anchor is not None:
                raise _NeedsNodes
            tag = self._scalar_tag(event)
            if tag == _MERGE:  # a merge key: the node path flattens it (construct_mapping)
                raise _NeedsNodes
            if tag == _STR:  # what build() makes of a string node, whether its tag was written or resolved
                return event.value
            if tag == _BOOL:
                found = self._bools.get(event.value.lower())
                if found is not None:
                    return found
            return self.build(yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style))
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if event.anchor is not None or event.tag not in (
                None,
                "!",
                _MAP if kind is yaml.MappingStartEvent else _SEQ,
            ):
                raise _NeedsNodes
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:  # refused by the node path, which sees the whole file first
                    raise _NeedsNodes
                if kind is yaml.MappingStartEvent:
                    return self._mapping_from_events(event, hooks)
                return self._sequence_from_events(event, hooks)
            finally:
                self._depth -= 1
        raise _NeedsNodes  # an alias (no anchor can precede it on this path) or an event out of place

    def _mapping_from_events(self, start: Any, hooks: _Hooks | None = None) -> dict[Any, Any]:
        # The hot loop of a big file: one event fetched at a time (no check_event peek), and a plain string
        # key or value (nearly all of them) taken inline, without a call to _from_event.
        mapping = _new_dict(LocatedDict)
        line = mapping.line = start.start_mark.line + 1
        mapping._key_lines = None
        key_lines: dict[Any, int] | None = None  # made at the first key off the mapping's line (memory)
        get, build = self.get_event, self._from_event
        starts, resolved = self._resolver_starts, self._resolved.get
        while True:
            key_event: Any = get()
            kind = key_event.__class__
            if kind is _MappingEndEvent:
                break
            # A string as written, inline: no tag, no anchor, and no resolver for its first character (or the
            # resolver already ran on this text: ``name``, ``type``); a quoted string of that text is one too.
            key = key_event.value if kind is _ScalarEvent else None
            if not (
                key
                and key_event.tag is None
                and key_event.anchor is None
                and (key[0] not in starts or resolved(key) == _STR)
            ):
                key = build(key_event)
            try:
                if key in mapping:  # the node path reports it without building the value: let it
                    raise _NeedsNodes
            except TypeError:  # an unhashable key, reported the same way
                raise _NeedsNodes from None
            value_event: Any = get()
            if hooks is not None and key in hooks:
                value = hooks[key](value_event)
            else:
                value = value_event.value if value_event.__class__ is _ScalarEvent else None
                if not (
                    value
                    and value_event.tag is None
                    and value_event.anchor is None
                    and (value[0] not in starts or resolved(value) == _STR)
                ):
                    value = build(value_event)
            mapping[key] = value
            key_line = key_event.start_mark.line + 1
            if key_lines is not None:
                key_lines[key] = key_line
            elif key_line != line:  # every key so far was on the mapping's line
                key_lines = dict.fromkeys(mapping, line)
                key_lines[key] = key_line
        if key_lines is not None:
            mapping.key_lines = key_lines
        return mapping

    def _sequence_from_events(self, start: Any, item_hooks: _Hooks | None = None) -> list[Any]:
        sequence = LocatedList()
        sequence.line = start.start_mark.line + 1
        lines = array("q")
        sequence.item_lines = lines
        get, build, build_mapping = self.get_event, self._from_event, self._mapping_from_events
        append, append_line = sequence.append, lines.append
        nested = self._depth + 1 <= MAX_DEPTH  # an item mapping is one level deeper than this list
        while True:
            event: Any = get()
            kind = event.__class__
            if kind is _SequenceEndEvent:
                break
            append_line(event.start_mark.line + 1)
            if kind is _MappingStartEvent and nested and event.anchor is None and event.tag is None:
                self._depth += 1  # what _from_event does for it, without its checks (a list of mappings)
                try:
                    append(build_mapping(event, item_hooks))
                finally:
                    self._depth -= 1
            else:
                append(build(event))
        return sequence


def _node_kind(node: yaml.Node) -> str:
    """``scalar``, ``sequence`` or ``mapping`` (PyYAML's ``id`` of each node class)."""
    return str(getattr(node, "id", "node"))


def _short_tag(tag: str) -> str:
    """``!!bool`` for ``tag:yaml.org,2002:bool``, as written in a file."""
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


def _merged_pairs(node: yaml.MappingNode, within: frozenset[int]) -> list[tuple[yaml.Node, yaml.Node]]:
    """The pairs ``node``'s merge keys bring, in PyYAML's ``flatten_mapping`` order (a later pair wins: a merged
    mapping's own keys after what it merges itself, and of ``<<: [*a, *b]``, ``*a`` last), without changing
    any node: an anchored mapping is shared by all its aliases, and flattening it in place lost its merge
    key for the next alias (its merged keys vanished there). ``within``: the mappings being merged around
    this one (a merge of itself is refused, as PyYAML's recursion would never end). Raises
    ``ConstructorError`` for a merge of anything but mappings, at its line."""
    if id(node) in within:
        raise yaml.constructor.ConstructorError(
            "while constructing a mapping", node.start_mark, "found a mapping merged into itself", node.start_mark
        )
    within = within | {id(node)}
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            continue
        if isinstance(value_node, yaml.MappingNode):
            sources = [value_node]
        elif isinstance(value_node, yaml.SequenceNode):
            sources = list(reversed(value_node.value))
        else:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                value_node.start_mark,
            )
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a mapping for merging, but found {source.id}",
                    source.start_mark,
                )
            pairs += _merged_pairs(source, within)
            pairs += [(key, value) for key, value in source.value if key.tag != _MERGE]
    return pairs


def _keep_key_lines(mapping: LocatedDict, key_lines: dict[Any, int]) -> None:
    """Keep the keys' lines only where one differs from the mapping's own (``LocatedDict``: memory)."""
    line = mapping.line
    for key_line in key_lines.values():
        if key_line != line:
            mapping.key_lines = key_lines
            return


class _Everything:
    """Holds every character: no first character is a shortcut to a string."""

    def __contains__(self, item: object) -> bool:
        return True


_EVERYTHING = _Everything()


class _NeedsNodes(Exception):
    """The document uses what only the node path builds (anchors, aliases, unusual tags): parse it again."""


# Tagged collections (``!!map`` nested in an ``!!omap``, say) reach these through construct_object.
add_exponent_floats(_LocatedLoader)  # 1e3, 1.0e20, 1e-05 are floats, as in JSON (yaml_floats.py)
_LocatedLoader.add_constructor(_MAP, _LocatedLoader.construct_mapping)
_LocatedLoader.add_constructor(_SEQ, _LocatedLoader.construct_sequence)


def declared_vhosts(root: yaml.Node | None) -> frozenset[str] | None:
    """The names of the vhosts a topology declares (present or absent), read off the YAML node tree.

    For a well-formed topology this is exactly ``Topology.vhosts_in_scope()`` of the validated result.
    None when it cannot be told this way (definitions input, a ``vhosts`` list that is not a plain list
    of mappings with plain string names): the caller then waits for validation. Anything odd this misses
    (a merge key supplying a name, say) only costs the early start, never correctness, because the
    caller compares this scope with the validated one.
    """
    if not isinstance(root, yaml.MappingNode):
        return None
    sections = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    if _is_definitions(root):
        return None
    vhosts = sections.get("vhosts")
    if vhosts is None:
        return frozenset()
    if not isinstance(vhosts, yaml.SequenceNode):
        return None
    names: set[str] = set()
    for item in vhosts.value:
        if not isinstance(item, yaml.MappingNode):
            return None
        name = next((v for k, v in item.value if isinstance(k, yaml.ScalarNode) and k.value == "name"), None)
        if not isinstance(name, yaml.ScalarNode) or name.tag != _STR:
            return None
        names.add(name.value)
    return frozenset(names)


def parse_document(
    text: str,
    filename: str,
    on_scope: ScopeHook | None = None,
    variables: Mapping[str, str] | None = None,
    on_vhost: VhostHook | None = None,
) -> Any:
    """Parse YAML (JSON is accepted too) into located mappings; raise ``TopologyError`` on syntax errors.

    ``on_scope`` gets the declared vhosts (``declared_vhosts``) before validation: a caller can start
    reading the server that early. ``on_vhost`` gets each name of the top-level ``vhosts`` list earlier
    still, as the parser reaches it (on the events path below; a name told there may belong to a file that
    then proves invalid, or be told again: it is a hint, ``on_scope`` and validation decide). ``${name}``
    references are replaced from ``variables`` first (``variables.substitute``, on the node tree; an undefined
    one is a problem).

    Two ways to the same result: a file without anchors and variables is built straight from the parser's
    events, so no node tree (three objects and two marks per value) is ever held: validating 2 million
    queues went from 4.5 GB to about a third of that. A file with anchors or variables (or with what the
    events path leaves to the nodes: aliases, duplicate keys, tagged collections) is composed into nodes
    first, where aliases are checked for expansion and variables replaced, then built.

    A double-quoted scalar's JSON-only content (surrogate pair escapes, raw characters YAML refuses or reads
    as line breaks) is read as JSON and RabbitMQ's import read it (``json_strings``).
    """
    text = json_strings_for_yaml(text)
    if "&" not in text and "${" not in text:  # variables are replaced on the node tree
        try:
            document = parse_events(text, filename, on_vhost)
        except _NeedsNodes:
            pass
        else:
            if on_scope is not None:
                scope = declared_vhosts_of(document)
                if scope is not None:
                    on_scope(scope)
            return document
    return parse_nodes(text, filename, on_scope, variables)


def parse_events(text: str, filename: str, on_vhost: VhostHook | None = None) -> Any:
    """``parse_document`` built from events; raises ``_NeedsNodes`` where only the node path will do."""
    loader = _LocatedLoader(text, filename)
    loader.on_vhost = on_vhost
    return _parsed(text, filename, loader, loader.build_from_events)


def parse_nodes(
    text: str, filename: str, on_scope: ScopeHook | None = None, variables: Mapping[str, str] | None = None
) -> Any:
    """``parse_document`` composed into nodes first (any YAML; aliases checked for expansion; variables)."""
    loader = _LocatedLoader(text, filename)

    def from_nodes() -> Any:
        node = loader.get_single_node()
        if node is not None and "&" in text:  # no anchor, no alias: the check is skipped on the fast path
            _check_alias_expansion(node, filename)
        if node is not None and "${" in text and not _is_definitions(node):  # no reference: nothing to do
            loader.problems.extend(substitute(node, variables or {}, filename, loader))
            if loader.problems:
                raise TopologyError(loader.problems)
        if on_scope is not None:
            scope = declared_vhosts(node)
            if scope is not None:
                on_scope(scope)
        return loader.build(node) if node is not None else None

    return _parsed(text, filename, loader, from_nodes)


def _parsed(text: str, filename: str, loader: _LocatedLoader, build: Callable[[], Any]) -> Any:
    """``build()``'s document; YAML errors and the problems the loader collected as ``TopologyError``."""
    try:
        document = build()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        lone = lone_surrogate(text, mark.index) if mark is not None else None
        message = f"not valid YAML: {exc.problem}"
        if lone is not None and column is not None:
            column -= 2  # libyaml marks the escape's first hex digit; the escape starts two before it
            message = (
                f"{lone} is half of a UTF-16 surrogate pair without its other half (JSON writes a character "
                "beyond U+FFFF as a high escape \\uD800-\\uDBFF followed by a low one \\uDC00-\\uDFFF)"
            )
        raise TopologyError([Problem(message, filename, line, column)]) from None
    except yaml.YAMLError as exc:
        raise TopologyError([Problem(f"not valid YAML: {exc}", filename)]) from None
    finally:
        loader.dispose()
    if loader.problems:
        raise TopologyError(loader.problems)
    return document


def _is_definitions(root: yaml.Node) -> bool:
    """True for RabbitMQ's definitions format, which is taken literally (no variables)."""
    if not isinstance(root, yaml.MappingNode):
        return False
    return is_definitions_keys(key.value if isinstance(key, yaml.ScalarNode) else None for key, _ in root.value)


def declared_vhosts_of(document: Any) -> frozenset[str] | None:
    """``declared_vhosts`` read off a built document: the same answer for the same file."""
    if not isinstance(document, dict):
        return None
    if is_definitions_keys(document):
        return None
    vhosts = document.get("vhosts")
    if vhosts is None:
        return frozenset()
    if not isinstance(vhosts, list):
        return None
    names: set[str] = set()
    for item in vhosts:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        names.add(item["name"])
    return frozenset(names)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_alias_expansion(root: yaml.Node, filename: str) -> None:
    """Refuse a document whose aliases expand it far beyond its own size (a "billion laughs"), or nest
    it deeper than ``MAX_DEPTH`` (an alias of a deep anchor inside another deep one, again and again).

    The node graph is a DAG when aliases are used (each alias is the anchored node itself), so the
    expanded size and depth of every node are counted once, bottom-up, in time linear in the distinct
    nodes. The error names the first node (in order of completion) that passes a limit.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    order: list[yaml.Node] = []
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        if not expanded:
            if id(node) in visiting:
                return  # a recursive alias: construction refuses it with its line
            visiting.add(id(node))
        children = _children(node)
        if expanded or not children:
            sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
            heights[id(node)] = 1 + max((heights.get(id(child), 0) for child in children), default=0)
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    # Scalars count one level: a mapping of strings is 2 high, and construction nests MAX_DEPTH containers.
    if heights[id(root)] > MAX_DEPTH + 1:
        culprit = next(node for node in order if heights[id(node)] > MAX_DEPTH + 1)
        _refuse(f"aliases nest this document more than {MAX_DEPTH} levels deep", culprit, filename)
    limit = len(sizes) + max(MAX_ALIAS_EXPANSION, len(sizes))
    if sizes[id(root)] > limit:
        culprit = next(node for node in order if sizes[id(node)] > limit)
        _refuse(
            f"aliases expand this document to more than {limit:,} values (it has {len(sizes):,}): "
            "an alias bomb? Write the repeated values out, or share fewer of them",
            culprit,
            filename,
        )


def _refuse(message: str, node: yaml.Node, filename: str) -> None:
    mark = node.start_mark
    raise TopologyError([Problem(message, filename, mark.line + 1, mark.column + 1)])


#: How ``validate``'s cross-check ends a problem about a user or vhost the topology does not declare.
UNDECLARED = "is not declared (present) in this topology"


@with_collector_paused
def load_topology_text(
    text: str,
    filename: str = "<topology>",
    *,
    resolve_secrets: bool = True,
    on_scope: ScopeHook | None = None,
    environ: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    definitions_vhost: str | None = None,
    on_vhost: VhostHook | None = None,
) -> Topology:
    """Load and validate a topology from text; raise ``TopologyError`` listing every problem.

    ``on_scope`` lets a caller start reading the server while validation runs (see ``prefetch``); it is
    not called when the scope cannot be told before validating. ``on_vhost``: each vhost name as the parser
    reaches it, a hint for an earlier start still (``parse_document``). ``environ``: where ``{env: NAME}``
    password sources are read (default: the process environment). ``variables``: the values of
    ``${name}`` references (``variables.py``; none by default, so any reference is a problem).
    ``definitions_vhost``: the text is a per-vhost definitions export for this vhost (``validate_document``).
    """
    hooks = (None, None) if definitions_vhost else (on_scope, on_vhost)
    document = parse_document(text, filename, hooks[0], variables, hooks[1])
    base_dir = Path(filename).parent if filename and not filename.startswith("<") else Path.cwd()
    hint = topology_hint(document, text)  # before validation consumes the document
    try:
        return validate_document(
            document,
            filename,
            base_dir=base_dir,
            resolve_secrets=resolve_secrets,
            environ=environ,
            # An alias is the same list or mapping as its anchor: consumed at its first use, it would be empty at
            # the next ("expected a mapping, got nothing"). Without an ``&`` there is no anchor, so no alias.
            consume="&" not in text,
            definitions_vhost=definitions_vhost,
        )
    except TopologyError as exc:
        if hint is None:
            raise
        # The one problem a definitions reading would not have: say how to get that reading.
        problems = [
            dataclasses.replace(p, message=p.message + hint) if p.message.endswith(UNDECLARED) else p
            for p in exc.problems
        ]
        raise TopologyError(problems) from None


def load_topology(
    path: str | Path,
    *,
    resolve_secrets: bool = True,
    on_scope: ScopeHook | None = None,
    environ: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    definitions_vhost: str | None = None,
    on_vhost: VhostHook | None = None,
) -> Topology:
    """Load and validate a topology file (YAML topology or definitions JSON); see ``load_topology_text``."""
    name = str(path)
    try:
        text = read_bounded(path, MAX_TOPOLOGY_BYTES, allow_pipes=True)
    except InputFileError as exc:
        raise TopologyError([Problem(str(exc), name)]) from None
    return load_topology_text(
        text,
        name,
        resolve_secrets=resolve_secrets,
        on_scope=on_scope,
        environ=environ,
        variables=variables,
        definitions_vhost=definitions_vhost,
        on_vhost=on_vhost,
    )
