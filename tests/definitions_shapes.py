"""The definitions files behind ``definitions_input``'s tables (``NOT_NULL``, ``REQUIRED``, ``OBJECT_ONLY``,
``STORED_AS_GIVEN``, ``UNDEFINED_WHEN_MISSING``, ``FIXED_NAMES``, ``LIST_SECTIONS``, ``IMPORT_READS``) and of the
objects the import skips (``SKIPPED``): one file per row, read offline
by tests/unit/test_definitions_shapes.py (the problem or warning at its place) and put to the server's own import
by tests/integration/test_definitions_shapes.py and test_definitions_nulls.py (what each server version does with
the same file). A row added to a table is a case here at once; ``OBJECT_SAMPLES`` must name its wrong values."""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from rabbitadmin.definitions_input import (
    EMPTY_LIST_IS_OBJECT,
    FIXED_NAMES,
    IMPORT_READS,
    LIST_SECTIONS,
    NOT_NULL,
    OBJECT_ONLY,
    REQUIRED,
    STORED_AS_GIVEN,
    UNDEFINED_WHEN_MISSING,
)

#: ``value`` for a field left out of its entry.
DROP = "<left out>"
#: The kinds of ``parameters`` entries the tables name by component.
PARAMETER_KINDS = ("operator_policy", "vhost-limits", "shovel", "federation-upstream")
#: Wrong values for each ``OBJECT_ONLY`` row: a list of pairs (``rabbitmqctl export_definitions``' shape for an
#: object), a list, a string.
OBJECT_SAMPLES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("users", "limits"): ([], [["max-connections", 3]]),
    ("vhosts", "metadata"): ("x", []),
    ("operator_policy", "value"): ([["pattern", "^p$"], ["definition", {"max-length": 1}], ["priority", 0]],),
    ("operator_policy", "value.definition"): ([["max-length", 1]],),
    ("vhost-limits", "value"): ([["max-queues", 10]], "x"),
    ("shovel", "value"): ([["src-uri", "amqp://"], ["src-queue", "a"], ["dest-uri", "amqp://"], ["dest-queue", "b"]],),
    ("federation-upstream", "value"): ([["uri", "amqp://"]], "x"),
}


def entries(vhost: str, user: str) -> dict[str, dict[str, Any]]:
    """One entry of each kind that the server's import takes as it is."""
    policy = {"pattern": "^p$", "definition": {"max-length": 1}, "priority": 0, "apply-to": "queues"}
    return {
        "users": {"name": user, "tags": "", "password_hash": ""},
        "vhosts": {"name": vhost},
        "exchanges": {"name": "x", "vhost": vhost, "type": "direct", "durable": True, "auto_delete": False,
                      "internal": False, "arguments": {}},
        "queues": {"name": "q", "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}},
        "bindings": {"source": "x", "vhost": vhost, "destination": "q", "destination_type": "queue",
                     "routing_key": "k", "arguments": {}},
        "policies": {"vhost": vhost, "name": "p", **policy},
        "operator_policy": {"vhost": vhost, "component": "operator_policy", "name": "op", "value": policy},
        "vhost-limits": {"vhost": vhost, "component": "vhost-limits", "name": "limits", "value": {"max-queues": 10}},
        "shovel": {"vhost": vhost, "component": "shovel", "name": "s", "value": {"src-uri": "amqp://",
                   "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b"}},
        "federation-upstream": {"vhost": vhost, "component": "federation-upstream", "name": "up",
                                "value": {"uri": "amqp://"}},
        "permissions": {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"},
        "topic_permissions": {"user": user, "vhost": vhost, "exchange": "amq.topic", "write": ".*", "read": ".*"},
        "global_parameters": {"name": global_name(vhost), "value": "v"},
    }  # fmt: skip


def global_name(vhost: str) -> str:
    """The name of the one global parameter of a file made for ``vhost``."""
    return f"{vhost}-global"


def section_of(kind: str) -> str:
    return "parameters" if kind in PARAMETER_KINDS else kind


def document(kind: str, field: str, value: Any, vhost: str = "v", user: str = "u") -> dict[str, Any]:
    """A definitions file the import takes whole, but for ``field`` (dotted: inside the entry) of the one ``kind``
    entry, set to ``value`` (``DROP``: left out). A binding comes with its exchange and queue."""
    made = entries(vhost, user)
    entry = copy.deepcopy(made[kind])
    *outer, key = field.split(".")
    owner = entry
    for part in outer:
        owner = owner.setdefault(part, {})
    if value == DROP:
        owner.pop(key, None)
    else:
        owner[key] = value
    result: dict[str, Any] = {"rabbit_version": "3.10.8", "vhosts": [made["vhosts"]]}
    if kind == "bindings":
        result.update(exchanges=[made["exchanges"]], queues=[made["queues"]])
    if kind in ("permissions", "topic_permissions"):
        result.update(users=[made["users"]])
    result[section_of(kind)] = [entry]
    return result


class Case(NamedTuple):
    """One file: ``kind``'s entry with ``field`` set to ``value``, ``path`` the field as a problem names it and
    ``said`` what the problem (or warning) says."""

    table: str
    kind: str
    field: str
    value: Any
    said: str

    @property
    def path(self) -> str:
        return f"{section_of(self.kind)}[0].{self.field}"

    @property
    def id(self) -> str:
        shown = "left-out" if self.value == DROP else repr(self.value).replace(" ", "")
        return f"{self.table}:{self.kind}.{self.field}={shown}"

    def document(self, vhost: str = "v", user: str = "u") -> dict[str, Any]:
        return document(self.kind, self.field, self.value, vhost, user)


def _stored_values(check: str) -> tuple[Any, ...]:
    return {"null": (None,), "string": (None, 5), "present": (DROP,)}[check]


#: Files the server's import refuses (HTTP 400 or 500), and rabbitadmin too, at the field.
REFUSED: list[Case] = [
    *(Case("REQUIRED", kind, field, DROP, "is required: the server's import refuses an entry without it")
      for kind, fields in REQUIRED.items() for field in fields),
    *(Case("OBJECT_ONLY", kind, field, value, "expected an object: the server's import refuses")
      for kind, fields in OBJECT_ONLY.items() for field in fields for value in OBJECT_SAMPLES[(kind, field)]),
    *(Case("FIXED_NAMES", kind, "name", f"not-{name}", f"name it {name!r}") for kind, name in FIXED_NAMES.items()),
]  # fmt: skip
#: Files with a section given as null: refused by the server (HTTP 500) and by rabbitadmin (``path`` is the section).
NULL_SECTIONS = list(LIST_SECTIONS)
#: Files the server's import takes, storing a value no client can declare: rabbitadmin refuses them, saying so.
STORED: list[Case] = [
    Case("STORED_AS_GIVEN", kind, field, value, f"the server's import {effect}")
    for kind, fields in STORED_AS_GIVEN.items()
    for field, (check, effect) in fields.items()
    for value in _stored_values(check)
]
#: Files the server's import takes, storing ``undefined`` for a missing field: rabbitadmin writes its default, warned.
UNDEFINED: list[Case] = [
    Case("UNDEFINED_WHEN_MISSING", kind, field, DROP, f"is missing: the server's import {effect}")
    for kind, fields in UNDEFINED_WHEN_MISSING.items()
    for field, effect in fields.items()
]
#: Files with ``[]`` where the import reads ``{}``: taken by both, with the same result.
EMPTY: list[Case] = [
    Case("EMPTY_LIST_IS_OBJECT", kind, field, [], "")
    for kind, fields in EMPTY_LIST_IS_OBJECT.items()
    for field in fields
]
#: Duplicate and empty tags: the server's import keeps them, rabbitadmin sets each tag once (warned):
#: (kind, tags as written, as the server stores them, as rabbitadmin sets them).
TAGS: list[tuple[str, Any, list[str], list[str]]] = [
    ("users", ["a", "a", ""], ["a", "a", ""], ["a"]),
    ("users", "a,,a, b", ["a", "a", "b"], ["a", "b"]),
    ("vhosts", ["b", "a", "b"], ["b", "a", "b"], ["b", "a"]),
    ("vhosts", "a,,a", ["a", "", "a"], ["a"]),
]


def every_null() -> list[Case]:
    """``NOT_NULL``'s rows as cases (tests/integration/test_definitions_nulls.py puts them to the server)."""
    return [
        Case("NOT_NULL", kind, field, None, "is null, which the server's import refuses")
        for kind, fields in NOT_NULL.items()
        for field in fields
    ]


#: Files with a field the import ignores, in an entry of each section (an unknown one; a vhost's ``state`` as
#: ``GET /api/vhosts`` writes it; a queue's ``exclusive`` and ``node``, as ``GET /api/queues`` writes them): taken
#: by the import and by rabbitadmin alike, the object made without it; rabbitadmin says so, once, at the field.
IGNORED: list[Case] = [
    *(Case("IMPORT_READS", kind, "colour", "red", "unknown field 'colour': the server's import ignores it too")
      for kind in (*IMPORT_READS, "operator_policy") if kind != "parameters"),
    Case("IMPORT_READS", "vhosts", "state", "running", "state 'running' is not rabbitadmin's present or absent"),
    Case("IMPORT_READS", "queues", "exclusive", True, "the server's import ignores it too (it never creates an "
         "exclusive queue"),
    Case("IMPORT_READS", "queues", "node", "rabbit@x", "unknown field 'node': the server's import ignores it too"),
]  # fmt: skip


class Skipped(NamedTuple):
    """One object the import skips (``definitions_input._skipped``), added to a file of a vhost ``v`` with an
    exchange ``x`` and a queue ``q`` (and ``with_queue``, when not None, a queue of that name): ``path`` is where
    the warning is, ``said`` what it says, ``import_4`` what 4.0.5's import answers (3.10.8: 204 to all)."""

    id: str
    section: str
    entry: dict[str, Any]
    said: str
    import_4: int = 204
    with_queue: str | None = None

    @property
    def path(self) -> str:
        return f"{self.section}[{0 if self.section == 'bindings' else 1}]"

    def document(self, vhost: str = "v") -> dict[str, Any]:
        made = entries(vhost, "u")
        queues = [made["queues"]]
        if self.with_queue:
            queues.append({**made["queues"], "name": self.with_queue})
        result: dict[str, Any] = {"rabbit_version": "4.0.5", "vhosts": [made["vhosts"]],
                                  "exchanges": [made["exchanges"]], "queues": queues, "bindings": []}  # fmt: skip
        result[self.section] = [*result[self.section][:1], {**self.entry, "vhost": vhost}]
        return result


def _binding(source: str, destination: str, kind: str = "queue") -> dict[str, Any]:
    return {"source": source, "destination": destination, "destination_type": kind, "routing_key": "k",
            "arguments": {}}  # fmt: skip


def _exchange(name: str, kind: str = "direct") -> dict[str, Any]:
    return {"name": name, "type": kind, "durable": True, "auto_delete": False, "internal": False, "arguments": {}}


#: Objects the import skips (3.10.8 and 4.0.5: 204, nothing made; measured), or whose binding 3.10.8 skips and
#: 4.0.5 refuses (400 not_found): rabbitadmin leaves each out, with a warning at it.
SKIPPED: list[Skipped] = [
    Skipped("amq-queue", "queues", {"name": "amq.gen-abc", "durable": True, "auto_delete": False, "arguments": {}},
            "skips a queue whose name begins with amq."),
    Skipped("amq-exchange", "exchanges", _exchange("amq.custom"), "skips an exchange whose name begins with amq."),
    Skipped("server-exchange", "exchanges", _exchange("amq.topic", "fanout"), "skips an exchange whose name begins"),
    Skipped("default-exchange", "exchanges", _exchange(""), "skips the default exchange"),
    Skipped("default-exchange-binding", "bindings", _binding("", "q"), "a binding of the default exchange"),
    Skipped("from-amq-exchange", "bindings", _binding("amq.custom", "q"), "a binding of an amq.* exchange", 400),
    Skipped("to-amq-exchange", "bindings", _binding("x", "amq.custom", "exchange"), "a binding of an amq.*", 400),
    Skipped("to-amq-queue", "bindings", _binding("amq.topic", "amq.gen-abc"), "a binding to a queue named amq.*",
            400, with_queue="amq.gen-abc"),
]  # fmt: skip
#: Bindings of the server's own amq.* exchanges: the import makes them, and rabbitadmin too, without a word.
SERVER_EXCHANGE_BINDINGS = [_binding("amq.topic", "q"), _binding("x", "amq.topic", "exchange")]
