"""The parameter tables (parameter_rules.py) against a real node: the server must agree with every row.

Values are derived from the tables themselves: for each shovel protocol pair (AMQP 0-9-1 and 1.0 at
either end), every key any table knows, with a value its row accepts and one it refuses, and the base
value without each of its keys; every queue argument, consumer argument and publish property a shovel
takes; every federation key, for an upstream and an upstream set's item. Each is set over the
management API in a scratch vhost of a node of the test's own and the server's answer compared with
``check_parameter``'s verdict for the node's version. A row that drifts from the server fails here, on
whatever version the node runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from rabbitadmin.argument_rules import Version, parse_version, rules_for
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.model import Secret
from rabbitadmin.parameter_rules import (
    CONSUMER_ARGUMENTS,
    FEDERATION_UPSTREAM,
    FEDERATION_UPSTREAM_SET_ITEM,
    PUBLISH_PROPERTIES,
    QUEUE_ARGUMENTS,
    SHOVEL_COMMON,
    SHOVEL_DESTINATIONS,
    SHOVEL_SOURCES,
    KeyRule,
    check_parameter,
)
from rabbitadmin.sandbox import Sandbox

from ..conftest import SESSION_PLUGINS


@dataclass(frozen=True)
class Example:
    component: str
    value: Any
    about: str  # what the example tries, for the failure message

    def table_refuses(self, version: Version) -> bool:
        findings = check_parameter(self.component, "p", self.value, server_version=version)
        return any(finding.severity == "error" for finding in findings)


#: A value each kind of row accepts and one it refuses (the URI is the scratch vhost's, filled in later).
GOOD: dict[str, Any] = {
    "string": "s", "queue-name": "q", "number": 5, "boolean": True, "delete-after": "never", "queue-arguments": {},
    "consumer-arguments": {}, "string-map": {"a": "b"}, "publish-properties": {"delivery_mode": 2},
}  # fmt: skip
BAD: dict[str, Any] = {
    "uri": "http://host", "string": 5, "queue-name": "q" * 256, "number": "5", "boolean": "yes", "choice": "nope",
    "delete-after": -1, "queue-arguments": {"x-not-an-argument": 1}, "consumer-arguments": {"x-not-an-argument": 1},
    "string-map": {"a": 1}, "publish-properties": {"not_a_property": "x"},
}  # fmt: skip
#: URIs amqp_uri:parse takes or refuses, each a federation upstream's (amqp_uri.py follows the parser).
URIS = (
    "amqp://u:p@ss@h", "amqp://h:/v", "amqp://h:0", "amqp://h:65536", "amqp://h:-5", "amqp://h:+5", "amqp://:5672",
    "amqp://h/a/b", "amqp://h/a%2Fb", "amqp://h/%zz", "amqp://h/%4", "amqp://u:p%zz@h", "amqp://u%zz:p@h",
    "amqp://u:p:%zz@h", "amqp://h%zz/", "AMQP://h", "amqp:/v", "amqp:v", "amqp://h?heartbeat=x",
    "amqp://h?heartbeat=-1", "amqp://h?heartbeat=5&heartbeat=x", "amqp://?heartbeat=x", "amqp://h?username=x",
    "amqp://h?password=x", "amqp://h?node=x", "amqp://?node=x", "amqp://?host=x", "amqp://h?foo=bar",
    "amqp://h?username", "amqps://h?fail_if_no_peer_cert=yes", "amqps://h?depth=x", "amqps://h?cacertfile=%zz",
    "amqps://h?verify=verify_none", "amqp://h?auth_mechanism=a:b:c", "amqp://h?auth_mechanism=external",
    "amqp://[::1]:5672/v", "amqp://[::1]x/v", "amqp://h/", "amqp://h#frag", "amqp://h:5672:1", "amqp://h:5x",
    "http://h", "amqp//h", "amqp://h?channel_max=1&frame_max=x",
)  # fmt: skip
#: Candidate queue argument values; each argument gets the first its argument_rules row accepts.
ARGUMENT_VALUES: tuple[Any, ...] = (1, "classic", "drop-head", "lazy", "at-most-once", "balanced", "1D", True, "s")


def good(row: KeyRule, uri: str) -> Any:
    if row.check == "uri":
        return uri
    if row.check == "choice":
        return row.choices[0]
    return GOOD[row.check]


def shovel_bases(uri: str) -> dict[str, dict[str, Any]]:
    source = {"amqp091": {"src-queue": "from"}, "amqp10": {"src-protocol": "amqp10", "src-address": "/queue/from"}}
    destination = {"amqp091": {"dest-queue": "to"}, "amqp10": {"dest-protocol": "amqp10", "dest-address": "/queue/to"}}
    return {
        f"{s}->{d}": {"src-uri": uri, "dest-uri": uri, **source[s], **destination[d]}
        for s in source
        for d in destination
    }


def examples(uri: str, version: Version) -> Iterator[Example]:
    sides = [*SHOVEL_SOURCES.values(), *SHOVEL_DESTINATIONS.values()]
    rows = {row.name: row for row in (*SHOVEL_COMMON, *(row for side in sides for row in side))}
    for label, base in shovel_bases(uri).items():
        yield Example("shovel", base, f"{label} base")
        for key in base:
            yield Example("shovel", {k: v for k, v in base.items() if k != key}, f"{label} without {key}")
        for key, row in rows.items():
            yield Example("shovel", {**base, key: good(row, uri)}, f"{label} with {key}")
            yield Example("shovel", {**base, key: BAD[row.check]}, f"{label} with a bad {key}")
        yield Example("shovel", {**base, "not-a-shovel-key": 1}, f"{label} with an unknown key")
        for after in ("delete-after", "src-delete-after"):
            yield Example("shovel", {**base, after: 5, "ack-mode": "no-ack"}, f"{label} no-ack with {after}")
        yield Example("shovel", {**base, "src-delete-after": "never", "delete-after": 5, "ack-mode": "no-ack"},
                      f"{label} no-ack, src-delete-after wins")  # fmt: skip
    base = shovel_bases(uri)["amqp091->amqp091"]
    queue_rules = rules_for("queue", version)
    for name in QUEUE_ARGUMENTS:
        rule = queue_rules.get(name)
        value = next((v for v in ARGUMENT_VALUES if rule is None or rule.value.problem(v) is None), 1)
        for key in ("src-queue-args", "dest-queue-args"):
            yield Example("shovel", {**base, key: {name: value}}, f"{key} {name}={value!r}")
    for name in ("x-max-age", "x-dead-letter-routing-key"):  # the plugin's check crashes on some values
        yield Example("shovel", {**base, "src-queue-args": {name: []}}, f"src-queue-args {name}=[]")
    for name in CONSUMER_ARGUMENTS:
        yield Example("shovel", {**base, "src-consumer-args": {name: 1}}, f"src-consumer-args {name}")
    for name, kind in PUBLISH_PROPERTIES.items():
        right, wrong = (2, "2") if kind == "number" else ("s", 2)
        yield Example("shovel", {**base, "publish-properties": {name: right}}, f"publish property {name}")
        yield Example("shovel", {**base, "publish-properties": {name: wrong}}, f"publish property {name} mistyped")
    for text in URIS:
        yield Example("federation-upstream", {"uri": text}, f"uri {text}")
    for table, component in ((FEDERATION_UPSTREAM, "federation-upstream"),
                             (FEDERATION_UPSTREAM_SET_ITEM, "federation-upstream-set")):  # fmt: skip
        plain = {row.name: good(row, uri) for row in table if row.required}
        wrap = (lambda v: [v]) if component == "federation-upstream-set" else (lambda v: v)
        yield Example(component, wrap({}), f"{component} without its required key")
        yield Example(component, wrap({**plain, "not-a-federation-key": 1}), f"{component} with an unknown key")
        for row in table:
            yield Example(component, wrap({**plain, row.name: good(row, uri)}), f"{component} with {row.name}")
            yield Example(component, wrap({**plain, row.name: BAD[row.check]}), f"{component} with a bad {row.name}")


@pytest.fixture
def own_client(rabbitmq_version: str, tmp_path: Path) -> Iterator[HttpClient]:
    """An administrator's client of a node of this test's own, stopped after it.

    Not the session node: the accepted shovels start at once, and many fail at once (an AMQP 1.0 end over a
    direct URI); deleting one while it starts or restarts can crash RabbitMQ 4.0's shovel supervisor
    (``mirrored_supervisor:child/2`` badmatch in the node's log, seen in a full run), after which no shovel can
    be set on that node and every later shovel test fails. So nothing is deleted here: the node goes instead.
    """
    box = Sandbox(tmp_path / "node", rabbitmq=rabbitmq_version, plugins=SESSION_PLUGINS)
    info = box.start()
    client = HttpClient(
        ConnectionSettings(url=info.url, user=info.user, password=Secret(info.password()), amqp_port=info.amqp_port)
    )
    try:
        yield client
    finally:
        client.close()
        box.stop()


@pytest.fixture
def scratch(own_client: HttpClient) -> str:
    name = f"parameter-rules-{secrets.token_hex(3)}"
    own_client.put(api_path("vhosts", name), {})
    user = own_client.settings.user
    own_client.put(api_path("permissions", name, user), {"configure": ".*", "write": ".*", "read": ".*"})
    return name


def test_the_server_agrees_with_every_row_of_the_parameter_tables(own_client: HttpClient, scratch: str) -> None:
    version = parse_version(str(own_client.get(api_path("overview"))["rabbitmq_version"]))
    assert version is not None
    cases = list(examples(f"amqp:///{quote(scratch, safe='')}", version))
    assert len(cases) > 300
    disagreements = []
    refused = accepted = 0
    for index, example in enumerate(cases):
        path = api_path("parameters", example.component, scratch, f"p{index}")
        response = own_client.request("PUT", path, body={"value": example.value}, ok_statuses=(400, 500))
        server_accepted = response.status_code < 400
        expected_refused = example.table_refuses(version)
        if server_accepted == expected_refused:
            disagreements.append(
                f"{example.about}: {example.value}: table says {'refused' if expected_refused else 'accepted'}, "
                f"server {'accepted' if server_accepted else 'refused: ' + response.text[:200]}"
            )
        refused += not server_accepted
        accepted += server_accepted
    assert not disagreements, f"RabbitMQ {version} disagrees with parameter_rules.py:\n" + "\n".join(disagreements)
    assert refused > 100 and accepted > 100, (refused, accepted)  # both verdicts really occur
