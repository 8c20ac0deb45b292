"""The presets: they validate offline, carry the introduction's names, provision from empty through the real
command, and provisioning them again changes nothing. Plus list, show, and the password rules.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Exchange, Queue
from rabbitadmin.tutorials.scenarios import SCENARIOS, load_preset

from .conftest import TUTORIAL_PASSWORD, base_env, tutorial

# What each preset must declare, with the introduction's names: (kind, name, type) beyond vhost/user/permission.
EXPECTED = {
    "hello-world": ("queue", "hello", "classic"),
    "work-queues": ("queue", "task_queue", "classic"),
    "publish-subscribe": ("exchange", "logs", "fanout"),
    "routing": ("exchange", "direct_logs", "direct"),
    "topics": ("exchange", "topic_logs", "topic"),
    "rpc": ("queue", "rpc_queue", "classic"),
}


def test_every_scenario_has_an_expectation() -> None:
    assert set(SCENARIOS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_validates_with_the_introductions_names(name: str) -> None:
    topology = load_preset(name, resolve_secrets=False)
    kind, object_name, object_type = EXPECTED[name]
    assert list(topology.vhosts) == [("myproject",)]
    assert [u.name for u in topology.users.values()] == ["myuser"]
    assert [tuple(u.tags or ()) for u in topology.users.values()] == [("management",)]
    [permission] = topology.permissions.values()
    assert (permission.user, permission.vhost) == ("myuser", "myproject")
    assert (permission.configure, permission.write, permission.read) == (".*", ".*", ".*")
    objects: list[Queue] | list[Exchange]
    objects = list(topology.queues.values()) if kind == "queue" else list(topology.exchanges.values())
    assert [(o.name, o.durable) for o in objects] == [(object_name, True)]
    if kind == "exchange":
        assert objects[0].type == object_type
        assert not topology.queues, "exclusive per-consumer queues belong to the runners, not the preset"
    else:
        assert not topology.exchanges
    assert not topology.bindings


def test_retargeted_preset_moves_vhost_and_permissions(tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-a-file\n")
    topology = load_preset("topics", vhost="elsewhere/é", password_file=secret_file)
    assert list(topology.vhosts) == [("elsewhere/é",)]
    assert [p.vhost for p in topology.permissions.values()] == ["elsewhere/é"]
    assert [e.vhost for e in topology.exchanges.values()] == ["elsewhere/é"]
    [user] = topology.users.values()
    assert user.password is not None and user.password.reveal() == "from-a-file"


def test_list_names_all_six(tut_env: dict[str, str]) -> None:
    done = tutorial(tut_env, "list", "-o", "json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [s["name"] for s in listed] == list(SCENARIOS)
    assert {p for s in listed for p in s["programs"]} == {
        "send", "receive", "new_task", "worker", "emit_log", "receive_logs", "emit_log_direct",
        "receive_logs_direct", "emit_log_topic", "receive_logs_topic", "rpc_server", "rpc_client",
    }  # fmt: skip


@pytest.mark.parametrize("vhost", ["myproject", "other/é"])
def test_show_prints_explanation_and_a_valid_topology(tut_env: dict[str, str], vhost: str) -> None:
    done = tutorial(tut_env, "show", "routing", "--vhost", vhost)
    assert done.returncode == 0, done.stderr
    assert "direct exchange `direct_logs`" in done.stdout
    topology = load_topology_text(done.stdout, "<show>", resolve_secrets=False)
    assert list(topology.exchanges) == [(vhost, "direct_logs")]


def test_unknown_scenario_is_a_usage_error(tut_env: dict[str, str]) -> None:
    done = tutorial(tut_env, "show", "hello")
    assert done.returncode == 2
    assert "hello-world" in done.stderr


@pytest.fixture
def fresh_vhost(admin_client: HttpClient) -> Iterator[str]:
    name = f"tut-fresh {secrets.token_hex(3)}/é#"
    yield name
    admin_client.delete(api_path("vhosts", name))


def _provision_json(env: dict[str, str], name: str, vhost: str, *extra: str) -> dict[str, object]:
    done = tutorial(env, "provision", name, "--vhost", vhost, "-o", "json", *extra)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert isinstance(payload, dict)
    return payload


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_provision_from_empty_then_again_changes_nothing(
    tut_env: dict[str, str], admin_client: HttpClient, fresh_vhost: str, name: str
) -> None:
    assert admin_client.get_or_none(api_path("vhosts", fresh_vhost)) is None
    first = _provision_json(tut_env, name, fresh_vhost)
    created = {(c["kind"], c["action"]) for c in first["plan"]["changes"]}  # type: ignore[index]
    kind, object_name, object_type = EXPECTED[name]
    assert {("vhost", "create"), (kind, "create"), ("permission", "create")} <= created
    assert first["result"]["ok"] is True  # type: ignore[index]

    server_object = admin_client.get(api_path(f"{kind}s", fresh_vhost, object_name))
    assert isinstance(server_object, dict)
    assert server_object["durable"] is True
    assert server_object["type"] == object_type
    permission = admin_client.get(api_path("permissions", fresh_vhost, "myuser"))
    assert isinstance(permission, dict) and permission["configure"] == ".*"

    again = _provision_json(tut_env, name, fresh_vhost)
    assert again["plan"]["changes"] == []  # type: ignore[index]


def test_dry_run_changes_nothing(tut_env: dict[str, str], admin_client: HttpClient, fresh_vhost: str) -> None:
    payload = _provision_json(tut_env, "rpc", fresh_vhost, "--dry-run")
    assert payload["plan"]["changes"]  # type: ignore[index]
    assert admin_client.get_or_none(api_path("vhosts", fresh_vhost)) is None


def test_provision_without_a_password_refuses_without_a_terminal(tut_env: dict[str, str], fresh_vhost: str) -> None:
    env = {k: v for k, v in tut_env.items() if k != "MYUSER_PASSWORD"}
    done = tutorial(env, "provision", "hello-world", "--vhost", fresh_vhost)
    assert done.returncode == 2
    assert "MYUSER_PASSWORD" in done.stderr


def test_provision_takes_the_password_from_a_file(tut_env: dict[str, str], fresh_vhost: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "myuser.password"
    secret_file.write_text(TUTORIAL_PASSWORD + "\n")
    env = {k: v for k, v in tut_env.items() if k != "MYUSER_PASSWORD"}
    _provision_json(env, "hello-world", fresh_vhost, "--tutorial-password-file", str(secret_file))
    # The runner reads the same file: the password never appears on a command line.
    done = tutorial(env, "run", "send", "--vhost", fresh_vhost, "--tutorial-password-file", str(secret_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout == " [x] Sent 'Hello World!'\n"
    assert TUTORIAL_PASSWORD not in done.stdout + done.stderr


def test_runner_against_unprovisioned_objects_says_to_provision(tut_env: dict[str, str], fresh_vhost: str) -> None:
    _provision_json(tut_env, "hello-world", fresh_vhost)
    done = tutorial(tut_env, "run", "worker", "--vhost", fresh_vhost, "--timeout", "1")
    assert done.returncode == 1
    assert "queue 'task_queue' does not exist" in done.stderr
    assert "rabbitadmin tutorial provision work-queues --vhost" in done.stderr
    assert "Traceback" not in done.stderr


def test_runner_against_a_missing_vhost_says_to_provision(tut_env: dict[str, str], fresh_vhost: str) -> None:
    done = tutorial(tut_env, "run", "emit_log", "--vhost", fresh_vhost)
    assert done.returncode == 3
    assert "rabbitadmin tutorial provision publish-subscribe" in done.stderr
    assert TUTORIAL_PASSWORD not in done.stderr


def test_amqp_port_is_discovered_through_the_management_api(tut_env: dict[str, str], fresh_vhost: str) -> None:
    _provision_json(tut_env, "hello-world", fresh_vhost)
    env = base_env({k: v for k, v in tut_env.items() if k != "RABBITADMIN_AMQP_PORT"})
    done = tutorial(env, "run", "send", "discovered", "--vhost", fresh_vhost)
    assert done.returncode == 0, done.stderr
    assert done.stdout == " [x] Sent 'discovered'\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "receive", "--count", "0"], "--count must be at least 1"),
        (["run", "worker", "--timeout", "0"], "--timeout must be a positive number"),
        (["run", "listen"], "no runner called 'listen'"),
        (["run", "rpc_client", "thirty"], "Usage: rabbitadmin tutorial run rpc_client"),
    ],
)
def test_bad_runner_arguments_are_usage_errors(tut_env: dict[str, str], args: list[str], message: str) -> None:
    done = tutorial(tut_env, *args)
    assert done.returncode == 2
    assert message in done.stderr
