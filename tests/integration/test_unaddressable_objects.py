"""Objects whose name (or binding source/destination) is not a string, put on a real node through its own import
(``POST /api/definitions``, which checks no type: ``rabbit_definitions``), then read by the real command line:
``plan --prune``, ``export -o json``, ``audit -o json``, ``access`` and ``report --live`` leave each out with one
warning that names it as the server shows it (on stderr; ``plan`` and ``apply`` among the plan's own warnings, in
its JSON too), and never fail on it (``definitions.Unaddressable``).

What each version keeps (measured, 3.10.8 and 4.0.5): both keep a null exchange name, a null and a numeric queue
name, a null policy and operator policy name, a null global parameter name and a null binding source and
destination, even where the import answers 400 or 500 for the rest of the document (it is not atomic). 3.10.8
also keeps a user named null, which 4.0.5 refuses. Over ``--backend ctl``, 3.10.8's node cannot export its own
definitions once an exchange is named null (``rabbit_exchange:is_amq_prefixed(null)`` fails in
``rabbit_definitions``): the commands end with that error, said plainly, with the way out (HTTP). Nor can
3.10.8 or 4.0.5 delete a vhost holding a queue named null or 5 (HTTP 500) until the queue's record is removed
on the node. Session node; what the vhost's deletion does not remove goes through ``rabbitmqctl eval`` (no API
path can name it).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import RabbitAdminError, ServerError
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner, ctl_backend_options, delete_vhost

LEFT_OUT = "cannot address it: it is left out"


def _exchange(vhost: str, name: Any) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "type": "direct", "durable": True, "auto_delete": False, "internal": False,
            "arguments": {}}  # fmt: skip


def _queue(vhost: str, name: Any) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}


def _binding(vhost: str, source: Any, destination: Any) -> dict[str, Any]:
    return {"source": source, "vhost": vhost, "destination": destination, "destination_type": "queue",
            "routing_key": "k", "arguments": {}}  # fmt: skip


def _imports(vhost: str, version: str) -> list[tuple[dict[str, Any], str]]:
    """One import each, and the warning's start each must bring (``Unaddressable.shown``)."""
    v = json.dumps(vhost)
    policy = {"pattern": "^nothing", "apply-to": "queues", "definition": {"max-length": 1}, "priority": 0}
    docs = [
        ({"exchanges": [_exchange(vhost, None)]}, f"exchange (vhost {v}, name null)"),
        ({"queues": [_queue(vhost, None)]}, f"queue (vhost {v}, name null)"),
        ({"queues": [_queue(vhost, 5)]}, f"queue (vhost {v}, name 5)"),
        ({"policies": [{"vhost": vhost, "name": None, **policy}]}, f"policy (vhost {v}, name null)"),
        (
            {"parameters": [{"vhost": vhost, "component": "operator_policy", "name": None, "value": policy}]},
            f"operator policy (vhost {v}, name null)",
        ),
        (
            {"bindings": [_binding(vhost, None, "bq")]},
            f'binding (vhost {v}, source null, destination_type "queue", destination "bq"',
        ),
        (
            {"bindings": [_binding(vhost, "bx", None)]},
            f'binding (vhost {v}, source "bx", destination_type "queue", destination null',
        ),
        ({"global_parameters": [{"name": None, "value": "x"}]}, "global parameter (name null)"),
    ]
    if version == "3.10":  # 4.0.5 refuses a user named null (400)
        user = {"name": None, "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
        docs.append(({"users": [user]}, "user (name null)"))
    return docs


@pytest.fixture
def ctl(sandbox: Sandbox, node: SandboxInfo) -> Iterator[CtlBackend]:
    backend = CtlBackend(**ctl_backend_options(sandbox, node))  # type: ignore[arg-type]
    yield backend
    backend.close()


@pytest.fixture
def odd_vhost(admin_client: HttpClient, ctl: CtlBackend, rabbitmq_version: str) -> Iterator[tuple[str, list[str]]]:
    """A vhost holding an ordinary exchange ``bx`` bound to a queue ``bq``, and every unaddressable object this
    version keeps; yields (vhost, the warnings' starts). Removed afterwards, the global ones through the node."""
    vhost = f"unaddr-{secrets.token_hex(3)}"
    admin_client.post(api_path("definitions"), {
        "vhosts": [{"name": vhost}], "exchanges": [_exchange(vhost, "bx")], "queues": [_queue(vhost, "bq")],
        "bindings": [_binding(vhost, "bx", "bq")],
    })  # fmt: skip
    expected = []
    try:
        for doc, warning in _imports(vhost, rabbitmq_version):
            with contextlib.suppress(RabbitAdminError):  # 400/500 for the rest, yet it is kept: checked below
                admin_client.post(api_path("definitions"), doc)
            expected.append(warning)
        _assert_kept(admin_client, vhost, rabbitmq_version)
        yield vhost, expected
    finally:
        _delete_vhost(admin_client, ctl, vhost, rabbitmq_version)
        ctl.ctl.eval('rabbit_runtime_parameters:clear_global(null, <<"rabbitadmin-tests">>).')
        if rabbitmq_version == "3.10":
            ctl.ctl.eval('rabbit_auth_backend_internal:delete_user(null, <<"rabbitadmin-tests">>).')
        assert [row for row in admin_client.get(api_path("global-parameters")) if row["name"] is None] == []
        assert [row for row in admin_client.get(api_path("users")) if row["name"] is None] == []


def _delete_vhost(client: HttpClient, ctl: CtlBackend, vhost: str, version: str) -> None:
    """Delete the vhost. 3.10.8 and 4.0.5 refuse (HTTP 500) while it holds a queue whose name is no string (the
    import that made it answered 400 or 500, and left the queue's record): that record goes first, on the node
    (``rabbit_amqqueue:internal_delete``: of the queue's name on 3.10.8, of its record on 4.0.5)."""
    try:
        delete_vhost(client, vhost)
    except ServerError:
        for name in ("null", "5", '[<<"a">>]'):
            queue, user = f'rabbit_misc:r(<<"{vhost}">>, queue, {name})', '<<"rabbitadmin-tests">>'
            if version == "3.10":
                ctl.ctl.eval(f"rabbit_amqqueue:internal_delete({queue}, {user}).")
            else:
                found = f"rabbit_amqqueue:lookup({queue})"
                ctl.ctl.eval(f"case {found} of {{ok, Q}} -> rabbit_amqqueue:internal_delete(Q, {user}); E -> E end.")
        delete_vhost(client, vhost)


def _assert_kept(client: HttpClient, vhost: str, version: str) -> None:
    """What the management API lists after the imports: each object as measured."""
    assert None in [row["name"] for row in client.get(api_path("exchanges", vhost))]
    queues = [row["name"] for row in client.get(api_path("queues", vhost))]
    assert None in queues and 5 in queues and "bq" in queues
    assert None in [row["name"] for row in client.get(api_path("policies", vhost))]
    assert None in [row["name"] for row in client.get(api_path("operator-policies", vhost))]
    pairs = {(row["source"], row["destination"]) for row in client.get(api_path("bindings", vhost))}
    assert {(None, "bq"), ("bx", None), ("bx", "bq")} <= pairs
    assert None in [row["name"] for row in client.get(api_path("global-parameters"))]
    users = [row["name"] for row in client.get(api_path("users"))]
    assert (None in users) is (version == "3.10")


def _warnings(stderr: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in stderr.splitlines() if line.startswith("warning: ")]


def _assert_warned_once_each(stderr: str, expected: list[str]) -> None:
    assert "Traceback" not in stderr
    said = [line for line in _warnings(stderr) if LEFT_OUT in line]
    for start in expected:
        assert len([line for line in said if line.startswith(start)]) == 1, (start, stderr)


def _ctl_refused_by_310(result: Any, backend: str, version: str) -> bool:
    """3.10.8's node cannot export its definitions with an exchange named null: a clean error, no traceback."""
    if (backend, version) != ("ctl", "3.10"):
        return False
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr or '"error"' in result.stdout
    said = result.stderr + result.stdout  # under -o json the error is JSON on stdout
    assert "holds an exchange whose name is not a string" in said and "--backend http" in said
    return True


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_plan_with_prune_neither_creates_nor_deletes_them(
    rabbitadmin: CliRunner, odd_vhost: tuple[str, list[str]], rabbitmq_version: str, backend: str, tmp_path: Path
) -> None:
    vhost, expected = odd_vhost
    topology = {"vhosts": [{"name": vhost, "exchanges": [{"name": "bx", "type": "direct"}],
                            "queues": [{"name": "bq", "type": "classic"}],
                            "bindings": [{"source": "bx", "destination": "bq", "routing_key": "k"}]}]}  # fmt: skip
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(topology))
    result = rabbitadmin("--backend", backend, "plan", "--prune", "-o", "json", str(path))
    if _ctl_refused_by_310(result, backend, rabbitmq_version):
        return
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    # Nothing to create, and --prune deletes none of them (the administrator's own permission on the vhost,
    # which the file leaves out, is the only change --prune may plan: over rabbitmqctl no user is "self").
    assert [c for c in plan["changes"] if c["kind"] != "permission"] == [], plan
    assert all(None not in c["key"] for c in plan["changes"]), plan
    # Said in the plan's own warnings (a JSON reader sees them; a fleet's plans each say their own), not on stderr.
    in_vhost = [w for w in expected if "vhost" in w]
    _assert_warned_once_each("\n".join(f"warning: {w}" for w in plan["warnings"]), expected)
    assert [line for line in _warnings(result.stderr) if LEFT_OUT in line] == [], result.stderr
    result = rabbitadmin("--backend", backend, "apply", "--yes", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    _assert_warned_once_each(result.stdout, in_vhost)  # the text plan's tail: once, though apply reads twice
    assert [line for line in _warnings(result.stderr) if LEFT_OUT in line] == [], result.stderr


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_export_json_leaves_them_out_and_stays_valid(
    rabbitadmin: CliRunner, odd_vhost: tuple[str, list[str]], rabbitmq_version: str, backend: str
) -> None:
    vhost, expected = odd_vhost
    for args in (("export", "-o", "json"), ("export", "-o", "json", "--vhost", vhost)):
        result = rabbitadmin("--backend", backend, *args)
        if _ctl_refused_by_310(result, backend, rabbitmq_version):
            assert json.loads(result.stdout)  # the error as JSON: CI still gets JSON
            return
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        (exported,) = [v for v in document["vhosts"] if v["name"] == vhost]
        assert [e["name"] for e in exported["exchanges"]] == ["bx"]
        assert [q["name"] for q in exported["queues"]] == ["bq"]
        assert exported["bindings"] == [{"source": "bx", "destination": "bq", "routing_key": "k"}]
        assert "policies" not in exported and "operator_policies" not in exported
        assert None not in [u["name"] for u in document["users"]]
        assert None not in [g["name"] for g in document.get("global_parameters", ())]
        _assert_warned_once_each(result.stderr, [w for w in expected if "vhost" in w])


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_audit_access_and_report_skip_them(
    rabbitadmin: CliRunner, odd_vhost: tuple[str, list[str]], rabbitmq_version: str, backend: str
) -> None:
    _, expected = odd_vhost
    for args in (("audit", "-o", "json"), ("access",), ("access", "-o", "json"), ("report", "--live")):
        result = rabbitadmin("--backend", backend, *args)
        if _ctl_refused_by_310(result, backend, rabbitmq_version):
            continue
        assert result.returncode == 0, (args, result.stderr)
        if "json" in args:
            json.loads(result.stdout)
        _assert_warned_once_each(result.stderr, expected)


def test_a_vhost_whose_bindings_the_server_cannot_list_is_an_error_that_says_why(
    rabbitadmin: CliRunner, admin_client: HttpClient, ctl: CtlBackend, rabbitmq_version: str
) -> None:
    """A queue named by a list: 3.10.8 and 4.0.5 keep it, then answer 500 to the vhost's bindings listing (its
    implicit binding to the default exchange cannot be printed). Nothing to read there: a clean error."""
    vhost = f"unaddr-{secrets.token_hex(3)}"
    admin_client.post(api_path("definitions"), {"vhosts": [{"name": vhost}]})
    try:
        with contextlib.suppress(RabbitAdminError):  # 400 (4.0.5) or 500 (3.10.8), yet the queue is kept
            admin_client.post(api_path("definitions"), {"queues": [_queue(vhost, ["a"])]})
        assert ["a"] in [row["name"] for row in admin_client.get(api_path("queues", vhost))]
        result = rabbitadmin("export", "-o", "json", "--vhost", vhost)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        error = json.loads(result.stdout)["error"]
        assert "HTTP 500" in str(error) and "the server cannot list this vhost's bindings" in str(error)
    finally:
        _delete_vhost(admin_client, ctl, vhost, rabbitmq_version)
