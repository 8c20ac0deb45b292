"""At a terminal: apply asks, shows colours and a progress bar; in a pipe: plain text, no prompt.

`script` (util-linux) runs the command on a pseudo-terminal, as a person would see it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from ..conftest import CliRunner


def at_terminal(args: list[str], answer: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = shlex.join([sys.executable, "-m", "rabbitadmin", *args])
    return subprocess.run(
        ["script", "-q", "-e", "-c", command, "/dev/null"],
        input=answer,
        capture_output=True,
        text=True,
        env={**os.environ, **env, "TERM": "xterm-256color"},
        timeout=120,
        check=False,
    )


def test_apply_asks_at_a_terminal(
    cli_env: dict[str, str], admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f'vhosts: [{{name: "{vhost}"}}]\n')

    declined = at_terminal(["apply", str(path)], "n\n", cli_env)
    assert declined.returncode == 4
    assert "Apply 1 change(s)? [y/N]" in declined.stdout and "cancelled, nothing was changed" in declined.stdout
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None

    accepted = at_terminal(["apply", str(path)], "y\n", cli_env)
    assert accepted.returncode == 0, accepted.stdout
    assert "\x1b[32m+ create\x1b[0m" in accepted.stdout  # colours at a terminal
    assert "applying" in accepted.stdout and "1/1" in accepted.stdout  # the progress bar
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is not None


def test_plain_text_in_a_pipe(rabbitadmin: CliRunner, vhost: str, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f'vhosts: [{{name: "{vhost}"}}]\n')
    result = rabbitadmin("plan", str(path))
    assert result.returncode == 0 and "+ create vhost" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr
