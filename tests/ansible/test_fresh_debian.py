"""ansible/site.yml on a fresh Debian 12 root, as an operator bootstraps a new server (docs/ansible.md).

The root (tests/ansible/debian_root.py) is reached with the ``community.general.chroot`` connection and gets
the package's default layout: apt installs rabbitmq-server, the node runs as the ``rabbitmq`` user with its
config in /etc/rabbitmq, started with ``rabbitmq-server -detached`` (no systemd in a chroot). The root shares
the host's network, so the node gets free loopback ports, an epmd of its own and a name no other node has.
The tests run in file order on one root and each starts from the state the previous one left.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from rabbitadmin.sandbox import free_port
from tests.ansible.debian_root import fresh_root, processes_in
from tests.ansible.support import (
    REPO,
    ansible_playbook,
    assert_bootstrapped,
    listening_addresses,
    recap,
)

PLAYBOOK = REPO / "ansible" / "site.yml"
HOST = "debian12"
ADMIN_PASSWORD = "adm-" + secrets.token_hex(8)
MYUSER_PASSWORD = "my-" + secrets.token_hex(8)
VENV = "/opt/rabbitadmin"


@dataclass
class RootDeployment:
    """One fresh root, its inventory and a way to run the playbook against it."""

    tmp: Path
    root: Path
    inventory: Path
    topology_file: Path
    ports: dict[str, int]
    nodename: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['management']}"

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        env = {
            # The chroot connection hands the controller's whole environment (here with CA variables naming
            # files the root lacks) to every command in the root. A pip setting there must not steer the
            # role's pip (it runs --isolated): this one would break it.
            **os.environ,
            "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
            "PIP_NO_INDEX": "1",
        }
        return ansible_playbook(
            PLAYBOOK,
            self.inventory,
            "-e",
            f"rabbitadmin_topology_file={self.topology_file}",
            *extra,
            env=env,
            home=self.tmp / "ansible-home",
        )

    def in_root(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["chroot", str(self.root), *argv], capture_output=True, text=True, timeout=120, check=False
        )

    def installed_packages(self) -> set[str]:
        status = (self.root / "var" / "lib" / "dpkg" / "status").read_text()
        return {
            block.split("\n", 1)[0].removeprefix("Package: ")
            for block in status.split("\n\n")
            if "Status: install ok installed" in block
        }


def _ca_bundle() -> Path | None:
    """The controller's CA bundle, so pip inside the root trusts what pip here trusts."""
    candidates = (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().cafile,
        "/etc/ssl/certs/ca-certificates.crt",
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, product_wheel: Path) -> Iterator[RootDeployment]:
    tmp = tmp_path_factory.mktemp("fresh-debian")
    ca_bundle = _ca_bundle()
    with fresh_root(tmp / "root", ca_bundle) as root:
        ports = {name: free_port() for name in ("amqp", "management", "dist", "epmd")}
        nodename = f"boot-{secrets.token_hex(3)}@localhost"
        inventory = tmp / "inventory.yml"
        # Everything an operator would put in the inventory (the secrets would be in Vault). JSON is YAML.
        variables: dict[str, object] = {
            "ansible_python_interpreter": "/usr/bin/python3",
            "rabbitmq_nodename": nodename,
            "rabbitmq_bind_ip": "127.0.0.1",
            "rabbitmq_management_ip": "127.0.0.1",
            "rabbitmq_amqp_port": ports["amqp"],
            "rabbitmq_management_port": ports["management"],
            "rabbitmq_dist_port": ports["dist"],
            "rabbitmq_epmd_port": ports["epmd"],
            "rabbitmq_admin_user": "admin",
            "rabbitmq_admin_password": ADMIN_PASSWORD,
            "myuser_password": MYUSER_PASSWORD,
            "rabbitadmin_virtualenv": VENV,
            "rabbitadmin_wheel": str(product_wheel),
            "rabbitadmin_pip_extra_args": "--cert /etc/ssl/controller-ca.pem" if ca_bundle else "",
        }
        hosts = {HOST: {"ansible_host": str(root), "ansible_connection": "community.general.chroot"}}
        inventory.write_text(json.dumps({"rabbitmq": {"hosts": hosts, "vars": variables}}, indent=2))
        topology_file = tmp / "topology.yaml"
        topology_file.write_text((REPO / "topology.yaml").read_text())
        deployment = RootDeployment(tmp, root, inventory, topology_file, ports, nodename)
        try:
            yield deployment
        finally:
            # A clean stop first; fresh_root then ends whatever is left (epmd) and unmounts.
            deployment.in_root("/usr/sbin/rabbitmqctl", "-n", nodename, "stop")


def _get(deployment: RootDeployment, path: str, user: str, password: str) -> requests.Response:
    return requests.get(deployment.url + path, auth=(user, password), timeout=30)


def test_check_mode_on_a_never_bootstrapped_root_says_what_would_happen(deployed: RootDeployment) -> None:
    result = deployed.run("--check", "--diff")
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout, HOST)["failed"] == 0
    assert "does not exist yet" in result.stdout
    assert "apt would install rabbitmq-server, python3-venv" in result.stdout, result.stdout
    assert "rabbitadmin-declarative" in result.stdout and "would be installed into /opt/rabbitadmin" in result.stdout
    assert "No plan: the node does not exist yet" in result.stdout
    # Nothing written, nothing started.
    assert "rabbitmq-server" not in deployed.installed_packages()
    assert not (deployed.root / "etc" / "rabbitmq").exists()
    assert not (deployed.root / "opt" / "rabbitadmin").exists()
    assert processes_in(deployed.root) == []


def test_first_run_bootstraps_the_root(deployed: RootDeployment) -> None:
    result = deployed.run("-v")
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout, HOST)["changed"] > 0
    for secret in (ADMIN_PASSWORD, MYUSER_PASSWORD):
        assert secret not in result.stdout
    # apt installed the server; the package's layout holds its config and data.
    assert {"rabbitmq-server", "python3-venv"} <= deployed.installed_packages()
    assert f"NODENAME={deployed.nodename}" in (deployed.root / "etc/rabbitmq/rabbitmq-env.conf").read_text()
    assert (deployed.root / "etc/rabbitmq/rabbitmq.conf").exists()
    assert (deployed.root / "var/lib/rabbitmq/mnesia").is_dir()
    # No systemd in a chroot: the node was started detached, and runs as the rabbitmq user.
    assert re.search(r"Start the node detached \(without systemd\).*\*+\nchanged:", result.stdout), result.stdout
    rabbitmq_uid = int(deployed.in_root("id", "-u", "rabbitmq").stdout)
    beams = [pid for pid in processes_in(deployed.root) if Path(f"/proc/{pid}/comm").read_text().strip() == "beam.smp"]
    assert beams and all(Path(f"/proc/{pid}").stat().st_uid == rabbitmq_uid for pid in beams), beams
    # The administrator from the inventory works over HTTP; guest is gone.
    # The topology is applied.
    assert_bootstrapped(deployed.url, ("admin", ADMIN_PASSWORD), MYUSER_PASSWORD)
    # The product from its wheel, at the wheel's version, under its own distribution name.
    probe = deployed.in_root(
        f"{VENV}/bin/python",
        "-c",
        "import importlib.metadata as m, json, rabbitadmin.engine;"
        "print(json.dumps([m.version('rabbitadmin-declarative'), m.packages_distributions()['rabbitadmin']]))",
    )
    version, owners = json.loads(probe.stdout)
    assert version == (REPO / "pyproject.toml").read_text().split('version = "', 1)[1].split('"', 1)[0]
    assert set(owners) == {"rabbitadmin-declarative"}, owners
    assert deployed.in_root(f"{VENV}/bin/rabbitadmin", "--version").returncode == 0
    # The distribution port listens where AMQP and the management API do; epmd on loopback only (it adds
    # IPv6 loopback of its own accord).
    for port in ("amqp", "management", "dist"):
        assert listening_addresses(deployed.ports[port]) == {"127.0.0.1"}, port
    epmd = listening_addresses(deployed.ports["epmd"])
    assert "127.0.0.1" in epmd and epmd <= {"127.0.0.1", "::1"}, epmd


def test_second_run_changes_nothing(deployed: RootDeployment) -> None:
    result = deployed.run()
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout, HOST)["changed"] == 0, result.stdout
    # dpkg-query found the packages: apt is not even asked.
    assert re.search(r"Install the missing packages.*\*+\nskipping:", result.stdout), result.stdout


def test_check_diff_after_a_topology_change_shows_the_plan_and_writes_nothing(deployed: RootDeployment) -> None:
    original = deployed.topology_file.read_text()
    changed = original.replace("      - {name: rpc_queue}", "      - {name: rpc_queue}\n      - {name: audit_queue}")
    assert changed != original
    deployed.topology_file.write_text(changed)
    before = _get(deployed, "/api/definitions", "admin", ADMIN_PASSWORD).json()
    result = deployed.run("--check", "--diff")
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout, HOST)["changed"] == 1, result.stdout  # only the topology would change
    assert "audit_queue" in result.stdout and "Summary: 1 to create" in result.stdout
    assert _get(deployed, "/api/queues/myproject/audit_queue", "admin", ADMIN_PASSWORD).status_code == 404
    after = _get(deployed, "/api/definitions", "admin", ADMIN_PASSWORD).json()
    assert after == before
