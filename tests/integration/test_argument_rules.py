"""The argument table (argument_rules.py) against a real node: the server must agree with every row.

For each row that applies to the node's version, values are derived from the row itself (both ends of a
range and one step past them, every allowed string and one that is not, the wrong JSON type, the other
queue types, a missing companion argument, null), declared over the management API in a scratch vhost,
and the server's answer compared with the table's verdict for that version. A row that drifts from the
server fails here, on whatever version the ``node`` fixture runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.argument_rules import QUEUE_TYPES, RULES, ArgumentRule, Version, parse_version, refusals
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from ..conftest import CliRunner


@dataclass(frozen=True)
class Example:
    """One declaration: ``arguments`` on an object of ``object_type`` (queue type or exchange type)."""

    rule: ArgumentRule
    object_type: str
    arguments: dict[str, Any]
    about_value: bool  # a value example (``server_checks`` applies) rather than a key or companion one

    def table_refuses(self, version: Version) -> bool:
        return bool(refusals(self.rule.target, self.object_type, self.arguments, version))

    def server_should_refuse(self, version: Version) -> bool:
        if self.about_value and not self.rule.server_checks:
            return False  # stored unchecked by the server; rabbitadmin refuses it on its own account
        return self.table_refuses(version)


def _values(rule: ArgumentRule) -> list[Any]:
    value = rule.value
    if value.kind == "integer":
        bounds = [b for b in (value.minimum, value.maximum) if b is not None]
        near = [b - 1 for b in bounds if b == value.minimum] + [b + 1 for b in bounds if b == value.maximum]
        unbounded = [] if bounds else [-1, 5]  # any whole number (4.0's x-delivery-limit: negative is no limit)
        return [*bounds, *near, *unbounded, str(bounds[0] if bounds else 1), 1.5]
    if value.kind == "boolean":
        return [True, False, "true", 1]
    if value.choices:
        return [*value.choices, "not-a-" + rule.name, 7]
    if value.pattern is not None:
        return ["7D", "12h", "1Y", "7d", "0D", "D", 7]
    if value.kind == "string":
        return ["some-name", 5]
    return ["anything", 5]


def _companions(rule: ArgumentRule) -> dict[str, Any]:
    return {name: "companion" for name in rule.requires}


def examples(version: Version) -> Iterator[Example]:
    for rule in RULES:
        if not rule.applies_to(version):
            continue
        types: tuple[str, ...]
        if rule.target == "queue":
            types = QUEUE_TYPES
        elif rule.target == "binding":
            types = ("headers", "direct")
        else:
            types = ("direct", "headers")
        takers = [t for t in types if not rule.takes or t in rule.takes]
        for value in _values(rule):
            yield Example(rule, takers[0], {rule.name: value, **_companions(rule)}, about_value=True)
        valid = next(
            v
            for v in _values(rule)
            if not refusals(rule.target, takers[0], {rule.name: v, **_companions(rule)}, version)
        )
        for other in types:
            if other not in takers:
                yield Example(rule, other, {rule.name: valid, **_companions(rule)}, about_value=False)
        if rule.requires:
            yield Example(rule, takers[0], {rule.name: valid}, about_value=False)
        yield Example(rule, takers[0], {rule.name: None}, about_value=False)


@pytest.fixture
def scratch(admin_client: HttpClient) -> Iterator[str]:
    name = f"argument-rules-{secrets.token_hex(3)}"
    admin_client.put(api_path("vhosts", name), {})
    admin_client.put(api_path("exchanges", name, "hx"), {"type": "headers", "durable": False})
    admin_client.put(api_path("exchanges", name, "dx"), {"type": "direct", "durable": False})
    admin_client.put(api_path("queues", name, "target"), {"durable": False})
    yield name
    admin_client.delete(api_path("vhosts", name))


def server_version(admin_client: HttpClient) -> Version:
    overview = admin_client.get(api_path("overview"))
    version = parse_version(str(overview["rabbitmq_version"]))
    assert version is not None, overview["rabbitmq_version"]
    return version


def declare(client: HttpClient, vhost: str, example: Example, index: int) -> tuple[bool, str]:
    """Declare the example's object; (accepted?, the server's reason when refused). Cleans up after itself."""
    accept = (400, 404, 500)
    target = example.rule.target
    if target == "queue":
        path = api_path("queues", vhost, f"q{index}")
        body = {
            "durable": True,
            "auto_delete": False,
            "arguments": {**example.arguments, "x-queue-type": example.object_type},
        }
        response = client.request("PUT", path, body=body, ok_statuses=accept)
    elif target == "exchange":
        path = api_path("exchanges", vhost, f"e{index}")
        body = {"type": example.object_type, "durable": False, "arguments": example.arguments}
        response = client.request("PUT", path, body=body, ok_statuses=accept)
    else:
        source = "hx" if example.object_type == "headers" else "dx"
        path = api_path("bindings", vhost, "e", source, "q", "target")
        response = client.request(
            "POST", path, body={"routing_key": f"k{index}", "arguments": example.arguments}, ok_statuses=accept
        )
    accepted = response.status_code < 400
    if accepted and target != "binding":
        client.delete(path)
    return accepted, "" if accepted else response.text[:300]


def test_the_server_agrees_with_every_row_of_the_table(admin_client: HttpClient, scratch: str) -> None:
    version = server_version(admin_client)
    cases = list(examples(version))
    assert len(cases) > 150 and {c.rule.target for c in cases} == {"queue", "exchange", "binding"}
    disagreements = []
    refused = accepted = 0
    for index, example in enumerate(cases):
        server_accepted, reason = declare(admin_client, scratch, example, index)
        expected_refused = example.server_should_refuse(version)
        if server_accepted == expected_refused:
            disagreements.append(
                f"{example.rule.target} {example.object_type} {example.arguments}: table says "
                f"{'refused' if expected_refused else 'accepted'}, server {'accepted' if server_accepted else reason}"
            )
        refused += not server_accepted
        accepted += server_accepted
    assert not disagreements, f"RabbitMQ {version} disagrees with argument_rules.py:\n" + "\n".join(disagreements)
    assert refused > 40 and accepted > 40, (refused, accepted)  # both verdicts really occur


def test_unknown_arguments_are_stored_as_given(admin_client: HttpClient, scratch: str) -> None:
    """Why validate passes unknown arguments through: the server does too, on every queue type."""
    for queue_type in QUEUE_TYPES:
        arguments = {"x-not-a-rabbitmq-argument": [1, {"a": "b"}], "no-x-prefix": "v", "x-queue-type": queue_type}
        admin_client.put(
            api_path("queues", scratch, f"unknown-{queue_type}"), {"durable": True, "arguments": arguments}
        )
        stored = admin_client.get(api_path("queues", scratch, f"unknown-{queue_type}"))
        assert stored["arguments"]["x-not-a-rabbitmq-argument"] == [1, {"a": "b"}]


HANDED = {
    "x-max-priority-256": ("classic", '{"x-max-priority":256}', "x-max-priority: must be at most 255"),
    "x-overflow-drop-tail": ("classic", '{"x-overflow":"drop-tail"}', "x-overflow: must be one of"),
    "quorum-with-x-max-priority": ("quorum", '{"x-max-priority":5}', "is not accepted for quorum queues"),
}


@pytest.mark.parametrize("case", sorted(HANDED))
@pytest.mark.parametrize("command", ["validate", "apply"])
def test_handed_cases_are_refused_before_any_write(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, case: str, command: str
) -> None:
    queue_type, arguments, expected = HANDED[case]
    vhost = f"argcase-{secrets.token_hex(3)}"
    topology = tmp_path / f"{case}.yaml"
    topology.write_text(
        f"vhosts:\n  - name: {vhost}\n    queues:\n      - name: q\n"
        f"        type: {queue_type}\n        arguments: {arguments}\n"
    )
    args = ("apply", "-y", str(topology)) if command == "apply" else ("validate", str(topology))
    result = rabbitadmin(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{topology}:6: vhosts[0].queues[0].arguments." in result.stderr and expected in result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing was written


def test_plan_shows_the_version_dependent_warnings(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, rabbitmq_version: str
) -> None:
    # Offline the argument is a warning (3.10 refuses it, 4.0 takes it); the plan knows the server, so on 3.10
    # it refuses before any write (exit 4) and on 4.0 it plans the queue with the warning shown.
    topology = tmp_path / "t.yaml"
    vhost = f"argwarn-{secrets.token_hex(3)}"
    topology.write_text(
        f"vhosts:\n  - name: {vhost}\n    queues:\n"
        "      - {name: q, arguments: {x-queue-leader-locator: balanced}}\n"
    )
    result = rabbitadmin("plan", str(topology))
    assert f"warning: {topology}:4: vhosts[0].queues[0].arguments.x-queue-leader-locator" in result.stderr
    if rabbitmq_version == "3.10":
        assert result.returncode == 4, result.stderr
        assert "argument x-queue-leader-locator is not accepted for classic queues" in result.stdout + result.stderr
        applied = rabbitadmin("apply", str(topology), "--yes")
        assert applied.returncode == 4, applied.stderr
        assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing was written
    else:
        assert result.returncode == 0, result.stderr
