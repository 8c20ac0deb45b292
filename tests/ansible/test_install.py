"""The role's "is rabbitadmin installed" check on a local virtualenv: wrong package, old version, same version.

The tests run in file order on one virtualenv. The stranger's package is a tiny wheel built here, named
``rabbitadmin`` like the unrelated project on PyPI; the real one is never downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible.support import REPO, ansible_playbook, build_wheel, recap

PLAYBOOK = Path(__file__).parent / "playbooks" / "install_rabbitadmin.yml"
CURRENT = (REPO / "pyproject.toml").read_text().split('version = "', 1)[1].split('"', 1)[0]
OLDER = "0.0.1"
# The virtualenv after a good install: only our distribution owns the package, at this version, engine and all.
OURS_ONLY = {"owners": ["rabbitadmin-declarative"], "version": CURRENT, "engine": True, "stranger": False}


def stranger_wheel(out: Path) -> Path:
    """A wheel of a distribution named ``rabbitadmin`` 1.2.1 whose ``rabbitadmin`` package is something else."""
    files = {
        "rabbitadmin/__init__.py": "# Someone else's rabbitadmin.\n",
        "rabbitadmin/stranger_client.py": "def hello() -> str:\n    return 'not the engine'\n",
        "rabbitadmin-1.2.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: rabbitadmin\nVersion: 1.2.1\n",
        "rabbitadmin-1.2.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        "rabbitadmin-1.2.1.dist-info/top_level.txt": "rabbitadmin\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("rabbitadmin-1.2.1.dist-info/RECORD,,")
    files["rabbitadmin-1.2.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = out / "rabbitadmin-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def older_wheel(tmp: Path) -> Path:
    """This checkout's wheel at version OLDER, built the documented way from a copy."""
    source = tmp / "older-source"
    shutil.copytree(REPO / "src" / "rabbitadmin", source / "src" / "rabbitadmin")
    shutil.copy(REPO / "README.md", source / "README.md")
    pyproject = (REPO / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(pyproject.replace(f'version = "{CURRENT}"', f'version = "{OLDER}"', 1))
    return build_wheel(source, tmp / "older-wheel")


@dataclass
class Venv:
    tmp: Path
    path: Path
    wheel: Path

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def state(self) -> dict[str, object]:
        """What the virtualenv holds: the owners of the ``rabbitadmin`` package, our version, the engine."""
        code = (
            "import importlib.metadata as m, importlib.util as u, json\n"
            "owners = sorted(set(m.packages_distributions().get('rabbitadmin', [])))\n"
            "try:\n    version = m.version('rabbitadmin-declarative')\n"
            "except m.PackageNotFoundError:\n    version = None\n"
            "package = u.find_spec('rabbitadmin') is not None\n"
            "print(json.dumps({'owners': owners, 'version': version,"
            " 'engine': package and u.find_spec('rabbitadmin.engine') is not None,"
            " 'stranger': package and u.find_spec('rabbitadmin.stranger_client') is not None}))"
        )
        result = subprocess.run(
            [str(self.path / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        state: dict[str, object] = json.loads(result.stdout)
        return state

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        inventory = self.tmp / "inventory.yml"
        variables = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rabbitmq_admin_password": "unused-here",
            "rabbitadmin_virtualenv": str(self.path),
            "rabbitadmin_wheel": str(self.wheel),
        }
        inventory.write_text(json.dumps({"all": {"hosts": {"localhost": variables}}}))
        return ansible_playbook(PLAYBOOK, inventory, *extra, env=os.environ, home=self.tmp / "ansible-home")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, product_wheel: Path) -> Iterator[Venv]:
    tmp = tmp_path_factory.mktemp("install")
    path = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    yield Venv(tmp, path, product_wheel)


def test_a_strangers_rabbitadmin_is_replaced(venv: Venv) -> None:
    installed = venv.pip("install", "--no-deps", "--no-index", str(stranger_wheel(venv.tmp)))
    assert installed.returncode == 0, installed.stderr
    assert venv.state() == {"owners": ["rabbitadmin"], "version": None, "engine": False, "stranger": True}
    result = venv.run()
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] > 0
    assert venv.state() == OURS_ONLY
    assert venv.pip("show", "rabbitadmin").returncode != 0  # the stranger's distribution is gone


def test_an_older_version_of_ours_is_upgraded(venv: Venv, tmp_path: Path) -> None:
    assert venv.pip("uninstall", "--yes", "rabbitadmin-declarative").returncode == 0
    installed = venv.pip("install", "--no-deps", "--no-index", str(older_wheel(tmp_path)))
    assert installed.returncode == 0, installed.stderr
    assert venv.state()["version"] == OLDER
    preview = venv.run("--check")
    assert preview.returncode == 0, preview.stdout
    assert recap(preview.stdout)["changed"] == 1
    assert f"rabbitadmin-declarative {CURRENT} would be installed" in preview.stdout
    assert f"it holds rabbitadmin-declarative {OLDER}" in preview.stdout
    assert venv.state()["version"] == OLDER  # check mode changed nothing
    result = venv.run()
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] > 0
    assert venv.state() == OURS_ONLY


def test_the_same_version_is_left_alone(venv: Venv) -> None:
    before = (venv.path / "bin" / "rabbitadmin").stat().st_mtime_ns
    result = venv.run()
    assert result.returncode == 0, result.stdout
    assert recap(result.stdout)["changed"] == 0, result.stdout
    assert (venv.path / "bin" / "rabbitadmin").stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("dist_ip", "message"),
    [
        ("127.0.0.2", "rabbitmq_dist_ip is 127.0.0.2 but the host of node name x@localhost resolves to 127.0.0.1"),
        ("::1", "rabbitmq_dist_ip must be an IPv4 address"),
        ("127.0.0.1.5", "rabbitmq_dist_ip must be an IPv4 address"),
    ],
)
def test_a_distribution_address_rabbitmqctl_could_not_reach_is_refused(venv: Venv, dist_ip: str, message: str) -> None:
    before = venv.state()
    result = venv.run("-e", f"rabbitmq_dist_ip={dist_ip}", "-e", "rabbitmq_nodename=x@localhost")
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout
    assert venv.state() == before  # refused before anything was written


def test_a_missing_wheel_fails_before_anything_is_written(venv: Venv) -> None:
    venv.wheel = venv.tmp / "nowhere" / "rabbitadmin_declarative-9.9.9-py3-none-any.whl"
    result = venv.run()
    assert result.returncode != 0
    assert "is not a rabbitadmin_declarative-VERSION" in result.stdout, result.stdout
    assert venv.state()["version"] == CURRENT
