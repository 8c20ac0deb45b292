"""Objects the server lists with an identity field that is not a string (``definitions.Unaddressable``): each
``*_from_server`` refuses them, and the state built from a definitions document (the ctl read) leaves them
out with one warning each, naming the object as the server shows it. The shapes are the ones measured on
3.10.8 and 4.0.5 (tests/integration/test_unaddressable_objects.py puts them on real nodes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rabbitadmin import definitions
from rabbitadmin.backends.ctl.definitions_read import DefinitionsReader
from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine.planner import make_plan
from rabbitadmin.errors import CtlError, RabbitAdminError, Unaddressable
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import OperatorPolicy, UserLimit, VhostLimit

ODD = [None, 5, 1.5, True, ["a"], {"a": 1}]
ODD_IDS = ["null", "number", "float", "boolean", "list", "object"]


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What ``warn_unaddressable`` says, with its once-per-process memory empty."""
    said: list[str] = []
    monkeypatch.setattr(definitions, "unaddressable_notice", said.append)
    monkeypatch.setattr(definitions, "_warned", set())
    yield said


def exchange(vhost: Any = "v", name: Any = "x") -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "type": "direct", "durable": True, "auto_delete": False,
            "internal": False, "arguments": {}}  # fmt: skip


def queue(vhost: Any = "v", name: Any = "q") -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "durable": True, "auto_delete": False, "arguments": {}}


def binding(vhost: Any = "v", source: Any = "x", destination: Any = "q", key: str = "k") -> dict[str, Any]:
    return {"vhost": vhost, "source": source, "destination": destination, "destination_type": "queue",
            "routing_key": key, "arguments": {}}  # fmt: skip


def policy(vhost: Any = "v", name: Any = "p") -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "pattern": "^x", "apply-to": "queues", "definition": {"max-length": 1},
            "priority": 0}  # fmt: skip


def user(name: Any = "u") -> dict[str, Any]:
    return {"name": name, "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}


def permission(user: Any = "u", vhost: Any = "v") -> dict[str, Any]:
    return {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}


PARSERS: list[tuple[str, Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any], str]] = [
    ("exchange-name", lambda v: exchange(name=v), definitions.exchange_from_server, "exchange"),
    ("exchange-vhost", lambda v: exchange(vhost=v), definitions.exchange_from_server, "exchange"),
    ("queue-name", lambda v: queue(name=v), definitions.queue_from_server, "queue"),
    ("queue-vhost", lambda v: queue(vhost=v), definitions.queue_from_server, "queue"),
    ("binding-source", lambda v: binding(source=v), definitions.binding_from_server, "binding"),
    ("binding-destination", lambda v: binding(destination=v), definitions.binding_from_server, "binding"),
    ("binding-vhost", lambda v: binding(vhost=v), definitions.binding_from_server, "binding"),
    ("policy-name", lambda v: policy(name=v), definitions.policy_from_server, "policy"),
    ("policy-vhost", lambda v: policy(vhost=v), definitions.policy_from_server, "policy"),
    (
        "operator-policy-name",
        lambda v: policy(name=v),
        lambda d: definitions.policy_from_server(d, OperatorPolicy),
        "operator policy",
    ),
    ("user-name", lambda v: user(name=v), definitions.user_from_server, "user"),
    ("permission-user", lambda v: permission(user=v), definitions.permission_from_server, "permission"),
    ("permission-vhost", lambda v: permission(vhost=v), definitions.permission_from_server, "permission"),
    (
        "topic-permission-exchange",
        lambda v: {**permission(), "exchange": v},
        definitions.topic_permission_from_server,
        "topic permission",
    ),
    (
        "parameter-name",
        lambda v: {"vhost": "v", "component": "shovel", "name": v, "value": {}},
        definitions.parameter_from_server,
        "shovel parameter",
    ),
    (
        "parameter-vhost",
        lambda v: {"vhost": v, "component": "shovel", "name": "s", "value": {}},
        definitions.parameter_from_server,
        "shovel parameter",
    ),
    (
        "operator-policy-parameter",
        lambda v: {
            "vhost": "v",
            "component": "operator_policy",
            "name": v,
            "value": {"pattern": "^x", "definition": {}},
        },
        definitions.parameter_from_server,
        "operator policy",
    ),
    (
        "vhost-limit-parameter",
        lambda v: {"vhost": v, "component": "vhost-limits", "name": "limits", "value": {"max-queues": 1}},
        definitions.parameter_from_server,
        "vhost's limits",
    ),
    (
        "global-parameter-name",
        lambda v: {"name": v, "value": "x"},
        definitions.global_parameter_from_server,
        "global parameter",
    ),
]


@pytest.mark.parametrize("value", ODD, ids=ODD_IDS)
@pytest.mark.parametrize(("row", "parse", "kind"), [p[1:] for p in PARSERS], ids=[p[0] for p in PARSERS])
def test_every_identity_field_that_is_no_string_is_refused_by_name(
    row: Callable[[Any], dict[str, Any]], parse: Callable[[dict[str, Any]], Any], kind: str, value: Any
) -> None:
    with pytest.raises(Unaddressable) as caught:
        parse(row(value))
    assert isinstance(caught.value, RabbitAdminError)  # uncaught, it is an error message, never a traceback
    text = str(caught.value)
    assert text.startswith(f"{kind} (")
    assert f" {json.dumps(value, sort_keys=True)}" in text  # the raw value as the server's JSON shows it
    assert "is not a string" in text and "cannot address it" in text and "--prune never touches it" in text


@pytest.mark.parametrize(("row", "parse", "kind"), [p[1:] for p in PARSERS], ids=[p[0] for p in PARSERS])
def test_the_same_rows_with_strings_are_read(
    row: Callable[[Any], dict[str, Any]], parse: Callable[[dict[str, Any]], Any], kind: str
) -> None:
    assert parse(row("s")) is not None


def test_the_message_names_the_object_as_the_server_shows_it() -> None:
    with pytest.raises(Unaddressable) as caught:
        definitions.exchange_from_server({**exchange(name=None), "vhost": "ignored"}, "nullv")
    assert str(caught.value).startswith('exchange (vhost "nullv", name null): its name is not a string')
    with pytest.raises(Unaddressable) as caught:
        definitions.binding_from_server(binding(source=None, destination=["a"], key="rk"))
    assert str(caught.value).startswith(
        'binding (vhost "v", source null, destination_type "queue", destination ["a"], routing_key "rk"): '
        "its source and destination is not a string"
    )
    with pytest.raises(Unaddressable) as caught:
        definitions.limits_from_server(UserLimit, None, {"max-queues": 1})  # type: ignore[arg-type]
    assert str(caught.value).startswith("user's limits (user null)")
    with pytest.raises(Unaddressable):
        definitions.limits_from_server(VhostLimit, 5, {"max-queues": 1})  # type: ignore[arg-type]


def test_a_vhost_listing_keeps_every_vhost_but_a_state_does_not(notices: list[str]) -> None:
    assert definitions.vhost_from_server({"name": 5}).name == 5  # type: ignore[comparison-overlap]  # vhosts list shows it
    topology = definitions.topology_from_definitions(
        {"vhosts": [{"name": 5, "limits": {"max-queues": 1}}, {"name": "v"}]}
    )
    assert list(topology.vhosts) == [("v",)]
    assert not topology.vhost_limits
    assert notices == [notices[0]] and notices[0].startswith("vhost (name 5): its name is not a string")


def test_a_state_leaves_out_each_unaddressable_object_with_one_warning_each(notices: list[str]) -> None:
    document = {
        "vhosts": [{"name": "v"}, {"name": None}],
        "users": [user(), user(None), {**user(["a"]), "limits": {"max-connections": 1}}],
        "permissions": [permission(), permission(user=None), permission(vhost=5)],
        "topic_permissions": [{**permission(), "exchange": None}],
        "policies": [policy(), policy(name=None)],
        "parameters": [
            {"vhost": "v", "component": "operator_policy", "name": None, "value": {"pattern": "^", "definition": {}}},
            {"vhost": "v", "component": "shovel", "name": 5, "value": {}},
            {"vhost": "v", "component": None, "name": None, "value": {}},  # a component not managed: no warning
        ],
        "global_parameters": [{"name": None, "value": 1}, {"name": "g", "value": 1}],
        "exchanges": [exchange(), exchange(name=None), exchange(vhost=None)],
        "queues": [queue(), queue(name=None), queue(name=5), queue(name=["a"]), queue(name={"a": 1})],
        "bindings": [
            binding(),
            binding(source=None),
            binding(destination=None),
            binding(destination=5, key="a"),
            binding(destination=5, key="b"),
        ],
    }
    topology = definitions.topology_from_definitions(document)
    assert {key for key, _ in _objects(topology)} == {
        ("vhost", ("v",)), ("user", ("u",)), ("permission", ("u", "v")), ("policy", ("v", "p")),
        ("global_parameter", ("g",)), ("exchange", ("v", "x")), ("queue", ("v", "q")),
        ("binding", definitions.binding_from_server(binding()).key),
    }  # fmt: skip
    assert len(notices) == 20  # one each: two bindings that differ in their routing key alone are two
    assert len(set(notices)) == 20
    assert topology.left_out == notices  # and named in the state, for the plan to say
    # The same objects read again (an apply reads more than once): said once per process, named in each state.
    again = definitions.topology_from_definitions(document)
    assert len(notices) == 20
    assert again.left_out == topology.left_out


def test_a_plan_says_what_its_read_left_out_and_stderr_does_not(notices: list[str]) -> None:
    document = {"vhosts": [{"name": "v"}], "queues": [queue(), queue(name=None)]}
    with definitions.left_out_in_plans():
        state = definitions.topology_from_definitions(document, ["v"])
    assert notices == []  # a plan's command says it in the plan instead
    (said,) = state.left_out
    assert said.startswith('queue (vhost "v", name null)')
    desired = load_topology_text("vhosts:\n  - name: v\n    queues: [{name: q, type: classic}]\n", "t.yaml")
    plan = make_plan(desired, MemoryBackend(state=state), prune=True, state=state)
    assert plan.changes == [] and plan.warnings.count(said) == 1
    assert plan.to_dict()["warnings"].count(said) == 1
    definitions.topology_from_definitions(document, ["v"])
    assert notices == [said]  # outside a plan's command: on stderr as before


def test_a_scoped_state_leaves_a_vhost_that_is_no_string_out_of_scope(notices: list[str]) -> None:
    document = {"vhosts": [{"name": "v"}], "exchanges": [exchange(), exchange(vhost=["a"]), exchange(vhost=None)]}
    topology = definitions.topology_from_definitions(document, ["v"])
    assert list(topology.exchanges) == [("v", "x")]
    assert notices == []  # out of scope: not read, not warned about


def test_the_default_notice_is_a_warning_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    definitions._to_stderr("something")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "warning: something\n")


def _objects(topology: Any) -> list[tuple[tuple[str, Any], Any]]:
    return [((obj.kind, obj.key), obj) for obj in topology]


#: What 3.10.8's export_definitions printed (exit 0) on a node holding an exchange named null (recorded).
BADRPC_NULL_EXCHANGE = (
    "{:badrpc, {:EXIT, {:function_clause, [{:rabbit_exchange, :is_amq_prefixed, [:null], [file: "
    "'rabbit_exchange.erl', line: 98]}, {:rabbit_definitions, :\"-list_exchanges/0-fun-0-\", 1, []}]}}}\n"
)


def test_3_10s_failed_export_on_an_exchange_named_null_says_what_it_is_and_what_to_do() -> None:
    @dataclass
    class Answers(Rabbitmqctl):
        """The node's answers, as recorded: the eval fails as a whole, export_definitions prints its badrpc."""

        def run(self, args: Any, *, stdin: str | None = None, wait: float | None = None) -> str:
            if args[0] == "eval":
                raise CtlError("eval", 70, "function_clause")
            return BADRPC_NULL_EXCHANGE

    with pytest.raises(CtlError) as caught:
        DefinitionsReader(Answers()).read()
    text = str(caught.value)
    assert "an exchange whose name is not a string" in text and "--backend http" in text
