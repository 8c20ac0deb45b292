"""RabbitMQ facts about each kind of object, as data reviewed in one place.

- ``updatable``: fields the server changes in place.
- ``immutable``: fields fixed at creation; changing one means deleting and re-creating (a Replace).
- ``scoped``: the object lives inside a vhost (so it is pruned only inside vhosts the topology manages).
- ``label``: how plans name the kind.
The create order is ``model.KIND_ORDER``; deletes run in the reverse order. What the server accepts as
the ``arguments`` of queues, exchanges and bindings is its own table: ``argument_rules.RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rabbitadmin.argument_rules import RULES as ARGUMENT_RULES
from rabbitadmin.model import KIND_ORDER


@dataclass(frozen=True)
class KindFacts:
    name: str
    label: str
    updatable: tuple[str, ...]
    immutable: tuple[str, ...]
    scoped: bool


KINDS: dict[str, KindFacts] = {
    "vhost": KindFacts("vhost", "vhost", ("description", "tags", "default_queue_type"), (), scoped=False),
    # A user's password is compared through its hash (see diff.py), not as a plain field.
    "user": KindFacts("user", "user", ("tags",), (), scoped=False),
    "permission": KindFacts("permission", "permission", ("configure", "write", "read"), (), scoped=True),
    "topic_permission": KindFacts("topic_permission", "topic permission", ("write", "read"), (), scoped=True),
    "exchange": KindFacts(
        "exchange", "exchange", (), ("type", "durable", "auto_delete", "internal", "arguments"), scoped=True
    ),
    "queue": KindFacts("queue", "queue", (), ("type", "durable", "auto_delete", "arguments"), scoped=True),
    # Every field of a binding is part of its identity: any change is a delete plus a create.
    "binding": KindFacts("binding", "binding", (), (), scoped=True),
}

assert tuple(KINDS) == KIND_ORDER, "kinds.py and model.KIND_ORDER must list the kinds in the same order"

#: The kinds whose ``arguments`` the server checks, each with its rows of ``argument_rules.RULES``.
ARGUMENTS_CHECKED = {
    kind: tuple(rule for rule in ARGUMENT_RULES if rule.target == kind) for kind in ("exchange", "queue", "binding")
}

CREATE_ORDER = KIND_ORDER
DELETE_ORDER = tuple(reversed(KIND_ORDER))
