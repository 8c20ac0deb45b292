"""Runtime and global parameters on a real node (the session node runs shovel and federation,
tests/conftest.py SESSION_PLUGINS): a shovel declared by an apply moves messages; a federation upstream plus
a policy makes a link that reaches running; re-plan clean, export round trip, prune, through both backends;
a URI's password never shows in what the command prints."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pika
import pytest
import yaml

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology_text
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner

WAIT = 60.0  # seconds for a shovel to move messages or a link to run (each wait is bounded)


# ``backend`` (the session node through HTTP, then ctl) comes from tests/integration/conftest.py.


@pytest.fixture
def upstream_vhost(admin_client: HttpClient) -> Iterator[str]:
    name = f"up-{secrets.token_hex(3)}"
    yield name
    admin_client.delete(api_path("vhosts", name))


def uri(node: SandboxInfo, vhost: str) -> str:
    """An AMQP URI to the session node's ``vhost`` as its administrator: it carries the admin password."""
    return f"amqp://{node.user}:{node.password()}@127.0.0.1:{node.amqp_port}/{quote(vhost, safe='')}"


def shovel_topology(vhost: str, user: str, *, prefetch: int = 10) -> str:
    """Two queues and a shovel between them; ``user`` (whose password the URI holds) gets access to the vhost
    (a vhost rabbitmqctl creates grants no one)."""
    document: dict[str, Any] = {
        "users": [{"name": user, "tags": ["administrator"]}],  # as it is; its password is left unmanaged
        "permissions": [{"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
        "vhosts": [
            {
                "name": vhost,
                "queues": [{"name": "src"}, {"name": "dst"}],
                "parameters": [
                    {
                        "component": "shovel",
                        "name": "move",
                        "value": {
                            "src-uri": {"env": "SHOVEL_URI"},
                            "src-queue": "src",
                            "dest-uri": {"env": "SHOVEL_URI"},
                            "dest-queue": "dst",
                            "prefetch-count": prefetch,
                        },
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(document, allow_unicode=True)


def apply_text(text: str, backend: Backend, environ: dict[str, str], *, prune: bool = False) -> None:
    plan = make_plan(load_topology_text(text, "t.yaml", environ=environ), backend, prune=prune)
    assert not plan.refusals, plan.refusals
    execute_plan(plan, backend)


def wait_for(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {WAIT} s: {what}")


def test_a_shovel_declared_by_apply_moves_messages_and_replans_clean(
    backend: Backend, node: SandboxInfo, vhost: str
) -> None:
    environ = {"SHOVEL_URI": uri(node, vhost)}
    apply_text(shovel_topology(vhost, node.user), backend, environ)
    params = pika.ConnectionParameters(
        "127.0.0.1", node.amqp_port, vhost, pika.PlainCredentials(node.user, node.password()),
        blocked_connection_timeout=30, socket_timeout=30,
    )  # fmt: skip
    with pika.BlockingConnection(params) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for index in range(5):
            channel.basic_publish("", "src", f"m{index}".encode())

        def moved() -> list[bytes]:
            got = []
            while (message := channel.basic_get("dst", auto_ack=True))[0] is not None:
                got.append(message[2])
            return got

        received: list[bytes] = []
        deadline = time.monotonic() + WAIT
        while len(received) < 5 and time.monotonic() < deadline:
            received += moved()
            time.sleep(0.2)
        assert sorted(received) == [f"m{i}".encode() for i in range(5)]
    assert make_plan(load_topology_text(shovel_topology(vhost, node.user), "t.yaml", environ=environ), backend).is_empty
    # An update in place: one change, the value, shown without the password.
    plan = make_plan(
        load_topology_text(shovel_topology(vhost, node.user, prefetch=20), "t.yaml", environ=environ), backend
    )
    assert [(c.action, c.kind) for c in plan.changes] == [(Action.UPDATE, "parameter")]
    assert node.password() not in json.dumps(plan.to_dict())


def test_a_federation_upstream_and_policy_make_a_running_link(
    node: SandboxInfo, vhost: str, upstream_vhost: str, settings: ConnectionSettings, admin_client: HttpClient
) -> None:
    document = {
        "vhosts": [
            {"name": upstream_vhost, "exchanges": [{"name": "fed.x", "type": "topic"}]},
            {
                "name": vhost,
                "exchanges": [{"name": "fed.x", "type": "topic"}],
                "parameters": [
                    {"component": "federation-upstream", "name": "origin",
                     "value": {"uri": {"env": "UPSTREAM_URI"}, "expires": 600000}},
                    {"component": "federation-upstream-set", "name": "all", "value": [{"upstream": "origin"}]},
                ],
                "policies": [{"name": "federate", "pattern": "^fed\\.", "apply_to": "exchanges",
                              "definition": {"federation-upstream-set": "all"}}],
            },
        ]
    }  # fmt: skip
    environ = {"UPSTREAM_URI": uri(node, upstream_vhost)}
    text = yaml.safe_dump(document, allow_unicode=True)
    backend = HttpBackend(settings, parallelism=2)
    try:
        apply_text(text, backend, environ)

        def running() -> bool:
            links = admin_client.get(api_path("federation-links", vhost)) or []
            return any(link.get("status") == "running" and link.get("upstream") == "origin" for link in links)

        wait_for(running, "the federation link of fed.x to reach running")
        assert make_plan(load_topology_text(text, "t.yaml", environ=environ), backend).is_empty
    finally:
        backend.close()


def test_export_round_trip_and_prune_within_the_managed_vhost(
    backend: Backend, node: SandboxInfo, vhost: str, admin_client: HttpClient
) -> None:
    environ = {"SHOVEL_URI": uri(node, vhost)}
    apply_text(shovel_topology(vhost, node.user), backend, environ)
    state = backend.read_state([vhost])
    exported = yaml.safe_dump(export_document(state, [vhost], include_uri_passwords=True), allow_unicode=True)
    assert make_plan(load_topology_text(exported, "export.yaml"), backend).is_empty
    stray = {"value": {"uri": "amqp://stray.invalid"}}
    admin_client.put(api_path("parameters", "federation-upstream", vhost, "stray"), stray)
    plan = make_plan(
        load_topology_text(shovel_topology(vhost, node.user), "t.yaml", environ=environ), backend, prune=True
    )
    assert [(c.action, c.key) for c in plan.changes] == [(Action.DELETE, (vhost, "federation-upstream", "stray"))]
    execute_plan(plan, backend)
    names = {(p["component"], p["name"]) for p in admin_client.get(api_path("parameters")) if p["vhost"] == vhost}
    assert names == {("shovel", "move")}
    # The node's own global parameter is never exported (rabbitmqctl's export leaves it out; the API lists it).
    assert "internal_cluster_id" not in json.dumps(export_document(backend.read_state(None)))


def test_a_global_parameter_is_set_updated_in_place_and_deleted_only_when_declared_absent(
    backend: Backend, admin_client: HttpClient
) -> None:
    name = f"rabbitadmin-test-{secrets.token_hex(3)}"

    def declared(value: Any, state: str = "present") -> str:
        entry = {"name": name, "value": value} if state == "present" else {"name": name, "state": state}
        return yaml.safe_dump({"global_parameters": [entry]})

    try:
        apply_text(declared({"owner": "ops", "tiers": [1, 2]}), backend, {})
        assert admin_client.get(api_path("global-parameters", name))["value"] == {"owner": "ops", "tiers": [1, 2]}
        assert make_plan(load_topology_text(declared({"owner": "ops", "tiers": [1, 2]}), "t.yaml"), backend).is_empty
        plan = make_plan(load_topology_text(declared({"owner": "dev"}), "t.yaml"), backend)
        assert [(c.action, c.key) for c in plan.changes] == [(Action.UPDATE, (name,))]
        execute_plan(plan, backend)
        assert admin_client.get(api_path("global-parameters", name))["value"] == {"owner": "dev"}
        # --prune leaves global parameters alone; state: absent deletes one.
        assert make_plan(load_topology_text("vhosts: []\n", "t.yaml"), backend, prune=True).is_empty
        apply_text(declared(None, "absent"), backend, {})
        assert admin_client.get_or_none(api_path("global-parameters", name)) is None
    finally:
        admin_client.get_or_none(api_path("global-parameters", name)) and admin_client.delete(
            api_path("global-parameters", name)
        )


def test_a_uri_password_never_shows_in_plan_apply_or_export_output(
    rabbitadmin: CliRunner, node: SandboxInfo, vhost: str, tmp_path: Path
) -> None:
    secret = node.password()
    topology = tmp_path / "t.yaml"
    topology.write_text(shovel_topology(vhost, node.user))
    env = {"SHOVEL_URI": uri(node, vhost)}
    outputs = [
        rabbitadmin("plan", str(topology), env=env),
        rabbitadmin("plan", str(topology), "-o", "json", env=env),
        rabbitadmin("apply", str(topology), "--yes", env=env),
        rabbitadmin("plan", str(topology), env={"SHOVEL_URI": uri(node, vhost).replace("127.0.0.1", "localhost")}),
        rabbitadmin("export", "--vhost", vhost),
        rabbitadmin("export", "--vhost", vhost, "--format", "definitions"),
        rabbitadmin("export", "--vhost", vhost, "--include-uri-passwords"),
    ]
    for result in outputs:
        assert secret not in result.stdout + result.stderr, result.args
    assert outputs[2].returncode == 0, outputs[2].stderr
    assert f"{node.user}:***@" in outputs[4].stdout and "parameter 'move'" in outputs[3].stdout
    assert outputs[6].returncode != 0 and "only to a file" in outputs[6].stderr
    saved = tmp_path / "full.yaml"
    written = rabbitadmin("export", "--vhost", vhost, "--include-uri-passwords", "--output-file", str(saved))
    assert written.returncode == 0 and secret not in written.stdout + written.stderr
    assert secret in saved.read_text() and saved.stat().st_mode & 0o077 == 0
    assert "No changes" in rabbitadmin("plan", str(saved)).stdout  # the full export applies back with nothing to do


def running_plugins(backend: Any) -> set[str]:
    """The node's plugins, once it lists them: over HTTP they come from its management statistics, which lag its
    boot (``HttpBackend.enabled_plugins``); until then a plan cannot know them and only warns."""
    deadline = time.monotonic() + 120
    while (plugins := backend.enabled_plugins()) is None:
        assert time.monotonic() < deadline, "the node never listed its plugins"
        time.sleep(1)
    return set(plugins)


def test_the_running_plugins_are_read_from_the_node_and_an_unknown_component_is_refused(
    backend: Backend, vhost: str
) -> None:
    # Refusing a component whose plugin is off is proven on MemoryBackend (tests/unit/test_parameters.py): the
    # session node runs both plugins; here each backend reads them from the node, which that refusal relies on.
    plugins = running_plugins(backend)
    assert {"rabbitmq_shovel", "rabbitmq_federation"} <= plugins
    assert "rabbitmq_stomp" not in plugins
    text = yaml.safe_dump({"vhosts": [{"name": vhost, "parameters": [
        {"component": "my-plugin-component", "name": "m", "value": {"k": 1}}]}]})  # fmt: skip
    plan = make_plan(load_topology_text(text, "t.yaml"), backend)
    # The node runs RabbitMQ's own plugins only, of which none registers it.
    assert any("no plugin on the server registers component 'my-plugin-component'" in r for r in plan.refusals)


def test_a_shovels_queues_keep_the_type_the_file_gives_them(
    backend: Backend, node: SandboxInfo, vhost: str, admin_client: HttpClient
) -> None:
    # The server imports parameters before queues (rabbit_definitions): in one import a shovel may start and
    # declare its missing source queue as a classic one before the file's stream is imported (seen on 4.0.5
    # over rabbitmqctl with the realworld sda file; a race, so several shovels widen the window).
    count = 8
    queues = [{"name": f"src{i}", "type": "stream"} for i in range(count)] + [{"name": "dst", "type": "quorum"}]
    direct = {"env": "SHOVEL_URI"}
    shovels = [
        {"component": "shovel", "name": f"s{i}",
         "value": {"src-uri": direct, "src-queue": f"src{i}", "dest-uri": direct, "dest-queue": "dst"}}
        for i in range(count)
    ]  # fmt: skip
    text = yaml.safe_dump({"vhosts": [{"name": vhost, "queues": queues, "parameters": shovels}]}, allow_unicode=True)
    # A direct connection (no host): the shovels start at once, as in the realworld case that showed it.
    environ = {"SHOVEL_URI": f"amqp:///{quote(vhost, safe='')}"}
    if isinstance(backend, HttpBackend):
        backend.bulk_threshold = 1  # through the definitions import, as a large apply goes
    apply_text(text, backend, environ)
    types = {row["name"]: row["type"] for row in admin_client.get(api_path("queues", vhost))}
    assert types == {**{f"src{i}": "stream" for i in range(count)}, "dst": "quorum"}
    assert make_plan(load_topology_text(text, "t.yaml", environ=environ), backend).is_empty


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_a_component_no_plugin_registers_is_refused_before_any_write(
    rabbitadmin: CliRunner, admin_client: HttpClient, settings: ConnectionSettings, tmp_path: Path, backend: str
) -> None:
    """The session node runs RabbitMQ's own plugins only: no plugin there registers the component, which the
    server would refuse after the vhost was written ("component ... not found", HTTP 400)."""
    with contextlib.closing(HttpBackend(settings)) as reader:
        running_plugins(reader)
    vhost = f"comp-{secrets.token_hex(3)}"
    path = tmp_path / "c.json"
    path.write_text(json.dumps({
        "rabbit_version": "3.10.8", "vhosts": [{"name": vhost}],
        "parameters": [{"vhost": vhost, "component": "no-such-component", "name": "n", "value": {"a": 1}}],
    }))  # fmt: skip
    result = rabbitadmin("--backend", backend, "apply", "--yes", str(path))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "no plugin on the server registers component 'no-such-component'" in result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
