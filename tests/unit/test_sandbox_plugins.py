"""``sandbox start --plugins``: names checked against the plugins the server ships before a node starts, the
``enabled_plugins`` file written before boot, single nodes only. The session node of tests/conftest.py runs
shovel and federation this way (tests/integration/test_parameters.py reads them back from the node)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbitadmin.errors import SandboxError
from rabbitadmin.sandbox import Sandbox, SandboxInfo, check_plugins, server_plugins
from rabbitadmin.sandbox_cluster import open_sandbox
from rabbitadmin.server_root import RECIPES, ensure_root


def test_the_hosts_server_ships_shovel_and_federation() -> None:
    shipped = server_plugins(None)
    assert shipped is not None
    assert {
        "rabbitmq_management",
        "rabbitmq_shovel",
        "rabbitmq_federation",
        "rabbitmq_federation_management",
    } <= shipped


def test_the_4_0_root_ships_them_too() -> None:
    root = ensure_root(RECIPES["4.0"])  # cached: the suite's 4.0 nodes build it once
    shipped = server_plugins(root)
    assert shipped is not None and {"rabbitmq_shovel", "rabbitmq_federation"} <= shipped


@pytest.mark.parametrize(
    ("plugins", "fragment"),
    [
        (("rabbitmq_shovle",), "unknown plugin 'rabbitmq_shovle' (did you mean 'rabbitmq_shovel'?)"),
        (("rabbitmq_shovel", "nope"), "unknown plugin 'nope'"),
        (("Rabbit Shovel",), "is not a plugin name"),
        (("rabbitmq_shovel,rabbitmq_federation",), "is not a plugin name"),
    ],
)
def test_a_plugin_the_server_does_not_ship_is_refused_before_start(plugins: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(SandboxError) as info:
        check_plugins(plugins, None)
    assert fragment in str(info.value)


def test_known_plugins_pass() -> None:
    check_plugins(("rabbitmq_shovel", "rabbitmq_federation"), None)


def test_enabled_plugins_file_keeps_management_first_and_adds_the_rest(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, plugins=("rabbitmq_shovel", "rabbitmq_management", "rabbitmq_shovel"))
    assert box.plugins == ("rabbitmq_shovel", "rabbitmq_management")
    info = SandboxInfo(str(tmp_path), "n@localhost", 1, 2, 3, "rabbitadmin", 0, plugins=box.plugins)
    box._write_config(info)
    assert (tmp_path / "enabled_plugins").read_text() == "[rabbitmq_management,rabbitmq_shovel].\n"
    assert info.public()["plugins"] == ["rabbitmq_shovel", "rabbitmq_management"]


def test_a_cluster_refuses_plugins(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="--plugins is for a single node"):
        open_sandbox(tmp_path, nodes=3, plugins=("rabbitmq_shovel",))
