"""RabbitMQ's argument rules (argument_rules.py) as validate applies them: offline, located, per version.

The table itself is proven against a real node in tests/integration/test_argument_rules.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rabbitadmin.argument_rules import RULES, SUPPORTED_VERSIONS, check_arguments, schema_fragments
from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology, load_topology_text
from rabbitadmin.schema_cmd import load_schema

REPO = Path(__file__).resolve().parents[2]
CASES = Path("/work/shared/cases/arguments")
HANDED = [
    ("x-max-priority-256.yaml", "x-max-priority: must be at most 255, got 256"),
    ("x-overflow-drop-tail.yaml", "x-overflow: must be one of drop-head, reject-publish, reject-publish-dlx"),
    ("quorum-with-x-max-priority.yaml", "x-max-priority: is not accepted for quorum queues (only classic)"),
]
# The same three cases as text, so that the suite does not depend on the shared directory being there.
HANDED_TEXT = {
    "x-max-priority-256.yaml": '{"x-max-priority":256}',
    "x-overflow-drop-tail.yaml": '{"x-overflow":"drop-tail"}',
    "quorum-with-x-max-priority.yaml": '{"x-max-priority":5}',
}


def _case_text(name: str) -> str:
    queue_type = "quorum" if name.startswith("quorum") else "classic"
    return (
        f"vhosts:\n  - name: argcase\n    queues:\n      - name: q\n        type: {queue_type}\n"
        f"        arguments: {HANDED_TEXT[name]}\n"
    )


@pytest.mark.parametrize(("name", "expected"), HANDED)
def test_handed_cases_are_refused_with_file_line_and_argument(name: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text((CASES / name).read_text() if (CASES / name).exists() else _case_text(name))
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (str(path), 6)
    assert expected in f"{problem.field}: {problem.message}"


def problems(queue_type: str, arguments: str, default_type: str = "") -> list[str]:
    default = f", default_queue_type: {default_type}" if default_type else ""
    typed = f"type: {queue_type}, " if queue_type else ""
    text = f"vhosts: [{{name: v{default}, queues: [{{name: q, {typed}arguments: {arguments}}}]}}]"
    try:
        topology = load_topology_text(text, "t.yaml")
    except TopologyError as exc:
        return [str(problem) for problem in exc.problems]
    return [f"warning: {warning}" for warning in topology.warnings]


# (queue type, arguments, a fragment of the one problem; None: accepted without warning)
QUEUE_CASES = [
    ("classic", "{x-max-priority: 255}", None),
    ("classic", "{x-max-priority: 256}", "x-max-priority: must be at most 255"),
    ("quorum", "{x-max-priority: 1}", "x-max-priority: is not accepted for quorum queues"),
    ("", "{x-max-priority: 1}", None),  # untyped in a vhost without a default: classic
    ("", "{x-delivery-limit: 1}", "x-delivery-limit: is not accepted for classic queues (only quorum)"),
    ("classic", "{x-expires: 0}", "x-expires: must be at least 1"),
    ("classic", "{x-expires: 315360000001}", "x-expires: must be at most 315360000000"),
    ("quorum", "{x-message-ttl: 315360000000}", None),
    ("classic", "{x-message-ttl: 315360000001}", "x-message-ttl: must be at most"),
    ("classic", "{x-overflow: drop-tail}", "x-overflow: must be one of drop-head"),
    ("quorum", "{x-overflow: reject-publish-dlx}", None),
    ("stream", "{x-overflow: drop-head}", "x-overflow: is not accepted for stream queues"),
    ("classic", "{x-queue-mode: lazy}", None),
    ("classic", "{x-queue-mode: fast}", "x-queue-mode: must be one of default, lazy"),
    ("quorum", "{x-queue-mode: lazy}", "x-queue-mode: is not accepted for quorum queues"),
    ("classic", "{x-queue-version: 3}", "x-queue-version: must be at most 2"),
    ("classic", "{x-queue-version: '2'}", "x-queue-version: must be a whole number"),
    ("classic", "{x-dead-letter-routing-key: k}", "x-dead-letter-routing-key: needs x-dead-letter-exchange"),
    ("quorum", "{x-dead-letter-routing-key: k, x-dead-letter-exchange: d}", None),
    ("classic", "{x-dead-letter-exchange: 5}", "x-dead-letter-exchange: must be a string"),
    ("quorum", "{x-dead-letter-strategy: at-least-once}", None),
    ("quorum", "{x-dead-letter-strategy: sometimes}", "x-dead-letter-strategy: must be one of"),
    ("classic", "{x-dead-letter-strategy: at-most-once}", "is not accepted for classic queues"),
    ("quorum", "{x-quorum-initial-group-size: 0}", "x-quorum-initial-group-size: must be at least 1"),
    ("stream", "{x-max-age: 7D}", None),
    ("stream", "{x-max-age: 7d}", "x-max-age: must be a positive number followed by"),
    ("stream", "{x-max-age: 0D}", "x-max-age: must be a positive number followed by"),
    ("stream", "{x-max-age: 7}", "x-max-age: must be a string"),
    ("classic", "{x-max-age: 7D}", "x-max-age: is not accepted for classic queues (only stream)"),
    ("stream", "{x-stream-max-segment-size-bytes: 3000000001}", "must be at most 3000000000"),
    ("stream", "{x-initial-cluster-size: 0}", "x-initial-cluster-size: must be at least 1"),
    ("stream", "{x-single-active-consumer: true}", "is not accepted for stream queues"),
    ("stream", "{x-max-length-bytes: 5, x-max-age: 1Y}", None),
    ("quorum", "{x-queue-leader-locator: balanced}", None),
    ("quorum", "{x-queue-leader-locator: nearest}", "x-queue-leader-locator: must be one of"),
    ("classic", "{x-queue-master-locator: balanced}", "warning: t.yaml:1: vhosts[0].queues[0].arguments.x-queue"),
    ("quorum", "{x-queue-master-locator: random}", "is not accepted for quorum queues (only classic)"),
    ("classic", "{custom: null}", "custom: must have a value"),
    ("classic", "{x-queue-type: null, unknown-arg: [1, {a: b}], x-custom: 5}", None),
]


@pytest.mark.parametrize(("queue_type", "arguments", "expected"), QUEUE_CASES)
def test_queue_arguments(queue_type: str, arguments: str, expected: str | None) -> None:
    found = problems(queue_type, arguments)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


def test_the_vhost_default_type_decides_for_untyped_queues() -> None:
    assert problems("", "{x-delivery-limit: 5}", "quorum") == []
    assert "is not accepted for quorum queues" in problems("", "{x-max-priority: 5}", "quorum")[0]
    assert "is not accepted for stream queues" in problems("", "{x-message-ttl: 5}", "stream")[0]


# Arguments only some supported versions refuse: a warning naming them, not an error.
VERSION_DEPENDENT = [
    ("classic", {"x-queue-leader-locator": "balanced"}, ("3.10",)),
    ("quorum", {"x-queue-leader-locator": "min-masters"}, ("3.10",)),
    ("classic", {"x-queue-master-locator": "balanced"}, ("3.10",)),
    ("stream", {"x-stream-filter-size-bytes": 8}, ("4.0",)),
]


@pytest.mark.parametrize(("queue_type", "arguments", "refused_by"), VERSION_DEPENDENT)
def test_version_dependent_rules(queue_type: str, arguments: dict[str, object], refused_by: tuple[str, ...]) -> None:
    (offline,) = check_arguments("queue", queue_type, arguments)
    assert offline.severity == "warning" and offline.refused_by == refused_by
    assert f"RabbitMQ {refused_by[0]} refuses it" in offline.message
    for version in ("3.10.8", "4.0.5", (3, 10), (4, 0)):
        label = version if isinstance(version, tuple) else tuple(int(part) for part in version.split(".")[:2])
        refused = f"{label[0]}.{label[1]}" in refused_by
        found = check_arguments("queue", queue_type, arguments, server_version=version)  # type: ignore[arg-type]
        assert [f.severity for f in found] == (["error"] if refused else []), (version, found)


def test_a_finding_refused_everywhere_is_an_error() -> None:
    (finding,) = check_arguments("queue", "quorum", {"x-max-priority": 5})
    assert (finding.severity, finding.refused_by, finding.argument) == ("error", ("3.10", "4.0"), "x-max-priority")


EXCHANGE_AND_BINDING_CASES = [
    ("exchanges: [{name: e, arguments: {alternate-exchange: ae}}]", None),
    ("exchanges: [{name: e, arguments: {alternate-exchange: 5}}]", "alternate-exchange: must be a string"),
    ("exchanges: [{name: e, arguments: {x-anything: null}}]", "x-anything: must have a value"),
    (
        "exchanges: [{name: h, type: headers}], queues: [{name: q}],"
        " bindings: [{source: h, destination: q, arguments: {x-match: all-with-x, a: b}}]",
        None,
    ),
    (
        "exchanges: [{name: h, type: headers}], queues: [{name: q}],"
        " bindings: [{source: h, destination: q, arguments: {x-match: some}}]",
        "bindings[0].arguments.x-match: must be one of all, any, all-with-x, any-with-x; got 'some'",
    ),
    (
        "queues: [{name: q}], bindings: [{source: amq.match, destination: q, arguments: {x-match: 1}}]",
        "x-match: must be a string",
    ),
    (
        "exchanges: [{name: d, type: direct}], queues: [{name: q}],"
        " bindings: [{source: d, destination: q, arguments: {x-match: some}}]",
        None,  # only headers exchanges read x-match
    ),
    (
        "exchanges: [{name: d}], queues: [{name: q}], bindings: [{source: d, destination: q, arguments: {h: null}}]",
        "h: must have a value",
    ),
]


@pytest.mark.parametrize(("vhost_body", "expected"), EXCHANGE_AND_BINDING_CASES)
def test_exchange_and_binding_arguments(vhost_body: str, expected: str | None) -> None:
    text = f"vhosts: [{{name: v, {vhost_body}}}]"
    try:
        load_topology_text(text, "t.yaml")
        found: list[str] = []
    except TopologyError as exc:
        found = [str(problem) for problem in exc.problems]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


def test_problems_name_the_line_of_the_argument() -> None:
    text = (
        "vhosts:\n- name: v\n  queues:\n  - name: q\n    arguments:\n      x-message-ttl: 5\n      x-max-priority: 300"
    )
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    assert [str(p) for p in info.value.problems] == [
        "t.yaml:7: vhosts[0].queues[0].arguments.x-max-priority: must be at most 255, got 300"
    ]


# -- the table, the schema and the reference agree ---------------------------------------------------------
def test_every_rule_cites_its_source_and_is_documented() -> None:
    reference = (REPO / "docs" / "topology.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert rule.source and ("deps/rabbit" in rule.source), rule
        assert f"`{rule.name}`" in reference, rule.name
    assert SUPPORTED_VERSIONS == ((3, 10), (4, 0))


def test_the_schema_states_the_table() -> None:
    """topology.schema.json carries the table's share that JSON Schema can say, exactly."""
    defs = load_schema()["$defs"]
    for name, fragment in schema_fragments().items():
        assert defs[name] == fragment, f"$defs.{name} differs from argument_rules.schema_fragments()"


def test_the_command_prints_warnings_and_stays_valid(tmp_path: Path) -> None:
    """A version-dependent refusal is a warning on stderr (and in -o json), with exit 0."""
    path = tmp_path / "t.yaml"
    path.write_text(
        "vhosts:\n  - name: v\n    queues:\n      - {name: q, arguments: {x-queue-leader-locator: balanced}}\n"
    )
    command = [sys.executable, "-m", "rabbitadmin", "validate", str(path)]
    text = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0, text.stderr
    assert f"warning: {path}:4: vhosts[0].queues[0].arguments.x-queue-leader-locator:" in text.stderr
    assert "RabbitMQ 3.10 refuses it" in text.stderr
    as_json = subprocess.run([*command, "-o", "json"], capture_output=True, text=True, timeout=120, check=False)
    assert as_json.returncode == 0, as_json.stderr
    (warning,) = json.loads(as_json.stdout)["warnings"]
    assert "x-queue-leader-locator" in warning


@pytest.mark.parametrize(
    "arguments",
    ["{x-l: [1, null]}", "{x-o: {a: null}}", "{x-n: {e: [null]}}", "{x-d: [[{f: null}]]}"],
)
def test_a_null_inside_an_argument_is_refused_as_the_server_refuses_it(arguments: str) -> None:
    """``rabbit_misc:to_amqp_table`` refuses null at any depth (HTTP 400 null_not_allowed, 3.10.8 and 4.0.5)."""
    text = f"vhosts:\n  - name: v\n    exchanges:\n      - {{name: e, arguments: {arguments}}}\n"
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    assert "holds a null" in str(info.value) and "t.yaml:4" in str(info.value)
    assert load_topology_text(text.replace("null", "0"), "t.yaml").exchanges


def test_a_negative_delivery_limit_is_no_limit_on_4_0_and_refused_before() -> None:
    # 4.0 limits redeliveries to 20 unless told otherwise; -1 is how one says "no limit" (a newcomer's export of
    # such a queue no longer planned back).
    limitless = {"x-delivery-limit": -1}
    assert check_arguments("queue", "quorum", limitless, server_version="4.0.5") == []
    (refused,) = check_arguments("queue", "quorum", limitless, server_version="3.10.8")
    assert refused.argument == "x-delivery-limit" and refused.severity == "error"
    (offline,) = check_arguments("queue", "quorum", limitless)
    assert offline.severity == "warning" and offline.refused_by == ("3.10",)
    assert check_arguments("queue", "quorum", {"x-delivery-limit": "many"}, server_version="4.0.5") != []
