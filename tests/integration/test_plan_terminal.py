"""Big plans and honest progress (issue 16.5, 16.6) as a person sees them: on a pseudo-terminal (pexpect),
and as CI sees them: in a pipe.

- A plan longer than the terminal goes through the pager (PAGER, or less) before apply's prompt; never with
  --no-pager, -o json or in a pipe.
- An apply's bar moves inside one bulk import (the server's object totals, read while the request runs),
  with an ETA and the elapsed time at the end; a spinner while the server is read; `vhosts delete` shows a
  spinner and its time. In a pipe: plain lines, no escape codes.

Node tests, session node (no node of their own): about 60-90 s per RabbitMQ version on this shared machine.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pexpect
import yaml

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from ..conftest import CliRunner

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMEOUT = 180  # every wait on the terminal ends; a slow shared machine is not a failure


def spawn(args: list[str], env: dict[str, str], *, rows: int = 20) -> pexpect.spawn:
    full = {k: v for k, v in os.environ.items() if k not in ("PAGER", "MANPAGER", "LESS", "RABBITADMIN_PASSWORD")}
    full.update(env)
    full["TERM"] = "xterm-256color"
    return pexpect.spawn(
        sys.executable,
        ["-m", "rabbitadmin", *args],
        env=full,
        dimensions=(rows, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=TIMEOUT,
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Read to the end; the exit status and everything the terminal showed."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, str(child.before)


def topology(path: Path, vhost: str, queues: int, *, bindings: bool = False) -> Path:
    names = [f"q{i:04}" for i in range(queues)]
    document = {
        "vhosts": [
            {
                "name": vhost,
                "exchanges": [{"name": "ex", "type": "topic"}] if bindings else [],
                "queues": [{"name": name} for name in names],
                "bindings": [{"source": "ex", "destination": n, "routing_key": n} for n in names] if bindings else [],
            }
        ]
    }
    path.write_text(yaml.safe_dump(document))
    return path


# -- the pager ---------------------------------------------------------------------------------------------
def test_a_long_plan_is_paged_on_a_terminal_only(
    cli_env: dict[str, str], rabbitadmin: CliRunner, vhost: str, tmp_path: Path
) -> None:
    path = topology(tmp_path / "t.yaml", vhost, 60)
    paged = tmp_path / "paged.txt"
    pager = {"PAGER": f"cat > {paged}"}  # PAGER is run by the shell, as pydoc (rich's pager) runs it

    code, shown = finish(spawn(["plan", str(path)], {**cli_env, **pager}))
    assert code == 0
    in_pager = ESCAPES.sub("", paged.read_text())
    assert "q0059" not in shown and "+ create queue 'q0059'" in in_pager  # the pager had it, the screen not
    assert "Summary: 61 to create" in in_pager

    paged.unlink()
    code, shown = finish(spawn(["plan", str(path), "--no-pager"], {**cli_env, **pager}))
    assert code == 0 and "q0059" in shown and not paged.exists()

    code, shown = finish(spawn(["plan", str(path), "-o", "json"], {**cli_env, **pager}))
    assert code == 0 and not paged.exists() and "q0059" in shown

    piped = rabbitadmin("plan", str(path), env=pager)
    assert piped.returncode == 0 and "q0059" in piped.stdout and not paged.exists()

    # --summary: one row per vhost and kind, short enough for any terminal.
    code, shown = finish(spawn(["plan", str(path), "--summary"], {**cli_env, **pager}))
    plain = ESCAPES.sub("", shown)
    assert code == 0 and not paged.exists() and "q0059" not in plain
    assert re.search(r"VHOST\s+KIND\s+CREATE\s+UPDATE\s+REPLACE\s+DELETE", plain)
    assert re.search(r"\bqueue\s+60\s+0\s+0\s+0", plain) and re.search(r"\bvhost\s+1\s+0\s+0\s+0", plain)


def test_apply_pages_a_long_plan_with_less_before_it_asks(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    path = topology(tmp_path / "t.yaml", vhost, 60)
    # No PAGER: less, with colours (-R); a prompt of our own shows that less is the one waiting for a key.
    child = spawn(["apply", str(path)], {**cli_env, "LESS": "-R -PsPAGED-BY-LESS"})
    child.expect("PAGED-BY-LESS")
    assert "\x1b[32m+ create\x1b[0m" in str(child.before)  # colours reach the terminal through less
    child.send("q")
    child.expect(r"Apply 61 change\(s\)\? \[y/N\]")
    child.sendline("n")
    code, shown = finish(child)
    assert code == 4 and "cancelled, nothing was changed" in shown
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None


# -- progress ----------------------------------------------------------------------------------------------
def bar_counts(shown: str, total: int) -> list[int]:
    """The counts the apply bar showed, in order (``applying ━━━ 123/1601``)."""
    return [int(m) for m in re.findall(rf"applying\s+\S+\s+(\d+)/{total}\b", ESCAPES.sub("", shown))]


def test_progress_moves_inside_a_bulk_import_and_ends_with_the_elapsed_time(
    cli_env: dict[str, str], rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    queues = 600
    total = 2 * queues + 2  # the vhost, the exchange, the queues and their bindings
    path = topology(tmp_path / "t.yaml", vhost, queues, bindings=True)

    code, shown = finish(spawn(["apply", str(path), "--yes"], cli_env))
    assert code == 0, shown
    plain = ESCAPES.sub("", shown)
    assert "reading the server's state" in plain  # the spinner while the plan reads the server
    counts = bar_counts(shown, total)
    # One import request creates the queues, the exchange and the bindings (1,201 objects); counts between
    # the vhost's create (1) and the request's answer come from the server's totals read while it runs.
    inside = sorted({c for c in counts if 1 < c <= queues + 2})
    assert inside, f"the bar never moved inside the import: {sorted(set(counts))}"
    assert counts == sorted(counts), "the bar never goes back"
    assert "ETA" in plain and "elapsed" in plain
    assert re.search(rf"applying: {total}/{total} done in \d+\.\d s", plain)

    # `vhosts delete` of it: a spinner on the terminal and the time it took.
    code, shown = finish(spawn(["vhosts", "delete", vhost, "--yes"], cli_env))
    assert code == 0 and re.search(rf"deleted vhost {re.escape(repr(vhost))} in \d+\.\d s", ESCAPES.sub("", shown))
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None

    # In a pipe (CI logs): plain lines at tenths of the way, the last with the elapsed time, no escapes.
    piped = rabbitadmin("apply", str(path), "--yes")
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stderr + piped.stdout
    lines = [line for line in piped.stderr.splitlines() if line.startswith("applying: ")]
    assert lines[-1].startswith(f"applying: {total}/{total} done in ")
    for line in lines[:-1]:
        assert re.fullmatch(rf"applying: \d+/{total} \(\d+%\), \d+\.\d s elapsed, about \d+\.\d s left", line)
    assert len(lines) <= 11


def test_json_output_has_no_progress_on_stderr(rabbitadmin: CliRunner, vhost: str, tmp_path: Path) -> None:
    path = topology(tmp_path / "t.yaml", vhost, 3)
    result = rabbitadmin("apply", str(path), "--yes", "-o", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["result"]["ok"]
    assert "applying" not in result.stderr and "reading the server" not in result.stderr


def test_a_refused_plan_with_no_change_never_says_the_server_matches(
    rabbitadmin: CliRunner, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    """The default queue type of an existing vhost cannot change: the diff drops the change and refuses."""
    admin_client.put(api_path("vhosts", vhost), {"default_queue_type": "classic"})
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"vhosts": [{"name": vhost, "default_queue_type": "quorum"}]}))
    for extra in ([], ["--summary"]):
        result = rabbitadmin("plan", str(path), *extra)
        assert result.returncode == 4, result.stderr
        assert "the server matches" not in result.stdout
        assert "Nothing can be applied: the plan is refused (see below)." in result.stdout
        assert "refused: the default queue type of vhost" in result.stdout
