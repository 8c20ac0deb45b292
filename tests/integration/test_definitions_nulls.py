"""A user field given as null in a definitions file: the server's own import refuses it (3.10 and 4.0), so
validate refuses it too, at its place, before anything is written (where a topology reads an empty field as
its default)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ServerError

from ..conftest import CliRunner


@pytest.mark.parametrize("field", ["tags", "password", "password_hash", "limits"])
def test_the_server_refuses_a_null_user_field_and_so_does_validate(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, field: str
) -> None:
    name = f"null-{field}-{secrets.token_hex(3)}"
    user = {"name": name, "tags": "", "password_hash": "", field: None}
    document = {"rabbit_version": "3.10.8", "users": [user]}
    try:
        with pytest.raises(ServerError):
            admin_client.post(api_path("definitions"), document)
    finally:
        if admin_client.get_or_none(api_path("users", name)) is not None:
            admin_client.delete(api_path("users", name))
    path = tmp_path / "defs.json"
    path.write_text(json.dumps(document, indent=1))
    result = rabbitadmin("apply", "--yes", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"users[0].{field}: is null, which the server's import refuses" in result.stderr
    assert admin_client.get_or_none(api_path("users", name)) is None
