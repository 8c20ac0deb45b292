"""An exchange of a type the node lacks is refused by the plan before any write, over both backends, and the
node itself refuses that type (so the refusal is the server's rule, not ours). The session node runs no
exchange-type plugin: x-consistent-hash is not there."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ServerError

from ..conftest import CliRunner, delete_vhost


def test_the_node_refuses_a_type_it_lacks(admin_client: HttpClient, vhost: str) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    with pytest.raises(ServerError) as caught:
        admin_client.put(api_path("exchanges", vhost, "ring"), {"type": "x-consistent-hash", "durable": True})
    assert caught.value.status == 400 and "x-consistent-hash" in caught.value.reason


@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_a_type_the_node_lacks_is_refused_before_any_write(
    rabbitadmin: CliRunner, admin_client: HttpClient, tmp_path: Path, backend: str
) -> None:
    vhost = f"types-{secrets.token_hex(3)}"
    path = tmp_path / "t.yaml"
    path.write_text(
        f"vhosts:\n  - name: {vhost}\n    exchanges:\n      - {{name: ring, type: x-consistent-hash}}\n"
        "      - {name: plain, type: topic}\n"
    )
    try:
        result = rabbitadmin("--backend", backend, "apply", "--yes", str(path))
        assert result.returncode == 4, result.stdout + result.stderr
        assert "the server has no exchange type 'x-consistent-hash'" in result.stderr
        assert "rabbitmq_consistent_hash_exchange plugin" in result.stderr
        assert admin_client.get_or_none(api_path("vhosts", vhost)) is None  # nothing written
    finally:
        delete_vhost(admin_client, vhost)
