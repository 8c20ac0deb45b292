"""A field given as null in a definitions file, where the server's own import cannot read null: each of
``definitions_input.NOT_NULL`` is put to the server's import (3.10 and 4.0), which must refuse it, and to
``rabbitadmin apply``, which must refuse it at its place before anything is written (a topology reads an empty
field as its default). Session node."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.definitions_input import NOT_NULL
from rabbitadmin.errors import ServerError

from ..conftest import CliRunner, delete_vhost

CASES = [(section, field) for section, fields in NOT_NULL.items() for field in fields]


def document(section: str, field: str, vhost: str, user: str) -> dict[str, Any]:
    """A definitions file the import takes, but for ``field`` of the one ``section`` entry, which is null."""
    exchange = {"name": "x", "vhost": vhost, "type": "direct", "durable": True, "auto_delete": False,
                "internal": False, "arguments": {}}  # fmt: skip
    queue = {"name": "q", "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}
    binding = {"source": "x", "vhost": vhost, "destination": "q", "destination_type": "queue", "routing_key": "k",
               "arguments": {}}  # fmt: skip
    entries: dict[str, Any] = {
        "users": {"name": user, "tags": "", "password_hash": ""},
        "exchanges": exchange,
        "queues": queue,
        "bindings": binding,
    }
    entries[section] = {**entries[section], field: None}
    result: dict[str, Any] = {"rabbit_version": "3.10.8", "vhosts": [{"name": vhost}]}
    for name in ("users", "exchanges", "queues", "bindings"):
        if name == section or (section == "bindings" and name in ("exchanges", "queues")):
            result[name] = [entries[name]]
    return result


@pytest.mark.parametrize(("section", "field"), CASES, ids=[f"{s}.{f}" for s, f in CASES])
def test_the_server_refuses_a_null_field_and_so_does_apply(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, section: str, field: str
) -> None:
    vhost, user = f"nulls-{secrets.token_hex(3)}", f"nulls-{secrets.token_hex(3)}"
    doc = document(section, field, vhost, user)
    try:
        with pytest.raises(ServerError):
            admin_client.post(api_path("definitions"), doc)
    finally:  # the import is not atomic: what it created before the refusal goes
        delete_vhost(admin_client, vhost)
        if admin_client.get_or_none(api_path("users", user)) is not None:
            admin_client.delete(api_path("users", user))
    path = tmp_path / "defs.json"
    path.write_text(json.dumps(doc, indent=1))
    result = rabbitadmin("apply", "--yes", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{section}[0].{field}: is null, which the server's import refuses" in result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
