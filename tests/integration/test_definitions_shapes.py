"""Each row of ``definitions_input``'s tables put to the server's own import (``POST /api/definitions``, 3.10 and 4.0)
and to ``rabbitadmin apply``, with the same file (tests/definitions_shapes.py):

- what the import refuses (a wrong shape, a missing field, a vhost-limits parameter's other name, a null section),
  apply refuses at its place, before anything is written;
- what the import takes but stores as no client can declare it (null, a number, ``undefined``), apply refuses
  with what the server would make of it, or, for a field the import stores as ``undefined`` when it is missing,
  writes its default and says so; duplicate tags, set once, are said; the node's own global parameters, which
  the import would overwrite, are left as they are and said;
- where the import's result is the one a client can make (null tags clear them), apply's is the same;
- a field or section the import ignores, and an object it skips (amq.* queues and exchanges, the default
  exchange, bindings of them), apply leaves out too, with the same result and a warning at each.

Session node."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ServerError

from .. import definitions_shapes as shapes
from ..conftest import CliRunner, delete_vhost
from ..definitions_shapes import DROP, EMPTY, NULL_SECTIONS, REFUSED, STORED, TAGS, UNDEFINED, Case, document
from .test_differential import normalised


class Names:
    """A fresh vhost and user name for one test, both removed after it."""

    def __init__(self) -> None:
        self.vhost, self.user = f"shapes-{secrets.token_hex(3)}", f"shapes-{secrets.token_hex(3)}"

    def remove(self, client: HttpClient) -> None:
        delete_vhost(client, self.vhost)
        if client.get_or_none(api_path("users", self.user)) is not None:
            client.delete(api_path("users", self.user))
        if client.get_or_none(api_path("global-parameters", shapes.global_name(self.vhost))) is not None:
            client.delete(api_path("global-parameters", shapes.global_name(self.vhost)))


@pytest.fixture
def names(admin_client: HttpClient) -> Iterator[Names]:
    made = Names()
    made.remove(admin_client)
    yield made
    made.remove(admin_client)


def apply(rabbitadmin: CliRunner, tmp_path: Path, doc: dict[str, Any]) -> Any:
    path = tmp_path / "defs.json"
    path.write_text(json.dumps(doc, indent=1))
    return rabbitadmin("apply", "--yes", str(path))


def assert_nothing_written(client: HttpClient, names: Names) -> None:
    assert client.get_or_none(api_path("vhosts", names.vhost)) is None
    assert client.get_or_none(api_path("users", names.user)) is None


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_what_the_import_refuses_apply_refuses_first(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, case: Case
) -> None:
    doc = case.document(names.vhost, names.user)
    with pytest.raises(ServerError):
        admin_client.post(api_path("definitions"), doc)
    if case.table == "FIXED_NAMES":  # stored before the 500, where it limits nothing (and fails a vhost's DELETE)
        kept = api_path("parameters", case.kind, names.vhost, case.value)
        assert admin_client.get_or_none(kept) is not None
        with pytest.raises(ServerError) as deleting:  # 500, and gone (3.10.8 and 4.0.5)
            admin_client.delete(kept)
        assert deleting.value.status == 500 and admin_client.get_or_none(kept) is None
    names.remove(admin_client)  # the import is not atomic: what it wrote before the refusal goes
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "defs.json:" in result.stderr and f"{case.path}: " in result.stderr and case.said in result.stderr
    assert_nothing_written(admin_client, names)


@pytest.mark.parametrize("section", NULL_SECTIONS)
def test_a_null_section_fails_the_import_and_apply_refuses_it(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, section: str
) -> None:
    doc = {"rabbit_version": "3.10.8", "vhosts": [{"name": names.vhost}], section: None}
    with pytest.raises(ServerError) as caught:
        admin_client.post(api_path("definitions"), doc)
    assert caught.value.status == 500
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{section}: is null: the server's import fails on it (HTTP 500" in result.stderr
    assert_nothing_written(admin_client, names)


def stored(client: HttpClient, case: Case, names: Names) -> Any:
    """What the server holds of ``case``'s field after its own import of the file."""
    vhost = quote(names.vhost, safe="")
    if case.kind == "users":
        return client.get(api_path("users", names.user))[case.field]
    if case.kind == "vhosts":  # metadata.description is the vhost's description
        return client.get(api_path("vhosts", names.vhost))["description"]
    if case.kind == "exchanges":
        return client.get(api_path("exchanges", names.vhost, "x"))[case.field]
    if case.kind == "bindings":
        (binding,) = [b for b in client.get(f"/api/bindings/{vhost}") if b["source"] == "x"]
        return binding["routing_key"]
    assert case.kind == "operator_policy", case
    (policy,) = client.get(f"/api/operator-policies/{vhost}")
    return policy[case.field.removeprefix("value.")]


@pytest.mark.parametrize("case", STORED, ids=[c.id for c in STORED])
def test_what_the_import_stores_as_no_client_can_apply_refuses_saying_so(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, case: Case
) -> None:
    doc = case.document(names.vhost, names.user)
    admin_client.post(api_path("definitions"), doc)  # taken
    assert stored(admin_client, case, names) == ("undefined" if case.value == DROP else case.value)
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{case.path}: " in result.stderr and case.said in result.stderr
    assert_nothing_written(admin_client, names)


@pytest.mark.parametrize("case", UNDEFINED, ids=[c.id for c in UNDEFINED])
def test_a_field_the_import_stores_as_undefined_apply_writes_with_its_default_and_says_so(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, case: Case
) -> None:
    doc = case.document(names.vhost, names.user)
    admin_client.post(api_path("definitions"), doc)
    assert stored(admin_client, case, names) == "undefined"
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{case.path}: {case.said}" in " ".join(result.stderr.split())
    assert stored(admin_client, case, names) == (False if case.kind == "exchanges" else "")


@pytest.mark.parametrize(("kind", "written", "kept_by_server", "kept"), TAGS)
def test_duplicate_tags_the_import_keeps_apply_sets_once_and_says_so(
    rabbitadmin: CliRunner,
    admin_client: HttpClient,
    tmp_path: Path,
    names: Names,
    kind: str,
    written: Any,
    kept_by_server: list[str],
    kept: list[str],
) -> None:
    doc = document(kind, "tags", written, names.vhost, names.user)
    path = api_path("users", names.user) if kind == "users" else api_path("vhosts", names.vhost)
    admin_client.post(api_path("definitions"), doc)
    assert admin_client.get(path)["tags"] == kept_by_server
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{kind}[0].tags: the server's import keeps duplicate and empty tags" in result.stderr
    assert sorted(admin_client.get(path)["tags"]) == sorted(kept)


@pytest.mark.parametrize("where", ["tags", "metadata.tags"])
def test_null_tags_clear_a_vhosts_tags_as_the_import_does(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, where: str
) -> None:
    doc = document("vhosts", where, None, names.vhost, names.user)
    for way in ("import", "apply"):
        admin_client.put(api_path("vhosts", names.vhost), {"tags": "t", "description": ""})
        if way == "import":
            admin_client.post(api_path("definitions"), doc)
        else:
            result = apply(rabbitadmin, tmp_path, doc)
            assert result.returncode == 0, result.stdout + result.stderr
        assert admin_client.get(api_path("vhosts", names.vhost))["tags"] == [], way
        names.remove(admin_client)


def made(client: HttpClient, case: Case, names: Names) -> Any:
    """What the server holds of ``case``'s object: the vhost's limits, or the object (None if missing)."""
    vhost = quote(names.vhost, safe="")
    if case.kind == "vhost-limits":
        return client.get(f"/api/vhost-limits/{vhost}")
    if case.kind == "bindings":
        return [b["arguments"] for b in client.get(f"/api/bindings/{vhost}") if b["source"] == "x"] or None
    return client.get_or_none(api_path(case.kind, names.vhost, "x" if case.kind == "exchanges" else "q"))


@pytest.mark.parametrize("case", EMPTY, ids=[c.id for c in EMPTY])
def test_an_empty_list_the_import_reads_as_an_empty_object_apply_takes_so(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, case: Case
) -> None:
    doc = case.document(names.vhost, names.user)
    admin_client.post(api_path("definitions"), doc)
    imported = made(admin_client, case, names)
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    applied = made(admin_client, case, names)
    if case.kind == "vhost-limits":
        assert imported == applied == []
    elif case.kind == "bindings":
        assert imported == applied == [{}]
    else:  # the object, without arguments of the file's (4.0's import adds the vhost's x-queue-type)
        assert imported is not None and applied is not None
        assert not {k: v for k, v in applied["arguments"].items() if k != "x-queue-type"}


@pytest.mark.parametrize(("name", "value"), [("internal_cluster_id", "rabbitmq-cluster-id-shapes"),
                                             ("cluster_tags", {"shapes": "x"})])  # fmt: skip
def test_the_nodes_own_global_parameters_the_import_overwrites_apply_leaves(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, name: str, value: Any
) -> None:
    doc = {"rabbit_version": "4.0.5", "global_parameters": [{"name": name, "value": value}]}
    before = admin_client.get_or_none(api_path("global-parameters", name))
    try:
        admin_client.post(api_path("definitions"), doc)
        after = admin_client.get(api_path("global-parameters", name))["value"]
        assert after == value  # the node's own value replaced by the file's
    finally:  # the node's own back (3.10.8 has no cluster_tags)
        if before is None:
            admin_client.delete(api_path("global-parameters", name))
        else:
            admin_client.put(api_path("global-parameters", name), {"name": name, "value": before["value"]})
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stderr  # in every whole-server export: --strict would fail on every one
    assert admin_client.get_or_none(api_path("global-parameters", name)) == before


def snapshot(client: HttpClient, names: Names) -> dict[str, list[Any]]:
    """The server's definitions of this test's vhost, user and global parameter, as the differential compares them."""
    own = (names.vhost, names.user, shapes.global_name(names.vhost))
    whole = client.get(api_path("definitions"))
    mine = {section: [e for e in items if isinstance(e, dict) and (own[0] in (e.get("vhost"), e.get("name"))
                      or names.user in (e.get("user"), e.get("name")) or e.get("name") == own[2])]
            for section, items in whole.items() if isinstance(items, list)}  # fmt: skip
    return normalised(mine)


def status_of_import(client: HttpClient, doc: dict[str, Any]) -> int:
    try:
        client.post(api_path("definitions"), doc)
    except ServerError as refused:
        return refused.status
    return 204


@pytest.mark.parametrize("case", shapes.IGNORED, ids=[c.id for c in shapes.IGNORED])
def test_a_field_the_import_ignores_apply_leaves_out_saying_so(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names, case: Case
) -> None:
    doc = case.document(names.vhost, names.user)
    assert status_of_import(admin_client, doc) == 204
    imported = snapshot(admin_client, names)
    assert imported[shapes.section_of(case.kind)], "the import made the object"
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{case.path}: " in result.stderr and case.said in " ".join(result.stderr.split())
    assert snapshot(admin_client, names) == imported


def test_a_section_the_import_ignores_apply_leaves_out_saying_so(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names
) -> None:
    doc = {**document("queues", "name", "q", names.vhost), "some_future_section": [{"a": 1}], "other": 3}
    assert status_of_import(admin_client, doc) == 204
    imported = snapshot(admin_client, names)
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "some_future_section: unknown definitions section" in said and "other: unknown definitions" in said
    assert snapshot(admin_client, names) == imported and imported["queues"]


@pytest.mark.parametrize("case", shapes.SKIPPED, ids=[c.id for c in shapes.SKIPPED])
def test_an_object_the_import_skips_apply_leaves_out_saying_so(
    rabbitadmin: CliRunner,
    admin_client: HttpClient,
    tmp_path: Path,
    names: Names,
    case: shapes.Skipped,
    rabbitmq_version: str,
) -> None:
    """3.10.8 takes every such file (204) without the object; 4.0.5 refuses a binding of a skipped object (400
    not_found, after writing the rest) and lists a default-exchange binding: rabbitadmin does as 3.10.8 does."""
    doc = case.document(names.vhost)
    status = status_of_import(admin_client, doc)
    assert status == (case.import_4 if rabbitmq_version == "4.0" else 204)
    imported = snapshot(admin_client, names)
    if rabbitmq_version == "4.0" and case.id == "default-exchange-binding":  # 4.0.5 lists it; 3.10.8 does not
        listed = admin_client.get(f"/api/bindings/{quote(names.vhost, safe='')}")
        assert ("", "q", "k") in [(b["source"], b["destination"], b["routing_key"]) for b in listed]
        imported["bindings"] = [b for b in imported["bindings"] if b["source"] != ""]
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{case.path}: " in result.stderr and case.said in " ".join(result.stderr.split())
    applied = snapshot(admin_client, names)
    if status == 204:
        assert applied == imported
    assert [q["name"] for q in applied["queues"]] == ["q"] and [e["name"] for e in applied["exchanges"]] == ["x"]
    assert not applied["bindings"]


def test_bindings_of_the_servers_own_exchanges_are_made_by_both(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, names: Names
) -> None:
    exchange = shapes.entries(names.vhost, "u")["exchanges"]
    doc = {**document("queues", "name", "q", names.vhost), "exchanges": [exchange],
           "bindings": [{**b, "vhost": names.vhost} for b in shapes.SERVER_EXCHANGE_BINDINGS]}  # fmt: skip
    assert status_of_import(admin_client, doc) == 204
    imported = snapshot(admin_client, names)
    assert len(imported["bindings"]) == 2
    names.remove(admin_client)
    result = apply(rabbitadmin, tmp_path, doc)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stdout + result.stderr
    assert snapshot(admin_client, names) == imported
