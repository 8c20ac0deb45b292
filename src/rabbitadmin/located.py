"""Mappings and lists that remember the lines they were read from (built by ``loader``, read by ``validate``).

Every mapping of a topology file comes back from the loader as a ``LocatedDict`` and every sequence as a
``LocatedList``, so that validation can say ``topology.yaml:12: vhosts[0].queues[2].durable: ...``.
"""

from __future__ import annotations

from typing import Any


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


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists (for arguments stored in the model)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
