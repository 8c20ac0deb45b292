"""A refusal in the server's own words reads as text over HTTP: RabbitMQ HTML-escapes validation messages and
its definitions import wraps them in an Erlang binary (``rabbitadmin.server_reason``). Session node, both
versions."""

from __future__ import annotations

import secrets

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ServerError

from ..conftest import delete_vhost

REFUSED = {"pattern": ".*", "definition": {"max-length": "nope"}, "apply-to": "queues", "priority": 0}
WORDS = 'Validation failed <<"nope">> is not a valid maximum length'


def test_a_refused_policy_reads_as_text(admin_client: HttpClient, vhost: str) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    with pytest.raises(ServerError) as caught:
        admin_client.put(api_path("policies", vhost, "refused"), REFUSED)
    assert caught.value.reason.startswith(WORDS), caught.value.reason


def test_a_refused_definitions_import_reads_as_text(admin_client: HttpClient) -> None:
    # An ASCII name: RabbitMQ 4.0 answers such an import in a vhost named with non-ASCII characters with a bare
    # HTTP 500 (its message cannot be formatted), so there are no words to read there.
    vhost = f"reasons-{secrets.token_hex(3)}"
    admin_client.put(api_path("vhosts", vhost), {})
    try:
        with pytest.raises(ServerError) as caught:
            admin_client.post(api_path("definitions"), {"policies": [{"vhost": vhost, "name": "refused", **REFUSED}]})
        reason = caught.value.reason
        assert reason == f"{WORDS} ({vhost}/refused)"
        assert admin_client.get_or_none(api_path("policies", vhost, "refused")) is None
    finally:
        delete_vhost(admin_client, vhost)


def test_an_import_over_a_vhost_limit_reads_as_text(admin_client: HttpClient) -> None:
    """RabbitMQ 3.10.8 sends this refusal as an Erlang term in JSON, its text as a list of character codes."""
    vhost = f"reasons-{secrets.token_hex(3)}"
    admin_client.put(api_path("vhosts", vhost), {})
    try:
        admin_client.put(api_path("vhost-limits", vhost, "max-queues"), {"value": 0})
        queue = {"vhost": vhost, "name": "q", "durable": True, "auto_delete": False, "arguments": {}}
        with pytest.raises(ServerError) as caught:
            admin_client.post(api_path("definitions"), {"queues": [queue]})
        reason = caught.value.reason
        assert f'to virtual host "{vhost}" would exceed the limit of 0 queue(s)' in reason, reason
        assert "[65, " not in reason and "\n" not in reason, reason
    finally:
        delete_vhost(admin_client, vhost)
