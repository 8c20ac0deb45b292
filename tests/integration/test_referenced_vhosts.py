"""A definitions file's objects in a vhost it only refers to (the vhost exists on the server only), and the
refusals that name the file's line, against the server's own import on the same node (3.10 and 4.0).

Measured by hand (3.10.8, 4.0.5): the import declares such a queue without ``x-queue-type``, so 4.0 gives it
the vhost's ``default_queue_type`` (quorum here) and 3.10 classic; a binding with ``x-match: bogus`` from a
headers exchange on the server is refused by 4.0's import (HTTP 400, ``binding_invalid``) and left out by
3.10's. rabbitadmin: the queue is planned and created as the import creates it, the binding refused before
any write, and the apply lock taken in the referred vhost too. Session node.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode, ServerError

from ..conftest import CliRunner, delete_vhost
from .test_server_references import line_of, write


@pytest.fixture
def refv(admin_client: HttpClient) -> Iterator[str]:
    """A vhost made on the server only, with default queue type quorum (4.0 keeps it; 3.10 has none), and a
    headers exchange ``hx`` in it."""
    name = f"refv-{secrets.token_hex(3)}"
    admin_client.put(api_path("vhosts", name), {"default_queue_type": "quorum"})
    admin_client.put(api_path("exchanges", name, "hx"), {"type": "headers", "durable": True})
    yield name
    delete_vhost(admin_client, name)


def document(vhost: str, *, binding_args: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "vhosts": [],
        "queues": [{"name": "rq", "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}],
        "exchanges": [],
        "bindings": [],
    }
    if binding_args is not None:
        doc["bindings"].append(
            {
                "source": "hx",
                "vhost": vhost,
                "destination": "rq",
                "destination_type": "queue",
                "routing_key": "",
                "arguments": binding_args,
            }
        )
    return doc


def queue_type(client: HttpClient, vhost: str, name: str) -> str:
    return str(client.get(api_path("queues", vhost, name))["type"])


def test_a_queue_without_a_type_gets_the_referred_vhosts_default_as_in_the_servers_import(
    rabbitadmin: CliRunner, admin_client: HttpClient, rabbitmq_version: str, refv: str, tmp_path: Path
) -> None:
    expected = "quorum" if rabbitmq_version == "4.0" else "classic"  # 3.10 has no default queue type
    path, _ = write(tmp_path, document(refv))
    admin_client.post(api_path("definitions"), document(refv))  # the server's import
    assert queue_type(admin_client, refv, "rq") == expected
    planned = rabbitadmin("plan", str(path))
    assert planned.returncode == 0 and "No changes" in planned.stdout, planned.stdout + planned.stderr
    admin_client.delete(api_path("queues", refv, "rq"))
    applied = rabbitadmin("apply", "--yes", str(path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"({expected}, durable)" in applied.stdout, applied.stdout
    assert queue_type(admin_client, refv, "rq") == expected
    again = rabbitadmin("plan", str(path))
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr


def apply_under(
    rabbitadmin: CliRunner, admin_client: HttpClient, limit: str, doc: dict[str, Any], tmp_path: Path, vhost: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """``apply --yes`` of ``doc`` once ``vhost`` has ``limit`` (max-connections 0 or max-queues 1) on the server."""
    admin_client.put(api_path("vhost-limits", vhost, limit), {"value": 0 if limit == "max-connections" else 1})
    path, text = write(tmp_path, doc)
    return rabbitadmin("apply", "--yes", str(path)), text


def test_the_apply_lock_is_taken_in_a_vhost_the_file_only_refers_to(
    rabbitadmin: CliRunner, admin_client: HttpClient, refv: str, tmp_path: Path
) -> None:
    # No room for the lock's AMQP connection in the referred vhost: the apply must fail there, not write
    # without the lock; --no-lock applies.
    locked, _ = apply_under(rabbitadmin, admin_client, "max-connections", document(refv), tmp_path, refv)
    assert locked.returncode != 0, locked.stdout + locked.stderr
    assert f"apply lock of vhost {refv!r}" in locked.stderr, locked.stderr
    assert admin_client.get_or_none(api_path("queues", refv, "rq")) is None  # nothing written
    unlocked = rabbitadmin("apply", "--yes", "--no-lock", str(tmp_path / "defs.json"))
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "referred"])
def test_no_room_for_the_lock_in_an_existing_vhost_names_the_files_line(
    rabbitadmin: CliRunner, admin_client: HttpClient, refv: str, tmp_path: Path, declared: bool
) -> None:
    doc = document(refv)
    if declared:  # the file declares the vhost the server has: the refusal is at the declaration
        doc["vhosts"] = [{"name": refv}]
    refused, text = apply_under(rabbitadmin, admin_client, "max-queues", doc, tmp_path, refv)
    assert refused.returncode == ExitCode.REFUSED, refused.stdout + refused.stderr
    line = line_of(text, f'"name": "{refv}"') - 1 if declared else line_of(text, '"vhost": ')
    where = f"defs.json:{line}: vhost {refv!r}: max-queues 1 leaves no room"
    assert where in refused.stderr, refused.stderr


def test_a_binding_from_an_exchange_only_on_the_server_is_checked_against_its_type(
    rabbitadmin: CliRunner, admin_client: HttpClient, rabbitmq_version: str, refv: str, tmp_path: Path
) -> None:
    doc = document(refv, binding_args={"x-match": "bogus"})
    if rabbitmq_version == "4.0":
        with pytest.raises(ServerError) as refused_import:
            admin_client.post(api_path("definitions"), doc)
        assert "binding_invalid" in str(refused_import.value)
    else:
        admin_client.post(api_path("definitions"), doc)  # HTTP 204, the binding left out
    assert admin_client.get(api_path("bindings", refv, "e", "hx", "q", "rq")) == []
    admin_client.delete(api_path("queues", refv, "rq"))
    path, text = write(tmp_path, doc)
    refused = rabbitadmin("apply", "--yes", str(path))
    assert refused.returncode == ExitCode.REFUSED, refused.stdout + refused.stderr
    line = line_of(text, '"source": ') - 1  # the binding's own line (its opening brace)
    where = f"defs.json:{line}: binding 'hx' -> queue 'rq'"
    assert any(where in out and "argument x-match must be one of" in out for out in refused.stderr.splitlines())
    assert admin_client.get_or_none(api_path("queues", refv, "rq")) is None  # nothing written


def test_a_name_the_http_api_cannot_address_is_refused_at_its_line(
    rabbitadmin: CliRunner, refv: str, tmp_path: Path
) -> None:
    doc = document(refv)
    doc["queues"].append({"name": "..", "vhost": refv, "durable": True, "auto_delete": False, "arguments": {}})
    path, text = write(tmp_path, doc)
    refused = rabbitadmin("plan", str(path))
    assert refused.returncode == ExitCode.REFUSED, refused.stdout + refused.stderr
    line = line_of(text, '"name": ".."') - 1  # the queue's own line (its opening brace)
    where = f"defs.json:{line}: the http backend cannot create queue '..'"
    assert where in refused.stdout + refused.stderr, refused.stdout + refused.stderr
