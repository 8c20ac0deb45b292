"""Runtime parameters (shovels, federation upstreams, any plugin's component) and global parameters through
the engine on ``MemoryBackend``: validation with the server's rules, plan, apply, re-plan clean, update in
place, prune (vhost parameters only), export round trip, definitions input and output, the plugin check at
plan time, and URI passwords that never show. The same points on real nodes: tests/integration/test_parameters.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.audit.rules import audit
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.definitions import to_definitions, topology_from_definitions
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.errors import CtlError, ServerError, TopologyError
from rabbitadmin.export import definitions_document, export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.masking import masked as mask_value
from rabbitadmin.model import GlobalParameter, Parameter, Topology
from rabbitadmin.parameter_rules import check_parameter
from rabbitadmin.render import render_plan
from rabbitadmin.secret_text import mask_uri as mask_text
from rabbitadmin.uri_secrets import has_password

CORPUS = Path(__file__).parent.parent / "corpus" / "parameters"
SECRET = "s3cr3t-Pa55"
ENV = {"SRC_URI": f"amqp://shovel:{SECRET}@127.0.0.1:5672/%2F"}


def topology(*, prefetch: int = 100, dest: str = "amqp://", extra: str = "", upstream_uri: str = "amqp://up") -> str:
    return f"""
global_parameters:
  - {{name: cluster_name, value: unit-cluster}}
  - {{name: team-settings, value: {{owner: ops, tiers: [1, 2]}}}}
vhosts:
  - name: v
    parameters:
      - component: shovel
        name: move
        value:
          src-uri: {{env: SRC_URI}}
          src-queue: a
          dest-uri: {json.dumps(dest)}
          dest-queue: b
          prefetch-count: {prefetch}
      - component: federation-upstream
        name: up
        value: {{uri: {json.dumps(upstream_uri)}, expires: 3600000}}
      - component: federation-upstream-set
        name: ups
        value: [{{upstream: up}}]
{extra}
"""


def load(text: str, **kwargs: Any) -> Topology:
    return load_topology_text(text, "t.yaml", environ=kwargs.pop("environ", ENV), **kwargs)


def apply(text: str, backend: MemoryBackend, *, prune: bool = False) -> None:
    execute_plan(make_plan(load(text), backend, prune=prune), backend)


def problems(text: str) -> str:
    with pytest.raises(TopologyError) as info:
        load(text)
    return str(info.value)


# -- masking -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("amqp://user:pw@host", "amqp://user:***@host"),
        ("amqps://u:p%40ss@h:5671/v?heartbeat=5", "amqps://u:***@h:5671/v?heartbeat=5"),
        ("amqp://user@host", "amqp://user@host"),
        ("amqp://:@host", "amqp://:@host"),
        ("amqp://host:5672/vhost", "amqp://host:5672/vhost"),
        ('"amqp://a:b@h" not a valid URI', '"amqp://a:***@h" not a valid URI'),
        ("two amqp://a:b@h and amqp://c:d@i", "two amqp://a:***@h and amqp://c:***@i"),
        # The query too: the Erlang client's URI takes the TLS key's password there (amqp_uri).
        ("amqps://u:p@h:5671/%2f?cacertfile=/c&password=k", "amqps://u:***@h:5671/%2f?cacertfile=/c&password=***"),
        (
            "amqps://h?keyfile=/k&pass%77ord=k&verify=verify_peer",
            "amqps://h?keyfile=/k&pass%77ord=***&verify=verify_peer",
        ),
        ("amqp://h/v?heartbeat=10&auth_mechanism=external", "amqp://h/v?heartbeat=10&auth_mechanism=external"),
        ("amqps://h?password=&x=1", "amqps://h?password=&x=1"),
        ('"uri" => "amqps://h?api_token=t;password=p"', '"uri" => "amqps://h?api_token=***;password=***"'),
        ("not a URI ?password=x", "not a URI ?password=x"),
    ],
)
def test_mask_text_hides_every_uri_password_and_nothing_else(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_a_password_in_a_uri_query_counts_as_a_uri_password() -> None:
    assert has_password("amqps://h?cacertfile=/c&password=k") and not has_password("amqps://h?cacertfile=/c")


def test_mask_value_walks_mappings_and_lists() -> None:
    value = {"uri": ["amqp://a:b@h", "amqp://c@h"], "n": 1, "x": {"dest-uri": "amqp://d:e@h"}}
    assert mask_value(value) == {"uri": ["amqp://a:***@h", "amqp://c@h"], "n": 1, "x": {"dest-uri": "amqp://d:***@h"}}


def test_server_and_ctl_errors_never_carry_a_uri_password() -> None:
    # The server quotes a refused URI whole (measured on 3.10.8 and 4.0.5).
    error = ServerError("PUT", "/api/parameters/shovel/v/s", 400, f'"http://u:{SECRET}@h" not a valid URI')
    assert SECRET not in str(error) and SECRET not in error.reason
    ctl = CtlError("import_definitions", 1, f"bad amqp://u:{SECRET}@h")
    assert SECRET not in str(ctl)


def test_a_parameters_repr_masks_its_uris() -> None:
    parameter = Parameter("v", "shovel", "s", {"src-uri": f"amqp://u:{SECRET}@h"})
    assert SECRET not in repr(parameter) and SECRET not in repr(GlobalParameter("g", f"amqp://u:{SECRET}@h"))


# -- validation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"src-uri": "amqp://", "dest-uri": "amqp://"}, "Must specify 'src-exchange' or 'src-queue'"),
        ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "src-exchange": "x"}, "Cannot specify"),
        (
            {"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "dest-queue": "b", "dest-exchange": "x"},
            "Cannot specify 'dest-exchange' and 'dest-queue'",
        ),
        ({"dest-uri": "amqp://", "src-queue": "a"}, "src-uri: is required"),
        ({"src-uri": f"http://u:{SECRET}@h", "dest-uri": "amqp://", "src-queue": "a"}, "must start with amqp://"),
        ({"src-uri": "amqp://h:port", "dest-uri": "amqp://", "src-queue": "a"}, "not a valid URI"),
        ({"src-uri": [], "dest-uri": "amqp://", "src-queue": "a"}, "non-empty list"),
        ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "ack-mode": "ack"}, "ack-mode: must be"),
        ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "prefetch-count": "9"}, "must be a number"),
        ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "delete-after": "soon"}, "queue-length"),
        (
            {"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", "delete-after": 5, "ack-mode": "no-ack"},
            "Cannot specify 'no-ack' and numerical 'delete-after'",
        ),
        ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": 5}, "src-queue: must be a string"),
    ],
)
def test_what_the_shovel_plugin_refuses_is_refused_with_its_place(value: dict[str, Any], fragment: str) -> None:
    text = (
        f"vhosts:\n  - name: v\n    parameters:\n      - {{component: shovel, name: s, value: {json.dumps(value)}}}\n"
    )
    message = problems(text)
    assert fragment in message and "vhosts[0].parameters[0].value" in message and "t.yaml:" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("component", "value", "fragment"),
    [
        ("federation-upstream", {"expires": 1}, "uri: is required"),
        ("federation-upstream", {"uri": "amqp://", "trust-user-id": "yes"}, "must be true or false"),
        ("federation-upstream", {"uri": "amqp://", "max-hops": "2"}, "must be a number"),
        ("federation-upstream-set", [{"exchange": "x"}], "[0].upstream"),
        ("federation-upstream-set", {"upstream": "u"}, "must be a list of upstreams"),
        ("federation-upstream-set", None, "must be a list of upstreams"),
        ("federation-upstream-set", [[]], "[0]: must be a mapping"),
        ("federation-upstream", None, "must be a mapping"),
        ("shovel", [], "must be a mapping"),
        ("operator_policy", {"pattern": "x"}, "managed as the vhost's operator_policies"),
        ("vhost-limits", {"max-queues": 1}, "managed as the vhost's limits"),
    ],
)
def test_what_federation_refuses_is_refused(component: str, value: Any, fragment: str) -> None:
    item = f"{{component: {component}, name: s, value: {json.dumps(value)}}}"
    text = f"vhosts:\n  - name: v\n    parameters:\n      - {item}\n"
    assert fragment in problems(text)


def test_values_the_server_keeps_are_accepted_as_it_keeps_them() -> None:
    """An empty upstream set and a null or empty global parameter: the server accepts them (3.10.8, 4.0.5) and
    keeps a whole value of ``{}`` as ``[]``, so an export of such a node plans back to no change."""
    loaded = load("global_parameters:\n  - {name: g-null, value: null}\n  - {name: g-object, value: {}}\n"
                  "  - {name: g-nested, value: {a: {}}}\nvhosts:\n  - name: v\n    parameters:\n"
                  "      - {component: federation-upstream-set, name: list, value: []}\n"
                  "      - {component: federation-upstream-set, name: object, value: {}}\n")  # fmt: skip
    assert {key[0]: p.value for key, p in loaded.global_parameters.items()} == {
        "g-null": None, "g-object": [], "g-nested": {"a": {}}
    }  # fmt: skip
    assert {key[2]: p.value for key, p in loaded.parameters.items()} == {"list": [], "object": []}
    actual = topology_from_definitions(
        {"global_parameters": [{"name": "g-object", "value": {}}, {"name": "g-null", "value": None}],
         "vhosts": [{"name": "v"}],
         "parameters": [{"vhost": "v", "component": "federation-upstream-set", "name": "object", "value": {}}]}
    )  # fmt: skip
    assert actual.global_parameters[("g-object",)].value == [] and actual.global_parameters[("g-null",)].value is None
    assert actual.parameters[("v", "federation-upstream-set", "object")].value == []
    backend = MemoryBackend()
    execute_plan(make_plan(loaded, backend), backend)
    again = make_plan(loaded, backend)
    assert again.is_empty, again.changes


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('"x"', "null"), ("[]", "null"), ("{a: true}", "{a: 1}"), ("{a: 0}", "{a: false}"), ("[1.0]", "[1]"),
        ("true", "1"), ("1", "1.0"), ("{a: [{b: null}]}", "{a: [{b: 0}]}"), ("null", "[]"),
    ],
)  # fmt: skip
def test_a_change_between_values_python_calls_equal_is_planned_and_applied(before: str, after: str) -> None:
    """null is a value to set (not "the server's default"), and true/1, false/0, 1.0/1 are different values
    to the server, at any depth: each change is an update, and after it the plan is clean."""
    backend = MemoryBackend()
    apply(f"global_parameters:\n  - {{name: g, value: {before}}}\n", backend)
    changed = load(f"global_parameters:\n  - {{name: g, value: {after}}}\n")
    plan = make_plan(changed, backend)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.UPDATE, ("g",))]
    assert "(changed)" not in render_plan(plan)  # a change of type is shown, not hidden as a secret's
    execute_plan(plan, backend)
    assert make_plan(changed, backend).is_empty
    assert json.dumps(backend.read_state(None).global_parameters[("g",)].value) == json.dumps(
        changed.global_parameters[("g",)].value
    )


def test_a_non_string_cluster_name_is_refused_as_it_breaks_amqp_connections() -> None:
    message = problems("global_parameters:\n  - {name: cluster_name, value: 5}\n")
    assert "global_parameters[0].value: must be a string" in message and "AMQP" in message


def test_a_null_value_is_shown_in_the_plan() -> None:
    loaded = load("global_parameters:\n  - {name: g-null, value: null}\n")
    plan = make_plan(loaded, MemoryBackend())
    assert "create global parameter 'g-null' (value=null)" in render_plan(plan)


def test_an_unknown_key_or_component_is_a_warning_not_an_error() -> None:
    loaded = load("vhosts:\n  - name: v\n    parameters:\n"
                  "      - {component: shovel, name: s, value: {src-uri: 'amqp://', dest-uri: 'amqp://', src-queue: a,"
                  " src-qeue: b}}\n"
                  "      - {component: my-plugin, name: p, value: {anything: [1, 2]}}\n")  # fmt: skip
    warnings = " | ".join(str(w) for w in loaded.warnings)
    assert "did you mean 'src-queue'" in warnings and "component 'my-plugin' is not one rabbitadmin knows" in warnings
    assert ("v", "my-plugin", "p") in loaded.parameters


def test_internal_cluster_id_cannot_be_managed() -> None:
    assert "written by the node itself" in problems("global_parameters:\n  - {name: internal_cluster_id, value: x}\n")


def test_a_parameter_declared_twice_and_a_missing_value_are_refused() -> None:
    message = problems("vhosts:\n  - name: v\n    parameters:\n"
                       "      - {component: federation-upstream, name: u, value: {uri: 'amqp://'}}\n"
                       "      - {component: federation-upstream, name: u, value: {uri: 'amqp://'}}\n"
                       "      - {component: federation-upstream, name: w}\n")  # fmt: skip
    assert "declared twice" in message and "parameters[2].value: is required" in message


def test_a_uri_from_env_or_file_is_resolved_and_a_missing_one_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "uri.txt").write_text(f"amqp://fed:{SECRET}@h\n")
    (tmp_path / "value.json").write_text(json.dumps({"uri": f"amqp://fed:{SECRET}@h2", "max-hops": 2}))
    text = ("vhosts:\n  - name: v\n    parameters:\n"
            "      - {component: federation-upstream, name: a, value: {uri: {file: uri.txt}}}\n"
            "      - {component: federation-upstream, name: b, value: {file: value.json}}\n"
            "      - {component: federation-upstream, name: c,\n"
            "         value: {uri: [{env: SRC_URI}, 'amqp://other']}}\n")  # fmt: skip
    (tmp_path / "t.yaml").write_text(text)
    loaded = load_topology_text(text, str(tmp_path / "t.yaml"), environ=ENV)
    values = {key[2]: p.value for key, p in loaded.parameters.items()}
    assert values == {
        "a": {"uri": f"amqp://fed:{SECRET}@h"},
        "b": {"uri": f"amqp://fed:{SECRET}@h2", "max-hops": 2},
        "c": {"uri": [ENV["SRC_URI"], "amqp://other"]},
    }
    assert not any(p.inline_secret for p in loaded.parameters.values())
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, str(tmp_path / "t.yaml"), environ={})
    assert "the environment variable SRC_URI is not set" in str(info.value)


def test_a_masked_password_from_an_export_is_refused() -> None:
    text = "vhosts:\n  - name: v\n    parameters:\n      - {component: federation-upstream, name: u, value: {uri: 'amqp://a:***@h'}}\n"
    assert "masked password *** of an export" in problems(text)


def test_unresolved_secrets_still_validate_the_rest() -> None:
    loaded = load(topology(), environ={}, resolve_secrets=False)
    assert ("v", "shovel", "move") in loaded.parameters


# -- engine --------------------------------------------------------------------------------------------------
def test_apply_then_replan_is_clean_and_the_server_holds_every_parameter() -> None:
    backend = MemoryBackend()
    plan = make_plan(load(topology()), backend)
    kinds = [c.kind for c in plan.changes if c.action is Action.CREATE]
    assert kinds.count("parameter") == 3 and kinds.count("global_parameter") == 2
    shown = render_plan(plan) + json.dumps(plan.to_dict()) + repr(plan.changes)
    assert SECRET not in shown  # a create shows the subject only; whatever renders objects must mask them
    execute_plan(plan, backend)
    state = backend.snapshot()
    assert state.parameters[("v", "shovel", "move")].value["src-uri"] == ENV["SRC_URI"]
    assert state.global_parameters[("cluster_name",)].value == "unit-cluster"
    assert make_plan(load(topology()), backend).is_empty


def test_parameters_are_created_after_queues_and_deleted_before_them() -> None:
    backend = MemoryBackend()
    text = topology(extra="    queues:\n      - {name: a}\n      - {name: b}\n")
    order = [c.kind for c in make_plan(load(text), backend).changes]
    assert order.index("parameter") > order.index("queue")
    assert order.index("global_parameter") < order.index("queue")


def test_a_changed_value_is_an_update_in_place_shown_without_the_password() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    plan = make_plan(load(topology(prefetch=5)), backend)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.UPDATE, ("v", "shovel", "move"))]
    text = render_plan(plan) + json.dumps(plan.to_dict())
    assert "prefetch-count" in text and SECRET not in text and "shovel:***@" in text


def test_a_change_of_the_password_alone_shows_as_changed_never_the_value() -> None:
    backend = MemoryBackend()
    apply(topology(upstream_uri=f"amqp://fed:{SECRET}@h"), backend)
    plan = make_plan(load(topology(upstream_uri="amqp://fed:other-secret@h")), backend)
    [change] = plan.changes
    assert change.action is Action.UPDATE and change.fields[0].secret
    text = render_plan(plan) + json.dumps(plan.to_dict())
    assert "(changed)" in text and SECRET not in text and "other-secret" not in text
    execute_plan(plan, backend)
    assert backend.snapshot().parameters[("v", "federation-upstream", "up")].value["uri"] == "amqp://fed:other-secret@h"


def test_prune_deletes_unlisted_parameters_in_managed_vhosts_never_global_ones() -> None:
    backend = MemoryBackend()
    apply(topology() + "  - name: other\n", backend)
    backend.update(Parameter("v", "federation-upstream", "stray", {"uri": "amqp://x"}))
    backend.update(Parameter("/", "federation-upstream", "outside", {"uri": "amqp://x"}))
    backend.update(GlobalParameter("stray-global", 1))
    plan = make_plan(load(topology()), backend, prune=True)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.DELETE, ("v", "federation-upstream", "stray"))]
    execute_plan(plan, backend)
    state = backend.snapshot()
    assert ("/", "federation-upstream", "outside") in state.parameters and ("stray-global",) in state.global_parameters
    assert ("internal_cluster_id",) in state.global_parameters


def test_absent_parameters_and_global_parameters_are_deleted() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    text = ("global_parameters:\n  - {name: team-settings, state: absent}\n"
            "vhosts:\n  - name: v\n    parameters:\n"
            "      - {component: shovel, name: move, state: absent}\n")  # fmt: skip
    plan = make_plan(load(text), backend)
    assert {(c.action, c.kind) for c in plan.changes} == {
        (Action.DELETE, "parameter"),
        (Action.DELETE, "global_parameter"),
    }
    execute_plan(plan, backend)
    state = backend.snapshot()
    assert ("v", "shovel", "move") not in state.parameters and ("team-settings",) not in state.global_parameters


def test_a_component_whose_plugin_is_not_enabled_is_refused_at_plan_time() -> None:
    backend = MemoryBackend(plugins=("rabbitmq_management",))
    plan = make_plan(load(topology()), backend)
    refusals = " | ".join(plan.refusals)
    assert "needs the rabbitmq_shovel plugin" in refusals and "needs the rabbitmq_federation plugin" in refusals
    assert backend.calls == []  # nothing written


UNKNOWN = "vhosts:\n  - name: v\n    parameters:\n      - {component: federation-upstreams, name: p, value: 1}\n"


def test_a_component_no_plugin_on_the_server_registers_is_refused_at_plan_time() -> None:
    # RabbitMQ's own plugins register shovel and federation's components only: nothing else can take it.
    backend = MemoryBackend()
    plan = make_plan(load(UNKNOWN), backend)
    assert len(plan.refusals) == 1, plan.refusals
    assert "no plugin on the server registers component 'federation-upstreams'" in plan.refusals[0]
    assert "did you mean 'federation-upstream'" in plan.refusals[0]
    assert backend.calls == []


def test_a_component_a_plugin_rabbitadmin_does_not_know_may_register_is_a_warning() -> None:
    backend = MemoryBackend(plugins=("rabbitmq_management", "rabbitmq_delayed_message_exchange"))
    plan = make_plan(load(UNKNOWN), backend)
    assert plan.refusals == []
    assert any(
        "does not know which plugin registers component 'federation-upstreams'" in w
        and "rabbitmq_delayed_message_exchange" in w
        for w in plan.warnings
    ), plan.warnings


def test_export_round_trip_plans_nothing_and_masks_unless_asked() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    state = backend.snapshot()
    masked = export_document(state)
    assert SECRET not in json.dumps(masked) and "shovel:***@" in json.dumps(masked)
    assert masked["global_parameters"] == [
        {"name": "cluster_name", "value": "unit-cluster"},
        {"name": "team-settings", "value": {"owner": "ops", "tiers": [1, 2]}},
    ]  # internal_cluster_id is the node's own
    full = export_document(state, include_uri_passwords=True)
    assert make_plan(load(yaml.safe_dump(full)), backend).is_empty
    with pytest.raises(TopologyError):  # the masked one is refused, never applied with *** as the password
        load(yaml.safe_dump(masked))


def test_definitions_export_is_the_servers_format_and_applies_back_with_nothing_to_do() -> None:
    backend = MemoryBackend()
    apply(topology(), backend)
    document = definitions_document(backend.snapshot(), include_uri_passwords=True, server_version="3.10.8")
    components = sorted(p["component"] for p in document["parameters"])
    assert components == ["federation-upstream", "federation-upstream-set", "shovel"]
    assert {"name": "cluster_name", "value": "unit-cluster"} in document["global_parameters"]
    assert make_plan(load(json.dumps(document)), backend).is_empty
    masked = definitions_document(backend.snapshot())
    assert SECRET not in json.dumps(masked)


def test_definitions_input_loads_parameters_and_global_parameters() -> None:
    document = {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "v"}],
        "parameters": [
            {"vhost": "v", "component": "federation-upstream", "name": "up", "value": {"uri": f"amqp://u:{SECRET}@h"}},
            {"vhost": "v", "component": "vhost-limits", "name": "limits", "value": {"max-queues": 3}},
        ],
        "global_parameters": [
            {"name": "cluster_name", "value": "c"},
            {"name": "internal_cluster_id", "value": "rabbitmq-cluster-id-x"},
        ],
    }
    loaded = load_topology_text(json.dumps(document), "d.json")
    assert loaded.parameters[("v", "federation-upstream", "up")].inline_secret
    assert list(loaded.global_parameters) == [("cluster_name",)]
    assert ("v", "max-queues") in loaded.vhost_limits
    assert not any("not managed" in str(w) for w in loaded.warnings)
    # A vhost the file does not declare: the server's import takes it when the vhost exists there.
    shovel = {"src-uri": "amqp://", "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b"}
    elsewhere = dict(document, parameters=[{"vhost": "nope", "component": "shovel", "name": "s", "value": shovel}])
    loaded = load_topology_text(json.dumps(elsewhere), "d.json")
    assert ("nope", "shovel", "s") in loaded.parameters and ("nope",) not in loaded.vhosts
    assert [(r.kind, r.key, r.field) for r in loaded.server_references] == [("vhost", ("nope",), "parameters[0].vhost")]


def test_a_server_definitions_export_reads_as_the_actual_topology() -> None:
    # Values in their own shape: the management API and the ctl read give objects as objects, so a list of
    # pairs is a list (rabbitmqctl export_definitions' pairs are turned back by the ctl read's fallback).
    document = {
        "parameters": [
            {"vhost": "v", "component": "shovel", "name": "s", "value": {"src-uri": "amqp://", "src-queue": "a"}},
            {"vhost": "w", "component": "shovel", "name": "t", "value": {"src-uri": "amqp://"}},
            {"vhost": "v", "component": "x-plugin", "name": "pairs", "value": [["src-uri", "amqp://"]]},
        ],
        "global_parameters": [{"name": "cluster_name", "value": "c"}, {"name": "g", "value": [["a", 1]]}],
    }
    topo = topology_from_definitions(document, ["v"])
    assert topo.parameters == {
        ("v", "shovel", "s"): Parameter("v", "shovel", "s", {"src-uri": "amqp://", "src-queue": "a"}),
        ("v", "x-plugin", "pairs"): Parameter("v", "x-plugin", "pairs", [["src-uri", "amqp://"]]),
    }
    assert topo.global_parameters[("g",)].value == [["a", 1]]
    assert to_definitions(topo.parameters.values())["parameters"][0]["value"]["src-queue"] == "a"


def test_audit_ra025_names_inline_uri_passwords_not_sourced_ones() -> None:
    text = topology(upstream_uri=f"amqp://fed:{SECRET}@h")
    findings = [f for f in audit(load(text)).findings if f.rule == "RA025"]
    assert [f.objects for f in findings] == [("parameter:v/federation-upstream/up",)]
    assert SECRET not in json.dumps([f.to_dict() for f in findings])
    assert not [f for f in audit(load(topology())).findings if f.rule == "RA025"]  # src-uri comes from env


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.json")))
def test_corpus_definitions_files_apply_and_replan_clean(name: str) -> None:
    text = (CORPUS / name).read_text()
    backend = MemoryBackend()
    apply(text, backend)
    expected = json.loads(text)
    state = backend.snapshot()
    wanted = {(p["vhost"], p["component"], p["name"]): p["value"] for p in expected.get("parameters", [])
              if p["component"] not in ("operator_policy", "vhost-limits")}  # fmt: skip
    assert {key: p.value for key, p in state.parameters.items()} == wanted
    assert make_plan(load(text), backend).is_empty


def test_check_parameter_is_the_one_rule_set() -> None:
    assert check_parameter("federation", "local-nodename", "n") == []
    assert check_parameter("federation", "other", "n")[0].message.startswith("the federation component takes only")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("amqp://fed:Pa@ss:Word1@localhost:5672/%2F", "amqp://fed:***@localhost:5672/%2F"),  # unencoded '@'
        ('["amqp://a:b@h1/v", "amqp://c:d@h2"]', '["amqp://a:***@h1/v", "amqp://c:***@h2"]'),
        ("amqp://user@host:5672/v", "amqp://user@host:5672/v"),  # no password: nothing to mask
        ("amqp://h:5672/x@y", "amqp://h:5672/x@y"),  # an '@' in the path is not userinfo
    ],
)
def test_the_whole_password_is_masked_up_to_the_authoritys_last_at(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("amqp//u:FileSecret8@host", "must start with amqp://"),  # a typo in a secret read from a file
        ("FileSecret9-notauri", "must start with amqp://"),
        # The server ends the user info at the first '@': the port is then "Word1@localhost:5672".
        ("amqp://fed:Pa@ss:Word1@localhost:5672/%2F", "its port is not a number"),
        ("amqp://u:Secret7@h:port/v", "its port is not a number"),
        ("amqp://u:Secret%zz@h/v", "its password holds a '%' that is not followed by two hex digits"),
        ("amqp://u:Secret5@h/a/b", "its vhost (the path) may not hold a '/'"),
    ],
)
def test_a_bad_uri_is_refused_without_quoting_it(tmp_path: Path, uri: str, message: str) -> None:
    (tmp_path / "uri.txt").write_text(uri)
    text = (
        "vhosts:\n  - name: v\n    parameters:\n"
        "      - {component: federation-upstream, name: up, value: {uri: {file: uri.txt}}}\n"
    )
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, str(tmp_path / "t.yaml"))
    shown = str(caught.value)
    assert message in shown and "vhosts[0].parameters[0].value.uri" in shown
    secret = uri.split("@", maxsplit=1)[0].rsplit(":", 1)[-1] if "@" in uri else uri
    assert secret not in shown and "Secret" not in shown and "Word1" not in shown


def test_an_at_sign_the_server_reads_as_the_end_of_the_user_info_is_a_warning() -> None:
    # Accepted by the server (3.10.8, 4.0.5), which then connects to the host "ss@h".
    [finding] = check_parameter("federation-upstream", "up", {"uri": "amqp://u:Pa@ss@h"})
    assert finding.severity == "warning" and "written %40" in finding.message and "Pa" not in finding.message


# -- the plugins' tables: by protocol and by version (tests/integration/test_parameter_rules.py holds them
# against real nodes) ------------------------------------------------------------------------------------
def shovel(**keys: Any) -> dict[str, Any]:
    """A shovel's value from queue a to the default exchange, with ``keys`` (None: without that key)."""
    value = {"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "a", **keys}
    return {key: item for key, item in value.items() if item is not None}


def shovel_text(value: dict[str, Any]) -> str:
    item = f"{{component: shovel, name: s, value: {json.dumps(value)}}}"
    return f"vhosts:\n  - name: v\n    parameters:\n      - {item}\n"


@pytest.mark.parametrize(
    ("value", "key", "fragment"),
    [
        (shovel(**{"dest-application-properties": {"a": "b"}}), "dest-application-properties",
         "is a key of AMQP 1.0 destinations (dest-protocol: amqp10), and this shovel's destination is AMQP 0-9-1"),
        (shovel(**{"src-address": "/queue/a"}), "src-address", "is a key of AMQP 1.0 sources"),
        (shovel(**{"src-protocol": "amqp10", "src-address": "x", "prefetch-count": 5, "src-queue": None}),
         "prefetch-count", "is a key of AMQP 0-9-1 sources"),
        (shovel(**{"dest-protocol": "amqp10"}), "dest-address", "is required with dest-protocol amqp10"),
        (shovel(**{"dest-protocol": "amqp10", "dest-address": "d", "dest-queue": "q"}), "dest-queue",
         "is a key of AMQP 0-9-1 destinations"),
        (shovel(**{"dest-protocol": "amqp10", "dest-address": "d", "dest-properties": {"a": 1}}), "dest-properties",
         "a must be a string"),
        (shovel(**{"delete-after": -1}), "delete-after", "must be a number at least 0"),
        (shovel(**{"dest-queue": "q" * 256}), "dest-queue", "must be at most 255 bytes"),
        (shovel(**{"publish-properties": {"headers": {}}}), "publish-properties", "headers is not a message property"),
        (shovel(**{"publish-properties": {"delivery_mode": "2"}}), "publish-properties", "must be a number"),
        (shovel(**{"src-queue-args": {"x-not-one": 1}}), "src-queue-args", "x-not-one is not an argument"),
        (shovel(**{"src-queue-args": {"x-max-age": "1D"}}), "src-queue-args", "x-max-age cannot be given here"),
        (shovel(**{"src-consumer-args": {"x-not-one": 1}}), "src-consumer-args", "x-not-one is not an argument"),
        (shovel(**{"src-protocol": "amqp1"}), "src-protocol", "must be one of amqp091, amqp10"),
    ],
)  # fmt: skip
def test_a_key_of_the_other_protocol_or_a_value_the_plugin_refuses_is_an_error(
    value: dict[str, Any], key: str, fragment: str
) -> None:
    message = problems(shovel_text(value))
    assert fragment in message and f"vhosts[0].parameters[0].value.{key}" in message and "t.yaml:" in message


def test_a_key_only_some_versions_know_warns_offline_and_is_final_with_the_servers_version() -> None:
    loaded = load(shovel_text(shovel(**{"src-predeclared": True})))
    warning = " | ".join(str(w) for w in loaded.warnings)
    assert "src-predeclared" in warning and "is a key of RabbitMQ 4.0 and later" in warning
    assert "(RabbitMQ 3.10 refuses it)" in warning
    assert check_parameter("shovel", "s", shovel(**{"src-predeclared": True}), server_version="4.0.5") == []
    [on_310] = check_parameter("shovel", "s", shovel(**{"src-predeclared": True}), server_version="3.10.8")
    assert on_310.severity == "error" and on_310.key == "src-predeclared"
    upstream = {"uri": "amqp://", "ha-policy": "all"}
    assert check_parameter("federation-upstream", "u", upstream, server_version="3.10.8") == []
    [on_40] = check_parameter("federation-upstream", "u", upstream, server_version="4.0.5")
    assert on_40.severity == "error" and "3.x and earlier" in on_40.message


def test_a_key_every_version_refuses_in_its_own_words_is_an_error() -> None:
    findings = check_parameter("federation-upstream", "u", {"uri": "amqp://", "queue-type": "stream"})
    assert {f.severity for f in findings} == {"error"}
    assert any("(RabbitMQ 3.10)" in f.message for f in findings)  # 3.10 has no such key
    assert any("must be one of classic, quorum" in f.message and "(RabbitMQ 4.0)" in f.message for f in findings)


def test_keys_and_values_the_server_takes_are_accepted() -> None:
    for component, value in [
        ("federation-upstream", {"uri": "amqp://", "channel-use-mode": "single", "resource-cleanup-mode": "never"}),
        ("federation-upstream-set", [{"upstream": "u", "channel-use-mode": "multiple"}]),
        ("shovel", shovel(**{"src-delete-after": "never", "delete-after": 5, "ack-mode": "no-ack"})),
        ("shovel", shovel(**{"src-queue-args": {"x-queue-type": "quorum"}, "src-consumer-args": {"x-priority": 1}})),
        ("shovel", shovel(**{"src-protocol": "amqp10", "src-address": "a", "src-delete-after": 5, "ack-mode": "no-ack",
                              "src-queue": None})),
    ]:  # fmt: skip
        assert [f for f in check_parameter(component, "p", value) if f.severity == "error"] == [], (component, value)


def test_a_queue_argument_value_the_queue_cannot_take_is_a_warning() -> None:
    # The server stores it (the plugin checks no value); the shovel's declaration of its queue fails.
    [finding] = check_parameter("shovel", "s", shovel(**{"dest-queue-args": {"x-max-length": "ten"}}))
    assert finding.severity == "warning" and "queue declaration will fail" in finding.message


def test_the_plan_refuses_what_the_servers_version_refuses() -> None:
    text = shovel_text(shovel(**{"src-predeclared": True}))
    on_310 = make_plan(load(text), MemoryBackend(version="3.10.8"))
    assert any("value.src-predeclared is a key of RabbitMQ 4.0 and later" in r and "3.10.8" in r
               for r in on_310.refusals), on_310.refusals  # fmt: skip
    assert make_plan(load(text), MemoryBackend(version="4.0.5")).refusals == []
    unknown = shovel_text(shovel(**{"src-qeue": "b"}))
    assert any("src-qeue is not a key" in r for r in make_plan(load(unknown), MemoryBackend(version="4.0.5")).refusals)
    newer = make_plan(load(unknown), MemoryBackend(version="4.2.1"))  # a key of a version not modelled may be new
    assert newer.refusals == []
