"""Every value shape a runtime parameter, global parameter or policy can hold reads the same through
``--backend ctl`` as over HTTP, on the session node (which runs shovel and federation).

RabbitMQ 3.10.8's own definitions export calls ``maps:from_list/1`` on every runtime parameter value, so one
federation-upstream-set (a list of objects) made the ctl read fail as a whole (``badarg``), through both our
eval and ``rabbitmqctl export_definitions``; on both versions rabbitmqctl's encoder prints JSON null as
"null", and the empty value the server stores for ``[]`` and ``{}`` read as ``{}`` where HTTP says ``[]``.
Each shape is set over HTTP (what the management API accepts), then read by both backends: state (the
engine's read and plan), ``export`` and ``definitions export``. A value no JSON can hold (set by Erlang code)
makes the ctl read fail with an error naming the entry."""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import make_plan
from rabbitadmin.errors import CtlError
from rabbitadmin.export import export_document
from rabbitadmin.model import Topology
from rabbitadmin.sandbox import Sandbox

from ..conftest import CliRunner

#: Runtime parameters of the test's vhost: (component, name) -> value as set over HTTP.
PARAMETERS: dict[tuple[str, str], Any] = {
    ("federation-upstream", "up-a"): {"uri": "amqp://127.0.0.1:1"},
    ("federation-upstream", "up-b"): {"uri": ["amqp://127.0.0.1:1", "amqp://127.0.0.1:2"], "expires": 60000},
    ("federation-upstream-set", "set-two"): [{"upstream": "up-a"}, {"upstream": "up-b", "exchange": "x"}],
    ("federation-upstream-set", "set-one"): [{"upstream": "up-a"}],
    ("federation-upstream-set", "set-empty"): [],
    ("federation-upstream-set", "set-empty-object"): {},  # stored as [] by the server, as [] is
    ("vhost-limits", "limits"): {"max-queues": 100, "max-connections": 10},
}
#: A shovel whose source never answers (port 1): it only retries, and goes with the vhost.
SHOVEL = {
    "src-uri": ["amqp://127.0.0.1:1"],
    "src-queue": "a",
    "dest-uri": "amqp://127.0.0.1:1",
    "dest-queue": "null",
    "publish-properties": {},
    "add-forward-headers": False,
}
#: Global parameters (name suffix -> value): every JSON shape, set over HTTP.
GLOBALS: dict[str, Any] = {
    "list-of-objects": [{"a": 1}, {"b": [2, None]}],
    "list-of-scalars": [1, "a", None, True, 1.5],
    "list-of-pairs": [["a", 1], ["b", 2]],
    "empty-list": [],
    "empty-object": {},
    "nested-lists": [[1, 2], [], [[{}]]],
    "object": {"k": None, "s": "null", "l": [], "m": {}, "pairs": [["x", 1]]},
    "string": "hello",
    "null-string": "null",
    "null": None,
    "number": 42,
    "float": 1.5,
    "true": True,
}
POLICY = {"pattern": "^fed\\.", "definition": {"federation-upstream-set": "set-two", "alternate-exchange": "null"},
          "apply-to": "exchanges", "priority": 3}  # fmt: skip
OPERATOR_POLICY = {"pattern": "^q", "definition": {"max-length": 7, "message-ttl": 1000}, "apply-to": "queues"}


@pytest.fixture(scope="module")
def vhost(admin_client: HttpClient) -> Iterator[str]:
    """The vhost holding every parameter shape, for the whole module (the tests only read it)."""
    name = f"shapes {secrets.token_hex(3)}/é#%"
    admin_client.put(api_path("vhosts", name), {})
    yield name
    admin_client.delete(api_path("vhosts", name))


@pytest.fixture(scope="module")
def shapes(admin_client: HttpClient, vhost: str) -> Iterator[dict[str, str]]:
    """Every parameter shape in ``vhost`` and the global parameters, each set over HTTP (the server validates
    it), the global ones removed afterwards. Yields the global parameters' names by suffix."""
    prefix = f"shape-{secrets.token_hex(3)}-"
    names = {suffix: prefix + suffix for suffix in GLOBALS}
    try:
        for (component, name), value in PARAMETERS.items():
            admin_client.put(api_path("parameters", component, vhost, name), {"value": value})
        admin_client.put(api_path("parameters", "shovel", vhost, "sh"), {"value": SHOVEL})
        admin_client.put(api_path("policies", vhost, "fed"), POLICY)
        admin_client.put(api_path("operator-policies", vhost, "cap"), OPERATOR_POLICY)
        for suffix, value in GLOBALS.items():
            admin_client.put(api_path("global-parameters", names[suffix]), {"value": value})
        yield names
    finally:
        for name in names.values():
            admin_client.delete(api_path("global-parameters", name))


def _ours(topology: Topology, vhost: str, names: dict[str, str]) -> dict[str, Any]:
    """The objects of ``topology`` this test set, by kind and key."""
    wanted = set(names.values())
    return {
        "parameters": {k: v for k, v in topology.parameters.items() if k[0] == vhost},
        "global_parameters": {k: v for k, v in topology.global_parameters.items() if k[0] in wanted},
        "policies": {k: v for k, v in topology.policies.items() if k[0] == vhost},
        "operator_policies": {k: v for k, v in topology.operator_policies.items() if k[0] == vhost},
        "vhost_limits": {k: v for k, v in topology.vhost_limits.items() if k[0] == vhost},
    }


def test_the_ctl_read_of_every_value_shape_equals_the_http_read_and_plans_clean(
    shapes: dict[str, str], vhost: str, settings: ConnectionSettings, session_ctl_backend: CtlBackend
) -> None:
    http = HttpBackend(settings, parallelism=2)
    try:
        over_http = http.read_state([vhost])
    finally:
        http.close()
    over_ctl = session_ctl_backend.read_state([vhost])
    expected, got = _ours(over_http, vhost, shapes), _ours(over_ctl, vhost, shapes)
    # The shapes arrived as set (over HTTP), so the comparison below compares something: every parameter but
    # the limits (their own kind), plus the shovel.
    assert len(expected["parameters"]) == len(PARAMETERS) and len(expected["vhost_limits"]) == 2
    assert {k[0]: v.value for k, v in expected["global_parameters"].items()} == {
        names: GLOBALS[suffix] if suffix != "empty-object" else [] for suffix, names in shapes.items()
    }
    for kind in expected:
        assert got[kind] == expected[kind], kind
    # The plan: the HTTP read as the desired state is no change at all over ctl.
    desired = Topology()
    desired.add(over_http.vhosts[(vhost,)])
    for objects in expected.values():
        for obj in objects.values():
            desired.add(obj)
    plan = make_plan(desired, session_ctl_backend)
    assert plan.is_empty, [str(change) for change in plan.changes]


def test_export_and_definitions_export_over_ctl_equal_http(
    shapes: dict[str, str], vhost: str, rabbitadmin: CliRunner, settings: ConnectionSettings, admin_client: HttpClient
) -> None:
    """The commands over ctl print what the same reads give over HTTP (taken in-process: one command less)."""
    http = HttpBackend(settings, parallelism=2)
    try:
        expected = export_document(http.read_state([vhost]), [vhost])
    finally:
        http.close()
    exported = rabbitadmin("--backend", "ctl", "export", "--vhost", vhost, "--format", "json", check=True).stdout
    assert json.loads(exported) == expected
    values = {(p["component"], p["name"]): p["value"] for p in expected["vhosts"][0]["parameters"]}
    assert values[("federation-upstream-set", "set-two")] == PARAMETERS[("federation-upstream-set", "set-two")]

    wanted = set(shapes.values())

    def entries(document: dict[str, Any]) -> dict[str, list[str]]:
        return {
            "parameters": sorted(json.dumps(p, sort_keys=True) for p in document["parameters"] if p["vhost"] == vhost),
            "policies": sorted(json.dumps(p, sort_keys=True) for p in document["policies"] if p["vhost"] == vhost),
            "global_parameters": sorted(
                json.dumps(g, sort_keys=True) for g in document["global_parameters"] if g["name"] in wanted
            ),
        }

    over_http = entries(admin_client.get(api_path("definitions")))  # what `definitions export` prints over HTTP
    over_ctl = entries(json.loads(rabbitadmin("--backend", "ctl", "definitions", "export", check=True).stdout))
    assert len(over_http["global_parameters"]) == len(GLOBALS) and len(over_http["parameters"]) == len(PARAMETERS) + 2
    assert over_ctl == over_http


def test_a_topology_of_list_values_plans_clean_over_ctl(
    shapes: dict[str, str], vhost: str, rabbitadmin: CliRunner, tmp_path: Path
) -> None:
    """The command line's plan over ctl, from a file holding the list-valued shapes the validator accepts."""
    sets = [("federation-upstream-set", name) for name in ("set-two", "set-one")]
    document = {
        "vhosts": [{"name": vhost, "parameters": [
            {"component": component, "name": name, "value": PARAMETERS[(component, name)]} for component, name in sets
        ]}],
        "global_parameters": [{"name": shapes[s], "value": GLOBALS[s]} for s in ("list-of-pairs", "nested-lists",
                                                                                  "list-of-scalars", "object")],
    }  # fmt: skip
    topology = tmp_path / "t.yaml"
    topology.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    for backend in ("http", "ctl"):
        result = rabbitadmin("--backend", backend, "plan", str(topology), "--detailed-exitcode")
        assert result.returncode == 0, (backend, result.stdout, result.stderr)


def test_a_remote_prefix_reads_list_values_without_stdin(
    shapes: dict[str, str], vhost: str, rabbitadmin: CliRunner, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Through ``ssh`` (a stand-in that runs the quoted command here) the read goes on the argument list, not
    on stdin (which 4.0.5's rabbitmqctl never reads) and not through ``export_definitions`` (which crashes on
    3.10.8 and prints null as "null")."""
    fake_ssh = tmp_path / "ssh"
    fake_ssh.write_text('#!/bin/sh\nshift\nexec sh -c "$*"\n')
    fake_ssh.chmod(0o700)
    local = sandbox.ctl_settings()["prefix"] or ""
    prefix = f"{shlex.quote(str(fake_ssh))} mq1 {local}".strip()
    result = rabbitadmin("--backend", "ctl", "--ctl-prefix", prefix, "--ctl-timeout", "60", "definitions", "export")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    values = {(p["component"], p["name"]): p["value"] for p in document["parameters"] if p["vhost"] == vhost}
    assert values[("federation-upstream-set", "set-two")] == PARAMETERS[("federation-upstream-set", "set-two")]
    assert {g["name"]: g["value"] for g in document["global_parameters"]}[shapes["null"]] is None


def test_a_value_no_json_can_hold_is_named_in_a_clear_error(
    sandbox: Sandbox, session_ctl_backend: CtlBackend, admin_client: HttpClient
) -> None:
    """A global parameter set by Erlang code to a tuple: neither the server's export nor the management API
    can encode it; the ctl read says which entry it is instead of failing somewhere inside."""
    name = f"tuple_{secrets.token_hex(3)}"
    ctl = session_ctl_backend.ctl
    ctl.run(["eval", f"rabbit_runtime_parameters:set_global({name}, {{a, b, c}}, <<\"test\">>)."])
    try:
        with pytest.raises(CtlError) as raised:
            session_ctl_backend.export_definitions()  # what read_state, export and authenticate read
        message = str(raised.value)
        assert f"global parameter (name '{name}')" in message and "no JSON can carry" in message
        with pytest.raises(CtlError) as raised:
            session_ctl_backend.read_state(None)  # the state read's own eval, which reads the export with more
        assert str(raised.value) == message
    finally:
        ctl.run(["eval", f"rabbit_runtime_parameters:clear_global({name}, <<\"test\">>)."])
    assert all(g["name"] != name for g in admin_client.get(api_path("global-parameters")))


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_every_value_shape_is_written_as_the_management_api_writes_it(
    backend: str, rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path
) -> None:
    """Applied from a file by either backend, every shape reads back as the same value set over HTTP reads:
    rabbitmqctl's own import decodes a null inside an object or list as the string "nil" (4.0.5), so those
    values go by an eval that the node decodes; an empty upstream set and a null or empty global parameter
    are accepted, as the server accepts them. The plan over both backends is then no change."""
    prefix = f"write-{backend}-{secrets.token_hex(3)}-"
    vhost = f"{prefix}vhost"
    sets = {"set-empty": [], "set-empty-object": {}, "set-one": [{"upstream": "up-a"}]}
    document = {
        "vhosts": [{"name": vhost, "parameters": [
            {"component": "federation-upstream", "name": "up-a", "value": {"uri": "amqp://127.0.0.1:1"}},
            *({"component": "federation-upstream-set", "name": name, "value": value} for name, value in sets.items()),
        ]}],
        "global_parameters": [{"name": prefix + suffix, "value": value} for suffix, value in GLOBALS.items()],
    }  # fmt: skip
    topology = tmp_path / "t.yaml"
    topology.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        applied = rabbitadmin("--backend", backend, "apply", str(topology), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        stored = {g["name"]: g["value"] for g in admin_client.get(api_path("global-parameters"))}
        assert {suffix: stored.get(prefix + suffix, "missing") for suffix in GLOBALS} == {
            suffix: [] if value == {} else value for suffix, value in GLOBALS.items()
        }
        upstream_sets = admin_client.get(api_path("parameters", "federation-upstream-set", vhost))
        assert {p["name"]: p["value"] for p in upstream_sets} == {**sets, "set-empty-object": []}
        for reader in ("http", "ctl"):
            replanned = rabbitadmin("--backend", reader, "plan", str(topology), "--detailed-exitcode")
            assert replanned.returncode == 0, (reader, replanned.stdout, replanned.stderr)
        # Every global parameter changed to the next one's value: null to a number, a number to true, [] to
        # null... each an update in place, then read back as written.
        suffixes = list(GLOBALS)
        rotated = {s: GLOBALS[suffixes[(i + 1) % len(suffixes)]] for i, s in enumerate(suffixes)}
        document["global_parameters"] = [{"name": prefix + s, "value": value} for s, value in rotated.items()]
        topology.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        changed = rabbitadmin("--backend", backend, "apply", str(topology), "--yes")
        assert changed.returncode == 0, changed.stdout + changed.stderr
        stored = {g["name"]: g["value"] for g in admin_client.get(api_path("global-parameters"))}
        got = {suffix: stored.get(prefix + suffix, "missing") for suffix in GLOBALS}
        assert json.dumps(got, sort_keys=True) == json.dumps(
            {suffix: [] if value == {} else value for suffix, value in rotated.items()}, sort_keys=True
        )  # as JSON: true is not 1 there
        for reader in ("http", "ctl"):
            replanned = rabbitadmin("--backend", reader, "plan", str(topology), "--detailed-exitcode")
            assert replanned.returncode == 0, (reader, replanned.stdout, replanned.stderr)
    finally:
        admin_client.delete(api_path("vhosts", vhost))
        for suffix in GLOBALS:
            admin_client.delete(api_path("global-parameters", prefix + suffix))
