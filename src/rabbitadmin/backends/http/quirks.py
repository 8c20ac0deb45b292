"""What the management HTTP API does that a caller must know, written once for the HTTP transport.

Seen on RabbitMQ 3.10.8 and 4.0.5 (this project's nodes); sources are the management plugin's handlers
(``rabbit_mgmt_wm_vhost``, ``rabbit_mgmt_wm_user``) in rabbitmq-server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rabbitadmin.connection import ConnectionSettings


def vhost_body(description: str | None, tags: Sequence[str] | None, default_queue_type: str | None) -> dict[str, Any]:
    """The body of ``PUT /api/vhosts/{name}``.

    The default queue type is spelled ``defaultqueuetype`` (3.10's ``rabbit_mgmt_wm_vhost`` reads only that
    key; 4.0 reads it too). Tags go as a list, each kept whole (``rabbit_vhost:parse_tags/1``; a string
    would be split at its commas, so a tag ``a,b`` became two and the next plan wanted it back). An existing
    vhost keeps its default queue type whatever the body says.
    """
    body: dict[str, Any] = {"description": description or "", "tags": list(tags or ())}
    if default_queue_type:
        body["defaultqueuetype"] = default_queue_type
    return body


def user_tags(tags: Sequence[str]) -> list[str]:
    """User tags as ``PUT /api/users/{name}`` takes them: a list, each kept whole, as the server's import keeps
    them (``rabbit_auth_backend_internal:tag_list_from/1``; a string is split at its commas)."""
    return list(tags)


def connected_user(settings: ConnectionSettings) -> str:
    """The user every request acts as (HTTP basic auth): deleting or demoting it would lock the tool out,
    so plan/apply and ``users delete`` protect it. (rabbitmqctl acts as the Erlang node: no such user.)"""
    return settings.user


#: How a conditional ``DELETE /api/queues/{vhost}/{name}`` refusal reads (HTTP 400, 3.10.8 and 4.0.5), by
#: ``MessagesArrived`` cause: ``if-empty`` "queue 'q' in vhost 'v' not empty", ``if-unused`` "... in use"
#: (with both flags, a queue with a consumer answers "in use"). 4.0.5 answers 500 with no reason instead
#: when the vhost name is not ASCII (rabbitmq-server #12888): the backend reads the queue back, and asks a
#: passive declare whether a consumer or ready messages kept it.
QUEUE_DELETE_REFUSALS = {"not_empty": "not empty", "in_use": "in use"}
