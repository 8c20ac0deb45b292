"""The early read against a real node: the listings a plan sends before the program has loaded are the ones
its read takes, only with the same settings, and the plan is the same with them or without them; a plan whose
every GET was answered early never loads ``requests``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner as InProcessRunner

from rabbitadmin import early_read, launcher
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import DEPRECATED_FEATURES_READ, VERSION_READ, server_listings
from rabbitadmin.cli import app

from ..conftest import CliRunner
from .test_apply import write

EARLY_OFF = {early_read.OPT_OUT: "1"}
#: What the early read sends for a file naming one vhost: its three listings, then the server's (a state read's
#: listings of the whole server, its version read and the deprecated features).
SENT_FOR_ONE_VHOST = 3 + len(server_listings()) + 2


@pytest.fixture(autouse=True)
def _no_answers_left() -> Iterator[None]:
    early_read.forget()
    yield
    early_read.forget()


def topology(vhost: str, queues: int = 3) -> dict[str, Any]:
    names = [f"q{i}" for i in range(queues)]
    return {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": "x", "type": "topic"}],
                "queues": [{"name": name} for name in names],
                "bindings": [{"source": "x", "destination": name, "routing_key": f"{name}.#"} for name in names],
            }
        ]
    }


@pytest.fixture
def takes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each ``early_read.take`` of the plan's reads, in order: the path, and whether it found an answer."""
    found: list[tuple[str, bool]] = []
    take = early_read.take

    def spy(*args: Any) -> Any:
        taken = take(*args)
        found.append((args[2], taken is not None))
        return taken

    monkeypatch.setattr(early_read, "take", spy)
    return found


def in_process_plan(argv: list[str], env: dict[str, str]) -> Any:
    """``rabbitadmin plan ... -o json`` run in this process (so that what it took can be counted)."""
    return InProcessRunner().invoke(app, argv, env=env)


def test_the_plan_takes_the_early_answers_and_plans_the_same(
    rabbitadmin: CliRunner, cli_env: dict[str, str], vhost: str, tmp_path: Path, takes: list[tuple[str, bool]]
) -> None:
    path = write(tmp_path, topology(vhost))
    rabbitadmin("apply", str(path), "--yes", check=True)
    changed = write(tmp_path, topology(vhost, queues=4), "changed.yaml")  # one queue and one binding to create

    assert early_read.begin(["plan", str(changed)], cli_env) == SENT_FOR_ONE_VHOST
    result = in_process_plan(["plan", str(changed), "-o", "json"], cli_env)
    assert result.exit_code == 0, result.output
    # Every GET of the plan was sent early and asked once, and none was sent again by the read.
    said = "; ".join(f"{path} {found}" for path, found in takes)
    assert len(takes) == SENT_FOR_ONE_VHOST and all(found for _, found in takes), said
    assert early_read.untaken() == 0
    taken = json.loads(result.stdout)

    # The command as users run it (the launcher sends the early read) and with it off: the same plan.
    without = rabbitadmin("plan", str(changed), "-o", "json", env=EARLY_OFF)
    with_early = rabbitadmin("plan", str(changed), "-o", "json")
    assert without.returncode == with_early.returncode == 0
    assert taken == json.loads(without.stdout) == json.loads(with_early.stdout)
    assert [(c["action"], c["kind"]) for c in taken["changes"]] == [("create", "queue"), ("create", "binding")]


def test_answers_made_with_other_credentials_are_not_taken(
    rabbitadmin: CliRunner, cli_env: dict[str, str], vhost: str, tmp_path: Path, takes: list[tuple[str, bool]]
) -> None:
    path = write(tmp_path, topology(vhost))
    rabbitadmin("apply", str(path), "--yes", check=True)
    assert early_read.begin(["plan", str(path)], cli_env) == SENT_FOR_ONE_VHOST  # as the administrator

    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    result = in_process_plan(["plan", str(path)], {**cli_env, "RABBITADMIN_PASSWORD_FILE": str(wrong)})
    # The plan with the wrong password asks the server itself and is refused, as without the early read.
    assert result.exit_code == 3 and "refused the credentials" in result.output
    # Never found (and asked for, unless the read stopped at its first refused request before it asked: the
    # version read, answered in milliseconds since it skips the statistics, often comes back first).
    assert True not in [found for _, found in takes]
    assert early_read.untaken() == 0  # dropped when the read ended: nothing left for a later read
    without = rabbitadmin("plan", str(path), env={"RABBITADMIN_PASSWORD_FILE": str(wrong), **EARLY_OFF})
    assert without.returncode == 3 and "refused the credentials" in without.stderr


def test_a_vhost_not_on_the_server_is_read_as_before(
    rabbitadmin: CliRunner, cli_env: dict[str, str], vhost: str, tmp_path: Path
) -> None:
    path = write(tmp_path, topology(vhost))  # not applied: its listings answer 404, taken as "no such vhost"
    assert early_read.begin(["plan", str(path)], cli_env) == SENT_FOR_ONE_VHOST
    result = in_process_plan(["plan", str(path), "-o", "json"], cli_env)
    assert result.exit_code == 0, result.output
    without = rabbitadmin("plan", str(path), "-o", "json", env=EARLY_OFF)
    planned = json.loads(result.stdout)
    assert planned == json.loads(without.stdout)
    assert (planned["changes"][0]["action"], planned["changes"][0]["kind"]) == ("create", "vhost")


def test_the_launcher_starts_it_for_a_plan_only(
    cli_env: dict[str, str], vhost: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, topology(vhost))
    seen: list[int] = []
    monkeypatch.setattr("rabbitadmin.cli.main", lambda: seen.append(early_read.untaken()))
    monkeypatch.setattr("signal.signal", lambda *args: None)  # the launcher's SIGTERM handler is the process's
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    for argv in (["plan", str(path)], ["apply", str(path), "--yes"], ["validate", str(path)]):
        early_read.forget()
        monkeypatch.setattr("sys.argv", ["rabbitadmin", *argv])
        launcher.main()
    assert seen == [SENT_FOR_ONE_VHOST, 0, 0]


def test_an_early_answer_is_the_listing_the_client_would_get(
    admin_client: HttpClient, cli_env: dict[str, str], vhost: str, rabbitadmin: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, topology(vhost, queues=5))
    rabbitadmin("apply", str(path), "--yes", check=True)
    assert early_read.begin(["plan", str(path)], cli_env) == SENT_FOR_ONE_VHOST
    from rabbitadmin.backends.http.paths import VHOST_LISTING_KINDS, vhost_listing
    from rabbitadmin.connection import resolve_settings

    client = HttpClient(resolve_settings(environ=cli_env))
    listings = [vhost_listing(kind, vhost) for kind in VHOST_LISTING_KINDS] + [*server_listings(), VERSION_READ]
    try:
        early = {}
        for listing in listings:
            taken = early_read.take(client.settings, client.current_url, *listing)
            assert taken is not None and taken.found, listing
            early[listing.path] = taken.payload
        assert early_read.untaken() == 1  # the deprecated features: 404 on 3.x, below
        sent = {listing.path: client.get_or_none(*listing) for listing in listings}
        features = early_read.take(client.settings, client.current_url, *DEPRECATED_FEATURES_READ)
        assert features is not None and features.payload == client.get_or_none(*DEPRECATED_FEATURES_READ)
        assert features.found is (features.payload is not None)
    finally:
        client.close()

    def rows(value: Any) -> Any:  # the rows in any order: the read sorts them itself
        return sorted(map(json.dumps, value)) if isinstance(value, list) else value

    assert {k: rows(v) for k, v in early.items()} == {k: rows(v) for k, v in sent.items()}
    queues, bindings = (early[vhost_listing(kind, vhost).path] for kind in ("queue", "binding"))
    assert len(queues) == 5 and len(bindings) == 10  # five declared, five to the default exchange


def test_a_plan_answered_early_never_loads_requests(
    rabbitadmin: CliRunner, cli_env: dict[str, str], vhost: str, tmp_path: Path
) -> None:
    """The plan as users run it (a process of its own, through the launcher): every GET answered early, so
    ``requests`` (with urllib3, tenacity and charset_normalizer: about 50 ms) is never imported; nor is rich, for
    a plan printed into a pipe."""
    path = write(tmp_path, topology(vhost))
    rabbitadmin("apply", str(path), "--yes", check=True)
    env = {**os.environ, **cli_env}
    env.pop(early_read.OPT_OUT, None)
    argv = [sys.executable, "-X", "importtime", "-m", "rabbitadmin", "plan", str(path), "-o", "json"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"] == []
    imported = _imported(result.stderr)
    assert "rabbitadmin.backends.http.state_read" in imported  # the plan read the server
    assert not {"requests", "urllib3", "tenacity", "rich"} & imported
    text = subprocess.run(argv[:-2], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0 and "No changes" in text.stdout, text.stderr  # as text, into a pipe: no rich either
    assert not {"requests", "rich"} & _imported(text.stderr)
    off = subprocess.run(argv, env={**env, **EARLY_OFF}, capture_output=True, text=True, timeout=120, check=False)
    assert off.returncode == 0 and json.loads(off.stdout) == json.loads(result.stdout)
    assert "requests" in _imported(off.stderr)


def _imported(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` says it imported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
