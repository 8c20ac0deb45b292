"""Two kinds of secret found by the session-20 breaker (3.10.8 and 4.0.5, both backends) that exports, plans
and errors showed in clear:

- a password in a URI's query (``amqps://h?cacertfile=...&password=K``: the Erlang client's URI takes the TLS
  key's password there, ``amqp_uri``): only the user part was masked;
- a global parameter whose own name names a secret (``db_secret``: a global parameter is a key and its value):
  only keys inside its value were masked.

The same on real nodes: tests/integration/test_export_secrets.py."""

from __future__ import annotations

import json

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import object_values
from rabbitadmin.errors import ServerError, TopologyError
from rabbitadmin.export import definitions_document, export_document, masked_definitions
from rabbitadmin.loader import load_topology_text
from rabbitadmin.masking import MASK, mask_secrets, masked_fields
from rabbitadmin.model import GlobalParameter, Parameter, Topology, Vhost
from rabbitadmin.render import render_plan

QUERY_LEAK, NAME_LEAK, NEW_LEAK = "QueryLeak111", "NameLeak222", "NewLeak333"
UPSTREAM = f"amqps://fed@example.invalid:5671/%2f?cacertfile=/c.pem&password={QUERY_LEAK}&verify=verify_peer"


def state() -> Topology:
    topology = Topology()
    topology.add(Vhost("v"))
    topology.add(Parameter("v", "federation-upstream", "up", {"uri": UPSTREAM, "expires": 60000}))
    topology.add(GlobalParameter("db_secret", NAME_LEAK))
    topology.add(GlobalParameter("app_token", {"kind": "bearer", "value": NAME_LEAK}))
    topology.add(GlobalParameter("cluster_name", "kept-in-clear"))
    return topology


def leaks(text: str) -> set[str]:
    return {secret for secret in (QUERY_LEAK, NAME_LEAK, NEW_LEAK) if secret in text}


def test_exports_mask_query_passwords_and_secret_named_global_parameters_and_say_so() -> None:
    report: list[str] = []
    for document in (export_document(state(), masked_out=report), definitions_document(state(), masked_out=report)):
        text = json.dumps(document)
        assert not leaks(text + "\n".join(report)), text
        assert "password=***&verify=verify_peer" in text and "cacertfile=/c.pem" in text
        assert "kept-in-clear" in text  # a global parameter named otherwise is shown
    assert "global parameter 'db_secret': value (its name names a secret)" in report
    assert "global parameter 'app_token': value (its name names a secret)" in report
    # The server's own export, as `definitions export` masks it.
    server = {
        "global_parameters": [{"name": "db_secret", "value": NAME_LEAK}, {"name": "cluster_name", "value": "c"}],
        "parameters": [{"vhost": "v", "component": "federation-upstream", "name": "up", "value": {"uri": UPSTREAM}}],
    }
    shown = json.dumps(masked_definitions(server))
    assert not leaks(shown) and '"value": "c"' in shown


def test_kept_when_asked() -> None:
    assert leaks(json.dumps(export_document(state(), include_secrets=True))) == {QUERY_LEAK, NAME_LEAK}


def test_plans_show_neither_secret_and_a_change_of_one_shows_as_changed() -> None:
    def doc(secret: str, query: str) -> str:
        return (
            "global_parameters: [{name: db_secret, value: " + secret + "}, {name: cluster_name, value: c1}]\n"
            "vhosts:\n- name: v\n  parameters:\n  - {component: federation-upstream, name: up, value: {uri: '"
            + UPSTREAM.replace(QUERY_LEAK, query)
            + "'}}\n"
        )

    backend = MemoryBackend()
    create = make_plan(load_topology_text(doc(NAME_LEAK, QUERY_LEAK), "a.yaml"), backend)
    shown = render_plan(create) + json.dumps(create.to_dict())
    assert not leaks(shown), shown
    assert "db_secret" in shown and "value=***" in shown
    execute_plan(create, backend)
    change = make_plan(load_topology_text(doc(NEW_LEAK, NEW_LEAK), "b.yaml"), backend)
    shown = render_plan(change) + json.dumps(change.to_dict())
    assert not leaks(shown), shown
    assert {c.subject.split("'")[1] for c in change.changes} == {"db_secret", "up"}
    for item in change.changes:
        (field,) = item.fields
        assert field.secret and field.before is None and field.after is None, item  # "(changed)", no value


def test_reprs_and_values_mask_by_name() -> None:
    secret, plain = GlobalParameter("db_secret", NAME_LEAK), GlobalParameter("cluster_name", "c")
    assert NAME_LEAK not in repr(secret) and object_values(secret)["value"] == MASK
    assert object_values(plain)["value"] == "c"
    assert object_values(GlobalParameter("db_secret", ""))["value"] == ""  # nothing secret in an empty value


@pytest.mark.parametrize(
    "text",
    [
        f'Validation failed: "amqps://h?password={QUERY_LEAK}" is not a valid URI',
        f'{{uri, <<"amqps://h:5671?password={QUERY_LEAK}">>}}',
    ],
)
def test_errors_quoting_a_uri_never_show_its_query_password(text: str) -> None:
    assert QUERY_LEAK not in str(ServerError("PUT", "/api/parameters/federation-upstream/v/up", 400, text))


def test_an_export_read_back_is_refused_with_its_field() -> None:
    assert [p for p, _, _ in masked_fields({"uri": "amqps://h?password=***"})] == ["value.uri"]
    assert mask_secrets({"uri": UPSTREAM})[1] == ["value.uri"]
    documents = {
        "query": "vhosts:\n- name: v\n  parameters:\n  - {component: federation-upstream, name: up, "
        "value: {uri: 'amqps://h?cacertfile=/c&password=***'}}\n",
        "name": "global_parameters:\n- name: db_secret\n  value: '***'\n",
    }
    for kind, text in documents.items():
        with pytest.raises(TopologyError) as refused:
            load_topology_text(text, f"{kind}.yaml")
        message = str(refused.value)
        assert f"{kind}.yaml:" in message and "***" in message, message
        assert ("value.uri" if kind == "query" else "global_parameters[0].value") in message, message
    # A global parameter named otherwise may hold the text *** (nothing of an export's).
    load_topology_text("global_parameters:\n- name: motd\n  value: '***'\n", "ok.yaml")
