"""The first vhost names of a topology or definitions file, read from its beginning only.

The same rule as the loader's ``on_vhost`` (``loader.TopologyLoader._vhosts``): each item mapping of the
top-level ``vhosts`` list, its ``name`` when that is a string. Only the first ``PREFIX_BYTES`` of the file are
read (whole lines), and a name is kept only once the parser has gone past it: a large vhost's name comes
first, its objects after it. A name holding ``$`` is left out (a ``${variable}`` is substituted later, by
the loader), and so is any name if the beginning is not YAML (or JSON) the parser can read up to a name.
Only a regular file is opened (never a FIFO, whose content the plan itself must read, nor a device).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

import yaml

from rabbitadmin.json_strings import json_strings_for_yaml
from rabbitadmin.yaml_floats import add_exponent_floats

#: How much of the file is read for its vhost names.
PREFIX_BYTES = 64 * 1024
_STR = "tag:yaml.org,2002:str"


def file_prefix(path: str, size: int = PREFIX_BYTES) -> str | None:
    """The first ``size`` bytes of the regular file ``path``, cut after its last complete line, as UTF-8 text;
    None for anything else (no such file, not a regular file, not UTF-8).

    Anything but a regular file is refused before it is opened: opening a FIFO would let its writer through
    (and closing it unread would kill the writer with SIGPIPE), opening a device may act on it. The read
    does not move the file's offset (``pread``), should the descriptor be shared.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the stat
            return None
        data = os.pread(fd, size, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) == size:
        data = data[: data.rfind(b"\n") + 1]  # a name cut in two is not a name
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Level:
    """An open collection: a mapping (whether its next node is a key, and its last key) or a sequence."""

    __slots__ = ("expecting_key", "key", "mapping")

    def __init__(self, mapping: bool) -> None:
        self.mapping = mapping
        self.expecting_key = mapping
        self.key: str | None = None


def vhost_names(text: str, limit: int) -> list[str]:
    """Up to ``limit`` names of the top-level ``vhosts`` list of ``text``, in the order written (see the
    module docstring); [] when there are none or the text cannot be read that far."""
    names: list[str] = []
    resolver = _NameResolver()
    stack: list[_Level] = []  # the collections open around the next event, outermost first
    pending: str | None = None  # a name parsed, kept once the parser reads past it
    text = json_strings_for_yaml(text)  # as the loader reads JSON's strings
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if pending is not None:
                names.append(pending)
                pending = None
                if len(names) >= limit:
                    break
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                top = stack[-1] if stack else None
                if top is not None and top.expecting_key:
                    if not isinstance(event, yaml.ScalarEvent):
                        break  # an alias or a collection as a key: not a file this rule reads
                    top.key = _string(resolver, event)
                    top.expecting_key = False
                else:
                    if isinstance(event, yaml.ScalarEvent) and _at_vhost_name(stack):
                        value = _string(resolver, event)
                        pending = value if value is not None and "$" not in value else None
                    if top is not None and top.mapping:
                        top.expecting_key = True  # once this value (and whatever it holds) is over
                if isinstance(event, yaml.CollectionStartEvent):
                    stack.append(_Level(isinstance(event, yaml.MappingStartEvent)))
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                if len(stack) == 1 and stack[0].key == "vhosts":
                    break  # the end of the top-level vhosts list
            elif isinstance(event, yaml.DocumentEndEvent):
                break
    except yaml.YAMLError:
        pass  # the cut end of the prefix, or not YAML: the names read so far stand
    return names


class _NameResolver(yaml.resolver.Resolver):
    """PyYAML's resolver with the loader's own rule (``yaml_floats``): ``0E0`` is no name, as the loader reads it."""


add_exponent_floats(_NameResolver)


def _at_vhost_name(stack: list[_Level]) -> bool:
    """Whether the next value is the ``name`` of an item mapping of the document's top-level ``vhosts`` list."""
    return (
        len(stack) == 3
        and stack[0].mapping
        and stack[0].key == "vhosts"
        and not stack[1].mapping
        and stack[2].mapping
        and stack[2].key == "name"
    )


def _string(resolver: yaml.resolver.Resolver, event: yaml.Event) -> str | None:
    """The scalar's value when the loader would read it as a string; None otherwise (an alias, a number...)."""
    if not isinstance(event, yaml.ScalarEvent):
        return None
    resolve: Callable[..., str] = resolver.resolve  # typed here: PyYAML's stubs leave it untyped
    tag = event.tag if event.tag not in (None, "!") else resolve(yaml.ScalarNode, event.value, event.implicit)
    return event.value if tag == _STR else None
