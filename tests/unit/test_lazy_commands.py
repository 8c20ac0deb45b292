"""The root group loads the administration, audit, routing, schema and tutorial commands on first use
(``cli_entry.LazyCommandsGroup``, ``cli.RootGroup``): the same command tree, fewer modules for a plan."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from rabbitadmin.cli import RootGroup, app
from rabbitadmin.cli_entry import LazyCommandsGroup, subcommand

#: The commands' own modules (``rabbitadmin.audit.patterns`` is no command's: validation checks regexes with it).
LAZY_MODULES = (
    "rabbitadmin.admin",
    "rabbitadmin.audit.cli",
    "rabbitadmin.routing",
    "rabbitadmin.tutorials",
    "rabbitadmin.schema_cmd",
)


def fresh_root() -> LazyCommandsGroup:
    root = typer.main.get_command(app)
    assert isinstance(root, RootGroup)
    return root


def test_every_name_is_listed_once_in_order_and_resolves_to_its_own_command() -> None:
    root = fresh_root()
    names = root.list_commands(None)  # type: ignore[arg-type]
    assert names == list(RootGroup.order)  # every command has its place: help lists them as before
    assert set(RootGroup.lazy) <= set(names) and len(set(names)) == len(names)
    for name in names:
        command = root.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name, name
    assert root.list_commands(None) == names  # type: ignore[arg-type]  # loading changes neither set nor order


def test_a_lazy_module_is_loaded_once_for_all_its_commands() -> None:
    root = fresh_root()
    assert "users" not in root.commands and "vhosts" not in root.commands
    users = root.get_command(None, "users")  # type: ignore[arg-type]
    assert "vhosts" in root.commands and "consumers" in root.commands  # the same registrar made them
    assert root.get_command(None, "users") is users  # type: ignore[arg-type]
    assert root.get_command(None, "no-such-command") is None  # type: ignore[arg-type]


def test_subcommand_loads_lazy_groups_and_leaves_leaves_alone() -> None:
    root = fresh_root()
    queues = subcommand(root, "queues")
    assert queues is not None and subcommand(queues, "list") is not None
    assert subcommand(root, "plan") is not None and subcommand(subcommand(root, "plan"), "x") is None
    assert subcommand(root, "nothing") is None


def test_a_plan_process_imports_none_of_the_lazy_modules() -> None:
    """What the change buys: loading the command line for ``plan`` leaves the other commands' modules out."""
    code = (
        "import sys, typer.main; import rabbitadmin.cli as cli; root = typer.main.get_command(cli.app); "
        "root.get_command(None, 'plan'); print(' '.join(sorted(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    assert "rabbitadmin.engine" in loaded
    assert not [name for name in loaded if name.startswith(LAZY_MODULES)]
    assert "rich.progress" not in loaded  # progress.py loads it for a terminal only


@pytest.mark.parametrize(
    ("typo", "suggested"), [("usrs", "'users'"), ("rout", "'route'"), ("tutoral", "'tutorial'"), ("shema", "'schema'")]
)
def test_a_typo_of_a_command_not_loaded_yet_is_suggested(typo: str, suggested: str) -> None:
    result = CliRunner().invoke(app, [typo])
    assert result.exit_code == 2
    assert f"No such command '{typo}'. Did you mean {suggested}" in result.output


def test_a_lazy_command_runs_through_the_cli() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert '"title": "rabbitadmin topology"' in result.output


_TREES = """
import json, sys, typer, typer.main
from rabbitadmin.cli import RootGroup, app

def tree(group, names, prefix=()):
    paths = []
    for name in names:
        command = group.get_command(None, name)
        paths.append(" ".join((*prefix, name)))
        if hasattr(command, "commands"):
            paths += tree(command, command.list_commands(None), (*prefix, name))
    return paths

registrars = list(dict.fromkeys(RootGroup.lazy.values()))
chosen = registrars[int(sys.argv[1])]
names = [name for name, registrar in RootGroup.lazy.items() if registrar is chosen]
# In a fresh process, this registrar's commands alone, as a command line loads them; then all registrars at once.
alone = tree(typer.main.get_command(app), names)
eager = typer.Typer()
for registrar in registrars:
    registrar(eager)
print(json.dumps({"alone": alone, "together": tree(typer.main.get_group(eager), names)}))
"""


@pytest.mark.parametrize("index", range(len(dict.fromkeys(RootGroup.lazy.values()))))
def test_each_module_alone_makes_the_commands_all_of_them_make_together(index: int) -> None:
    """Every command path of one lazily loaded module, down to the subcommands, is the same when it loads first
    and alone in a fresh process (as ``rabbitadmin connections close`` loads it) as when every module registers
    at once: a module that adds to another one's group on import (as ``connections close`` did) loses commands
    only in the first case."""
    run = subprocess.run(
        [sys.executable, "-c", _TREES, str(index)], capture_output=True, text=True, check=True, timeout=60
    )
    trees = json.loads(run.stdout)
    assert trees["alone"] == trees["together"] and trees["alone"]


def test_the_modules_commands_cover_the_known_subcommands() -> None:
    root = fresh_root()
    for path in ("connections close", "users list", "tutorial provision", "policies list", "definitions import"):
        group, name = path.split()
        command = root.get_command(None, group)  # type: ignore[arg-type]
        assert command is not None and command.get_command(None, name) is not None, path
