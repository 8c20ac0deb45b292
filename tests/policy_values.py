"""Policy definitions the server refuses and ones it takes, by RabbitMQ version: one table for the offline
checks (tests/unit/test_policies_limits.py) and for the proof that they are the server's own rules
(tests/integration/test_policies_limits.py puts each definition to a real 3.10 and 4.0 node).

Each row: (definition, versions whose server refuses it, what ``validate`` says, or None when ``validate``
takes it and the plan decides by the server's version). Sources: ``rabbit_policies:validate_policy0/2``,
``rabbit_mirror_queue_misc:validate_policy/1`` and the ha-mode modules (3.x), ``rabbit_federation_parameters``,
``rabbit_amqqueue:check_max_age/1``, at v3.10.8 and v4.0.5.
"""

from __future__ import annotations

from typing import Any

BOTH = ("3.10", "4.0")
V3 = ("3.10",)
NONE: tuple[str, ...] = ()

#: Refused by every version validate knows: validate says so (exit 2), with the key's place.
REFUSED: list[tuple[dict[str, Any], tuple[str, ...], str]] = [
    ({"max-age": "7days"}, BOTH, "max-age: must be a string of a positive number and one unit"),
    ({"max-age": 100}, BOTH, "max-age: must be a string"),  # the server's validator crashes: HTTP 500
    ({"max-age": "0D"}, BOTH, "max-age: must be a string of a positive number"),
    ({"queue-leader-locator": "nearest"}, BOTH, "queue-leader-locator: must be one of"),
    ({"stream-max-segment-size-bytes": 3_000_000_001}, BOTH, "must be a whole number from 0 to 3,000,000,000"),
    ({"federation-upstream": 5}, BOTH, "federation-upstream: must be a string"),
    ({"federation-upstream-set": ["a"]}, BOTH, "federation-upstream-set: must be a string"),
    ({"federation-upstream-pattern": "("}, BOTH, "federation-upstream-pattern: not a valid regular expression"),
    ({"federation-upstream": "a", "federation-upstream-set": "b"}, BOTH, "cannot be set together"),
    ({"ha-mode": "exactly"}, BOTH, 'ha-mode "exactly" takes ha-params'),
    ({"ha-mode": "exactly", "ha-params": 0}, BOTH, 'ha-mode "exactly" takes ha-params'),
    ({"ha-mode": "all", "ha-params": 2}, BOTH, 'ha-mode "all" does not take ha-params'),
    ({"ha-mode": "all", "ha-params": None}, BOTH, 'ha-mode "all" does not take ha-params'),  # a newcomer's case
    ({"ha-mode": "nodes", "ha-params": "rabbit@x"}, BOTH, 'ha-mode "nodes" takes ha-params'),
    ({"ha-mode": "nodes", "ha-params": []}, BOTH, 'ha-mode "nodes" takes ha-params'),
    ({"ha-params": 2}, BOTH, "ha-mode must be given"),
    ({"ha-sync-mode": "automatic"}, BOTH, "ha-mode must be given"),
    ({"ha-mode": "all", "ha-sync-batch-size": 0}, BOTH, "ha-sync-batch-size: must be a whole number >= 1"),
    ({"ha-mode": "all", "ha-promote-on-shutdown": "sometimes"}, BOTH, "ha-promote-on-shutdown: must be one of"),
    ({"ha-mode": "all", "ha-promote-on-failure": "never"}, BOTH, "ha-promote-on-failure: must be one of"),
]
#: Taken by validate; refused by the servers of some versions only, which the plan knows (exit 4 there).
BY_VERSION: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"delivery-limit": -1}, V3),
    ({"queue-master-locator": "balanced"}, V3),
    ({"ha-mode": "all"}, ("4.0",)),
    ({"ha-mode": "exactly", "ha-params": 2, "ha-sync-batch-size": 5}, ("4.0",)),
]
#: Taken by validate and by every version's server.
ACCEPTED: list[dict[str, Any]] = [
    {"max-age": "7D"},
    {"max-age": "12h"},
    {"queue-leader-locator": "balanced"},
    {"initial-cluster-size": 0},
    {"stream-max-segment-size-bytes": 3_000_000_000},
    {"federation-upstream-pattern": "^up-"},
    {"delivery-limit": 0},
    {"queue-master-locator": "client-local"},
]
