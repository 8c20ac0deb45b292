"""Fuzzing validate: mutated topologies and definitions files never end in a traceback or unbounded memory.

Starting points are real inputs (the repository's topology.yaml, the tutorial presets, the schema tests'
comprehensive topology and definitions export, and synthesised definitions); hypothesis mutates them in
their structure (values swapped for hostile ones, keys dropped or added) and as text (characters and YAML
snippets spliced in: anchors, aliases, tags, deep nesting, huge numbers). The library must answer with a
``Topology`` or a ``TopologyError`` whose problems are located; the command must exit 0 or 2 without a
traceback. Counts and deadlines are bounded; hypothesis prints the failing example (and a reproduction
blob) on failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text

from .test_schema import COMPREHENSIVE, DEFINITIONS

REPO = Path(__file__).resolve().parents[2]
PRESETS = sorted((REPO / "src" / "rabbitadmin" / "tutorials" / "presets").glob("*.yaml"))
SEEDS = [
    (REPO / "topology.yaml").read_text(encoding="utf-8"),
    COMPREHENSIVE,
    DEFINITIONS,
    *(path.read_text(encoding="utf-8") for path in PRESETS),
]
#: Peak Python memory one validation may take (tracemalloc); the inputs here are a few KB.
MEMORY_CAP_BYTES = 64 * 1024 * 1024

KEYS = [
    "name", "state", "type", "durable", "auto_delete", "internal", "arguments", "source", "destination",
    "destination_type", "routing_key", "description", "tags", "default_queue_type", "password", "password_hash",
    "hashing_algorithm", "user", "vhost", "exchange", "configure", "write", "read", "queues", "exchanges",
    "bindings", "vhosts", "users", "permissions", "topic_permissions", "rabbit_version", "policies", "metadata",
    "x-max-priority", "x-message-ttl", "x-overflow", "x-queue-type", "x-dead-letter-routing-key", "x-match",
    "x-max-age", "alternate-exchange", "x-queue-leader-locator", "env", "file", "limits",
]  # fmt: skip
# Values no Python object can stand for before dumping (str() of a 5,000-digit int is refused): markers,
# replaced in the dumped text by the hostile YAML itself.
_LAUGHS = (
    "[&l0 [x, x, x, x, x, x, x, x, x]"
    + "".join(f", &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9))
    + "]"
)
MARKERS = {
    "__HUGE_INT__": "9" * 5000,
    "__DEEP__": "[" * 300 + "]" * 300,
    "__LAUGHS__": _LAUGHS,
    "__RECURSIVE__": "&r [*r]",
    "__DATE__": "2001-12-14",  # YAML's, not JSON's: safe_dump would quote it as a string
    "__TAGGED__": "!!bool maybe",
    "__WRONG_TAG__": "!!map [1]",
}
HOSTILE_SCALARS = st.sampled_from(
    [
        ".", "..", "", "amq.x", "~", "a~b", "\x00", "\t", "é" * 200, "x" * 300, "quorum", "stream", "classic",
        "absent", "headers", "drop-tail", "7D", "at-least-once", "/dev/zero", "$(id)", "%2E", None, True, False,
        0, -1, 255, 256, 2**63, 10**30, 1.5, float("inf"), float("nan"), "1e999", "0x" + "f" * 40,
        *MARKERS,
    ]
)  # fmt: skip
SCALARS = st.one_of(HOSTILE_SCALARS, st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.booleans())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)
SNIPPETS = st.sampled_from(
    [
        "&a ", "*a", "<<: *a\n", "!!python/object:os.system ", "!!binary ", "!!set ", "? ", "- ", ": ", "{", "}",
        "!!bool ", "!!int ", "!!float ", "!!timestamp ", "!!null ", "!!str ", "!!map ", "!!seq ", "!!omap ",
        "!!pairs ", "2001-12-14 ", "2001-12-14 21:59:43.10 ",
        "[", "]", "'", '"', "\t", "\n  ", "%YAML 1.1\n", "---\n", "...\n", "#", "|\n  ", ">-\n  ", "\\u0000",
        "[" * 80 + "]" * 80, "{a: " * 70 + "1" + "}" * 70, "9" * 5000, "0o" + "7" * 200, "1:2:3:4:5",
        "a0: &a0 [x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n"
        "a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n"
        "a4: [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\n",
    ]
)  # fmt: skip


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A seed mutated in its structure (then dumped as YAML or JSON) or as text."""
    seed = draw(st.sampled_from(SEEDS))
    if draw(st.booleans()):
        text = seed
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            cut = draw(st.integers(0, 8))
            insert = draw(st.one_of(SNIPPETS, st.text(max_size=6)))
            text = text[:at] + insert + text[at + cut :]
        return text
    document = yaml.safe_load(seed)
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(document, [])
        if not containers:
            break
        target = draw(st.sampled_from(containers))
        roll = draw(st.integers(0, 2))
        if isinstance(target, list):
            if target and roll == 0:
                del target[draw(st.integers(0, len(target) - 1))]
            elif target and roll == 1:
                target[draw(st.integers(0, len(target) - 1))] = draw(VALUES)
            else:
                target.append(draw(VALUES))
        elif target and roll == 0:
            del target[draw(st.sampled_from(sorted(target, key=str)))]
        elif target and roll == 1:
            target[draw(st.sampled_from(sorted(target, key=str)))] = draw(VALUES)
        else:
            target[draw(st.sampled_from(KEYS))] = draw(VALUES)
    if draw(st.booleans()):
        return _unmark(json.dumps(document, indent=1, default=str, allow_nan=True))
    return _unmark(yaml.safe_dump(document, allow_unicode=draw(st.booleans()), width=1000))


def _unmark(text: str) -> str:
    for marker, hostile in MARKERS.items():
        text = text.replace(f'"{marker}"', hostile).replace(marker, hostile)
    return text


@st.composite
def synthesised_definitions(draw: st.DrawFn) -> str:
    """A definitions export built from scratch, every section drawn from plausible and hostile rows."""
    vhosts = draw(st.lists(st.sampled_from(["/", "v", ".", "", "w"]), max_size=3, unique=True))
    names = st.one_of(HOSTILE_SCALARS, st.sampled_from(["q", "e", "jobs"]))
    fields = ("type", "durable", "auto_delete", "arguments", "source", "destination", "routing_key")
    row = st.fixed_dictionaries(
        {"name": names, "vhost": st.sampled_from([*vhosts, "ghost"])}, optional=dict.fromkeys(fields, VALUES)
    )
    document: dict[str, Any] = {"rabbit_version": draw(st.sampled_from(["3.10.8", "4.0.5", "3.0.4"]))}
    document["vhosts"] = [{"name": name, "metadata": draw(VALUES)} for name in vhosts]
    for section in ("queues", "exchanges", "bindings"):
        if draw(st.booleans()):
            document[section] = draw(st.lists(row, max_size=4))
    if draw(st.booleans()):
        document[draw(st.sampled_from(["users", "permissions", "policies", "parameters", "limits"]))] = draw(VALUES)
    return _unmark(json.dumps(document, indent=1, default=str))


def _validate_within_bounds(text: str) -> None:
    tracemalloc.start()
    try:
        topology = load_topology_text(text, "fuzz.yaml", resolve_secrets=False)
    except TopologyError as exc:
        assert exc.problems, "a TopologyError without problems"
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml" and str(problem).startswith("fuzz.yaml")
    else:
        assert len(topology) >= 0
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_CAP_BYTES, f"validation took {peak / 2**20:.0f} MB"


FUZZ = settings(
    max_examples=300,
    deadline=5000,  # ms per example; a busy 2-core machine
    database=None,  # nothing written into the repository
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(mutated_documents())
def test_mutated_topologies_never_crash_the_library(text: str) -> None:
    _validate_within_bounds(text)


@FUZZ
@given(synthesised_definitions())
def test_synthesised_definitions_never_crash_the_library(text: str) -> None:
    _validate_within_bounds(text)


@settings(max_examples=12, deadline=None, database=None, print_blob=True, suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated_documents(), synthesised_definitions()))
def test_mutated_inputs_never_crash_the_command(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "validate", "--skip-secrets", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
