"""``reading_as_definitions`` (what ``rabbitadmin definitions import`` loads its file under): every JSON object is
definitions, whatever its keys, as the server's ``POST /api/definitions`` reads it (``rabbit_definitions:apply_defs``,
v3.10.8 and v4.0.5: every section optional, ``rabbit_version`` too); outside it, ``apply``'s rule is unchanged (users,
vhosts and global parameters alone are a topology). The node test: tests/admin/test_definitions_import_any_keys.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rabbitadmin.admin.definitions_cmd import _require_definitions
from rabbitadmin.definitions_input import is_definitions_document, reading_as_definitions
from rabbitadmin.errors import TopologyError, UsageError
from rabbitadmin.loader import load_topology_text

from .test_definitions_sections import KINDS, SETS, document, is_topology_by_rule, placed


@pytest.mark.parametrize("version", [True, False], ids=["with-rabbit_version", "without"])
@pytest.mark.parametrize("kinds", SETS, ids=["+".join(kinds) for kinds in SETS])
def test_every_section_alone_and_in_pairs_is_definitions_when_forced(kinds: tuple[str, ...], version: bool) -> None:
    doc = document(kinds, version)
    text = json.dumps(doc, indent=1)
    with reading_as_definitions():
        assert is_definitions_document(doc)
        topology = load_topology_text(text, "defs.json")
    for kind in kinds:
        assert placed(topology, kind), kind
    if "vhosts" in kinds:  # the import's defaults: an entry without description or tags clears them
        vhost = topology.objects["vhost"][("v1",)]
        assert (vhost.description, vhost.tags) == ("", ())
    # Outside it, apply's reading is as before (a topology by the documented rule).
    assert is_definitions_document(doc) is not is_topology_by_rule(doc)


def test_the_breakers_users_only_file_is_read_as_the_server_reads_it() -> None:
    """users-only.json (session 20, case 03): an empty hash and tags as a list; 204 on 3.10.8 and 4.0.5."""
    text = json.dumps({"users": [{"name": "u1", "password_hash": "", "tags": [],
                                  "hashing_algorithm": "rabbit_password_hashing_sha256"}]})  # fmt: skip
    with reading_as_definitions():
        topology = load_topology_text(text, "users-only.json")
    assert list(topology.objects["user"]) == [("u1",)]


def test_the_reading_ends_with_its_block_even_on_an_error() -> None:
    doc = {"users": [KINDS["users"][1]]}
    with pytest.raises(TopologyError), reading_as_definitions():
        load_topology_text("{]", "broken.json")
    assert not is_definitions_document(doc)
    with reading_as_definitions(), reading_as_definitions():
        pass
    assert not is_definitions_document(doc)


def test_a_topologys_lists_in_a_vhost_are_refused_with_the_pointer_to_apply() -> None:
    """Without any marker at the top, the file is definitions because it was given to ``definitions import``."""
    text = json.dumps({"vhosts": [{"name": "v", "queues": [{"name": "q"}]}]}, indent=1)
    with pytest.raises(TopologyError) as caught, reading_as_definitions():
        load_topology_text(text, "topo.json")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("topo.json", 5, "vhosts[0].queues")
    assert "definitions import" in problem.message and "rabbitadmin apply" in problem.message


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('{"users": []}', False),
        ('{"vhosts": [{"name": "v"}]}', False),
        ("{}", False),
        ('{"users": [', False),  # starts like JSON: the loader says where it breaks
        ("vhosts:\n  - name: v\n", True),  # a YAML topology: `apply`
        ("[]", True),
    ],
)
def test_definitions_import_takes_any_json_object(text: str, refused: bool, tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text(text)
    if not refused:
        _require_definitions(path)
        return
    with pytest.raises(UsageError) as caught:
        _require_definitions(path)
    assert str(path) in str(caught.value) and "rabbitadmin apply" in str(caught.value)
