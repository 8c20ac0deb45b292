"""The everyday commands' offline parts: check selection, hashing algorithm names, the tools found next
to rabbitmqctl, plugin versions, and `passwords hash` end to end without a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rabbitadmin.admin.health import _wanted
from rabbitadmin.admin.passwords_cmd import algorithm_name
from rabbitadmin.backends.ctl.daily import sibling
from rabbitadmin.backends.daily_ops import DEFAULT_CHECKS, plugin_version, vhost_definitions
from rabbitadmin.errors import UsageError
from rabbitadmin.passwords import check_password


@pytest.mark.parametrize(
    ("checks", "ports", "protocols", "expected"),
    [
        (None, [], [], [(c, None) for c in DEFAULT_CHECKS]),
        (["alarms"], [], [], [("alarms", None)]),
        (None, [5672], [], [("port-listener", "5672")]),
        (["alarms"], [1], ["amqp"], [("alarms", None), ("port-listener", "1"), ("protocol-listener", "amqp")]),
    ],
)
def test_checks_wanted(
    checks: list[str] | None, ports: list[int], protocols: list[str], expected: list[tuple[str, str | None]]
) -> None:
    assert _wanted(checks, ports, protocols) == expected


@pytest.mark.parametrize(("checks", "message"), [(["alrams"], "did you mean 'alarms'"), (["port-listener"], "--port")])
def test_checks_refused(checks: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _wanted(checks, [], [])


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sha256", "rabbit_password_hashing_sha256"),
        ("SHA512", "rabbit_password_hashing_sha512"),
        ("md5", "rabbit_password_hashing_md5"),
        ("rabbit_password_hashing_sha512", "rabbit_password_hashing_sha512"),
    ],
)
def test_algorithm_names(given: str, expected: str) -> None:
    assert algorithm_name(given) == expected


def test_unknown_algorithm_suggests() -> None:
    with pytest.raises(UsageError, match="did you mean 'sha256'"):
        algorithm_name("sha265")


@pytest.mark.parametrize(
    ("executable", "expected"),
    [
        ("/usr/lib/rabbitmq/bin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmq-plugins"),
        ("rabbitmqctl", "rabbitmq-plugins"),
        ("/usr/sbin/rabbitmqctl", "/usr/sbin/rabbitmq-plugins"),
    ],
)
def test_tools_next_to_rabbitmqctl(executable: str, expected: str) -> None:
    assert sibling(executable, "rabbitmq-plugins") == expected


@pytest.mark.parametrize(("value", "expected"), [([51, 46, 49, 48], "3.10"), ("4.0.5", "4.0.5"), (None, None)])
def test_plugin_versions(value: object, expected: str | None) -> None:
    assert plugin_version(value) == expected


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *args],
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "md5"])
def test_passwords_hash_without_a_server(algorithm: str) -> None:
    result = run("passwords", "hash", "--algorithm", algorithm, "--password-env", "PW", env={"PW": "pässword"})
    assert result.returncode == 0, result.stderr
    value = result.stdout.strip()
    assert check_password("pässword", value, algorithm_name(algorithm))
    assert "pässword" not in result.stdout + result.stderr
    again = run("passwords", "hash", "--password-env", "PW", "-o", "json", env={"PW": "pässword"})
    payload = json.loads(again.stdout)
    assert payload["hashing_algorithm"] == "rabbit_password_hashing_sha256" and payload["password_hash"] != value


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "no terminal"),  # no prompt without a terminal, and never a password argument
        (["--password-env", "PW"], {"PW": ""}, "empty"),
        (["--password-env", "NOPE"], {}, "NOPE is not set"),
    ],
)
def test_passwords_hash_refusals(args: list[str], env: dict[str, str], message: str) -> None:
    result = run("passwords", "hash", *args, env=env)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "--password " not in run("passwords", "hash", "--help").stdout


ACCESS_TOPOLOGY = """
vhosts:
  - name: shop
    exchanges: [{name: orders, type: direct}]
    queues: [{name: invoices}]
users:
  - {name: clerk}
permissions:
  - {user: clerk, vhost: shop, configure: "^$", write: "orders", read: "invoices"}
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "clrek"], "there is no user 'clrek' (did you mean 'clerk'?)"),
        (["--vhost", "shp"], "there is no vhost 'shp' (did you mean 'shop'?)"),
        (["--who-can", "write", "--vhost", "shop", "--exchange", "ordres"], "there is no exchange 'ordres' in vhost"),
        (["--who-can", "read", "--vhost", "shop", "--queue", "invoice"], "(did you mean 'invoices'?)"),
    ],
)
def test_access_names_unknown_users_vhosts_exchanges_queues(args: list[str], message: str, tmp_path: Path) -> None:
    """`access` used to print an empty table (or "nobody can") for a name that does not exist (issue 16.10)."""
    path = tmp_path / "t.yaml"
    path.write_text(ACCESS_TOPOLOGY)
    result = run("access", "--offline", "--topology", str(path), *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr


def test_access_knows_server_owned_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(ACCESS_TOPOLOGY)
    result = run("access", "--offline", "--topology", str(path), "--who-can", "write", "--vhost", "shop",
                 "--exchange", "orders")  # fmt: skip
    assert result.returncode == 0 and result.stdout.split() == ["clerk"], result.stderr
    builtin = run("access", "--offline", "--topology", str(path), "--who-can", "write", "--vhost", "shop",
                  "--exchange", "amq.topic")  # fmt: skip
    assert builtin.returncode == 0, builtin.stderr


@pytest.mark.parametrize(
    ("kind", "name", "names", "expected"),
    [
        ("user", "bob", ["bobby", "alice"], "there is no user 'bob' (did you mean 'bobby'?); users: alice, bobby"),
        ("vhost", "x", [], "there is no vhost 'x'; there are no vhosts"),
        ("exchange", "e", ["", "amq.direct"], "there is no exchange 'e'; exchanges: '', amq.direct"),
        ("user", "zz", [f"u{i:02}" for i in range(25)], "u19 and 5 more"),
    ],
)
def test_no_such_messages(kind: str, name: str, names: list[str], expected: str) -> None:
    from rabbitadmin.suggest import no_such

    assert expected in no_such(kind, name, names)


def test_one_vhosts_definitions_cut_from_a_whole_server_export() -> None:
    """The per-vhost shape (``GET /api/definitions/{vhost}``): that vhost's objects only, without their vhost
    field; server-wide sections and other vhosts left out."""
    whole = {
        "rabbitmq_version": "4.0.5",
        "users": [{"name": "u"}],
        "vhosts": [{"name": "é"}, {"name": "other"}],
        "queues": [{"name": "q", "vhost": "é", "durable": True}, {"name": "q", "vhost": "other"}],
        "bindings": [{"source": "x", "vhost": "é", "destination": "q"}, "not an object"],
        "policies": [{"name": "p", "vhost": "other"}],
    }
    one = vhost_definitions(whole, "é")
    assert one == {
        "rabbit_version": "4.0.5",
        "queues": [{"name": "q", "durable": True}],
        "exchanges": [],
        "bindings": [{"source": "x", "destination": "q"}],
        "policies": [],
        "parameters": [],
    }
    assert whole["queues"][0]["vhost"] == "é"  # the export it was cut from is left as it was
