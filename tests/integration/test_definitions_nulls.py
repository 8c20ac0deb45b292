"""A field given as null, where the server's own import cannot read null: each of ``definitions_input.NOT_NULL``
is put to the server's import (3.10 and 4.0), which must refuse it, and to ``rabbitadmin apply``, which must refuse
it at its place before anything is written (a topology reads an empty field as its default). The files:
tests/definitions_shapes.py. Session node."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ServerError

from ..conftest import CliRunner, delete_vhost
from ..definitions_shapes import Case, every_null

CASES = every_null()
#: The one null 3.10.8's import does not refuse: it answers 204 and creates no vhost at all (4.0.5: 400
#: ``invalid_queue_type``). Refused here all the same: the file's vhost would be lost in silence.
DROPPED_BY_3_10 = ("vhosts", "metadata.default_queue_type")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_server_refuses_a_null_field_and_so_does_apply(
    rabbitadmin: CliRunner, admin_client: HttpClient, rabbitmq_version: str, tmp_path: Path, case: Case
) -> None:
    vhost, user = f"nulls-{secrets.token_hex(3)}", f"nulls-{secrets.token_hex(3)}"
    doc = case.document(vhost, user)
    try:
        if (case.kind, case.field) == DROPPED_BY_3_10 and rabbitmq_version == "3.10":
            admin_client.post(api_path("definitions"), doc)
            assert admin_client.get_or_none(api_path("vhosts", vhost)) is None
        else:
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
    assert f"{case.path}: is null, which the server's import refuses" in result.stderr
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
    assert admin_client.get_or_none(api_path("users", user)) is None
