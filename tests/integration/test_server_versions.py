"""Version-aware plans and audit on real 3.10.8 and 4.0.5 nodes, and a topology moving between them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner, ctl_env

BACKENDS = ["http", "ctl"]


def deprecated_topology(vhost: str) -> dict[str, object]:
    return {
        "vhosts": [
            {
                "name": vhost,
                "queues": [
                    {"name": "transient", "durable": False},
                    {"name": "lazy", "arguments": {"x-queue-mode": "lazy"}},
                    {"name": "quorum", "type": "quorum"},
                ],
            }
        ]
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_knows_the_server_version_and_warns_about_its_deprecations(
    rabbitadmin: CliRunner, vhost: str, rabbitmq_version: str, backend: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(deprecated_topology(vhost), allow_unicode=True))
    result = rabbitadmin("--backend", backend, "plan", str(path), "-o", "json", check=True)
    plan = json.loads(result.stdout)
    assert plan["server_version"].startswith(rabbitmq_version + ".")
    warnings = "\n".join(plan["warnings"])
    if rabbitmq_version == "4.0":
        assert "queue 'transient'" in warnings and "transient non-exclusive queues are deprecated" in warnings
        assert "x-queue-mode has no effect" in warnings and "20 redeliveries" in warnings
    else:
        assert plan["warnings"] == []
    text = rabbitadmin("--backend", backend, "apply", str(path), "--yes", check=True)
    assert f"on RabbitMQ {plan['server_version']}" in text.stdout  # warnings do not stop an apply
    assert ("warning:" in text.stdout) is (rabbitmq_version == "4.0")
    again = json.loads(rabbitadmin("--backend", backend, "plan", str(path), "-o", "json", check=True).stdout)
    assert again["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}


def test_audit_reports_deprecated_features_in_use(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, rabbitmq_version: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "transient"), {"durable": False, "auto_delete": False})
    for backend in BACKENDS:
        result = rabbitadmin("--backend", backend, "audit", "-o", "json")
        assert result.returncode == 0, result.stderr
        found = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "RA023"]
        assert [f["objects"] for f in found] == [["deprecated_feature:transient_nonexcl_queues"]], found
        if rabbitmq_version == "4.0" and backend == "http":
            assert "the server reports it in use" in found[0]["message"]
        else:  # 3.10 has no deprecated-features API; rabbitmqctl's listing is not read
            assert "deprecated in RabbitMQ 4.0" in found[0]["message"]


@pytest.fixture
def other_node(tmp_path: Path, rabbitmq_version: str) -> Iterator[SandboxInfo]:
    """A node of the other version than the session's (its own, stopped after the test)."""
    other = "4.0" if rabbitmq_version == "3.10" else "3.10"
    box = Sandbox(tmp_path / f"other-{other}", rabbitmq=other)
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


def test_a_topology_exported_from_one_version_plans_clean_on_the_other(
    rabbitadmin: CliRunner, vhost: str, other_node: SandboxInfo, tmp_path: Path
) -> None:
    """No spurious changes from server-side defaults: 4.0 exports default_queue_type on every vhost and
    reports x-queue-type on classic queues; quorum queues get a delivery limit of 20 without reporting it."""
    topology = {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": "x", "type": "topic"}],
                "queues": [
                    {"name": "classic"},
                    {"name": "quorum", "type": "quorum"},
                    {"name": "limited", "type": "quorum", "arguments": {"x-delivery-limit": 3}},
                ],
                "bindings": [{"source": "x", "destination": "classic", "routing_key": "a.#"}],
            }
        ]
    }
    source = tmp_path / "source.yaml"
    source.write_text(yaml.safe_dump(topology, allow_unicode=True))
    rabbitadmin("apply", str(source), "--yes", check=True)
    exported = tmp_path / "exported.yaml"
    rabbitadmin("export", "--vhost", vhost, "--output-file", str(exported), check=True)

    other_env = {
        "RABBITADMIN_URL": other_node.url,
        "RABBITADMIN_USER": other_node.user,
        "RABBITADMIN_PASSWORD_FILE": str(other_node.password_file),
        "RABBITADMIN_AMQP_PORT": str(other_node.amqp_port),  # the apply lock and message counts go over AMQP
        **ctl_env(other_node),
    }
    for document in (exported, source):
        rabbitadmin("apply", str(document), "--yes", env=other_env, check=True)
        for backend in BACKENDS:
            plan = rabbitadmin("--backend", backend, "plan", str(document), "--detailed-exitcode", env=other_env)
            assert plan.returncode == 0, plan.stdout + plan.stderr
    # And back: the other version's export plans clean on the session node.
    back = tmp_path / "back.yaml"
    rabbitadmin("export", "--vhost", vhost, "--output-file", str(back), env=other_env, check=True)
    assert rabbitadmin("plan", str(back), "--detailed-exitcode").returncode == 0
    rabbitadmin("vhosts", "delete", vhost, "--yes", env=other_env)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_readme_tour_commands_on_each_version(
    rabbitadmin: CliRunner, backend: str, node: SandboxInfo, tmp_path: Path
) -> None:
    """validate, plan, apply, export, queues/users listings and authenticate through each backend."""
    vhost = f"tour-{secrets.token_hex(3)}"
    user = f"tour-{secrets.token_hex(3)}"
    password = "tour secret " + secrets.token_hex(4)
    text = (Path(__file__).parents[2] / "topology.yaml").read_text().replace("myproject", vhost).replace("myuser", user)
    text = text.replace(
        "  - name: guest                             # the default user: remove it\n    state: absent\n", ""
    )
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    env = {"MYUSER_PASSWORD": password, "PW": password}
    run = lambda *args: rabbitadmin("--backend", backend, *args, env=env)  # noqa: E731
    assert run("validate", str(path)).returncode == 0
    assert run("apply", str(path), "--yes").returncode == 0
    assert run("plan", str(path), "--detailed-exitcode").returncode == 0
    exported = run("export", "--vhost", vhost)
    assert exported.returncode == 0 and "task_queue" in exported.stdout
    queues = json.loads(run("queues", "list", "--vhost", vhost, "-o", "json").stdout)
    assert {q["name"] for q in queues} == {"hello", "task_queue", "rpc_queue"}
    assert run("users", "authenticate", user, "--password-env", "PW").returncode == 0
    assert run("users", "authenticate", user, "--password-env", "MYUSER_PASSWORD").stdout.strip() == "success"
    assert password not in exported.stdout
    assert run("vhosts", "delete", vhost, "--yes").returncode == 0
    assert run("users", "delete", user, "--yes").returncode == 0
