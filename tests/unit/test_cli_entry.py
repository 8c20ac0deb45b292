"""Global options after the command: which arguments move in front of it, on the real command tree."""

from __future__ import annotations

import pytest
import typer

from rabbitadmin.cli import app
from rabbitadmin.cli_entry import hoist_global_options, wants_json

ROOT = typer.main.get_command(app)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["users", "list", "--url", "http://x"], ["--url", "http://x", "users", "list"]),
        (["users", "list", "--url=http://x", "-o", "json"], ["--url=http://x", "users", "list", "-o", "json"]),
        (["plan", "f.yaml", "--backend", "ctl"], ["--backend", "ctl", "plan", "f.yaml"]),
        (
            ["--user", "a", "queues", "list", "--insecure", "-p", "/"],
            ["--user", "a", "--insecure", "queues", "list", "-p", "/"],
        ),
        (["sandbox", "status", "--target", "t"], ["--target", "t", "sandbox", "status"]),
        (["targets", "show", "prod", "--timeout", "3"], ["--timeout", "3", "targets", "show", "prod"]),
        # the command's own option of the same name stays with it
        (["permissions", "list", "--user", "bob"], ["permissions", "list", "--user", "bob"]),
        (["users", "add", "bob", "--password-file", "f"], ["users", "add", "bob", "--password-file", "f"]),
        (["access", "-u", "bob", "-u", "x"], ["access", "-u", "bob", "-u", "x"]),
        # an option's value is not mistaken for an option; nothing after -- moves
        (["vhosts", "add", "v", "--description", "--url"], ["vhosts", "add", "v", "--description", "--url"]),
        (["users", "delete", "--", "--url"], ["users", "delete", "--", "--url"]),
        # eager options and unknown leading options are left to the parser
        (["users", "list", "--version"], ["users", "list", "--version"]),
        (["--bogus", "users", "list", "--url", "x"], ["--bogus", "users", "list", "--url", "x"]),
        (["users", "--url", "x", "list"], ["--url", "x", "users", "list"]),
    ],
)
def test_hoist(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(ROOT, argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["users", "list", "-o", "json"], True),
        (["users", "list", "--output=json"], True),
        (["users", "list", "-ojson"], True),
        (["users", "list", "--output", "text"], False),
        (["users", "delete", "--", "-o", "json"], False),
    ],
)
def test_wants_json(argv: list[str], expected: bool) -> None:
    assert wants_json(argv) is expected
