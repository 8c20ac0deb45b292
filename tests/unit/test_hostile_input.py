"""Hostile input: every case gets a clear, located error in bounded time and memory, never a traceback.

Memory is measured in a fresh interpreter (peak RSS from ``resource``), so one test's garbage cannot
hide another's: the cap is generous (256 MB above the interpreter's own start), far below what these
inputs cost before the limits (270 MB to several GB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.input_files import MAX_PASSWORD_FILE_BYTES
from rabbitadmin.loader import MAX_DEPTH, load_topology, load_topology_text

MEMORY_CAP_MB = 256


def _laughs(levels: int, width: int = 9) -> str:
    """A "billion laughs" inside a queue's arguments: each level is ``width`` aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    body = "\n".join(f"          x-{line}" for line in lines)
    return f"vhosts:\n  - name: v\n    queues:\n      - name: q\n        arguments:\n{body}\n"


def _nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return "vhosts: [{name: v, queues: [{name: q, arguments: {x-deep: " + opener * depth + closer * depth + "}}]}]\n"


def _aliased_depth(anchors: int) -> str:
    """Each anchor nests the previous one 40 levels deeper: small, but deep once the aliases are expanded."""
    parts = [f"x-a{i}: &a{i} " + "[" * 40 + (f"*a{i - 1}" if i else "1") + "]" * 40 for i in range(anchors)]
    return "vhosts:\n- name: v\n  queues:\n  - name: q\n    arguments:\n" + "".join(f"      {p}\n" for p in parts)


HOSTILE = [
    pytest.param(_laughs(10), "aliases expand this document", 11, id="billion-laughs-10-levels"),
    pytest.param(_laughs(6, width=20), "aliases expand this document", 9, id="wide-laughs"),
    pytest.param(_aliased_depth(30), f"aliases nest this document more than {MAX_DEPTH} levels", 7, id="alias-depth"),
    pytest.param(_nested(250), f"nested more than {MAX_DEPTH} levels deep", 1, id="nesting-250"),
    pytest.param(_nested(250, "{a: ", "}"), f"nested more than {MAX_DEPTH} levels deep", 1, id="nesting-250-maps"),
    pytest.param(_nested(100_000), "nest", 1, id="nesting-100000"),
    pytest.param(
        "vhosts: [{name: v, queues: [{name: q, arguments: {x-max-length: " + "9" * 5000 + "}}]}]\n",
        "a number of 5,000 characters",
        1,
        id="integer-5000-digits",
    ),
    pytest.param(
        "vhosts:\n  - name: v\n    description: x\n    tags: [" + "0x" + "f" * 4000 + "]\n",
        "a number of 4,002 characters",
        4,
        id="hex-integer-4000-digits",
    ),
    pytest.param(
        json.dumps(
            {
                "rabbit_version": "3.10.8",
                "vhosts": [{"name": "v"}],
                "queues": [{"name": "q", "vhost": "v", "arguments": {"x-max-length": "HUGE"}}],
            },
            indent=1,
        ).replace('"HUGE"', "7" * 4000),
        "a number of 4,000 characters",
        13,
        id="definitions-json-huge-integer",
    ),
    pytest.param(
        '{"rabbit_version": "3.10.8", "vhosts": ' + "[" * 300 + "]" * 300 + "}",
        f"nested more than {MAX_DEPTH} levels deep",
        1,
        id="definitions-json-deep",
    ),
]


def _run_isolated(text: str) -> dict[str, object]:
    """Load ``text`` in a fresh interpreter; return its verdict, its problems and its peak memory."""
    script = textwrap.dedent(
        """
        import json, resource, sys
        from rabbitadmin.errors import TopologyError
        from rabbitadmin.loader import load_topology_text
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        text = sys.stdin.read()
        try:
            load_topology_text(text, "t.yaml")
            problems = []
        except TopologyError as exc:
            problems = [[str(p), p.line] for p in exc.problems]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"problems": problems, "grown_mb": (peak - start) / 1024}))
        """
    )
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({2 * 1024**3}, {2 * 1024**3}))\n"
    result = subprocess.run(
        [sys.executable, "-c", limit + script],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    verdict: dict[str, object] = json.loads(result.stdout)
    return verdict


@pytest.mark.parametrize(("text", "fragment", "line"), HOSTILE)
def test_hostile_documents_get_a_located_error_in_bounded_memory(text: str, fragment: str, line: int) -> None:
    verdict = _run_isolated(text)
    problems = verdict["problems"]
    assert isinstance(problems, list) and problems, "accepted"
    assert any(fragment in message and where == line for message, where in problems), problems
    grown = verdict["grown_mb"]
    assert isinstance(grown, float) and grown < MEMORY_CAP_MB, f"grew {grown:.0f} MB"


def test_modest_aliases_are_still_accepted() -> None:
    """Anchors for shared arguments are a normal use of YAML: the limit leaves room for them."""
    queues = "".join(f"      - {{name: q{i}, arguments: *shared}}\n" for i in range(2000))
    text = (
        "vhosts:\n  - name: v\n    queues:\n"
        "      - {name: q, arguments: &shared {x-dead-letter-exchange: dlx, x-message-ttl: 5000}}\n" + queues
    )
    loaded = load_topology_text(text, "t.yaml")
    assert loaded.queues[("v", "q1999")].arguments == {"x-dead-letter-exchange": "dlx", "x-message-ttl": 5000}


def test_sixty_levels_of_nesting_are_accepted() -> None:
    load_topology_text(_nested(MAX_DEPTH - 7), "t.yaml")  # 6 levels of topology above the argument


# -- files named by the topology, and the topology file itself ---------------------------------------------
def _password_problem(tmp_path: Path, target: str) -> str:
    topology = tmp_path / "t.yaml"
    topology.write_text(f"users:\n  - name: u\n    password: {{file: '{target}'}}\n")
    with pytest.raises(TopologyError) as info:
        load_topology(topology)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.field) == (str(topology), 3, "users[0].password.file")
    return problem.message


def test_password_file_must_be_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: opening it for reading the usual way would block forever
    (tmp_path / "dir").mkdir()
    assert "not a regular file (a character device)" in _password_problem(tmp_path, "/dev/zero")
    assert "not a regular file (a FIFO)" in _password_problem(tmp_path, str(fifo))
    assert "not a regular file (a directory)" in _password_problem(tmp_path, "dir")


def test_password_file_has_a_size_cap(tmp_path: Path) -> None:
    (tmp_path / "big").write_text("a" * (MAX_PASSWORD_FILE_BYTES + 1))
    assert f"larger than {MAX_PASSWORD_FILE_BYTES:,} bytes" in _password_problem(tmp_path, "big")
    (tmp_path / "fits").write_text("pw\n" + "a" * (MAX_PASSWORD_FILE_BYTES - 3))
    topology = tmp_path / "t.yaml"
    topology.write_text("users:\n  - {name: u, password: {file: fits}}\n")
    user = load_topology(topology).users[("u",)]
    assert user.password is not None and user.password.reveal() == "pw"  # type: ignore[attr-defined]


def test_password_file_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/dev/zero")
    assert "a character device" in _password_problem(tmp_path, "link")


@pytest.mark.parametrize(("target", "fragment"), [("/dev/zero", "a character device"), ("/", "a directory")])
def test_topology_file_must_be_a_file(target: str, fragment: str) -> None:
    with pytest.raises(TopologyError, match=fragment):
        load_topology(target)


def test_topology_file_from_a_pipe_is_read(tmp_path: Path) -> None:
    """validate <(generate) stays possible: a pipe with a writer is read to its end."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"vhosts: [{name: piped}]\n")
    os.close(write_fd)
    try:
        topology = load_topology(f"/dev/fd/{read_fd}")
    finally:
        os.close(read_fd)
    assert ("piped",) in topology.vhosts
