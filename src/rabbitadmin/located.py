"""Mappings and lists that remember the lines they were read from (built by ``loader``, read by ``validate``).

Every mapping of a topology file comes back from the loader as a ``LocatedDict`` and every sequence as a
``LocatedList``, so that validation can say ``topology.yaml:12: vhosts[0].queues[2].durable: ...``.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Any


class LocatedDict(dict[Any, Any]):
    """A dict that knows the line of itself and of each of its keys (1-based).

    Compact for large files: slots instead of an instance dict, and no per-key record at all while every
    key is on the mapping's own line (a flow mapping, a one-key item), which is most of a big topology.
    ``key_lines`` reads and writes the per-key record as a dict, made on first use.
    """

    __slots__ = ("_key_lines", "line")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self._key_lines: dict[Any, int] | None = None

    @property
    def key_lines(self) -> dict[Any, int]:
        if self._key_lines is None:
            self._key_lines = dict.fromkeys(self, self.line)
        return self._key_lines

    @key_lines.setter
    def key_lines(self, lines: dict[Any, int] | None) -> None:
        self._key_lines = lines

    def line_of(self, key: Any) -> int:
        lines = self._key_lines
        return self.line if lines is None else lines.get(key, self.line)


class LocatedList(list[Any]):
    """A list that knows the line of itself and of each item (1-based)."""

    __slots__ = ("item_lines", "line")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.line = 0
        # Any sequence of ints: the loader keeps an ``array`` (8 bytes a line rather than 36).
        self.item_lines: MutableSequence[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists (for arguments stored in the model)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
