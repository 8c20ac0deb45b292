"""What needs a plugin the node does not run is refused before any write, right from the node's first moment.

A node of its own, started here without plugins and planned against at once: its management API lists no
plugins for about 5 s after it answers (``HttpBackend.enabled_plugins``), which let a shovel file's apply stop
part-way. 3.10 and 4.0 (``RABBITADMIN_TEST_VERSIONS``)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import make_plan
from rabbitadmin.engine.planner import PLUGIN_WAIT
from rabbitadmin.errors import ServerError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Secret
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner, ctl_env

#: A realworld definitions file of shovels (19 queues, 18 bindings, then the shovels), applied at once.
SHOVELS = next(Path("/work/shared/cases/realworld").glob("09-*.json"))

FEDERATION_KEY = {"federation-upstream-set": "all"}
FEDERATED = """\
vhosts:
  - name: {vhost}
    queues: [{{name: q1}}]
    policies:
      - name: fed
        pattern: '^q'
        definition: {{federation-upstream-set: all}}
"""


@pytest.fixture(scope="module")
def fresh(rabbitmq_version: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """A node without plugins (management only), just started: the first test plans against it at once."""
    box = Sandbox(tmp_path_factory.mktemp("fresh") / "node", rabbitmq=rabbitmq_version, plugins=())
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


def settings_of(info: SandboxInfo) -> ConnectionSettings:
    return ConnectionSettings(url=info.url, user=info.user, password=Secret(info.password()), amqp_port=info.amqp_port)


def runner(info: SandboxInfo) -> CliRunner:
    return CliRunner(
        {
            "RABBITADMIN_URL": info.url,
            "RABBITADMIN_USER": info.user,
            "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
            "RABBITADMIN_AMQP_PORT": str(info.amqp_port),
        },
        clean_prefixes=("RABBITADMIN_",),
    )


def test_a_node_just_started_refuses_a_shovel_file_before_any_write(fresh: SandboxInfo, tmp_path: Path) -> None:
    backend = HttpBackend(settings_of(fresh))
    try:
        # As measured: right after the start, the nodes list no plugins (neither applications nor the file's).
        assert backend._listed_plugins() is None, "the node listed its plugins already: too late to test the case"
        started = time.monotonic()
        plan = make_plan(load_topology_text(SHOVELS.read_text(), str(SHOVELS)), backend)
        elapsed = time.monotonic() - started
    finally:
        backend.close()
    shovels = [r for r in plan.refusals if "needs the rabbitmq_shovel plugin, which is not enabled" in r]
    assert shovels and len(shovels) == len(plan.refusals), plan.refusals
    assert elapsed < PLUGIN_WAIT + 5, elapsed  # a bounded wait, not a hang
    # The command, at once too: refused (exit 4) and nothing written.
    client = HttpClient(settings_of(fresh))
    before = {v["name"] for v in client.get(api_path("vhosts"))}
    result = runner(fresh)("apply", "--yes", str(SHOVELS), timeout=120)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "rabbitmq_shovel plugin" in result.stderr
    assert {v["name"] for v in client.get(api_path("vhosts"))} == before
    client.close()
    # Over rabbitmqctl the node itself answers (its running plugins), from its first moment too.
    over_ctl = CliRunner({**runner(fresh).env, **ctl_env(fresh)}, clean_prefixes=("RABBITADMIN_",))
    planned = over_ctl("--backend", "ctl", "plan", str(SHOVELS), timeout=120)
    assert planned.returncode == 4 and "rabbitmq_shovel plugin, which is not enabled" in planned.stdout, (
        planned.stdout + planned.stderr
    )


def test_a_federation_policy_key_is_refused_before_any_write_as_the_node_would(
    fresh: SandboxInfo, tmp_path: Path
) -> None:
    vhost = f"fedv-{secrets.token_hex(3)}"
    path = tmp_path / "fed.yaml"
    path.write_text(FEDERATED.format(vhost=vhost))
    cli = runner(fresh)
    planned = cli("plan", str(path))
    assert planned.returncode == 4, planned.stdout + planned.stderr
    expected = f"{path}:5: policy 'fed' in vhost '{vhost}': policy key 'federation-upstream-set' needs"
    assert expected in planned.stdout + planned.stderr, planned.stdout + planned.stderr
    applied = cli("apply", "--yes", str(path))
    assert applied.returncode == 4, applied.stdout + applied.stderr
    client = HttpClient(settings_of(fresh))
    try:
        assert client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
        # The node's own rule: the key is refused where the plugin does not run.
        client.put(api_path("vhosts", vhost), {})
        with pytest.raises(ServerError) as caught:
            client.put(api_path("policies", vhost, "fed"), {"pattern": "^q", "definition": FEDERATION_KEY})
        assert caught.value.status == 400 and "not recognised policy settings" in caught.value.reason
    finally:
        client.delete(api_path("vhosts", vhost))
        client.close()
