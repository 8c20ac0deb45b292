"""Read a topology file (YAML, or RabbitMQ definitions JSON) into mappings that remember their lines.

Every mapping comes back as a ``LocatedDict`` and every sequence as a ``LocatedList`` so that validation
can say ``topology.yaml:12: vhosts[0].queues[2].durable: ...``. Duplicate keys are problems, not silently
overwritten values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rabbitadmin.errors import Problem, TopologyError
from rabbitadmin.model import Topology


class LocatedDict(dict[Any, Any]):
    """A dict that knows the line of itself and of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A list that knows the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


# libyaml's parser keeps node marks too and parses large files about five times faster.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _located_loader(problems: list[Problem], filename: str) -> type[yaml.SafeLoader]:
    class Loader(_BaseLoader):  # type: ignore[valid-type,misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            mapping = LocatedDict()
            mapping.line = node.start_mark.line + 1
            mapping.key_lines = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    hash(key)
                except TypeError:
                    problems.append(Problem("a mapping key must be a plain value", filename, line))
                    continue
                if key in mapping:
                    problems.append(
                        Problem(
                            f"duplicate key {key!r} (first given on line {mapping.key_lines[key]})",
                            filename,
                            line,
                        )
                    )
                    continue
                mapping[key] = self.construct_object(value_node, deep=True)
                mapping.key_lines[key] = line
            return mapping

        def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
            sequence = LocatedList(self.construct_object(child, deep=True) for child in node.value)
            sequence.line = node.start_mark.line + 1
            sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
            return sequence

    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_mapping)
    Loader.add_constructor("tag:yaml.org,2002:seq", Loader.construct_sequence)
    return Loader


def parse_document(text: str, filename: str) -> Any:
    """Parse YAML (JSON is accepted too) into located mappings; raise ``TopologyError`` on syntax errors."""
    problems: list[Problem] = []
    try:
        document = yaml.load(text, Loader=_located_loader(problems, filename))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise TopologyError([Problem(f"not valid YAML: {exc.problem}", filename, line, column)]) from None
    except yaml.YAMLError as exc:
        raise TopologyError([Problem(f"not valid YAML: {exc}", filename)]) from None
    if problems:
        raise TopologyError(problems)
    return document


def load_topology_text(text: str, filename: str = "<topology>", *, resolve_secrets: bool = True) -> Topology:
    """Load and validate a topology from text; raise ``TopologyError`` listing every problem."""
    from rabbitadmin.validate import validate_document

    document = parse_document(text, filename)
    base_dir = Path(filename).parent if filename and not filename.startswith("<") else Path.cwd()
    return validate_document(document, filename, base_dir=base_dir, resolve_secrets=resolve_secrets)


def load_topology(path: str | Path, *, resolve_secrets: bool = True) -> Topology:
    """Load and validate a topology file (YAML topology or definitions JSON)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError([Problem("no such file", name)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError([Problem(f"cannot read the file: {exc}", name)]) from None
    return load_topology_text(text, name, resolve_secrets=resolve_secrets)
