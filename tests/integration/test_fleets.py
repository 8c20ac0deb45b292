"""Fleets on real nodes, through the command line: several targets (the session node twice, with different
variables, so different vhosts), a group, a target whose port is closed, a target whose vhost is locked.

Each target is the session node under another name with its own ``vars``, except in the one test that
needs two servers with different state: it starts a second node (``second_node``).
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.model import Secret
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner
from ..lock_holder import lock_held_elsewhere

TOPOLOGY = """\
vhosts:
  - name: ${vhost}
    queues:
      - name: orders
        arguments:
          x-max-length: ${max}
"""


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def target(name: str, node: SandboxInfo, url: str | None = None, **variables: object) -> str:
    body = (
        f'[targets.{name}]\nurl = "{url or node.url}"\nuser = "{node.user}"\npassword_env = "FLEET_PW"\n'
        f"amqp_port = {node.amqp_port}\n"
    )
    if variables:
        body += f"[targets.{name}.vars]\n" + "".join(
            f'{key} = "{value}"\n' if isinstance(value, str) else f"{key} = {value}\n"
            for key, value in variables.items()
        )
    return body + "\n"


@pytest.fixture
def vhosts(admin_client: HttpClient) -> Iterator[tuple[str, str]]:
    """Two vhost names for two targets; deleted afterwards."""
    names = (f"fleet-a-{uuid.uuid4().hex[:8]}", f"fleet-b-{uuid.uuid4().hex[:8]}")
    yield names
    for name in names:
        admin_client.request("DELETE", api_path("vhosts", name), ok_statuses=(204, 404))


@pytest.fixture
def password(node: SandboxInfo) -> str:
    return Path(node.password_file).read_text(encoding="utf-8").splitlines()[0].strip()


def fleet_runner(tmp_path: Path, text: str, password: str) -> CliRunner:
    """The suite's runner with only this targets file (no RABBITADMIN_URL & co: each target gives its own)."""
    (tmp_path / "targets.toml").write_text(text, encoding="utf-8")
    (tmp_path / "topology.yaml").write_text(TOPOLOGY, encoding="utf-8")
    return CliRunner({"RABBITADMIN_CONFIG": str(tmp_path / "targets.toml"), "FLEET_PW": password})


def max_length(client: HttpClient, vhost: str) -> object:
    queue = client.request("GET", api_path("queues", vhost, "orders")).json()
    return queue["arguments"].get("x-max-length")


def test_two_targets_plan_then_apply_each_with_its_vars(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, b = vhosts
    config = target("dev", node, vhost=a, max=100) + target("prod", node, vhost=b, max=5000)
    run = fleet_runner(tmp_path, config + '[groups.all]\ntargets = ["dev", "prod"]\n', password)
    topology = str(tmp_path / "topology.yaml")

    plan = run("plan", topology, "--target", "dev", "--target", "prod", "--detailed-exitcode")
    assert plan.returncode == 6, plan.stderr
    assert f"=== dev: {node.url} ===" in plan.stdout and f"=== prod: {node.url} ===" in plan.stdout
    dev_part, prod_part = plan.stdout.split("=== prod:")
    assert f"create vhost '{a}'" in dev_part and f"create vhost '{b}'" in prod_part
    rows = [line.split() for line in plan.stdout.splitlines() if line.startswith(("dev ", "prod "))]
    assert rows == [[name, "2", "0", "0", "0", "2", "change(s)", "6"] for name in ("dev", "prod")]

    applied = run("apply", topology, "--target", "all", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied 2 change(s)" in applied.stdout
    assert (max_length(admin_client, a), max_length(admin_client, b)) == (100, 5000)

    again = run("plan", topology, "--target", "all", "--detailed-exitcode", "-o", "json")
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert list(document["targets"]) == ["dev", "prod"] and document["exit_code"] == 0
    assert all(t["plan"]["changes"] == [] and t["exit_code"] == 0 for t in document["targets"].values())
    for output in (plan, applied, again):
        assert password not in output.stdout + output.stderr


def test_an_unreachable_target_never_hides_the_other(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, b = vhosts
    down = f"http://127.0.0.1:{closed_port()}"
    config = target("up", node, vhost=a, max=10) + target("down", node, url=down, vhost=b, max=10)
    run = fleet_runner(tmp_path, config + '[groups.both]\ntargets = ["down", "up"]\n', password)
    topology = str(tmp_path / "topology.yaml")

    plan = run("plan", topology, "--target", "both", "--detailed-exitcode", "-o", "json")
    document = json.loads(plan.stdout)
    assert plan.returncode == 3 == document["exit_code"]  # CONNECTION is worse than changes pending (6)
    assert document["targets"]["up"]["exit_code"] == 6 and len(document["targets"]["up"]["plan"]["changes"]) == 2
    failed = document["targets"]["down"]
    assert failed["exit_code"] == 3 and "cannot connect" in failed["error"]["message"] and "plan" not in failed

    applied = run("apply", topology, "--target", "both", "--yes")
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert max_length(admin_client, a) == 10  # the reachable target was applied
    summary = {line.split()[0]: line for line in applied.stdout.splitlines() if line.startswith(("up ", "down "))}
    assert "applied 2 change(s)" in summary["up"] and summary["up"].rstrip().endswith(" 0")
    assert "failed: cannot connect" in summary["down"] and summary["down"].rstrip().endswith(" 3")


def test_a_locked_target_is_left_out_and_the_others_applied(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, b = vhosts
    admin_client.request("PUT", api_path("vhosts", b), body={})
    run = fleet_runner(tmp_path, target("free", node, vhost=a, max=7) + target("held", node, vhost=b, max=7), password)
    with lock_held_elsewhere(node.url, node.user, password, node.amqp_port, b):
        applied = run(
            "apply", str(tmp_path / "topology.yaml"), "--target", "free", "--target", "held", "--yes",
            "--lock-timeout", "0", "-o", "json",
        )  # fmt: skip
    document = json.loads(applied.stdout)
    assert applied.returncode == 8 == document["exit_code"], applied.stderr  # LOCKED
    assert document["targets"]["free"]["status"] == "applied 2 change(s)"
    assert document["targets"]["held"]["error"]["type"] == "ApplyLocked"
    assert max_length(admin_client, a) == 7
    assert admin_client.request("GET", api_path("queues", b, "orders"), ok_statuses=(200, 404)).status_code == 404


def test_an_undefined_variable_for_one_target_stops_every_apply(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, b = vhosts
    run = fleet_runner(tmp_path, target("good", node, vhost=a, max=1) + target("bad", node, vhost=b), password)
    applied = run("apply", str(tmp_path / "topology.yaml"), "--target", "good", "--target", "bad", "--yes")
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert "topology.yaml:6:25: vhosts[0].queues[0].arguments.x-max-length: variable ${max} is not defined" in (
        applied.stdout
    )
    assert "not applied: the topology is invalid for bad" in applied.stdout
    names = {v["name"] for v in admin_client.request("GET", "/api/vhosts").json()}
    assert a not in names and b not in names  # nothing was written anywhere


def test_apply_asks_once_and_refuses_without_a_terminal(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, b = vhosts
    run = fleet_runner(tmp_path, target("x", node, vhost=a, max=1) + target("y", node, vhost=b, max=2), password)
    refused = run("apply", str(tmp_path / "topology.yaml"), "--target", "x", "--target", "y")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "Apply 4 change(s) on 2 target(s): x (2), y (2)?" in refused.stderr
    assert f"create vhost '{a}'" in refused.stdout and f"create vhost '{b}'" in refused.stdout  # both plans shown
    names = {v["name"] for v in admin_client.request("GET", "/api/vhosts").json()}
    assert a not in names and b not in names


def test_var_on_the_command_line_wins_and_one_target_uses_its_vars(
    node: SandboxInfo, admin_client: HttpClient, vhosts: tuple[str, str], password: str, tmp_path: Path
) -> None:
    a, _ = vhosts
    run = fleet_runner(tmp_path, target("one", node, vhost=a, max=1), password)
    topology = str(tmp_path / "topology.yaml")
    applied = run("apply", topology, "--target", "one", "--var", "max=42", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "===" not in applied.stdout  # one target: the single-target output, no headings
    assert max_length(admin_client, a) == 42
    assert run("validate", topology, "--target", "one").returncode == 0
    missing = run("validate", topology)  # no target, no --var: every reference is undefined
    assert missing.returncode == 2 and "variable ${vhost} is not defined" in missing.stderr


def test_audit_on_two_targets(node: SandboxInfo, password: str, tmp_path: Path) -> None:
    run = fleet_runner(tmp_path, target("one", node) + target("two", node), password)
    audited = run("audit", "--target", "one", "--target", "two", "--fail-on", "info", "-o", "json")
    document = json.loads(audited.stdout)
    assert audited.returncode == 7 == document["exit_code"], audited.stderr  # FINDINGS on both
    assert list(document["targets"]) == ["one", "two"]
    assert all(t["findings"] and t["exit_code"] == 7 for t in document["targets"].values())


def test_several_targets_are_refused_where_one_is_needed(node: SandboxInfo, password: str, tmp_path: Path) -> None:
    run = fleet_runner(tmp_path, target("one", node) + target("two", node), password)
    result = run("users", "list", "--target", "one", "--target", "two")
    assert result.returncode == 2 and "give `users` one --target" in result.stderr
    topology = str(tmp_path / "topology.yaml")
    shared = run("plan", topology, "--target", "one", "--target", "two", env={"RABBITADMIN_URL": node.url})
    assert shared.returncode == 2 and "--url / RABBITADMIN_URL would apply to all of them" in shared.stderr


@pytest.fixture
def second_node(rabbitmq_version: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """A node of its own, distinct from the session node (its own state), for the one test that needs two
    servers that differ; about 15-20 s to start and 5-7 s to stop on this machine, per server version."""
    box = Sandbox(tmp_path_factory.mktemp("fleet-second") / "node", rabbitmq=rabbitmq_version)
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


def test_two_distinct_nodes_each_planned_from_its_own_state(
    node: SandboxInfo, second_node: SandboxInfo, admin_client: HttpClient, tmp_path: Path
) -> None:
    vhost = f"fleet-two-{uuid.uuid4().hex[:8]}"
    other = HttpClient(ConnectionSettings(second_node.url, second_node.user, Secret(second_node.password())))
    try:
        # The same vhost and queue on the second node already, with another max-length: a replace there.
        other.request("PUT", api_path("vhosts", vhost), body={})
        queue = {"durable": True, "arguments": {"x-max-length": 9}}
        other.request("PUT", api_path("queues", vhost, "orders"), body=queue)
        config = ""
        for name, info in (("one", node), ("two", second_node)):
            config += (
                f'[targets.{name}]\nurl = "{info.url}"\nuser = "{info.user}"\n'
                f'password_file = "{info.password_file}"\n'
                f'amqp_port = {info.amqp_port}\nvars = {{ vhost = "{vhost}", max = 3 }}\n\n'
            )
        run = fleet_runner(tmp_path, config, "unused")
        topology = str(tmp_path / "topology.yaml")
        plan = run("plan", topology, "--target", "one", "--target", "two", "-o", "json")
        targets = json.loads(plan.stdout)["targets"]
        assert plan.returncode == 0, plan.stderr
        assert targets["one"]["plan"]["summary"]["create"] == 2 and targets["one"]["plan"]["summary"]["replace"] == 0
        assert targets["two"]["plan"]["summary"]["create"] == 0 and targets["two"]["plan"]["summary"]["replace"] == 1
        applied = run("apply", topology, "--target", "one", "--target", "two", "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert max_length(admin_client, vhost) == 3 and max_length(other, vhost) == 3
    finally:
        admin_client.request("DELETE", api_path("vhosts", vhost), ok_statuses=(204, 404))
        other.close()
