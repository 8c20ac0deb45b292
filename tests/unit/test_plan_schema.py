"""The JSON plan (issue 16.4): before/after for every action and kind, structured identities, secrets masked,
a format version, and the published schema (``schema --plan``) that every plan and apply result fits.

Plans here come from ``MemoryBackend``; tests/integration/test_plan_json.py validates a real node's.
"""

from __future__ import annotations

import copy
import json
import os
import runpy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rabbitadmin.backends.memory import Fault, MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import FORMAT_VERSION, Action, Change, Plan
from rabbitadmin.errors import PartialApply
from rabbitadmin.kinds import KINDS
from rabbitadmin.loader import load_topology_text
from rabbitadmin.masking import MASK, mask_uri, masked
from rabbitadmin.model import Policy, User
from rabbitadmin.passwords import hash_password
from rabbitadmin.render import render_plan
from rabbitadmin.schema_cmd import PLAN_SCHEMA_RESOURCE, load_schema, schema_text

REPO = Path(__file__).resolve().parents[2]
HASH = hash_password("first-password")
URI_SECRET = "upstream-s3cret"  # a password inside a parameter's URI: masked in every plan
NEW_HASH = hash_password("second-password")


@pytest.fixture(scope="module")
def checker() -> jsonschema.Draft202012Validator:
    schema = load_schema(PLAN_SCHEMA_RESOURCE)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(checker: jsonschema.Draft202012Validator, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in checker.iter_errors(document)]


def every_kind(*, quorum_orders: bool = False, cap: int = 100, app_tags: str = "[monitoring]") -> str:
    """A topology with one object (or more) of every kind; the keyword arguments make updates and replaces."""
    return f"""
vhosts:
  - name: v
    description: shop
    limits: {{max-connections: 10, max-queues: {cap}}}
    policies:
      - {{name: cap, pattern: '^jobs', apply_to: queues, priority: 2, definition: {{max-length: {cap}}}}}
    operator_policies:
      - {{name: ttl, pattern: '.*', definition: {{message-ttl: 60000}}}}
    exchanges:
      - {{name: ex, type: headers, arguments: {{alternate-exchange: ae}}}}
      - {{name: ae, type: fanout}}
    queues:
      - {{name: orders, type: {"quorum" if quorum_orders else "classic"}, arguments: {{x-max-length: 5}}}}
      - {{name: jobs}}
    bindings:
      - {{source: ex, destination: orders, routing_key: a, arguments: {{x-match: all, colour: red}}}}
      - {{source: ex, destination: ae, destination_type: exchange}}
    parameters:
      - component: federation-upstream
        name: up
        value: {{uri: 'amqp://fed:{URI_SECRET}@upstream/v', expires: {cap}000}}
global_parameters:
  - {{name: cluster_name, value: shop-{cap}}}
users:
  - {{name: app, password_hash: {HASH}, tags: {app_tags}, limits: {{max-connections: {cap}}}}}
permissions:
  - {{user: app, vhost: v, configure: '', write: '.*', read: '.*'}}
topic_permissions:
  - {{user: app, vhost: v, exchange: ex, write: '.*', read: '^a'}}
"""


def plan_of(text: str, backend: MemoryBackend, *, prune: bool = False) -> Plan:
    return make_plan(load_topology_text(text, "t.yaml"), backend, prune=prune)


@pytest.fixture
def server() -> MemoryBackend:
    backend = MemoryBackend()
    execute_plan(plan_of(every_kind(), backend), backend)
    return backend


def changes_by(plan: Plan) -> dict[tuple[str, str], dict[str, Any]]:
    """The plan's JSON changes by (action, kind); of several, the one whose identity's name is ``orders``,
    ``max-queues`` or ``app`` (the ones the tests change)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for change in plan.to_dict()["changes"]:
        slot = (change["action"], change["kind"])
        if slot not in found or change["identity"].get("name") in ("orders", "max-queues", "app"):
            found[slot] = change
    return found


# -- the schema itself -------------------------------------------------------------------------------------
def test_the_shipped_schema_is_what_the_generator_writes_from_the_facts_table() -> None:
    generated = runpy.run_path(str(REPO / "scripts" / "gen_plan_schema.py"))["text"]()
    assert schema_text(PLAN_SCHEMA_RESOURCE) == generated, "run: .venv/bin/python scripts/gen_plan_schema.py"
    schema = json.loads(generated)
    assert set(schema["$defs"]["change_fields"]["properties"]["kind"]["enum"]) == set(KINDS)
    assert schema["$defs"]["plan"]["properties"]["format_version"] == {"const": FORMAT_VERSION}


# -- every kind, every action ------------------------------------------------------------------------------
def test_a_plan_creating_every_kind_fits_the_schema_and_shows_what_each_create_sets(
    checker: jsonschema.Draft202012Validator,
) -> None:
    plan = plan_of(every_kind(), MemoryBackend())
    data = plan.to_dict()
    assert errors(checker, data) == []
    assert data["format_version"] == FORMAT_VERSION
    assert {c["kind"] for c in data["changes"]} == set(KINDS)
    for change in data["changes"]:
        assert change["before"] is None and set(change["after"]) == {f.name for f in KINDS[change["kind"]].fields}
    created = changes_by(plan)
    assert created[("create", "queue")]["after"] == {
        "vhost": "v", "name": "orders", "type": "classic", "durable": True, "auto_delete": False,
        "arguments": {"x-max-length": 5},
    }  # fmt: skip
    assert created[("create", "policy")]["after"]["definition"] == {"max-length": 100}
    assert created[("create", "vhost_limit")]["after"]["value"] in (10, 100)
    assert created[("create", "user")]["after"] == {"name": "app", "tags": ["monitoring"], "password": MASK}
    assert created[("create", "parameter")]["after"]["value"]["uri"] == "amqp://fed:***@upstream/v"
    assert created[("create", "global_parameter")]["after"]["value"] == "shop-100"
    assert URI_SECRET not in json.dumps(data)


def test_text_create_lines_are_one_line_each_with_type_flags_and_arguments() -> None:
    text = render_plan(plan_of(every_kind(quorum_orders=True), MemoryBackend()))
    lines = text.splitlines()
    assert "  + create queue 'orders' in vhost 'v' (quorum, durable, x-max-length=5)" in lines
    assert "  + create exchange 'ex' in vhost 'v' (headers, durable, alternate-exchange=ae)" in lines
    assert "  + create queue 'jobs' in vhost 'v' (classic, durable)" in lines
    assert "  + create user 'app' (tags=[monitoring], password set)" in lines
    assert "  + create permission of 'app' on vhost 'v' (configure='', write=.*, read=.*)" in lines
    assert "  + create policy 'cap' in vhost 'v' (pattern=^jobs, max-length=100, priority=2, apply-to=queues)" in lines
    assert "  + create operator policy 'ttl' in vhost 'v' (pattern=.*, message-ttl=60000)" in lines
    assert "  + create vhost limit 'max-queues' in vhost 'v' (value=100)" in lines
    assert "  + create user limit 'max-connections' of user 'app' (value=100)" in lines
    assert "  + create vhost 'v' (description=shop)" in lines
    assert sum(line.startswith("  + create ") for line in lines) == 17  # one line per object, nothing under it
    assert HASH not in text and URI_SECRET not in text


def test_updates_replaces_and_deletes_carry_before_and_after(
    checker: jsonschema.Draft202012Validator, server: MemoryBackend
) -> None:
    changed = every_kind(quorum_orders=True, cap=7, app_tags="[administrator]").replace("      - {name: jobs}\n", "")
    plan = plan_of(changed, server, prune=True)
    data = plan.to_dict()
    assert errors(checker, data) == []
    by = changes_by(plan)
    replaced = by[("replace", "queue")]
    assert (replaced["before"]["type"], replaced["after"]["type"]) == ("classic", "quorum")
    deleted = by[("delete", "queue")]
    assert deleted["after"] is None and deleted["before"]["name"] == "jobs" and "messages_at_risk" in deleted
    policy = by[("update", "policy")]
    assert policy["before"]["definition"] == {"max-length": 100} and policy["after"]["definition"] == {"max-length": 7}
    assert {"field": "definition", "before": {"max-length": 100}, "after": {"max-length": 7}} in policy["fields"]
    assert (by[("update", "vhost_limit")]["before"]["value"], by[("update", "vhost_limit")]["after"]["value"]) == (
        100,
        7,
    )
    user = by[("update", "user")]
    assert user["before"]["tags"] == ["monitoring"] and user["after"]["tags"] == ["administrator"]
    assert user["before"]["password"] == user["after"]["password"] == MASK
    # The apply's JSON is the same shape, result included.
    result = execute_plan(plan, server, allow_data_loss=True)
    assert errors(checker, {"plan": data, "result": result.to_dict()}) == []


def test_a_failed_apply_result_fits_the_schema(checker: jsonschema.Draft202012Validator) -> None:
    backend = MemoryBackend()
    backend.faults.append(Fault("create", ("v", "orders")))
    plan = plan_of(every_kind(), backend)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, backend)
    document = {"plan": plan.to_dict(), "result": caught.value.result.to_dict()}
    assert caught.value.result.failed and errors(checker, document) == []


# -- identities and secrets -------------------------------------------------------------------------------
def test_binding_identities_are_structured_not_json_in_a_string() -> None:
    plan = plan_of(every_kind(), MemoryBackend())
    bindings = [c for c in plan.to_dict()["changes"] if c["kind"] == "binding"]
    headers = next(b for b in bindings if b["identity"]["destination"] == "orders")
    assert headers["identity"] == {
        "vhost": "v", "source": "ex", "destination_type": "queue", "destination": "orders", "routing_key": "a",
        "arguments": {"x-match": "all", "colour": "red"},
    }  # fmt: skip
    assert headers["key"] == list(headers["identity"].values())
    for change in plan.to_dict()["changes"]:
        for value in change["key"]:
            assert not (isinstance(value, str) and value.startswith("{")), change["key"]


def test_secrets_never_appear_in_before_or_after(server: MemoryBackend) -> None:
    os.environ["PLAN_SCHEMA_PW"] = "second-password"
    try:
        text = every_kind().replace(f"password_hash: {HASH}", "password: {env: PLAN_SCHEMA_PW}")
        plan = plan_of(text, server)
    finally:
        del os.environ["PLAN_SCHEMA_PW"]
    dumped = json.dumps(plan.to_dict()) + render_plan(plan)
    [user] = [c for c in plan.to_dict()["changes"] if c["kind"] == "user"]
    assert {"field": "password", "changed": True} in user["fields"]
    stored = server.snapshot().users[("app",)].password_hash
    assert stored and stored not in dumped and "second-password" not in dumped
    assert not any(h in dumped for h in (HASH, NEW_HASH))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("amqp://app:s3cret@host:5672/vh", "amqp://app:***@host:5672/vh"),
        ("amqps://app:p@ss/w@host/vh", "amqps://app:***@host/vh"),  # an unencoded @ and / stay in the mask
        ("amqp://host/vh", "amqp://host/vh"),
        ("amqp://user@host/vh", "amqp://user@host/vh"),  # no password, nothing to mask
        (["amqp://a:b@h", "amqp://c:d@h"], ["amqp://a:***@h", "amqp://c:***@h"]),
        ({"src-uri": "amqp://a:b@h", "password": "x", "client_secret": "y", "max-length": 5},
         {"src-uri": "amqp://a:***@h", "password": MASK, "client_secret": MASK, "max-length": 5}),
        ({"nested": {"token": "t", "keep": "amqp://h"}}, {"nested": {"token": MASK, "keep": "amqp://h"}}),
        (("a", "b"), ["a", "b"]),
    ],
)  # fmt: skip
def test_masking(value: Any, expected: Any) -> None:
    assert masked(value) == expected


def test_uri_passwords_in_any_field_are_masked_in_json_and_text() -> None:
    """A kind whose values carry URIs (shovels, federation upstreams) gets the same masking."""
    before = Policy("v", "p", ".*", {"federation-upstream": "amqp://u:old-pw@h"})
    after = Policy("v", "p", ".*", {"federation-upstream": "amqp://u:new-pw@h"})
    from rabbitadmin.engine.plan import FieldChange

    change = Change(
        Action.UPDATE, "policy", after.key, desired=after, actual=before,
        fields=(FieldChange("definition", before.definition, after.definition),),
    )  # fmt: skip
    plan = Plan(changes=[change, Change(Action.CREATE, "policy", after.key, desired=after)])
    out = json.dumps(plan.to_dict()) + render_plan(plan)
    assert "old-pw" not in out and "new-pw" not in out and "amqp://u:***@h" in out
    assert mask_uri("see amqp://u:pw@h and amqps://v:pw2@k") == "see amqp://u:***@h and amqps://v:***@k"


def test_a_user_without_a_password_shows_none_not_a_mask() -> None:
    plan = Plan(changes=[Change(Action.CREATE, "user", ("u",), desired=User("u", password_hash=""))])
    [change] = plan.to_dict()["changes"]
    assert change["after"]["password"] is None
    assert "(tags=" not in render_plan(plan) and "(no password)" in render_plan(plan)


# -- the schema says no to what is not a plan ---------------------------------------------------------------
def test_the_schema_rejects_plans_that_break_the_format(checker: jsonschema.Draft202012Validator) -> None:
    good = plan_of(every_kind(), MemoryBackend()).to_dict()
    assert errors(checker, good) == []

    def broken(edit: Any) -> list[str]:
        document = copy.deepcopy(good)
        edit(document)
        return errors(checker, document)

    binding = next(i for i, c in enumerate(good["changes"]) if c["kind"] == "binding")
    user = next(i for i, c in enumerate(good["changes"]) if c["kind"] == "user")
    assert broken(lambda d: d.pop("format_version"))
    assert broken(lambda d: d.update(format_version=FORMAT_VERSION + 1))
    assert broken(lambda d: d["changes"][0].update(before=d["changes"][0]["after"]))  # a create has no before
    assert broken(lambda d: d["changes"][binding]["identity"].update(arguments='{"x-match":"all"}'))
    assert broken(lambda d: d["changes"][user]["after"].update(password=HASH))  # only the mask may stand there
    assert broken(lambda d: d["changes"][user]["after"].pop("tags"))
    assert broken(lambda d: d["changes"][0].update(action="upsert"))
    assert broken(lambda d: d["changes"][0].update(surprise=1))


def test_schema_command_prints_the_plan_schema(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rabbitadmin.cli import app

    printed = CliRunner().invoke(app, ["schema", "--plan"])
    assert printed.exit_code == 0 and json.loads(printed.stdout)["title"] == "rabbitadmin plan"
    topology = CliRunner().invoke(app, ["schema"])
    assert json.loads(topology.stdout)["title"] == "rabbitadmin topology"
    assert yaml.safe_load(printed.stdout) == load_schema(PLAN_SCHEMA_RESOURCE)
