"""What a plugin's runtime parameter component refuses, checked before anything is written.

The server validates a parameter's value in the plugin that registers its component
(``rabbit_shovel_parameters:validate/5``, ``rabbit_federation_parameters:validate/5``), each key against
a table through ``rabbit_parameter_validation:proplist``: a key the table does not hold is refused
("Unrecognised terms"), a mandatory one missing is refused ("Key ... not found"). The tables here are
those, read from v3.10.8 and v4.0.5 and checked against real nodes of both versions
(``tests/integration/test_parameter_rules.py``):

- a shovel's table depends on its protocols: an AMQP 0-9-1 source takes ``src-queue``, an AMQP 1.0 one
  ``src-address`` (and refuses ``src-queue``); the same for destinations (``dest-application-properties``
  is an AMQP 1.0 destination's key, refused with the default AMQP 0-9-1 one);
- the tables changed between versions (``src-predeclared`` is new in 4.0; a federation upstream's
  ``ha-policy`` gave way to ``queue-type``).

``check_parameter`` without a version checks every supported one: what all refuse is an error, what only
some refuse a warning naming them; the plan passes the server's version, whose verdict is final. A key no
modelled version knows is a warning offline (a newer server may know it) and refused at plan time on a
version the table models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from rabbitadmin.amqp_uri import uri_problem
from rabbitadmin.argument_rules import SUPPORTED_VERSIONS, Version, rules_for
from rabbitadmin.argument_rules import parse_version as argument_version
from rabbitadmin.kinds import OWN_KIND_COMPONENTS, PARAMETER_COMPONENTS
from rabbitadmin.suggest import did_you_mean
from rabbitadmin.value_text import value_text

__all__ = ["ParameterFinding", "check_parameter"]

Check = Literal[
    "uri", "string", "number", "boolean", "choice", "delete-after", "queue-name", "queue-arguments",
    "consumer-arguments", "string-map", "publish-properties",
]  # fmt: skip
ALL_VERSIONS: tuple[Version, Version] = ((3, 10), (99, 0))
UNTIL_3: tuple[Version, Version] = ((3, 10), (3, 99))
SINCE_4: tuple[Version, Version] = ((4, 0), (99, 0))
#: The newest version whose tables are modelled: on a newer server a key unknown here may be a new one.
NEWEST_MODELLED: Version = (4, 0)
#: The longest queue name (``rabbit_parameter_validation:amqp091_queue_name``), in UTF-8 bytes.
MAX_QUEUE_NAME_BYTES = 255


@dataclass(frozen=True)
class KeyRule:
    """One row of a plugin's validation table: ``name`` is checked by ``check`` on ``versions``."""

    name: str
    check: Check
    required: bool = False
    choices: tuple[str, ...] = ()
    versions: tuple[Version, Version] = ALL_VERSIONS

    def applies_to(self, version: Version) -> bool:
        return self.versions[0] <= version <= self.versions[1]


class ParameterFinding(NamedTuple):
    """One problem in a parameter's value: ``key`` is the value's key concerned ("" for the whole value)."""

    key: str
    message: str
    severity: str = "error"  # or "warning"


#: The severity of a key no modelled version knows, until ``check_parameter`` decides (a newer server may).
_UNKNOWN = "unknown"


_ACK_MODES = ("no-ack", "on-publish", "on-confirm")
_PROTOCOLS = ("amqp091", "amqp10")
_PROTOCOL_NAMES = {"amqp091": "AMQP 0-9-1", "amqp10": "AMQP 1.0"}

# rabbit_shovel_parameters: shovel_validation/0, amqp091_src_validation/2, amqp10_src_validation/2,
# amqp091_dest_validation/2, amqp10_dest_validation/2.
SHOVEL_COMMON = (
    KeyRule("reconnect-delay", "number"),
    KeyRule("ack-mode", "choice", choices=_ACK_MODES),
    KeyRule("src-protocol", "choice", choices=_PROTOCOLS),
    KeyRule("dest-protocol", "choice", choices=_PROTOCOLS),
)
SHOVEL_SOURCES: Mapping[str, tuple[KeyRule, ...]] = {
    "amqp091": (
        KeyRule("src-uri", "uri", required=True),
        KeyRule("src-exchange", "string"),
        KeyRule("src-exchange-key", "string"),
        KeyRule("src-queue", "string"),
        KeyRule("src-queue-args", "queue-arguments"),
        KeyRule("src-consumer-args", "consumer-arguments"),
        KeyRule("prefetch-count", "number"),
        KeyRule("src-prefetch-count", "number"),
        KeyRule("delete-after", "delete-after"),  # the pre-3.7 name
        KeyRule("src-delete-after", "delete-after"),
        KeyRule("src-predeclared", "boolean", versions=SINCE_4),
    ),
    "amqp10": (
        KeyRule("src-uri", "uri", required=True),
        KeyRule("src-address", "string", required=True),
        KeyRule("src-prefetch-count", "number"),
        KeyRule("src-delete-after", "delete-after"),
    ),
}
SHOVEL_DESTINATIONS: Mapping[str, tuple[KeyRule, ...]] = {
    "amqp091": (
        KeyRule("dest-uri", "uri", required=True),
        KeyRule("dest-exchange", "string"),
        KeyRule("dest-exchange-key", "string"),
        KeyRule("dest-queue", "queue-name"),
        KeyRule("dest-queue-args", "queue-arguments"),
        KeyRule("add-forward-headers", "boolean"),
        KeyRule("add-timestamp-header", "boolean"),
        KeyRule("dest-add-forward-headers", "boolean"),
        KeyRule("dest-add-timestamp-header", "boolean"),
        KeyRule("publish-properties", "publish-properties"),
        KeyRule("dest-publish-properties", "publish-properties"),
        KeyRule("dest-predeclared", "boolean", versions=SINCE_4),
    ),
    "amqp10": (
        KeyRule("dest-uri", "uri", required=True),
        KeyRule("dest-address", "string", required=True),
        KeyRule("dest-add-forward-headers", "boolean"),
        KeyRule("dest-add-timestamp-header", "boolean"),
        KeyRule("dest-application-properties", "string-map"),
        KeyRule("dest-message-annotations", "string-map"),
        KeyRule("dest-properties", "string-map"),
    ),
}
# rabbit_federation_parameters:shared_validation/0.
FEDERATION_SHARED = (
    KeyRule("exchange", "string"),
    KeyRule("queue", "string"),
    KeyRule("consumer-tag", "string"),
    KeyRule("prefetch-count", "number"),
    KeyRule("reconnect-delay", "number"),
    KeyRule("max-hops", "number"),
    KeyRule("expires", "number"),
    KeyRule("message-ttl", "number"),
    KeyRule("trust-user-id", "boolean"),
    KeyRule("ack-mode", "choice", choices=_ACK_MODES),
    KeyRule("resource-cleanup-mode", "choice", choices=("default", "never")),
    KeyRule("ha-policy", "string", versions=UNTIL_3),
    KeyRule("queue-type", "choice", choices=("classic", "quorum"), versions=SINCE_4),
    KeyRule("bind-nowait", "boolean"),
    KeyRule("channel-use-mode", "choice", choices=("multiple", "single")),
)
FEDERATION_UPSTREAM = (KeyRule("uri", "uri", required=True), *FEDERATION_SHARED)
FEDERATION_UPSTREAM_SET_ITEM = (KeyRule("upstream", "string", required=True), *FEDERATION_SHARED)
# rabbit_shovel_parameters:validate_properties/2: an AMQP 0-9-1 destination's publish properties.
PUBLISH_PROPERTIES: Mapping[str, Check] = {
    "content_type": "string", "content_encoding": "string", "delivery_mode": "number", "priority": "number",
    "correlation_id": "string", "reply_to": "string", "expiration": "string", "message_id": "string",
    "timestamp": "number", "type": "string", "user_id": "string", "app_id": "string", "cluster_id": "string",
}  # fmt: skip
# rabbit_amqqueue:consume_args/0 (src-consumer-args).
CONSUMER_ARGUMENTS: Mapping[str, tuple[Version, Version]] = {
    "x-priority": ALL_VERSIONS,
    "x-cancel-on-ha-failover": UNTIL_3,
    "x-stream-offset": ALL_VERSIONS,
}
# rabbit_amqqueue:declare_args/0 (src-queue-args, dest-queue-args). The plugin hands each argument's check
# the argument's name where its value goes (validate_queue_args/2): two checks then crash (HTTP 500,
# ``_check_fails``) and the others pass any value (measured, 3.10.8 and 4.0.5).
QUEUE_ARGUMENTS: Mapping[str, tuple[Version, Version]] = {
    **dict.fromkeys(
        (
            "x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
            "x-dead-letter-strategy", "x-max-length", "x-max-length-bytes", "x-max-in-memory-length",
            "x-max-in-memory-bytes", "x-max-priority", "x-overflow", "x-queue-mode", "x-queue-version",
            "x-single-active-consumer", "x-queue-type", "x-quorum-initial-group-size", "x-max-age",
            "x-stream-max-segment-size-bytes", "x-initial-cluster-size", "x-queue-leader-locator",
        ),
        ALL_VERSIONS,
    ),
    "x-stream-filter-size-bytes": SINCE_4,
}  # fmt: skip


def _check_fails(argument: str, value: Any) -> bool:
    """Whether the plugin's check of queue argument ``argument`` crashes: x-max-age's on any value, and
    x-dead-letter-routing-key's (which reads the value as the argument table) on anything but a list."""
    return argument == "x-max-age" or (argument == "x-dead-letter-routing-key" and not isinstance(value, list))


def check_parameter(
    component: str, name: str, value: Any, server_version: str | Version | None = None
) -> list[ParameterFinding]:
    """What the server would refuse (errors) or may refuse (warnings) in ``component``/``name``'s ``value``.

    ``server_version``: ``"4.0.5"`` or ``(4, 0)`` for exactly that version's verdict; None checks every
    supported version (an error where all refuse, a warning naming the versions where only some do).
    Messages never hold a URI's password (``uri_secrets.mask_text``)."""
    if component in OWN_KIND_COMPONENTS:
        where = "operator_policies" if component == "operator_policy" else "limits"
        return [ParameterFinding("", f"component {component!r} is managed as the vhost's {where}, not a parameter")]
    facts = PARAMETER_COMPONENTS.get(component)
    if facts is None:
        return [ParameterFinding("", f"component {component!r} is not one rabbitadmin knows: the server refuses it "
                                     "unless a plugin registers it (checked against the server at plan time)",
                                 "warning")]  # fmt: skip
    if isinstance(server_version, str):
        server_version = argument_version(server_version)
    versions = (server_version,) if server_version is not None else SUPPORTED_VERSIONS
    # By key: the versions that refuse it, and with which words.
    verdicts: dict[str, dict[ParameterFinding, list[Version]]] = {}
    for version in versions:
        for finding in _findings(component, name, value, version):
            verdicts.setdefault(finding.key, {}).setdefault(finding, []).append(version)
    found = []
    for by_finding in verdicts.values():
        refused_in = {v for finding, vs in by_finding.items() if finding.severity == "error" for v in vs}
        for finding, refusing in by_finding.items():
            if finding.severity == _UNKNOWN:
                # No modelled version knows the key: refused by this server if the table models its version.
                final = server_version is not None and server_version <= NEWEST_MODELLED
                found.append(finding._replace(severity="error" if final else "warning"))
            elif finding.severity == "warning":
                found.append(finding)
            else:
                found.append(_with_versions(finding, refusing, versions, every=len(refused_in) == len(versions)))
    return found


def _with_versions(
    finding: ParameterFinding, where: list[Version], versions: Sequence[Version], *, every: bool
) -> ParameterFinding:
    """An error if every version refuses the key (in these words or others), else a warning; the versions
    named when not all of them say this."""
    if len(where) == len(versions):
        return finding
    labels = ", ".join(f"{major}.{minor}" for major, minor in where)
    if every:
        return finding._replace(message=f"{finding.message} (RabbitMQ {labels})")
    return finding._replace(message=f"{finding.message} (RabbitMQ {labels} refuses it)", severity="warning")


def _findings(component: str, name: str, value: Any, version: Version) -> list[ParameterFinding]:
    """Every problem RabbitMQ ``version`` finds in the value (a key no modelled version knows: ``_UNKNOWN``)."""
    if component == "federation":
        names = ("local-nodename", "local-username")
        if name not in names:
            return [ParameterFinding("", f"the federation component takes only {', '.join(names)}; "
                                         f"got {value_text(name)}{did_you_mean(name, names)}")]  # fmt: skip
        return [] if isinstance(value, str) else [ParameterFinding("", "must be a string")]
    if component == "federation-upstream-set":
        # An empty set is accepted (and kept as []): the plugin checks each item of the list, and the server
        # turns an empty JSON object, the whole value, into [] (measured on 3.10.8 and 4.0.5).
        if value == {}:
            return []
        if not isinstance(value, list):
            return [ParameterFinding("", "must be a list of upstreams (mappings with 'upstream')")]
        found: list[ParameterFinding] = []
        for index, item in enumerate(value):
            for finding in _check_mapping(FEDERATION_UPSTREAM_SET_ITEM, item, version):
                found.append(finding._replace(key=f"[{index}]{'.' + finding.key if finding.key else ''}"))
        return found
    if component == "federation-upstream":
        return _check_mapping(FEDERATION_UPSTREAM, value, version)
    if not isinstance(value, dict):
        return [ParameterFinding("", "must be a mapping")]
    return _check_shovel(value, version)


def _check_shovel(value: dict[str, Any], version: Version) -> list[ParameterFinding]:
    """The shovel's table for its protocols, and its cross-key rules (``validate_amqp091_src``/``_dest``)."""
    source, destination = value.get("src-protocol", "amqp091"), value.get("dest-protocol", "amqp091")
    if source not in _PROTOCOLS or destination not in _PROTOCOLS:
        # The plugin picks its table by protocol and fails on any other (HTTP 500): only say that.
        return _check_mapping(SHOVEL_COMMON, {k: v for k, v in value.items() if k in ("src-protocol", "dest-protocol")},
                              version)  # fmt: skip
    table = (*SHOVEL_COMMON, *SHOVEL_SOURCES[source], *SHOVEL_DESTINATIONS[destination])
    found = _check_mapping(table, value, version, (source, destination))
    if source == "amqp091":
        given = [key for key in ("src-queue", "src-exchange") if key in value]
        if not given:
            found.append(ParameterFinding("src-queue", "Must specify 'src-exchange' or 'src-queue'"))
        elif len(given) == 2:
            found.append(ParameterFinding("src-exchange", "Cannot specify 'src-exchange' and 'src-queue'"))
        # src-delete-after wins over the older delete-after when both are given.
        key = "src-delete-after" if "src-delete-after" in value else "delete-after"
        after = value.get(key)
        if isinstance(after, int) and not isinstance(after, bool) and value.get("ack-mode") == "no-ack":
            found.append(ParameterFinding(key, f"Cannot specify 'no-ack' and numerical '{key}'"))
    if destination == "amqp091" and "dest-queue" in value and "dest-exchange" in value:
        found.append(ParameterFinding("dest-exchange", "Cannot specify 'dest-exchange' and 'dest-queue'"))
    return found


def _check_mapping(
    table: Sequence[KeyRule], value: Any, version: Version, sides: tuple[str, str] | None = None
) -> list[ParameterFinding]:
    """``rabbit_parameter_validation:proplist`` with ``table``'s rows for ``version``; ``sides``: a shovel's
    source and destination protocols (its table is theirs)."""
    if not isinstance(value, dict):
        return [ParameterFinding("", "must be a mapping")]
    rows = {row.name: row for row in table if row.applies_to(version)}
    found = [ParameterFinding(name, _required(name, sides)) for name, row in rows.items() if row.required and
             name not in value]  # fmt: skip
    for key, item in value.items():
        row = rows.get(key)
        if row is None:
            found.append(_unrecognised(str(key), table, version, sides))
            continue
        if row.check == "uri":  # its errors and its warning from one reading (amqp_uri)
            found += [ParameterFinding(key, message, severity) for message, severity in _uri_findings(item)]
            continue
        problem = _problem(row, item, version)
        if problem is not None:
            found.append(ParameterFinding(key, problem))
        elif row.check == "queue-arguments" and isinstance(item, dict):
            found += [ParameterFinding(key, message, "warning") for message in _argument_value_doubts(item, version)]
    return found


def _required(name: str, sides: tuple[str, str] | None) -> str:
    if sides is None or not name.endswith("-address"):
        return "is required"
    side = "src" if name.startswith("src-") else "dest"
    return f"is required with {side}-protocol {sides[0] if side == 'src' else sides[1]}"


def _unrecognised(
    key: str, table: Sequence[KeyRule], version: Version, sides: tuple[str, str] | None
) -> ParameterFinding:
    """A key this version's table does not hold: the server refuses it ("Unrecognised terms")."""
    every = {row.name for row in table}
    if sides is not None:
        # A key of the other protocol's table: refused on every version, and the likely mistake.
        source, destination = sides
        for side, tables, protocol in (("source", SHOVEL_SOURCES, source), ("destination", SHOVEL_DESTINATIONS,
                                                                             destination)):  # fmt: skip
            for other, rows in tables.items():
                every |= {row.name for row in rows}
                if other != protocol and any(row.name == key for row in rows):
                    prefix = "src" if side == "source" else "dest"
                    return ParameterFinding(
                        key,
                        f"is a key of {_PROTOCOL_NAMES[other]} {side}s ({prefix}-protocol: {other}), and this "
                        f"shovel's {side} is {_PROTOCOL_NAMES[protocol]}: the server refuses it (Unrecognised terms)",
                    )
    for row in table:
        if row.name == key:  # a row of other versions
            (low, high) = row.versions
            known = f"{low[0]}.{low[1]} and later" if low > version else f"{high[0]}.x and earlier"
            return ParameterFinding(key, f"is a key of RabbitMQ {known}: the server refuses unrecognised keys")
    hint = did_you_mean(key, sorted(every))
    return ParameterFinding(key, f"is not a key RabbitMQ 3.10/4.0 knows{hint}: the server refuses unrecognised keys",
                            _UNKNOWN)  # fmt: skip


def _problem(row: KeyRule, item: Any, version: Version) -> str | None:
    """Why the plugin refuses ``item`` as ``row``'s value, or None (URIs: ``_uri_findings``)."""
    check = row.check
    if check in ("string", "queue-name"):
        if not isinstance(item, str):
            return f"must be a string, got {value_text(item)}"
        if check == "queue-name" and len(item.encode()) > MAX_QUEUE_NAME_BYTES:
            return f"must be at most {MAX_QUEUE_NAME_BYTES} bytes, got {len(item.encode())}"
        return None
    if check == "number":
        return None if _is_number(item) else f"must be a number, got {value_text(item)}"
    if check == "boolean":
        return None if isinstance(item, bool) else f"must be true or false, got {value_text(item)}"
    if check == "choice":
        return None if item in row.choices else f"must be one of {', '.join(row.choices)}, got {value_text(item)}"
    if check == "delete-after":
        whole = isinstance(item, int) and not isinstance(item, bool)
        if item in ("never", "queue-length") or (whole and item >= 0):
            return None
        return f'must be a number at least 0, "never" or "queue-length", got {value_text(item)}'
    if check == "string-map":
        if not isinstance(item, dict):
            return "must be a mapping of strings"
        wrong = [key for key, text in item.items() if not isinstance(text, str)]
        return f"{wrong[0]} must be a string, got {value_text(item[wrong[0]])}" if wrong else None
    if check == "publish-properties":
        return _publish_properties_problem(item)
    return _arguments_problem(check, item, version)


def _is_number(item: Any) -> bool:
    return isinstance(item, int | float) and not isinstance(item, bool)


def _publish_properties_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "must be a mapping of message properties"
    for key, text in item.items():
        kind = PUBLISH_PROPERTIES.get(key)
        if kind is None:
            hint = did_you_mean(str(key), sorted(PUBLISH_PROPERTIES))
            return f"{key} is not a message property the plugin sets{hint} (it refuses others: Unrecognised terms)"
        if (kind == "number" and not _is_number(text)) or (kind == "string" and not isinstance(text, str)):
            return f"{key} must be a {kind}, got {value_text(text)}"
    return None


def _arguments_problem(check: Check, item: Any, version: Version) -> str | None:
    """A shovel's queue or consumer arguments: a mapping of the arguments the plugin knows (it checks
    no value: see ``_argument_value_doubts``)."""
    if item == []:
        return None  # an empty list is an empty table to the plugin
    if not isinstance(item, dict):
        return "must be a mapping of arguments"
    known = QUEUE_ARGUMENTS if check == "queue-arguments" else CONSUMER_ARGUMENTS
    for key, argument in item.items():
        since = known.get(key)
        if since is None or not since[0] <= version <= since[1]:
            hint = did_you_mean(str(key), sorted(known)) if since is None else ""
            return f"{key} is not an argument the plugin takes here{hint} (it refuses others: Unrecognised terms)"
        if check == "queue-arguments" and _check_fails(key, argument):
            return f"{key} cannot be given here: the plugin's check of it fails (HTTP 500)"
    return None


def _argument_value_doubts(arguments: dict[str, Any], version: Version) -> list[str]:
    """Queue argument values the server stores in a shovel but the queue cannot take (``argument_rules``):
    the shovel's declare then fails each time it starts. A warning: the server accepts the parameter."""
    rules = rules_for("queue", version)
    doubts = []
    for key, argument in arguments.items():
        rule = rules.get(key)
        problem = rule.value.problem(argument) if rule is not None else None
        if problem is not None:
            doubts.append(f"{key} {problem}: the shovel's queue declaration will fail with it")
    return doubts


def _uri_findings(value: Any) -> list[tuple[str, str]]:
    """An AMQP URI or a non-empty list of them, as ``amqp_uri:parse`` reads them (``amqp_uri.uri_problem``):
    (message, severity) pairs. A second ``@`` is a warning: the server takes the user info to end at the
    first one and accepts the URI, which then names a host holding an ``@``.

    The URI itself is never quoted in a problem: it may be a secret (read from ``{env:}``/``{file:}``), and
    a malformed one cannot be masked reliably (the field's path says which it is).
    """
    uris = value if isinstance(value, list) else [value]
    if not uris:
        return [("must be a URI or a non-empty list of URIs", "error")]
    found = []
    for index, uri in enumerate(uris):
        which = f"item {index} " if isinstance(value, list) else ""
        if not isinstance(uri, str):
            found.append((f"{which}must be a URI string, got {type(uri).__name__}", "error"))
            continue
        problem = uri_problem(uri)
        if problem is not None:
            found.append((f"{which}is not a valid URI: {problem}", "error"))
        elif uri.partition("//")[2].split("/")[0].count("@") > 1:
            found.append((f"{which}holds two '@' before its host: the server reads the user and password up to the "
                          "first, so an '@' in a password must be written %40", "warning"))  # fmt: skip
    return found
