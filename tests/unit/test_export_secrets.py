"""Export masks every secret the plan masks (session 19, newcomer case gp-secrets.json): values under
secret-named keys (``password``, ``secret``, ``token``..., nested too) and URI passwords, in global and
runtime parameters, in policies' and operator policies' definitions and in arguments, in both export
formats; names what it masked; keeps them only when asked; and a masked export read back is refused with
file, line and field.
The same on real nodes: tests/integration/test_export_secrets.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import TopologyError
from rabbitadmin.export import definitions_document, export_document, masked_definitions
from rabbitadmin.loader import load_topology_text
from rabbitadmin.masking import MASK, mask_secrets, mask_uri, masked, masked_fields
from rabbitadmin.model import GlobalParameter, OperatorPolicy, Parameter, Policy, Topology, Vhost

LEAKS = ("PwLeak111", "SecLeak222", "TokLeak333", "PwLeak444", "ApiLeak555", "UriLeak666")
GP_VALUE = {"password": "PwLeak111", "secret": "SecLeak222", "token": "TokLeak333", "nested": {"password": "PwLeak444"}}
URI = "amqp://shovel:UriLeak666@127.0.0.1:5672/v"
SHOVEL = {
    "src-protocol": "amqp091",
    "src-uri": URI,
    "src-queue": "src",
    "dest-protocol": "amqp10",
    "dest-uri": [URI, "amqp://anonymous@h"],
    "dest-address": "dst",
    "dest-application-properties": {"api-token": "ApiLeak555", "team": "ops"},
}
GP_FIELDS = "value.password, value.secret, value.token, value.nested.password"
SHOVEL_FIELDS = "value.src-uri, value.dest-uri[0], value.dest-application-properties.api-token"


def leaked(text: str) -> list[str]:
    return [secret for secret in LEAKS if secret in text]


def state() -> Topology:
    """What the server holds after the newcomer's import, plus policies carrying secret-named keys (a server
    refuses such keys, but a plan masks them, so an export must too)."""
    topology = Topology()
    topology.add(Vhost("v"))
    topology.add(GlobalParameter("svc_creds", GP_VALUE))
    topology.add(Parameter("v", "shovel", "out", SHOVEL))
    topology.add(Policy("v", "p", ".*", {"max-length": 10, "x-client-secret": "SecLeak222"}, 0, "all"))
    topology.add(OperatorPolicy("v", "op", ".*", {"x-credentials": {"user": "a", "key": "PwLeak111"}}, 0, "queues"))
    return topology


# -- masking -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        GP_VALUE,
        SHOVEL,
        {"token": None, "secret": "", "password": 0, "credentials": {"a": 1}, "list": [{"passwd": "x"}, URI]},
        [URI, "amqp://u:@h", "amqp://u@h", "plain"],
        URI,
        {"x": {"private_key": ["k"], "cookie": True}},
        42,
    ],
)
def test_mask_secrets_masks_exactly_what_the_plan_masks(value: Any) -> None:
    shown, fields = mask_secrets(value)
    assert shown == masked(value)
    assert bool(fields) == (shown != value)


def test_mask_secrets_names_each_field_and_never_a_value() -> None:
    shown, fields = mask_secrets({**GP_VALUE, "uris": [URI]})
    assert fields == ["value.password", "value.secret", "value.token", "value.nested.password", "value.uris[0]"]
    assert not leaked(json.dumps(shown) + repr(fields))


def test_an_empty_uri_password_is_no_secret_and_stays() -> None:
    assert mask_uri("amqp://u:@h") == "amqp://u:@h"
    assert mask_uri("amqp://u:p/w@h/v") == "amqp://u:***@h/v"  # a '/' in the password: masked whole


def test_masked_fields_finds_the_export_masks_only() -> None:
    value = {"password": MASK, "note": MASK, "uri": "amqp://u:***@h", "l": ["amqps://v:***@k"], "token": "real"}
    assert [path for path, _, _ in masked_fields(value)] == ["value.password", "value.uri", "value.l[0]"]
    assert [path for path, _, _ in masked_fields("amqp://u:***@h", "value")] == ["value"]


# -- export ------------------------------------------------------------------------------------------------
def test_export_document_masks_parameters_global_parameters_and_policies_and_says_which() -> None:
    report: list[str] = []
    document = export_document(state(), masked_out=report)
    assert not leaked(json.dumps(document) + "\n".join(report))
    assert document["global_parameters"] == [
        {"name": "svc_creds", "value": {"password": MASK, "secret": MASK, "token": MASK, "nested": {"password": MASK}}}
    ]
    [vhost] = document["vhosts"]
    assert vhost["parameters"][0]["value"]["dest-application-properties"] == {"api-token": MASK, "team": "ops"}
    assert vhost["policies"][0]["definition"] == {"max-length": 10, "x-client-secret": MASK}
    assert vhost["operator_policies"][0]["definition"] == {"x-credentials": MASK}
    assert report == [
        "policy 'p' in vhost 'v': definition.x-client-secret",
        "operator policy 'op' in vhost 'v': definition.x-credentials",
        f"parameter shovel 'out' in vhost 'v': {SHOVEL_FIELDS}",
        f"global parameter 'svc_creds': {GP_FIELDS}",
    ]
    # Per vhost: no global parameter (cluster-wide), the rest masked the same.
    report.clear()
    assert not leaked(json.dumps(export_document(state(), ["v"], masked_out=report)))
    assert not any("global" in line for line in report) and len(report) == 3


@pytest.mark.parametrize("keep", [{"include_secrets": True}, {"include_uri_passwords": True}])
def test_export_keeps_every_secret_when_asked_under_either_name(keep: dict[str, bool]) -> None:
    report: list[str] = []
    for document in (export_document(state(), masked_out=report, **keep),
                     definitions_document(state(), masked_out=report, **keep)):  # fmt: skip
        assert sorted(leaked(json.dumps(document))) == sorted(LEAKS)
    assert report == []


def test_definitions_document_masks_the_same_and_says_which() -> None:
    report: list[str] = []
    document = definitions_document(state(), masked_out=report, server_version="4.0.5")
    assert not leaked(json.dumps(document) + "\n".join(report))
    assert document["global_parameters"][0]["value"]["nested"] == {"password": MASK}
    operator = next(p for p in document["parameters"] if p["component"] == "operator_policy")
    assert operator["value"]["definition"] == {"x-credentials": MASK}
    assert document["policies"][0]["definition"]["x-client-secret"] == MASK
    assert f"global parameter 'svc_creds': {GP_FIELDS}" in report
    assert "parameter operator_policy 'op' in vhost 'v': value.definition.x-credentials" in report
    kept = definitions_document(state(), include_secrets=True)
    assert kept["global_parameters"][0]["value"] == GP_VALUE  # the model's own value was never changed


def test_masked_definitions_takes_the_servers_per_vhost_export() -> None:
    """``definitions export --vhost``: the server's entries name no vhost (GET /api/definitions/{vhost})."""
    server = {"parameters": [{"component": "shovel", "name": "out", "value": SHOVEL}], "policies": "odd", "x": 1}
    report: list[str] = []
    document = masked_definitions(server, report)
    assert not leaked(json.dumps(document)) and document["policies"] == "odd" and document["x"] == 1
    assert report == [f"parameter shovel 'out': {SHOVEL_FIELDS}"]
    assert server["parameters"][0]["value"] is SHOVEL  # the input is not changed


# -- read back ---------------------------------------------------------------------------------------------
APPLIED = {
    "global_parameters": [{"name": "svc_creds", "value": GP_VALUE}],
    "vhosts": [{"name": "v", "parameters": [{"component": "shovel", "name": "out", "value": SHOVEL}]}],
}


def refusal(text: str, name: str) -> str:
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, name)
    return str(info.value)


def test_a_masked_export_is_refused_with_file_line_and_field_and_the_kept_one_plans_nothing() -> None:
    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(yaml.safe_dump(APPLIED), "t.yaml"), backend), backend)
    actual = backend.snapshot()
    text = yaml.safe_dump(export_document(actual), sort_keys=False)
    lines = text.splitlines()
    problems = refusal(text, "export.yaml")
    for field in ("value.password", "value.secret", "value.token", "value.nested.password"):
        found = re.search(rf"export\.yaml:(\d+): global_parameters\[0\]\.{re.escape(field)}: holds \*\*\*", problems)
        assert found, (field, problems)
        assert lines[int(found[1]) - 1].strip() == f"{field.rsplit('.', 1)[1]}: '***'"  # the field's own line
    assert "].parameters[0].value.dest-application-properties.api-token: holds ***" in problems
    assert "].parameters[0].value.src-uri: a URI holds the masked password ***" in problems
    assert "].parameters[0].value.dest-uri[0]: a URI holds the masked password ***" in problems
    definitions = json.dumps(definitions_document(actual, server_version="3.10.8"), indent=2)
    problems = refusal(definitions, "defs.json")
    assert "global_parameters[0].value.nested.password: holds ***" in problems, problems
    assert "parameters[0].value.dest-application-properties.api-token: holds ***" in problems, problems
    for kept in (yaml.safe_dump(export_document(actual, include_secrets=True)),
                 json.dumps(definitions_document(actual, include_secrets=True))):  # fmt: skip
        assert make_plan(load_topology_text(kept, "kept"), backend).is_empty


def test_a_masked_policy_definition_is_refused() -> None:
    text = "vhosts:\n  - name: v\n    policies:\n      - name: p\n        pattern: .\n        definition:\n" \
           "          max-length: 1\n          x-token: '***'\n"  # fmt: skip
    assert "t.yaml:8: vhosts[0].policies[0].definition.x-token: holds ***" in refusal(text, "t.yaml")


def test_a_real_value_that_only_looks_like_a_mask_elsewhere_is_kept() -> None:
    """``***`` under a key that names no secret is a value like any other."""
    text = yaml.safe_dump({"global_parameters": [{"name": "g", "value": {"note": MASK, "password": "real"}}]})
    assert load_topology_text(text, "t.yaml").global_parameters[("g",)].value == {"note": MASK, "password": "real"}


# -- arguments (stop 37): a plan masks every field, arguments included, so an export does ----------------------
ARGUMENTS = {
    "vhosts": [
        {
            "name": "v",
            "exchanges": [{"name": "x", "type": "headers", "arguments": {"x-api-token": "TokLeak333"}}],
            "queues": [{"name": "q", "arguments": {"x-max-length": 5, "x-upstream": URI}}],
            "bindings": [{"source": "x", "destination": "q", "arguments": {"x-match": "all", "password": "PwLeak111"}}],
        }
    ]
}


def _applied(document: dict[str, Any]) -> tuple[MemoryBackend, Topology]:
    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(yaml.safe_dump(document), "t.yaml"), backend), backend)
    return backend, backend.snapshot()


def test_a_plan_masks_secrets_in_arguments() -> None:
    """The premise: what a plan shows of these arguments (so an export must not show more)."""
    plan = make_plan(load_topology_text(yaml.safe_dump(ARGUMENTS), "t.yaml"), MemoryBackend())
    shown = json.dumps([masked(change.desired.arguments) for change in plan.changes if change.kind != "vhost"])
    assert not leaked(shown) and shown.count(MASK) == 3, shown


def test_every_export_form_masks_secrets_in_arguments_and_says_which() -> None:
    _, actual = _applied(ARGUMENTS)
    report: list[str] = []
    [vhost] = [doc for doc in export_document(actual, masked_out=report)["vhosts"] if doc["name"] == "v"]
    assert vhost["exchanges"][0]["arguments"] == {"x-api-token": MASK}
    assert vhost["queues"][0]["arguments"] == {"x-max-length": 5, "x-upstream": "amqp://shovel:***@127.0.0.1:5672/v"}
    assert vhost["bindings"][0]["arguments"] == {"x-match": "all", "password": MASK}
    assert report == [
        "exchange 'x' in vhost 'v': arguments.x-api-token",
        "queue 'q' in vhost 'v': arguments.x-upstream",
        "binding 'x' -> 'q' in vhost 'v': arguments.password",
    ]
    report.clear()
    definitions = definitions_document(actual, masked_out=report, server_version="4.0.5")
    assert not leaked(json.dumps(definitions)) and len(report) == 3, report
    # The server's own export (``definitions export``), per vhost: its entries name no vhost.
    server = {section: [{k: v for k, v in e.items() if k != "vhost"} for e in definitions[section]]
              for section in ("exchanges", "queues", "bindings")}  # fmt: skip
    server["queues"][0]["arguments"] = {"x-upstream": URI}
    server["bindings"][0]["arguments"] = {"x-match": "all", "password": "PwLeak111"}
    server["exchanges"][0]["arguments"] = {"x-api-token": "TokLeak333"}
    report.clear()
    assert not leaked(json.dumps(masked_definitions(server, report)))
    assert report == [
        "exchange 'x': arguments.x-api-token",
        "queue 'q': arguments.x-upstream",
        "binding 'x' -> 'q': arguments.password",
    ]
    kept = export_document(actual, include_secrets=True)
    assert sorted(leaked(json.dumps(kept))) == ["PwLeak111", "TokLeak333", "UriLeak666"]


def test_masked_arguments_are_refused_with_file_line_and_field_and_the_kept_export_plans_nothing() -> None:
    backend, actual = _applied(ARGUMENTS)
    text = yaml.safe_dump(export_document(actual), sort_keys=False)
    problems = refusal(text, "export.yaml")
    assert re.search(r"export\.yaml:\d+: vhosts\[\d\]\.exchanges\[0\]\.arguments\.x-api-token: holds \*\*\*", problems)
    assert "].bindings[0].arguments.password: holds ***" in problems, problems
    assert "].queues[0].arguments.x-upstream: a URI holds the masked password ***" in problems, problems
    assert "{env: NAME}" not in problems  # arguments cannot be read from the environment
    problems = refusal(json.dumps(definitions_document(actual, server_version="4.0.5"), indent=2), "defs.json")
    assert "queues[0].arguments.x-upstream: a URI holds the masked password ***" in problems, problems
    for kept in (yaml.safe_dump(export_document(actual, include_secrets=True)),
                 json.dumps(definitions_document(actual, include_secrets=True))):  # fmt: skip
        assert make_plan(load_topology_text(kept, "kept"), backend).is_empty
