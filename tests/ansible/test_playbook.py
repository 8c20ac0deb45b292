"""ansible/site.yml against localhost: the role's real tasks start a private node in a temp dir on free ports.

One node for the whole module (a playbook run costs about 20 s); the tests run in file order and each
starts from the state the previous one left.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from rabbitadmin.sandbox import free_port, server_scripts_dir
from tests.ansible.support import REPO, ansible_playbook, assert_bootstrapped, listening_addresses, recap
from tests.lock_holder import lock_held_elsewhere

PLAYBOOK = REPO / "ansible" / "site.yml"
ADMIN_PASSWORD = "adm-" + secrets.token_hex(8)
MYUSER_PASSWORD = "my-" + secrets.token_hex(8)
# The role installs and starts the host's rabbitmq-server package (Debian 12: 3.10.8); a 4.0 target would
# be a Debian 13 host (docs/server-versions.md).
pytestmark = pytest.mark.rabbitmq_versions("3.10", reason="the role deploys the host's package, 3.10.8 on Debian 12")


@dataclass
class Deployment:
    """The variables of one deployment and a way to run the playbook with them."""

    tmp: Path
    variables: dict[str, object]

    @property
    def base_dir(self) -> Path:
        return Path(str(self.variables["rabbitmq_base_dir"]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.variables['rabbitmq_management_port']}"

    def topology(self, text: str) -> None:
        Path(str(self.variables["rabbitadmin_topology_file"])).write_text(text)

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """Run ansible-playbook (no terminal) and return its result; stdout+stderr in ``.stdout``."""
        vars_file = self.tmp / "vars.json"
        vars_file.write_text(json.dumps(self.variables))
        return ansible_playbook(
            PLAYBOOK,
            self.tmp / "inventory.ini",
            "-e",
            f"@{vars_file}",
            *extra,
            env=os.environ,
            home=self.tmp / "ansible-home",
        )

    def ctl_env(self) -> dict[str, str]:
        base = str(self.base_dir)
        return {**os.environ, "HOME": base, "RABBITMQ_CONF_ENV_FILE": f"{base}/rabbitmq-env.conf"}


def stop_node(deployment: Deployment) -> None:
    """Stop the node the playbook started (rabbitmqctl stop, then the pid from its pid file)."""
    ctl = server_scripts_dir() / "rabbitmqctl"
    subprocess.run(
        [str(ctl), "-n", str(deployment.variables["rabbitmq_nodename"]), "stop"],
        env=deployment.ctl_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    with contextlib.suppress(OSError, ValueError):
        pid = int((deployment.base_dir / "node.pid").read_text().strip())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, product_wheel: Path, rabbitmq_version: str
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("ansible")
    (tmp / "inventory.ini").write_text(
        f"[rabbitmq]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    deployed = Deployment(
        tmp,
        {
            "rabbitmq_install_package": False,  # installed already; the apt task is the only one skipped
            "rabbitmq_base_dir": str(tmp / "node"),
            "rabbitmq_nodename": f"ansible-{secrets.token_hex(3)}@localhost",
            "rabbitmq_bind_ip": "127.0.0.1",
            "rabbitmq_management_ip": "127.0.0.1",
            "rabbitmq_amqp_port": free_port(),
            "rabbitmq_management_port": free_port(),
            "rabbitmq_dist_port": free_port(),
            "rabbitmq_admin_user": "boss",
            "rabbitmq_admin_password": ADMIN_PASSWORD,
            "myuser_password": MYUSER_PASSWORD,
            # The role really installs rabbitadmin (the wheel of this checkout) into a fresh virtualenv, and
            # the topology module then runs under that virtualenv's Python.
            "rabbitadmin_virtualenv": str(tmp / "venv"),
            "rabbitadmin_wheel": str(product_wheel),
            "rabbitadmin_topology_file": str(tmp / "topology.yaml"),
        },
    )
    deployed.topology((REPO / "topology.yaml").read_text())
    try:
        yield deployed
    finally:
        stop_node(deployed)


def _get(deployment: Deployment, path: str, user: str, password: str) -> requests.Response:
    return requests.get(deployment.url + path, auth=(user, password), timeout=30)


def test_first_run_bootstraps_node_and_topology(deployment: Deployment) -> None:
    result = deployment.run("-v")
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] > 0
    assert (deployment.tmp / "venv" / "bin" / "rabbitadmin").exists()
    # The distribution port listens with AMQP and the management API, on loopback only.
    assert listening_addresses(int(str(deployment.variables["rabbitmq_dist_port"]))) == {"127.0.0.1"}
    for secret in (ADMIN_PASSWORD, MYUSER_PASSWORD):
        assert secret not in result.stdout  # no_log everywhere, even with -v
    assert_bootstrapped(deployment.url, ("boss", ADMIN_PASSWORD), MYUSER_PASSWORD)
    perms = _get(deployment, "/api/permissions/myproject/myuser", "boss", ADMIN_PASSWORD).json()
    assert (perms["configure"], perms["write"], perms["read"]) == (".*", ".*", ".*")
    exchanges = _get(deployment, "/api/exchanges/myproject/topic_logs", "boss", ADMIN_PASSWORD).json()
    assert exchanges["type"] == "topic"


def test_second_run_changes_nothing(deployment: Deployment) -> None:
    result = deployment.run()
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] == 0, result.stdout


def test_check_diff_shows_plan_and_writes_nothing(deployment: Deployment) -> None:
    original = (REPO / "topology.yaml").read_text()
    changed = original.replace("      - {name: rpc_queue}", "      - {name: rpc_queue}\n      - {name: audit_queue}")
    assert changed != original
    deployment.topology(changed)
    try:
        result = deployment.run("--check", "--diff")
    finally:
        deployment.topology(original)
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] == 1, result.stdout  # only the topology task would change
    assert "audit_queue" in result.stdout and "Summary: 1 to create" in result.stdout
    missing = _get(deployment, "/api/queues/myproject/audit_queue", "boss", ADMIN_PASSWORD)
    assert missing.status_code == 404


def test_invalid_topology_fails_clearly_and_writes_nothing(deployment: Deployment) -> None:
    original = (REPO / "topology.yaml").read_text()
    # A valid new vhost first, then two mistakes: nothing at all may reach the server.
    deployment.topology(
        "vhosts:\n  - name: brandnew\n  - name: myproject\n    exchanges:\n      - {name: x, type: no-such-type}\n"
        "users:\n  - {name: plain, password: in-clear}\n"
    )
    try:
        result = deployment.run()
    finally:
        deployment.topology(original)
    assert result.returncode != 0
    assert recap(result.stdout)["failed"] == 1
    assert "invalid topology, nothing written" in result.stdout
    assert "<content>:5" in result.stdout and "<content>:7" in result.stdout, result.stdout
    assert _get(deployment, "/api/vhosts/brandnew", "boss", ADMIN_PASSWORD).status_code == 404


def test_check_mode_fails_where_the_real_run_would_destroy_messages(deployment: Deployment) -> None:
    publish = requests.post(
        deployment.url + "/api/exchanges/myproject/amq.default/publish",
        auth=("boss", ADMIN_PASSWORD),
        json={"properties": {}, "routing_key": "task_queue", "payload": "work", "payload_encoding": "string"},
        timeout=30,
    )
    assert publish.json() == {"routed": True}
    original = (REPO / "topology.yaml").read_text()
    doomed = original.replace("      - {name: task_queue}", "      - {name: task_queue, state: absent}")
    assert doomed != original
    deployment.topology(doomed)
    try:
        result = deployment.run("--check")
    finally:
        deployment.topology(original)
    assert result.returncode != 0
    assert "refusing to destroy messages" in result.stdout, result.stdout
    assert _get(deployment, "/api/queues/myproject/task_queue", "boss", ADMIN_PASSWORD).status_code == 200


def test_apply_waits_for_another_applys_lock_then_fails_naming_it(deployment: Deployment) -> None:
    # The module takes the per-vhost apply lock like `rabbitadmin apply`; another process holds myproject's.
    amqp_port = int(str(deployment.variables["rabbitmq_amqp_port"]))
    with lock_held_elsewhere(deployment.url, "boss", ADMIN_PASSWORD, amqp_port, "myproject") as holder_pid:
        deployment.variables["rabbitadmin_lock_timeout"] = 10
        try:
            locked = deployment.run()
        finally:
            del deployment.variables["rabbitadmin_lock_timeout"]
        # Check mode only reads, like `rabbitadmin plan`: the lock does not stop it.
        checked = deployment.run("--check")
    assert locked.returncode != 0
    assert recap(locked.stdout)["failed"] == 1, locked.stdout
    assert f"waited up to 10 s for the apply lock of vhost 'myproject', held by pid {holder_pid}" in locked.stdout
    assert f"another apply holds the apply lock of vhost 'myproject': pid {holder_pid}" in locked.stdout
    assert checked.returncode == 0, checked.stdout
    # The holder was killed: its lock went with its connection, and the next run goes through.
    again = deployment.run()
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout


def test_configuration_change_restarts_the_node(deployment: Deployment) -> None:
    new_port = free_port()
    deployment.variables["rabbitmq_amqp_port"] = new_port
    result = deployment.run()
    assert result.returncode == 0, result.stdout
    # The task header prints even when skipped: look at its outcome line.
    assert re.search(r"Stop the node to pick up new configuration.*\*+\nchanged:", result.stdout), result.stdout
    listeners = _get(deployment, "/api/overview", "boss", ADMIN_PASSWORD).json()["listeners"]
    assert {(item["protocol"], item["port"]) for item in listeners} >= {("amqp", new_port)}
    again = deployment.run()
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout
