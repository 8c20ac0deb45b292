"""A definitions file that names objects it does not declare (a permission's user, a binding's source exchange, the
vhost of a policy), put to the server's own import and to ``rabbitadmin apply`` on the same node (3.10 and 4.0).

What the server's import did (``POST /api/definitions``; 3.10.8 and 4.0.5, measured by hand and again here):
- every named object on the server: HTTP 204, the file applied;
- a user or vhost missing: HTTP 400 after writing the sections it reads first (a partial write: the file's vhost
  is created, its permissions and queues are not);
- only a binding's source exchange missing: 3.10.8 answers 204 and drops the binding in silence; 4.0.5 answers
  400 (``resources_missing``) after writing everything before the bindings.
rabbitadmin: with the objects on the server, apply succeeds and a second plan is empty; without them, apply is
refused before any write, each reference named at its file, line and field. Session node.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode, ServerError

from ..conftest import CliRunner, delete_vhost


@dataclass
class Names:
    """One run's names: ``app`` is declared in the file; ``other``, ``user`` and ``source`` are only named."""

    app: str
    other: str
    user: str
    source: str = "onserver"

    def document(self, *, with_policy: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "rabbit_version": "3.10.8",
            "vhosts": [{"name": self.app}],
            "permissions": [{"user": self.user, "vhost": self.app, "configure": ".*", "write": ".*", "read": ".*"}],
            "exchanges": [],
            "queues": [{"name": "q1", "vhost": self.app, "durable": True, "auto_delete": False, "arguments": {}}],
            "bindings": [
                {
                    "source": self.source,
                    "vhost": self.app,
                    "destination": "q1",
                    "destination_type": "queue",
                    "routing_key": "k",
                    "arguments": {},
                }
            ],
            "policies": [],
        }
        if with_policy:
            doc["policies"] = [
                {
                    "vhost": self.other,
                    "name": "p",
                    "pattern": "^nothing$",
                    "apply-to": "queues",
                    "definition": {"max-length": 5},
                    "priority": 0,
                }
            ]
        return doc


@pytest.fixture
def names(admin_client: HttpClient) -> Iterator[Names]:
    made = Names(*(f"ref-{what}-{secrets.token_hex(3)}" for what in ("app", "other", "user")))
    yield made
    for vhost in (made.app, made.other):
        delete_vhost(admin_client, vhost)
    admin_client.delete(api_path("users", made.user))


def make_referenced(client: HttpClient, names: Names) -> None:
    """What the file names without declaring it, made by other means."""
    client.put(api_path("vhosts", names.app), {})
    client.put(api_path("vhosts", names.other), {})
    client.put(api_path("users", names.user), {"password": secrets.token_hex(8), "tags": ""})
    client.put(api_path("exchanges", names.app, names.source), {"type": "direct", "durable": True})


def binding_exists(client: HttpClient, names: Names) -> bool:
    rows = client.get_or_none(api_path("bindings", names.app, "e", names.source, "q", "q1")) or []
    return any(row["routing_key"] == "k" for row in rows)


def write(tmp_path: Path, document: dict[str, Any]) -> tuple[Path, str]:
    text = json.dumps(document, indent=2)
    path = tmp_path / "defs.json"
    path.write_text(text)
    return path, text


def line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


#: The command's global options for each backend (the ctl settings come from the session's environment).
BACKENDS = {"http": (), "ctl": ("--backend", "ctl")}


@pytest.mark.parametrize("transport", sorted(BACKENDS))
def test_the_servers_objects_are_taken_by_the_import_and_by_apply(
    rabbitadmin: CliRunner, admin_client: HttpClient, names: Names, tmp_path: Path, transport: str
) -> None:
    make_referenced(admin_client, names)
    admin_client.post(api_path("definitions"), names.document())  # the server's import: HTTP 204
    assert binding_exists(admin_client, names)
    assert admin_client.get_or_none(api_path("policies", names.other, "p")) is not None
    for vhost in (names.app, names.other):  # again, by rabbitadmin, from the same server state
        delete_vhost(admin_client, vhost)
    make_referenced(admin_client, names)
    path, _ = write(tmp_path, names.document())
    result = rabbitadmin(*BACKENDS[transport], "apply", "--yes", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "must exist on the server" in result.stderr
    assert binding_exists(admin_client, names)
    assert admin_client.get_or_none(api_path("policies", names.other, "p")) is not None
    assert admin_client.get_or_none(api_path("permissions", names.app, names.user)) is not None
    again = rabbitadmin(*BACKENDS[transport], "plan", str(path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout  # converged
    pruned = rabbitadmin(*BACKENDS[transport], "plan", "--prune", str(path))
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    # --prune leaves the source exchange and the vhost only referred to alone.
    assert f"'{names.source}'" not in pruned.stdout and names.other not in pruned.stdout, pruned.stdout
    assert admin_client.get_or_none(api_path("exchanges", names.app, names.source)) is not None


@pytest.mark.parametrize("transport", sorted(BACKENDS))
def test_what_exists_nowhere_fails_the_import_part_way_and_is_refused_by_apply_before_any_write(
    rabbitadmin: CliRunner, admin_client: HttpClient, names: Names, tmp_path: Path, transport: str
) -> None:
    with pytest.raises(ServerError) as refused:
        admin_client.post(api_path("definitions"), names.document())
    assert refused.value.status == 400 and "no_such_user" in str(refused.value)
    assert admin_client.get_or_none(api_path("vhosts", names.app)) is not None  # the import's partial write
    delete_vhost(admin_client, names.app)
    path, text = write(tmp_path, names.document())
    result = rabbitadmin(*BACKENDS[transport], "apply", "--yes", str(path))
    assert result.returncode == ExitCode.REFUSED, result.stdout + result.stderr
    for field, marker in (
        ("permissions[0].user", f'"user": "{names.user}"'),
        ("bindings[0].source", f'"source": "{names.source}"'),
        ("policies[0].vhost", f'"vhost": "{names.other}"'),
    ):
        expected = f"defs.json:{line_of(text, marker)}: {field}: "
        refusal = [line for line in (result.stdout + result.stderr).splitlines() if expected in line]
        assert refusal and "exists in neither this file nor the server" in refusal[0], result.stdout + result.stderr
    assert admin_client.get_or_none(api_path("vhosts", names.app)) is None  # nothing written
    assert admin_client.get_or_none(api_path("vhosts", names.other)) is None


def test_a_missing_source_exchange_dropped_by_3_10_and_refused_by_4_0_is_refused_by_apply(
    rabbitadmin: CliRunner, admin_client: HttpClient, rabbitmq_version: str, names: Names, tmp_path: Path
) -> None:
    admin_client.put(api_path("users", names.user), {"password": secrets.token_hex(8), "tags": ""})
    document = names.document(with_policy=False)
    if rabbitmq_version == "3.10":
        admin_client.post(api_path("definitions"), document)  # HTTP 204: the binding is dropped in silence
        assert admin_client.get_or_none(api_path("queues", names.app, "q1")) is not None
    else:
        with pytest.raises(ServerError) as refused:
            admin_client.post(api_path("definitions"), document)
        assert refused.value.status == 400 and "resources_missing" in str(refused.value)
        assert admin_client.get_or_none(api_path("queues", names.app, "q1")) is not None  # written before it failed
    assert not binding_exists(admin_client, names)
    delete_vhost(admin_client, names.app)
    path, text = write(tmp_path, document)
    result = rabbitadmin("apply", "--yes", str(path))
    assert result.returncode == ExitCode.REFUSED, result.stdout + result.stderr
    line = line_of(text, f'"source": "{names.source}"')
    expected = f"defs.json:{line}: bindings[0].source: exchange 'onserver' in vhost '{names.app}' exists in neither"
    assert expected in result.stdout + result.stderr
    assert admin_client.get_or_none(api_path("vhosts", names.app)) is None  # nothing written
