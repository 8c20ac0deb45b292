"""How the runner hands payloads to rabbitmqctl: a private file where rabbitmqctl shares our filesystem,
stdin through ssh-like prefixes. A recording script stands in for rabbitmqctl (this tests OUR runner; the
real 3.10.8 and 4.0.5 rabbitmqctl read these files in every ctl test of the suite)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from rabbitadmin.backends.ctl.runner import Rabbitmqctl

RECORDER = """#!/bin/sh
# Records its arguments, the mode of the payload file and of its directory, the payload, and its stdin.
out="$RECORD"
last=""
for arg in "$@"; do last="$arg"; done
if [ -f "$last" ]; then
  printf '%s\\n' "$(stat -c %a "$last") $(stat -c %a "$(dirname "$last")")" > "$out.modes"
  cp "$last" "$out.payload"
fi
printf '%s\\n' "$@" > "$out.args"
cat > "$out.stdin"
echo '[]'
echo done
"""


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "rabbitmqctl"
    script.write_text(RECORDER)
    script.chmod(stat.S_IRWXU)
    monkeypatch.setenv("RECORD", str(tmp_path / "record"))
    return script


@pytest.mark.parametrize(
    ("command", "file_command"), [("eval", "eval_file"), ("import_definitions", "import_definitions")]
)
def test_payloads_go_in_a_private_file_that_is_removed(recorder: Path, command: str, file_command: str) -> None:
    ctl = Rabbitmqctl(node="n@h", executable=str(recorder))
    payload = json.dumps({"users": [{"name": "u", "password_hash": "SECRET-HASH"}]})
    args = [command] if command == "eval" else [command, "--format=json"]
    ctl.run(args, stdin=payload)
    record = Path(os.environ["RECORD"])
    argv = record.with_suffix(".args").read_text().split("\n")
    assert argv[:4] == ["-n", "n@h", "-q", file_command]
    path = argv[-2]
    assert "SECRET-HASH" not in "".join(argv), "the payload is not on the argument list"
    assert record.with_suffix(".payload").read_text() == payload
    assert record.with_suffix(".modes").read_text().split() == ["600", "700"]
    assert record.with_suffix(".stdin").read_text() == "", "nothing on stdin"
    assert not Path(path).exists() and not Path(path).parent.exists(), "removed after the call"


def test_through_ssh_the_payload_goes_on_stdin(recorder: Path, tmp_path: Path) -> None:
    fake_ssh = tmp_path / "ssh"
    fake_ssh.write_text('#!/bin/sh\nshift\nexec sh -c "$*"\n')
    fake_ssh.chmod(stat.S_IRWXU)
    ctl = Rabbitmqctl(executable=str(recorder), prefix=[str(fake_ssh), "mq1"])
    assert not ctl.shares_files
    ctl.run(["eval"], stdin="expression.")
    record = Path(os.environ["RECORD"])
    assert record.with_suffix(".args").read_text().split("\n")[:2] == ["-q", "eval"]
    assert record.with_suffix(".stdin").read_text() == "expression."


def test_other_commands_keep_their_arguments(recorder: Path) -> None:
    assert Rabbitmqctl(executable=str(recorder), prefix=["env", "A=1"]).shares_files
    Rabbitmqctl(executable=str(recorder)).run(["list_users"])
    assert Path(os.environ["RECORD"]).with_suffix(".args").read_text().split("\n")[:2] == ["-q", "list_users"]
