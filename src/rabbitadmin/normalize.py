"""Canonical forms shared by both sides of a diff.

The server injects defaults and reports numbers as it pleases (``"60000"``, ``60000.0``); a file says
``x-message-ttl: 60000``. Both sides pass through these functions so that equal means equal.
"""

from __future__ import annotations

from typing import Any

from rabbitadmin.argument_rules import RULES
from rabbitadmin.model import Binding, JsonValue

# Arguments whose value is a whole number (or a boolean), whatever type the server or the file gives it:
# read off the server's own rules (argument_rules.RULES), so a new row there is normalised here too.
INTEGER_ARGUMENTS = frozenset(rule.name for rule in RULES if rule.value.kind == "integer")
BOOLEAN_ARGUMENTS = frozenset(rule.name for rule in RULES if rule.value.kind == "boolean")


def as_integer(value: JsonValue) -> int | None:
    """``value`` as a whole number if it is one in any of the server's spellings, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def normalize_arguments(arguments: dict[str, JsonValue] | None) -> dict[str, JsonValue]:
    """Arguments in canonical form: known integers as int, known booleans as bool, ``x-queue-type`` dropped."""
    if not arguments:
        return {}
    result: dict[str, JsonValue] = {}
    for name, value in arguments.items():
        if name == "x-queue-type":
            continue  # folded into Queue.type
        if name in INTEGER_ARGUMENTS:
            number = as_integer(value)
            result[name] = number if number is not None else value
        elif name in BOOLEAN_ARGUMENTS and isinstance(value, str) and value.lower() in ("true", "false"):
            result[name] = value.lower() == "true"
        elif isinstance(value, float) and value.is_integer():
            result[name] = int(value)
        else:
            result[name] = value
    return dict(sorted(result.items()))


def normalize_tags(tags: Any) -> tuple[str, ...]:
    """User and vhost tags as a sorted tuple; the server may send a list or a comma-separated string."""
    if tags is None:
        return ()
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    return tuple(sorted({str(tag).strip() for tag in items if str(tag).strip()}))


def breaks_binding_listings(binding: Binding) -> bool:
    """True for a binding the management API cannot format: '~' in its routing key, and arguments.

    Seen on RabbitMQ 3.10.8: creating one answers HTTP 500 (the binding is created all the same), and from
    then on every bindings listing of its vhost, and the vhost's definitions export, fail with HTTP 500.
    """
    return "~" in binding.routing_key and bool(binding.arguments)


def normalize_parameter_value(value: JsonValue) -> JsonValue:
    """A runtime or global parameter's ``value`` as the server keeps it: an empty object as a whole value is
    ``[]`` (the server stores the value as a list of pairs, so ``{}`` and ``[]`` are one state; measured on
    3.10.8 and 4.0.5, ``rabbit_runtime_parameters``). Nested empty objects stay objects, as on the server."""
    return [] if value == {} else value


#: Exact types whose ``==`` is already the server's equality when both sides have the same type.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _family(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    for family in (int, float, str, dict, list):
        if isinstance(value, family):
            return family
    return list if isinstance(value, tuple) else type(value)


def same_value(a: Any, b: Any) -> bool:
    """Equality as the server sees JSON: ``true`` is not ``1`` and ``1.0`` is not ``1`` (Python's ``==`` says
    they are), at any depth; a tuple equals a list of the same items. The server keeps each as given
    (a parameter's value, an argument's AMQP type: ``bool``, ``long``, ``double``)."""
    kind = type(a)
    if kind is type(b):
        if kind in _SCALARS:  # the common case of a plan (a name, a flag), decided at once
            return bool(a == b)
        if kind is dict:  # arguments, definitions: most often two empty ones
            return a.keys() == b.keys() and all(same_value(item, b[key]) for key, item in a.items())
    family = _family(a)
    if family is not _family(b):
        return False
    if family is dict:
        return a.keys() == b.keys() and all(same_value(item, b[key]) for key, item in a.items())
    if family is list:
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
