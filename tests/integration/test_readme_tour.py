"""The README's "5-minute tour", run as written against the session node, ends with the server as
topology.yaml says (issue 16.12).

Every shell block of the tour runs, line by line (a heredoc as one command), in one bash session, in a
scratch directory laid out like a checkout after ``scripts/demo.sh``: ``topology.yaml``, ``.venv/bin``
(this interpreter's), ``.sandbox/demo`` (the session node) and ``.sandbox/myuser.password``. A line whose
comment names an exit code ("exit 4") must end with it; every other line must succeed. The tour's own last
check, ``plan topology.yaml --detailed-exitcode``, must exit 0: before the fix, the tour's ``git checkout``
left task_queue a quorum queue and that plan exited 6.

The tour changes server-wide things (it removes ``guest``, adds ``myproject`` and ``myuser``); the test
puts them back, so it can share the session node.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo

ROOT = Path(__file__).parents[2]
MARK = "@@tour-exit"


def tour_commands(readme: str) -> list[str]:
    """The commands of the tour's shell blocks: from "## A 5-minute tour" up to "When you are done"."""
    start = readme.index("## A 5-minute tour")
    end = readme.index("When you are done", start)
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", readme[start:end], re.S):
        lines = block.splitlines()
        while lines:
            line = lines.pop(0)
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            heredoc = re.search(r"<<'?(\w+)'?", line)
            if heredoc:
                body = []
                while lines and lines[0] != heredoc.group(1):
                    body.append(lines.pop(0))
                body.append(lines.pop(0) if lines else "")
                line = "\n".join([line, *body])
            commands.append(line)
    return commands


def expected_exit(command: str) -> int:
    """The exit code a tour line announces in its comment ("exit 4"), else 0."""
    first = command.splitlines()[0]
    comment = first.split("#", 1)[1] if " #" in first else ""
    found = re.search(r"exit (\d+)(?! if)", comment)  # "exit 7 if one fails" is a condition, not the outcome
    return int(found.group(1)) if found else 0


def run_tour(workdir: Path, commands: list[str], timeout: float = 1200) -> list[tuple[str, int, str]]:
    """Run ``commands`` in one bash in ``workdir``; (command, exit code, the end of its stderr) of each."""
    errors = workdir / ".tour-stderr"
    errors.mkdir()
    # Each command in a group of its own (a heredoc in it still ends on its own line), its stderr kept apart:
    # a command that exits as it should not is reported with what it said.
    script = "\n".join(
        f"{{ {command}\n}} 2> {errors / str(index)}\necho '{MARK}' $?" for index, command in enumerate(commands)
    )
    env = {"HOME": str(workdir), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    codes = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith(MARK)]
    assert len(codes) == len(commands), f"the tour stopped early\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    said = [(errors / str(index)).read_text(errors="replace")[-2000:] for index in range(len(commands))]
    return list(zip(commands, codes, said, strict=True))


def test_tour_commands_are_read_from_the_readme() -> None:
    commands = tour_commands((ROOT / "README.md").read_text())
    assert any("--detailed-exitcode" in c for c in commands[-12:])
    assert not any(c.startswith("git ") for c in commands), "the tour must not depend on a git checkout"
    assert expected_exit("rabbitadmin apply t.yaml --yes        # refused: exit 4, the message...") == 4


def test_the_readme_tour_ends_with_the_server_as_the_file_says(
    node: SandboxInfo, admin_client: HttpClient, tmp_path: Path
) -> None:
    work = tmp_path / "checkout"
    (work / ".venv").mkdir(parents=True)
    (work / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    (work / ".sandbox").mkdir()
    (work / ".sandbox" / "demo").symlink_to(node.directory)
    (work / ".sandbox" / "myuser.password").write_text(secrets.token_urlsafe(12) + "\n")
    shutil.copy(ROOT / "topology.yaml", work / "topology.yaml")
    commands = tour_commands((ROOT / "README.md").read_text())
    # The demo applied the file before the tour starts.
    setup = 'eval "$(.venv/bin/rabbitadmin sandbox env --dir .sandbox/demo)"; export MYUSER_PASSWORD="$(cat .sandbox/myuser.password)"; .venv/bin/rabbitadmin apply topology.yaml --yes'  # noqa: E501
    try:
        results = run_tour(work, [setup, *commands])
        wrong = [(c, code, expected_exit(c), said) for c, code, said in results if code != expected_exit(c)]
        assert not wrong, wrong
        last_plan = [c for c, _, _ in results if "--detailed-exitcode" in c][-1]
        assert "plan topology.yaml" in last_plan
    finally:
        admin_client.delete(api_path("vhosts", "myproject"))
        admin_client.delete(api_path("users", "myuser"))
