"""Helpers the Ansible tests share: build the product's wheel as the docs say, run a playbook, read its recap."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "ansible" / "roles"
DIST_NAME = "rabbitadmin-declarative"
# Seconds: a first bootstrap installs packages and a virtualenv on a busy machine.
PLAYBOOK_TIMEOUT = 900


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of ``source`` the documented way (``pip wheel --no-deps SOURCE -w OUT``); its path.

    Raises ``AssertionError`` with pip's output when the build fails.
    """
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("rabbitadmin_declarative-*.whl")
    return wheel


def ansible_playbook(
    playbook: Path, inventory: Path, *extra: str, env: Mapping[str, str], home: Path
) -> subprocess.CompletedProcess[str]:
    """Run ansible-playbook (no terminal); stdout and stderr together in ``.stdout``.

    ``env`` is the whole environment of the controller process: a chroot connection passes it on to every
    command it runs in the root.
    """
    full_env = {
        **env,
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_ROLES_PATH": str(ROLES),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook), *extra],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )


def recap(output: str, host: str = "localhost") -> dict[str, int]:
    """The counters of the PLAY RECAP line for ``host``."""
    match = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", output, re.MULTILINE)
    assert match, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at ``port`` (from ``ss -ltn``), e.g. ``{"127.0.0.1"}``."""
    output = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, timeout=30, check=True).stdout
    addresses = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address, _, listen_port = fields[3].rpartition(":")
            if listen_port == str(port):
                addresses.add(address.strip("[]"))
    return addresses


def assert_bootstrapped(url: str, admin: tuple[str, str], myuser_password: str) -> None:
    """The node at ``url`` (management API) is what site.yml makes of ../topology.yaml.

    The administrator logs in with its tag, guest is gone, ``myuser`` logs in, the queues of ``myproject`` exist.
    """

    def get(path: str, auth: tuple[str, str]) -> requests.Response:
        return requests.get(url + path, auth=auth, timeout=30)

    whoami = get("/api/whoami", admin)
    assert whoami.status_code == 200 and "administrator" in whoami.json()["tags"]
    assert get("/api/whoami", ("guest", "guest")).status_code == 401
    assert get("/api/users/guest", admin).status_code == 404
    assert get("/api/whoami", ("myuser", myuser_password)).json()["tags"] == ["management"]
    queues = get("/api/queues/myproject", admin).json()
    assert {q["name"] for q in queues} == {"hello", "task_queue", "rpc_queue"}
