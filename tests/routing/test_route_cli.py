"""The ``route`` command offline: arguments, headers, JSON and its errors (the real command, no node)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rabbitadmin.errors import UsageError
from rabbitadmin.routing.cli import parse_header

from ..conftest import CliRunner

TOPOLOGY = """\
vhosts:
  - name: v
    exchanges:
      - {name: t, type: topic}
      - {name: h, type: headers}
      - {name: hash, type: x-consistent-hash}
      - {name: i, type: fanout, internal: true}
    queues: [{name: a}, {name: b}]
    bindings:
      - {source: t, destination: a, routing_key: "kern.*"}
      - {source: t, destination: b, routing_key: "*.critical"}
      - {source: t, destination: hash, destination_type: exchange, routing_key: "hash.#"}
      - {source: h, destination: b, arguments: {x-match: all, n: 5, s: "5"}}
expect:
  - {exchange: t, routing_key: kern.info, unroutable: true}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRunner, Path]:
    path = tmp_path_factory.mktemp("route") / "t.yaml"
    path.write_text(TOPOLOGY, encoding="utf-8")
    return CliRunner({}), path


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("n=5", ("n", 5)), ('n="5"', ("n", "5")), ("f=true", ("f", True)), ("v=", ("v", None)), ("v=~", ("v", None)),
     ("x=1.5", ("x", 1.5)), ("s=a=b", ("s", "a=b")), ("d=2024-01-01", ("d", "2024-01-01")), ("l=[1]", ("l", "[1]"))],
)  # fmt: skip
def test_header_values_are_yaml_scalars(text: str, parsed: tuple[str, object]) -> None:
    assert parse_header(text) == parsed


@pytest.mark.parametrize("text", ["novalue", "=5"])
def test_bad_headers(text: str) -> None:
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_header(text)


def test_route_text_and_json(run: tuple[CliRunner, Path]) -> None:
    cli, path = run
    # The file's expectation is wrong (kern.info reaches a): route still answers, it does not validate routing.
    text = cli("route", str(path), "t", "kern.critical", check=True)
    assert text.stdout.split() == ["a", "b"] and "'t'" in text.stderr
    data = json.loads(cli("route", str(path), "t", "user.info", "-o", "json", check=True).stdout)
    assert data == {"queues": [], "exchanges": ["t"], "unroutable": True}
    data = json.loads(cli("route", str(path), "h", "--header", "n=5", "--header", 's="5"', "-o", "json").stdout)
    assert data["queues"] == ["b"]
    data = json.loads(cli("route", str(path), "h", "--header", "n=5", "--header", "s=5", "-o", "json").stdout)
    assert data["unroutable"] is True


def test_route_reports_plugin_types(run: tuple[CliRunner, Path]) -> None:
    cli, path = run
    result = cli("route", str(path), "t", "hash.x", "-o", "json", check=True)
    assert json.loads(result.stdout)["unknown_types"] == [{"exchange": "hash", "type": "x-consistent-hash"}]
    assert "unknown to the simulator" in cli("route", str(path), "t", "hash.x").stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["i"], "is internal"),
        (["nope"], "no exchange 'nope'"),
        (["t", "k", "--vhost", "w"], "vhost 'w' is not in the topology"),
        (["t", "k", "extra"], "usage: route"),
    ],
)
def test_route_errors_exit_2(run: tuple[CliRunner, Path], args: list[str], message: str) -> None:
    cli, path = run
    result = cli("route", str(path), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_default_exchange(run: tuple[CliRunner, Path]) -> None:
    cli, path = run
    assert cli("route", str(path), "", "a", check=True).stdout.split() == ["a"]
    assert cli("route", str(path), "", "t", check=True).stdout.split() == ["unroutable"]


def test_report_from_a_file(run: tuple[CliRunner, Path]) -> None:
    cli, path = run
    text = path.read_text(encoding="utf-8") + (
        "users:\n  - {name: u, password: {env: NOT_SET_ANYWHERE}}\n"
        'permissions:\n  - {user: u, vhost: v, configure: "", write: "^t$", read: ""}\n'
    )
    with_users = path.with_name("users.yaml")
    with_users.write_text(text, encoding="utf-8")
    page = cli("report", str(with_users), check=True).stdout
    assert page.startswith("<!DOCTYPE html>") and '<section id="graph">' in page
    assert '<table class="access-matrix" data-vhost="v">' in page and '<th class="user">u</th>' in page
    assert '<td class="heat r1" title="u may write on exchange t">-W-</td>' in page
    assert '<section id="findings">' in page
