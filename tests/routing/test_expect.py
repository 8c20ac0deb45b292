"""The ``expect:`` section: read by the validator, agreed with by the JSON Schema, checked offline."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.routing.expect import offline_check_skipped
from rabbitadmin.schema_cmd import load_schema

from ..conftest import CliRunner
from ..unit.test_schema import schema_errors, validator_problems

BASE = """\
vhosts:
  - name: shop
    exchanges:
      - {name: orders, type: topic, arguments: {alternate-exchange: unrouted}}
      - {name: unrouted, type: fanout}
      - {name: inner, type: fanout, internal: true}
      - {name: hash, type: x-consistent-hash}
      - {name: byheader, type: headers}
    queues:
      - {name: orders.eu}
      - {name: orders.lost}
      - {name: pdf}
    bindings:
      - {source: orders, destination: orders.eu, routing_key: "order.eu.#"}
      - {source: unrouted, destination: orders.lost}
      - {source: byheader, destination: pdf, arguments: {x-match: any, format: pdf, pages: 1}}
"""


@pytest.fixture(scope="module")
def checker() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


GOOD = [
    "expect: []",
    "expect:",
    "expect:\n  - {exchange: orders, routing_key: order.eu.created, reaches: [orders.eu]}",
    "expect:\n  - {vhost: shop, exchange: orders, routing_key: order.us, reaches: [orders.lost]}",
    "expect:\n  - {exchange: '', routing_key: pdf, reaches: [pdf]}",
    "expect:\n  - {exchange: '', routing_key: nowhere, unroutable: true}",
    "expect:\n  - {exchange: byheader, headers: {pages: 1}, reaches: [pdf]}",
    "expect:\n  - {exchange: byheader, headers: {pages: '1'}, unroutable: true}",
    "expect:\n  - {exchange: byheader, headers: {format: pdf, pages: 2}, reaches: [pdf, pdf]}",
    "expect:\n  - {exchange: amq.direct, routing_key: x, unroutable: true}",
]


@pytest.mark.parametrize("section", GOOD)
def test_good_expectations_pass_both(checker: jsonschema.Draft202012Validator, section: str) -> None:
    text = BASE + section
    assert validator_problems(text) == []
    assert schema_errors(checker, text) == []


SHAPE_BAD = [
    ("expect: {exchange: orders}", "expect: expected a list"),
    ("expect:\n  - orders", "expect[0]: expected a mapping"),
    ("expect:\n  - {routing_key: a, unroutable: true}", "expect[0].exchange: is required"),
    ("expect:\n  - {exchange: orders}", "give exactly one of reaches"),
    ("expect:\n  - {exchange: orders, reaches: [a], unroutable: true}", "give exactly one of reaches"),
    ("expect:\n  - {exchange: orders, unroutable: false}", "must be true"),
    ("expect:\n  - {exchange: orders, reaches: []}", "non-empty list of queue names"),
    ("expect:\n  - {exchange: orders, reaches: null, unroutable: true}", "give exactly one of reaches"),
    ("expect:\n  - {exchange: orders, reaches: null}", "non-empty list of queue names"),
    ("expect:\n  - {exchange: orders, unroutable: null}", "must be true"),
    ("expect:\n  - {exchange: orders, routing_key: null, unroutable: true}", "routing_key: expected a string"),
    ("expect:\n  - {exchange: orders, reaches: [1]}", "non-empty list of queue names"),
    ("expect:\n  - {exchange: orders, reaches: orders.eu}", "non-empty list of queue names"),
    ("expect:\n  - {exchange: orders, reaches: [orders.eu], bogus: 1}", "unknown field 'bogus'"),
    ("expect:\n  - {exchange: orders, headers: [a], unroutable: true}", "mapping of header names"),
    ("expect:\n  - {exchange: [orders], unroutable: true}", "expect[0].exchange: expected a string"),
]


@pytest.mark.parametrize(("section", "message"), SHAPE_BAD)
def test_badly_shaped_expectations_fail_both(
    checker: jsonschema.Draft202012Validator, section: str, message: str
) -> None:
    text = BASE + section
    problems = validator_problems(text)
    assert any(message in p for p in problems), problems
    assert schema_errors(checker, text) != []


FAILING = [
    ("{exchange: orders, routing_key: order.eu.x, reaches: [orders.lost]}", "but it reaches ['orders.eu']"),
    ("{exchange: orders, routing_key: order.us.x, unroutable: true}", "but it reaches ['orders.lost']"),
    ("{exchange: orders, routing_key: order.eu.x, reaches: [orders.eu, pdf]}", "expected reaches ['orders.eu', 'pdf']"),
    ("{exchange: '', routing_key: nope, reaches: [nope]}", "but it is unroutable"),
    ("{exchange: inner, unroutable: true}", "is internal"),
    ("{exchange: missing, unroutable: true}", "no exchange 'missing'"),
    ("{exchange: hash, unroutable: true}", "cannot be checked offline"),
    ("{vhost: other, exchange: orders, unroutable: true}", "vhost 'other' is not declared"),
    ("{exchange: byheader, headers: {pages: true}, reaches: [pdf]}", "but it is unroutable"),
]


@pytest.mark.parametrize(("item", "message"), FAILING)
def test_failed_expectations_are_problems_at_their_line(item: str, message: str) -> None:
    text = BASE + "expect:\n  - {exchange: orders, routing_key: order.eu.a, reaches: [orders.eu]}\n  - " + item
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml", resolve_secrets=False)
    (problem,) = caught.value.problems
    assert problem.line == BASE.count("\n") + 3
    assert problem.field == "expect[1]"
    assert message in problem.message


def test_expectations_are_checked_only_when_the_rest_is_valid() -> None:
    broken = BASE.replace("{name: pdf}", "{name: pdf, durable: maybe}")
    text = broken + "expect:\n  - {exchange: orders, unroutable: true}"
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml", resolve_secrets=False)
    assert all("expect" not in (p.field or "") for p in caught.value.problems)


def test_vhost_may_be_left_out_only_with_one_vhost() -> None:
    text = BASE + "  - name: second\nexpect:\n  - {exchange: orders, unroutable: true}"
    problems = validator_problems(text)
    assert problems == [f"t.yaml:{BASE.count(chr(10)) + 3}: expect[0].vhost: is required"]


def test_skipping_the_offline_check_still_reads_the_section() -> None:
    text = BASE + "expect:\n  - {exchange: orders, routing_key: order.eu.x, unroutable: true}"
    with offline_check_skipped():
        topology = load_topology_text(text, "t.yaml", resolve_secrets=False)
    (expectation,) = topology.expectations
    assert (expectation.vhost, expectation.exchange, expectation.reaches) == ("shop", "orders", None)


def test_validate_exits_2_with_file_and_line(tmp_path: Path) -> None:
    rabbitadmin = CliRunner({})  # offline: no node needed
    path = tmp_path / "t.yaml"
    path.write_text(BASE + "expect:\n  - {exchange: orders, routing_key: order.eu.x, unroutable: true}\n")
    result = rabbitadmin("validate", str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}:{BASE.count(chr(10)) + 2}: expect[0]: exchange 'orders' key 'order.eu.x'" in result.stderr
    path.write_text(BASE + "expect:\n  - {exchange: orders, routing_key: order.eu.x, reaches: [orders.eu]}\n")
    assert rabbitadmin("validate", str(path)).returncode == 0
