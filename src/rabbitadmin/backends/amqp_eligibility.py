"""Which creates may go as AMQP declares instead of the definitions import, decided before the first write.

The AMQP path (``amqp_declare``) must leave exactly what the import would leave, so an object goes that way
only when every rule below holds; anything else takes the import, unchanged. Pure functions: the facts they
need (which vhosts grant full permissions, whether the port answers) are read by the backend.

Argument typing (why some argument values are not eligible): the definitions import turns JSON into an
AMQP table with ``rabbit_misc:to_amqp_table`` (rabbitmq-server, ``type_val/1``): an integer becomes
``long`` (signed 64-bit, AMQP ``l``), any other number ``double``, a string ``longstr``, true/false ``bool``,
a list ``array``, an object ``table`` (keys in the decoded map's order: sorted while a map has at most 32
keys). pika 1.x (``pika.data.encode_value``) encodes an ``int`` as ``I`` (signed 32-bit) when it fits,
``pika.compat.long`` as ``l``, ``str`` as ``S`` (longstr), ``bool`` as ``t``, ``list`` as ``A``, ``dict`` as
``F`` in insertion order, and cannot encode a ``float`` at all. A binding's ``properties_key`` hashes its
arguments with their types and the order of nested tables (measured on 3.10.8: a plain ``int`` or an
unsorted nested table gives another key than the import; the top-level table is sorted by the server).
So integers are sent as ``long``, nested tables with sorted keys, and floats, nulls and nested tables of
more than 32 keys (hash-ordered maps) are not eligible.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rabbitadmin.model import Binding, Exchange, JsonValue, Queue, TopologyObject

#: A nested map with more keys than this iterates in hash order on the server (Erlang's small-map limit).
MAX_SORTED_MAP_KEYS = 32
#: The range of an AMQP signed 64-bit integer (``long``), what the import makes of a JSON integer.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
#: Names the server keeps for itself: AMQP refuses to declare them, the import does not (rabbit_channel).
RESERVED_PREFIX = "amq."
FULL_ACCESS = ".*"
#: ``--create-with auto``: the fewest eligible objects sent as AMQP declares. Measured (docs/benchmarks.md,
#: "Evening"): 4,200-21,000 objects 0.53x-0.89x the import's time, smaller batches mixed (0.81x-1.37x).
AMQP_THRESHOLD = 2000
#: What an AMQP declare can create.
Declarable = Exchange | Queue | Binding


class CreateWith(StrEnum):
    """``apply --create-with``: how a large batch of exchanges, queues and bindings is created."""

    auto = "auto"  # AMQP when every rule holds and the batch is at least the threshold
    amqp = "amqp"  # AMQP when every rule holds, whatever the batch's size
    import_ = "import"  # always the definitions import


@dataclass(frozen=True)
class Split:
    """A batch divided: ``amqp`` objects go as declares, ``rest`` through the import; ``why``: why not all AMQP."""

    amqp: list[Declarable]
    rest: list[TopologyObject]
    why: str | None = None


def argument_eligible(value: JsonValue, *, nested: bool = False) -> bool:
    """Whether ``value`` (an argument's JSON value) encodes over AMQP to what the import makes of it."""
    if isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return LONG_MIN <= value <= LONG_MAX
    if isinstance(value, list):
        return all(argument_eligible(item, nested=True) for item in value)
    if isinstance(value, dict):
        if nested and len(value) > MAX_SORTED_MAP_KEYS:
            return False
        return all(isinstance(key, str) and argument_eligible(item, nested=True) for key, item in value.items())
    return False  # float (pika cannot encode it), None (the import refuses it)


def arguments_eligible(arguments: dict[str, JsonValue]) -> bool:
    """Every value of an object's arguments table is eligible (``argument_eligible``)."""
    return all(argument_eligible(value) for value in arguments.values())


def amqp_value(value: JsonValue) -> Any:
    """``value`` as pika must be given it to encode what the import would: integers as ``long``, nested
    tables with sorted keys (only for eligible values: ``argument_eligible``)."""
    from pika.compat import long

    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return long(value)
    if isinstance(value, list):
        return [amqp_value(item) for item in value]
    if isinstance(value, dict):
        return {key: amqp_value(value[key]) for key in sorted(value)}
    raise ValueError(f"not an eligible argument value: {type(value).__name__}")


def amqp_arguments(arguments: dict[str, JsonValue]) -> dict[str, Any]:
    """An arguments table for pika (``amqp_value`` of each value; the server sorts the top-level table)."""
    return {key: amqp_value(arguments[key]) for key in sorted(arguments)}


def object_eligible(obj: TopologyObject, full_access: Collection[str]) -> bool:
    """One object's own rules: an exchange, queue or binding in a vhost of ``full_access`` (exists, and the
    connecting user's configure, write and read are all ``.*``), no ``amq.`` name (a binding: neither end,
    and not the default exchange), eligible arguments."""
    if not isinstance(obj, Exchange | Queue | Binding) or obj.vhost not in full_access:
        return False
    names = [obj.source, obj.destination] if isinstance(obj, Binding) else [obj.name]
    if any(name == "" or name.startswith(RESERVED_PREFIX) for name in names):
        return False
    return arguments_eligible(obj.arguments)


def split_batch(
    objects: Sequence[TopologyObject],
    *,
    mode: CreateWith,
    full_access: Collection[str],
    threshold: int,
    reachable: bool,
) -> Split:
    """Divide a create batch between AMQP declares and the import (see the module docstring and
    docs/apply.md). A binding goes by AMQP only if neither end is an object of this batch that goes by
    import (the AMQP declares all finish before the import starts). ``auto`` sends nothing by AMQP when
    fewer than ``threshold`` objects are eligible; ``amqp`` ignores the size; ``import`` never uses AMQP.
    """
    everything = list(objects)
    if mode is CreateWith.import_:
        return Split([], everything, "--create-with import")
    if not reachable:
        return Split([], everything, "the AMQP port is not reachable")
    own = {id(obj) for obj in everything if object_eligible(obj, full_access)}
    # Exchanges and queues of this batch that the import creates: a binding to one of them waits for it.
    by_import = {
        (obj.kind, obj.vhost, obj.name)
        for obj in everything
        if isinstance(obj, Exchange | Queue) and id(obj) not in own
    }

    def ends_ready(obj: TopologyObject) -> bool:
        if not isinstance(obj, Binding):
            return True
        ends = (("exchange", obj.vhost, obj.source), (obj.destination_type, obj.vhost, obj.destination))
        return not any(end in by_import for end in ends)

    amqp_ids = {id(obj) for obj in everything if id(obj) in own and ends_ready(obj)}
    amqp = [obj for obj in everything if isinstance(obj, Declarable) and id(obj) in amqp_ids]
    rest = [obj for obj in everything if id(obj) not in amqp_ids]
    if mode is CreateWith.auto and len(amqp) < threshold:
        return Split([], everything, f"{len(amqp)} object(s) eligible, fewer than {threshold}")
    return Split(amqp, rest, None if not rest else f"{len(rest)} object(s) not eligible")
