"""What a plugin's runtime parameter component refuses, checked before anything is written.

The server validates a parameter's value in the plugin that registers its component
(``rabbit_shovel_parameters:validate/4``, ``rabbit_federation_parameters:validate/4``, through
``rabbit_parameter_validation:proplist``); the facts are ``kinds.PARAMETER_COMPONENTS``. Keys a version
does not know are a warning only (the key sets grew between 3.10 and 4.0); everything else the server
would refuse is an error here, with the server's own words where it has some.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rabbitadmin.kinds import AMQP_URI_SCHEMES, OWN_KIND_COMPONENTS, PARAMETER_COMPONENTS, ComponentFacts
from rabbitadmin.suggest import did_you_mean

__all__ = ["ParameterFinding", "check_parameter"]

#: Keys whose value the plugins require to be a string (``rabbit_parameter_validation:binary/2``).
_STRINGS = (
    "src-exchange", "src-exchange-key", "src-queue", "src-address", "dest-exchange", "dest-exchange-key",
    "dest-queue", "dest-address", "exchange", "queue", "ha-policy", "upstream", "consumer-tag", "queue-type",
)  # fmt: skip
_DELETE_AFTER = ("never", "queue-length")
_FEDERATION_NAMES = ("local-nodename", "local-username")


class ParameterFinding(NamedTuple):
    """One problem in a parameter's value: ``key`` is the value's key concerned ("" for the whole value)."""

    key: str
    message: str
    severity: str = "error"  # or "warning"


def check_parameter(component: str, name: str, value: Any) -> list[ParameterFinding]:
    """What the server would refuse (errors) or may refuse (warnings) in ``component``/``name``'s ``value``.

    Messages never hold a URI's password (``uri_secrets.mask_text``)."""
    if component in OWN_KIND_COMPONENTS:
        where = "operator_policies" if component == "operator_policy" else "limits"
        return [ParameterFinding("", f"component {component!r} is managed as the vhost's {where}, not a parameter")]
    facts = PARAMETER_COMPONENTS.get(component)
    if facts is None:
        return [ParameterFinding("", f"component {component!r} is not one rabbitadmin knows: the server refuses it "
                                     "unless a plugin registers it (checked against the server at plan time)",
                                 "warning")]  # fmt: skip
    if component == "federation":
        if name not in _FEDERATION_NAMES:
            return [ParameterFinding("", f"the federation component takes only {', '.join(_FEDERATION_NAMES)}; "
                                         f"got {name!r}{did_you_mean(name, _FEDERATION_NAMES)}")]  # fmt: skip
        return [] if isinstance(value, str) else [ParameterFinding("", "must be a string")]
    if facts.is_list:
        # An empty set is accepted (and kept as []): the plugin checks each item of the list, and the server
        # turns an empty JSON object, the whole value, into [] (measured on 3.10.8 and 4.0.5).
        if value == {}:
            return []
        if not isinstance(value, list):
            return [ParameterFinding("", "must be a list of upstreams (mappings with 'upstream')")]
        found: list[ParameterFinding] = []
        for index, item in enumerate(value):
            found += [f._replace(key=f"[{index}]{'.' + f.key if f.key else ''}") for f in _check_mapping(facts, item)]
        return found
    return _check_mapping(facts, value)


def _check_mapping(facts: ComponentFacts, value: Any) -> list[ParameterFinding]:
    if not isinstance(value, dict):
        return [ParameterFinding("", "must be a mapping")]
    found = [ParameterFinding(key, "is required") for key in facts.required if key not in value]
    for key, item in value.items():
        if key not in facts.keys:
            hint = did_you_mean(str(key), facts.keys)
            found.append(ParameterFinding(key, f"is not a key RabbitMQ 3.10/4.0 knows{hint}: the server refuses "
                                               "unrecognised keys", "warning"))  # fmt: skip
        elif key in facts.uris:
            found += [ParameterFinding(key, message) for message in _uri_problems(item)]
        elif key in facts.numbers and (isinstance(item, bool) or not isinstance(item, int | float)):
            found.append(ParameterFinding(key, f"must be a number, got {item!r}"))
        elif key in facts.booleans and not isinstance(item, bool):
            found.append(ParameterFinding(key, f"must be true or false, got {item!r}"))
        elif key in facts.choices and item not in facts.choices[key]:
            found.append(ParameterFinding(key, f"must be one of {', '.join(facts.choices[key])}, got {item!r}"))
        elif key in _STRINGS and not isinstance(item, str):
            found.append(ParameterFinding(key, f"must be a string, got {item!r}"))
        elif key in ("delete-after", "src-delete-after") and not (
            item in _DELETE_AFTER or (isinstance(item, int) and not isinstance(item, bool))
        ):
            found.append(ParameterFinding(key, f'must be a number, "never" or "queue-length", got {item!r}'))
    if facts.plugin == "rabbitmq_shovel":
        found += _shovel_endpoints(value)
    return found


def _shovel_endpoints(value: dict[str, Any]) -> list[ParameterFinding]:
    """``rabbit_shovel_parameters``: an AMQP 0-9-1 source needs exactly one of src-queue and src-exchange
    (AMQP 1.0: src-address), a destination at most one of dest-queue and dest-exchange."""
    found = []
    if value.get("src-protocol", "amqp091") == "amqp091":
        given = [key for key in ("src-queue", "src-exchange") if key in value]
        if not given:
            found.append(ParameterFinding("src-queue", "Must specify 'src-exchange' or 'src-queue'"))
        elif len(given) == 2:
            found.append(ParameterFinding("src-exchange", "Cannot specify 'src-exchange' and 'src-queue'"))
    elif "src-address" not in value:
        found.append(ParameterFinding("src-address", "is required with src-protocol amqp10"))
    if value.get("dest-protocol", "amqp091") == "amqp091" and "dest-queue" in value and "dest-exchange" in value:
        found.append(ParameterFinding("dest-exchange", "Cannot specify 'dest-exchange' and 'dest-queue'"))
    for key in ("delete-after", "src-delete-after"):
        if isinstance(value.get(key), int) and value.get("ack-mode") == "no-ack":
            found.append(ParameterFinding(key, f"Cannot specify 'no-ack' and numerical '{key}'"))
    return found


def _uri_problems(value: Any) -> list[str]:
    """An AMQP URI or a non-empty list of them (``amqp_uri:parse``): amqp or amqps, a valid port, and a user
    and password with any ``@`` percent-encoded.

    The URI itself is never quoted in a problem: it may be a secret (read from ``{env:}``/``{file:}``), and
    a malformed one cannot be masked reliably (the field's path says which it is).
    """
    uris = value if isinstance(value, list) else [value]
    if not uris:
        return ["must be a URI or a non-empty list of URIs"]
    problems = []
    for index, uri in enumerate(uris):
        which = f"item {index} " if isinstance(value, list) else ""
        if not isinstance(uri, str):
            problems.append(f"{which}must be a URI string, got {type(uri).__name__}")
            continue
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            problems.append(f"{which}is not a valid URI: its host and port cannot be read")
            continue
        if parts.scheme not in AMQP_URI_SCHEMES:
            problems.append(f"{which}is not a valid URI: it must start with amqp:// or amqps://")
        elif parts.netloc.count("@") > 1:
            # The server splits at the first '@' (and quotes the rest in its error): "Pa@ss" must be "Pa%40ss".
            problems.append(f"{which}is not a valid URI: an '@' in its user or password must be written %40")
    return problems
