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


class WrittenInt(int):
    """An integer YAML read from text that does not say it back: ``010`` (YAML 1.1 octal: 8), ``0x10``,
    ``1_000``, ``1:30`` (base 60: 90). ``written`` is the text as it stands in the file, which is what a
    field that wants a string (a name, a routing key) takes: ``name: 010`` names the vhost ``010``. ``str()``
    gives it too, so every place that turns a value into a name agrees; arithmetic, JSON and comparisons
    see the number."""

    written: str

    def __str__(self) -> str:
        return self.written


class WrittenFloat(float):
    """``WrittenInt`` for floats: ``1.50``, ``.5``, ``1_0.0``, ``.inf``."""

    written: str

    def __str__(self) -> str:
        return self.written


def as_written(value: Any, text: str) -> Any:
    """``value`` (what YAML made of the plain scalar ``text``), marked with ``text`` if it does not say it
    back; plain ints and floats otherwise (most numbers: nothing is added to them)."""
    if value.__class__ is int and str(value) != text:
        marked: WrittenInt | WrittenFloat = WrittenInt(value)
    elif value.__class__ is float and repr(value) != text:
        marked = WrittenFloat(value)
    else:
        return value
    marked.written = text
    return marked


def ambiguous_number(value: Any) -> str | None:
    """Why a number read from the file may not be the one meant, or None: YAML 1.1 (PyYAML's, hence ours)
    reads ``010`` as octal 8 and ``1:30`` as 90 (base 60), where YAML 1.2 and JSON read 10 and a string."""
    if not isinstance(value, WrittenInt):
        return None
    text = value.written.lstrip("+-")
    if ":" in text:
        return f"YAML 1.1 reads {value.written} as {int(value)} (base 60): write {int(value)} if that is meant"
    if len(text) > 1 and text[0] == "0" and text[1:].replace("_", "").isdigit():
        read, meant = int(value), int(text.replace("_", ""))
        return f"YAML 1.1 reads {value.written} as {read} (octal): write {read}, or {meant} if that is meant"
    return None


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists, numbers back to plain numbers (for arguments
    stored in the model)."""
    if isinstance(value, WrittenInt):
        return int(value)
    if isinstance(value, WrittenFloat):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
