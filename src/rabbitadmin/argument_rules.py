"""RabbitMQ's own rules for queue, exchange and binding arguments, as a table.

Each ``ArgumentRule`` row says which objects take an argument, the value the server accepts, what it
needs alongside, and the server source it was read from. Rows differ by RabbitMQ version where the
server did (``versions``). ``check_arguments`` applies the table: ``validate`` runs it offline for every
supported version (refusing what all of them refuse, warning about what only some refuse); a caller
that knows the server's version passes it and gets that version's verdict.

How the server decides, for a queue (``rabbit_amqqueue:check_declare_arguments``, 3.10.8 and 4.0.5):

1. each argument named in the queue type's ``capabilities()`` ``queue_arguments`` list is checked by the
   function ``rabbit_amqqueue:declare_args()`` gives it (type and range);
2. an argument named in *another* queue type's list is refused ("invalid arg ... of queue type ...");
3. any other argument, ``x-`` or not, is accepted and stored unchecked (so an unknown argument is
   accepted here too: it may be a plugin's or a policy-like setting the server ignores);
4. the queue type's ``declare/2`` adds its own checks (streams: segment size, filter size).

Every argument crosses the management API as JSON turned into an AMQP table
(``rabbit_misc:to_amqp_table``): a JSON null is refused for any argument (``null_not_allowed``), a whole
number becomes ``long``, a fraction ``double``, text ``longstr``.

The data-driven test ``tests/integration/test_argument_rules.py`` declares, for each row, one accepted
and one refused value against a real node and checks the server agrees with the row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rabbitadmin.model import holds_null
from rabbitadmin.server_versions import parse_version as full_version
from rabbitadmin.value_text import value_text

Version = tuple[int, int]
Target = Literal["queue", "exchange", "binding"]

#: The versions ``validate`` checks against when it does not know the server's (oldest and newest).
SUPPORTED_VERSIONS: tuple[Version, ...] = ((3, 10), (4, 0))
#: ``rabbit_misc:check_expiry``: 10 years in milliseconds.
MAX_EXPIRY_MS = 315_360_000_000
#: ``?MAX_STREAM_MAX_SEGMENT_SIZE`` in rabbit_common/include/rabbit.hrl.
MAX_STREAM_SEGMENT_BYTES = 3_000_000_000
#: ``rabbit_amqqueue:check_max_age``: digits (a positive number) then exactly one unit letter.
MAX_AGE_RE = re.compile(r"[0-9]+[YMDhms]")

QUEUE_TYPES = ("classic", "quorum", "stream")
ALL_QUEUES = frozenset(QUEUE_TYPES)
CLASSIC = frozenset({"classic"})
QUORUM = frozenset({"quorum"})
STREAM = frozenset({"stream"})
CLASSIC_QUORUM = frozenset({"classic", "quorum"})
QUORUM_STREAM = frozenset({"quorum", "stream"})

AMQQUEUE = "deps/rabbit/src/rabbit_amqqueue.erl declare_args/0"
CAPS = "capabilities/0 queue_arguments in deps/rabbit/src/rabbit_{}_queue.erl"


@dataclass(frozen=True)
class Value:
    """The values the server accepts for one argument.

    ``kind``: ``integer`` (a JSON whole number; the server says "expected integer, got longstr" for
    text), ``boolean``, ``string`` or ``any`` (the server does not look at it). ``minimum``/``maximum``
    bound integers (inclusive); ``choices`` lists the accepted strings; ``pattern`` must match a whole
    string (with ``positive`` the leading number must be above zero).
    """

    kind: Literal["integer", "boolean", "string", "any"]
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    def problem(self, value: Any) -> str | None:
        """Why the server refuses ``value``, or None."""
        if self.kind == "any":
            return None
        if self.kind == "boolean":
            return None if isinstance(value, bool) else f"must be true or false, got {value_text(value)}"
        if self.kind == "string":
            if not isinstance(value, str):
                return f"must be a string, got {value_text(value)}"
            if self.choices and value not in self.choices:
                return f"must be one of {', '.join(self.choices)}; got {value_text(value)}"
            if self.pattern is not None and not _matches_max_age(self.pattern, value):
                unit = "one of Y, M, D, h, m, s (e.g. 7D)"
                return f"must be a positive number followed by {unit}; got {value_text(value)}"
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, got {value_text(value)}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum}, got {value}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum}, got {value}"
        return None

    def describe(self) -> str:
        """A short human description (used in docs and messages)."""
        if self.kind == "integer":
            low = "" if self.minimum is None else f">= {self.minimum}"
            high = "" if self.maximum is None else f"<= {self.maximum}"
            return "whole number " + " and ".join(part for part in (low, high) if part)
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.pattern is not None:
            return "duration such as 7D (units Y M D h m s)"
        return {"boolean": "true or false", "string": "string", "any": "anything"}[self.kind]


def _matches_max_age(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None and int(value[:-1]) > 0


def is_max_age(value: object) -> bool:
    """Whether ``rabbit_amqqueue:check_max_age`` takes ``value`` (a stream's ``x-max-age``, a policy's ``max-age``):
    a string of a positive number and one unit, ``7D``, ``12h``."""
    return isinstance(value, str) and _matches_max_age(MAX_AGE_RE, value)


@dataclass(frozen=True)
class ArgumentRule:
    """One row: argument ``name`` on ``target`` objects, for RabbitMQ ``versions`` (inclusive range).

    ``takes``: queue types (or, for bindings, source exchange types) that take the argument.
    ``others``: what the server does with the argument on any other queue type: ``refused`` (it is in
    another queue type's capabilities) or ``ignored`` (stored unchecked).
    ``server_checks``: False where the server stores any value but rabbitadmin still insists on
    ``value`` (a value the queue cannot use); the integration test then expects the server to accept.
    ``requires``: arguments that must be given too.
    """

    name: str
    target: Target
    takes: frozenset[str]
    value: Value
    source: str
    versions: tuple[Version, Version] = ((3, 10), (99, 0))
    others: Literal["refused", "ignored"] = "refused"
    requires: tuple[str, ...] = ()
    server_checks: bool = True
    note: str = ""

    def applies_to(self, version: Version) -> bool:
        return self.versions[0] <= version <= self.versions[1]


def _queue(name: str, takes: frozenset[str], value: Value, **extra: Any) -> ArgumentRule:
    types = "/".join(sorted(takes))
    source = extra.pop("source", f"{AMQQUEUE}; {CAPS.format(types)}")
    return ArgumentRule(name, "queue", takes, value, source, **extra)


V3 = ((3, 10), (3, 99))
V4 = ((4, 0), (99, 0))
NON_NEGATIVE = Value("integer", minimum=0)
POSITIVE = Value("integer", minimum=1)
OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")
LEADER_LOCATORS_3 = ("client-local", "balanced", "random", "least-leaders")
#: queue-master-locator's values on 3.x (the queue_master_locator types rabbit_registry holds at v3.10.8): an
#: argument's and a policy's; 4.0 takes the leader locators too (``rabbit_queue_location:queue_leader_locators/0``).
MASTER_LOCATORS_3 = ("min-masters", "client-local", "random")

RULES: tuple[ArgumentRule, ...] = (
    # -- queues ---------------------------------------------------------------------------------------------
    _queue("x-expires", CLASSIC_QUORUM, Value("integer", minimum=1, maximum=MAX_EXPIRY_MS), note="check_expires_arg"),
    _queue("x-message-ttl", CLASSIC_QUORUM, Value("integer", minimum=0, maximum=MAX_EXPIRY_MS)),
    _queue("x-dead-letter-exchange", CLASSIC_QUORUM, Value("string")),
    _queue(
        "x-dead-letter-routing-key",
        CLASSIC_QUORUM,
        Value("string"),
        requires=("x-dead-letter-exchange",),
        note="routing_key_but_no_dlx_defined",
    ),
    _queue("x-dead-letter-strategy", QUORUM, Value("string", choices=("at-most-once", "at-least-once"))),
    _queue("x-max-length", CLASSIC_QUORUM, NON_NEGATIVE),
    _queue("x-max-length-bytes", ALL_QUEUES, NON_NEGATIVE),
    _queue("x-max-in-memory-length", QUORUM, NON_NEGATIVE, note="still listed by 4.0.5, which ignores it"),
    _queue("x-max-in-memory-bytes", QUORUM, NON_NEGATIVE, note="still listed by 4.0.5, which ignores it"),
    _queue("x-max-priority", CLASSIC, Value("integer", minimum=0, maximum=255), note="?MAX_SUPPORTED_PRIORITY"),
    _queue("x-overflow", CLASSIC_QUORUM, Value("string", choices=OVERFLOW_MODES)),
    _queue("x-queue-mode", CLASSIC, Value("string", choices=("default", "lazy")), note="4.0 ignores the mode"),
    _queue("x-queue-version", CLASSIC, Value("integer", minimum=1, maximum=2)),
    _queue("x-single-active-consumer", CLASSIC_QUORUM, Value("boolean")),
    _queue("x-quorum-initial-group-size", QUORUM, POSITIVE),
    _queue(
        "x-delivery-limit",
        QUORUM,
        NON_NEGATIVE,
        versions=V3,
        server_checks=False,
        note="not in declare_args: stored unchecked",
    ),
    # 4.0 sets a default limit (20) and reads a negative one as none (rabbit_quorum_queue:resolve_delivery_limit/2).
    _queue(
        "x-delivery-limit",
        QUORUM,
        Value("integer"),
        versions=V4,
        server_checks=False,
        note="not in declare_args: stored unchecked; a negative limit is none",
    ),
    _queue("x-max-age", STREAM, Value("string", pattern=MAX_AGE_RE)),
    _queue(
        "x-stream-max-segment-size-bytes",
        STREAM,
        Value("integer", minimum=0, maximum=MAX_STREAM_SEGMENT_BYTES),
        source=f"{AMQQUEUE}; deps/rabbit/src/rabbit_stream_queue.erl check_max_segment_size_bytes/1",
    ),
    _queue("x-initial-cluster-size", STREAM, POSITIVE),
    _queue(
        "x-queue-leader-locator",
        QUORUM_STREAM,
        Value("string", choices=LEADER_LOCATORS_3),
        versions=V3,
        source=f"{AMQQUEUE}; deps/rabbit/src/rabbit_queue_location.erl ?QUEUE_LEADER_LOCATORS",
    ),
    _queue(
        "x-queue-leader-locator",
        ALL_QUEUES,
        Value("string", choices=(*LEADER_LOCATORS_3, "min-masters")),
        versions=V4,
        source=f"{AMQQUEUE}; rabbit_classic_queue capabilities/0 (feature flag rabbitmq_4.0.0); rabbit_queue_location",
    ),
    _queue(
        "x-queue-master-locator",
        CLASSIC,
        Value("string", choices=MASTER_LOCATORS_3),
        versions=V3,
        source="deps/rabbit/src/rabbit_queue_location_validator.erl (the declare crashes on other values)",
    ),
    _queue(
        "x-queue-master-locator",
        CLASSIC,
        Value("any"),
        versions=V4,
        source="deps/rabbit/src/rabbit_classic_queue.erl validate_arguments/1 (deprecated feature)",
        note="deprecated: 4.0 falls back to client-local for other values",
    ),
    _queue(
        "x-stream-filter-size-bytes",
        STREAM,
        Value("integer", minimum=16, maximum=255),
        versions=V4,
        others="ignored",
        source="deps/rabbit/src/rabbit_stream_queue.erl check_filter_size/1",
    ),
    # -- exchanges ------------------------------------------------------------------------------------------
    ArgumentRule(
        "alternate-exchange",
        "exchange",
        frozenset(),  # every exchange type
        Value("string"),
        "deps/rabbit/src/rabbit_channel.erl handle_method exchange.declare (rabbit_misc:r_arg)",
    ),
    # -- bindings -------------------------------------------------------------------------------------------
    ArgumentRule(
        "x-match",
        "binding",
        frozenset({"headers"}),
        Value("string", choices=("all", "any", "all-with-x", "any-with-x")),
        "deps/rabbit/src/rabbit_exchange_type_headers.erl validate_binding/2",
        others="ignored",
        note="only headers exchanges look at it; all-with-x and any-with-x since 3.10",
    ),
)


@dataclass(frozen=True)
class ArgumentFinding:
    """A problem with one argument. ``refused_by``: the versions that refuse it ("3.10", "4.0")."""

    argument: str
    message: str
    refused_by: tuple[str, ...]
    severity: Literal["error", "warning"] = "error"


@dataclass
class _Verdicts:
    messages: dict[str, dict[str, list[Version]]] = field(default_factory=dict)

    def add(self, argument: str, message: str, version: Version) -> None:
        self.messages.setdefault(argument, {}).setdefault(message, []).append(version)


def parse_version(text: str | None) -> Version | None:
    """``"4.0.5"`` gives ``(4, 0)``; None or unreadable text gives None (``server_versions.parse_version``,
    cut to the major and minor version the table's rows are written for)."""
    version = full_version(text)
    return (version[0], version[1]) if version is not None and len(version) >= 2 else None


def rules_for(target: Target, version: Version) -> dict[str, ArgumentRule]:
    """The table's rows for ``target`` objects on RabbitMQ ``version``, by argument name."""
    return {rule.name: rule for rule in RULES if rule.target == target and rule.applies_to(version)}


def refusals(target: Target, object_type: str | None, arguments: Mapping[str, Any], version: Version) -> dict[str, str]:
    """What RabbitMQ ``version`` refuses among ``arguments``: {argument: reason}. Empty when it accepts all.

    Includes the values the server stores unchecked but rabbitadmin refuses (``server_checks=False``).
    """
    rules = rules_for(target, version)
    found: dict[str, str] = {}
    for name, value in arguments.items():
        if value is None:
            if not (target == "queue" and name == "x-queue-type"):  # rabbitadmin folds it into the type
                found[name] = "must have a value (the management API refuses null: null_not_allowed)"
            continue
        if holds_null(value):  # inside a list or table: rabbit_misc:to_amqp_table refuses it at any depth
            found[name] = "holds a null (the management API refuses null anywhere in an argument: null_not_allowed)"
            continue
        rule = rules.get(name)
        if rule is None:
            continue  # unknown arguments are stored as given
        if rule.takes and object_type not in rule.takes:
            if rule.others == "refused":
                takers = ", ".join(sorted(rule.takes))
                found[name] = f"is not accepted for {object_type} queues (only {takers})"
            continue
        problem = rule.value.problem(value)
        if problem is not None:
            found[name] = problem
            continue
        for needed in rule.requires:
            if needed not in arguments:
                found[name] = f"needs {needed} as well"
    return found


def check_arguments(
    kind: Target,
    object_type: str | None,
    args: Mapping[str, Any],
    server_version: str | Version | None = None,
) -> list[ArgumentFinding]:
    """Check ``args`` of one object against RabbitMQ's argument rules (``RULES``).

    ``kind``: ``"queue"``, ``"exchange"`` or ``"binding"``. ``object_type``: the queue's type
    (classic, quorum, stream) for a queue, the exchange type for an exchange, the *source* exchange's
    type for a binding (``x-match`` matters only on headers exchanges). ``args``: the arguments as the
    file gives them (``x-queue-type`` included or not). ``server_version``: ``"4.0.5"`` or ``(4, 0)``
    to get exactly that version's verdict (every finding an error); None (offline) checks
    ``SUPPORTED_VERSIONS``: what all of them refuse is an error, what only some refuse a warning naming
    them. Returns the findings, empty when the server would accept the arguments.
    """
    if isinstance(server_version, str):
        server_version = parse_version(server_version)
    versions = (server_version,) if server_version is not None else SUPPORTED_VERSIONS
    verdicts = _Verdicts()
    for version in versions:
        for name, message in refusals(kind, object_type, args, version).items():
            verdicts.add(name, message, version)
    findings: list[ArgumentFinding] = []
    for name, by_message in verdicts.messages.items():
        refused_in = sorted({v for vs in by_message.values() for v in vs})
        labels = tuple(f"{major}.{minor}" for major, minor in refused_in)
        message = next(iter(by_message))
        if len(refused_in) == len(versions):
            findings.append(ArgumentFinding(name, message, labels))
        else:
            warning = f"{message} (RabbitMQ {', '.join(labels)} refuses it)"
            findings.append(ArgumentFinding(name, warning, labels, "warning"))
    return findings


# -- the JSON Schema's share of the table ------------------------------------------------------------------
def _refused_everywhere(target: Target, name: str) -> list[ArgumentRule] | None:
    """The rows of ``name`` for every supported version, or None if some version has no row."""
    rows = [rules_for(target, version).get(name) for version in SUPPORTED_VERSIONS]
    return None if any(row is None for row in rows) else [row for row in rows if row is not None]


def _value_schema(values: list[Value]) -> dict[str, Any] | None:
    """A JSON Schema for what every version refuses: the loosest of the versions' values."""
    if any(value.kind == "any" for value in values) or len({value.kind for value in values}) != 1:
        return None
    first = values[0]
    if first.kind == "boolean":
        return {"type": "boolean"}
    if first.kind == "integer":
        schema: dict[str, Any] = {"type": "integer"}
        lows = [value.minimum for value in values]
        highs = [value.maximum for value in values]
        if None not in lows:
            schema["minimum"] = min(low for low in lows if low is not None)
        if None not in highs:
            schema["maximum"] = max(high for high in highs if high is not None)
        return schema
    if all(value.choices for value in values):
        return {"enum": sorted({choice for value in values for choice in value.choices})}
    if first.pattern is not None:
        return {"type": "string", "pattern": "^0*[1-9][0-9]*[YMDhms]$"}
    return {"type": "string"}


def schema_fragments() -> dict[str, Any]:
    """The ``$defs`` of topology.schema.json that state this table (tests keep the file equal to these).

    ``queueArgumentValues``: the value every supported version refuses outside; ``<type>ArgumentKeys``:
    the arguments every supported version refuses on that queue type.
    """
    names = sorted({rule.name for rule in RULES if rule.target == "queue"})
    properties: dict[str, Any] = {}
    dependencies: list[dict[str, Any]] = []
    forbidden: dict[str, list[str]] = {queue_type: [] for queue_type in QUEUE_TYPES}
    for name in names:
        rows = _refused_everywhere("queue", name)
        if rows is None:
            continue
        schema = _value_schema([row.value for row in rows])
        if schema is not None:
            properties[name] = schema
        for needed in sorted({n for row in rows for n in row.requires}):
            dependencies.append({"if": {"required": [name]}, "then": {"required": [needed]}})
        for queue_type in QUEUE_TYPES:
            if all(row.others == "refused" and queue_type not in row.takes for row in rows):
                forbidden[queue_type].append(name)
    fragments: dict[str, Any] = {
        "queueArgumentValues": {
            "description": "Values RabbitMQ refuses (src/rabbitadmin/argument_rules.py).",
            "properties": properties,
            "allOf": dependencies,
        }
    }
    for queue_type, keys in forbidden.items():
        fragments[f"{queue_type}ArgumentKeys"] = {
            "description": f"Arguments RabbitMQ refuses on {queue_type} queues.",
            "propertyNames": {"not": {"enum": keys}},
        }
    return fragments
