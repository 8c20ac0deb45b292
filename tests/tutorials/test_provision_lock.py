"""``tutorial provision`` goes through the engine's front door: it takes the per-vhost apply lock like
``rabbitadmin apply`` (issue 10.4 through issue 13.2), and its password is an argument, not the environment.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode
from rabbitadmin.model import Secret, User
from rabbitadmin.sandbox import SandboxInfo
from rabbitadmin.tutorials.scenarios import PASSWORD_ENV, TUTORIAL_USER, load_preset

from ..lock_holder import lock_held_elsewhere
from .conftest import tutorial


@pytest.fixture
def locked_vhost(admin_client: HttpClient) -> Iterator[str]:
    name = f"tut-lock {secrets.token_hex(3)}/é#"
    yield name
    admin_client.delete(api_path("vhosts", name))


def test_provision_waits_for_another_applys_lock_then_refuses_naming_it(
    tut_env: dict[str, str], node: SandboxInfo, admin_client: HttpClient, locked_vhost: str
) -> None:
    first = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost)
    assert first.returncode == 0, first.stderr
    admin_client.delete(api_path("queues", locked_vhost, "hello"))  # something to do again
    password = node.password_file.read_text().strip()
    with lock_held_elsewhere(node.url, node.user, password, node.amqp_port, locked_vhost) as holder_pid:
        done = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost, "--lock-timeout", "10")
        assert done.returncode == ExitCode.LOCKED, done.stderr
        waited = f"waiting up to 10 s for the apply lock of vhost {locked_vhost!r}, held by pid {holder_pid}"
        assert waited in done.stderr
        assert f"another apply holds the apply lock of vhost {locked_vhost!r}: pid {holder_pid}" in done.stderr
        assert admin_client.get_or_none(api_path("queues", locked_vhost, "hello")) is None  # nothing written
        # --dry-run only plans: it takes no lock, like `rabbitadmin plan`.
        dry = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost, "--dry-run", "-o", "json")
        assert dry.returncode == 0, dry.stderr
        assert [(c["kind"], c["key"][-1]) for c in json.loads(dry.stdout)["plan"]["changes"]] == [("queue", "hello")]
    # The holder was killed: its lock went with its connection, and the provision goes through.
    again = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost, "--lock-timeout", "30")
    assert again.returncode == 0, again.stderr
    assert admin_client.get_or_none(api_path("queues", locked_vhost, "hello")) is not None


def test_provision_without_lock_applies_while_another_apply_holds_it(
    tut_env: dict[str, str], node: SandboxInfo, admin_client: HttpClient, locked_vhost: str
) -> None:
    first = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost)
    assert first.returncode == 0, first.stderr
    admin_client.delete(api_path("queues", locked_vhost, "hello"))
    password = node.password_file.read_text().strip()
    with lock_held_elsewhere(node.url, node.user, password, node.amqp_port, locked_vhost):
        done = tutorial(tut_env, "provision", "hello-world", "--vhost", locked_vhost, "--no-lock")
        assert done.returncode == 0, done.stderr
    assert admin_client.get_or_none(api_path("queues", locked_vhost, "hello")) is not None


def test_preset_password_is_an_argument_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    topology = load_preset("hello-world", password=Secret("given-as-argument"))
    user = topology.users[(TUTORIAL_USER,)]
    assert isinstance(user, User) and user.password is not None
    assert user.password.reveal() == "given-as-argument"
    assert PASSWORD_ENV not in os.environ
