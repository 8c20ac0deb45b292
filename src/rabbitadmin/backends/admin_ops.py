"""The everyday administration operations, as one protocol with one implementation per transport.

Commands call an ``AdminOps`` and never look at the transport: ``HttpAdmin`` talks to the management API,
``CtlAdmin`` runs ``rabbitmqctl``. Listings return plain rows (dicts) with the same keys on both, listed in
``COLUMNS``, so text tables and JSON output do not depend on the backend either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from rabbitadmin.backends.ctl.runner import table_arguments
from rabbitadmin.backends.daily_ops import CheckResult
from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret, Vhost
from rabbitadmin.normalize import normalize_tags
from rabbitadmin.passwords import BLANK_PASSWORD_REFUSAL, is_blank

Row = dict[str, Any]
__all__ = [
    "COLUMNS",
    "AdminOps",
    "Row",
    "channel_row",
    "refuse_blank",
    "table_arguments",
    "tag_list",
    "vhost_row",
]

#: The keys of each listing's rows, in display order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("name", "tags"),
    "vhosts": ("name", "description", "tags", "default_queue_type"),
    "permissions": ("user", "vhost", "configure", "write", "read"),
    "queues": (
        "vhost",
        "name",
        "type",
        "durable",
        "auto_delete",
        "exclusive",
        "messages",
        "consumers",
        "members",
        "leader",
        "online",
    ),
    "exchanges": ("vhost", "name", "type", "durable", "auto_delete", "internal", "arguments"),
    "bindings": ("vhost", "source", "destination_type", "destination", "routing_key", "arguments"),
    "connections": ("name", "user", "vhost", "peer_host", "peer_port", "state", "channels"),
    "channels": ("name", "user", "vhost", "number", "consumers", "unacked", "prefetch"),
    "consumers": ("vhost", "queue", "consumer_tag", "channel", "ack_required", "prefetch", "active"),
}


#: The type of each listing field that is not a plain string (or None when the server cannot tell yet,
#: e.g. ``messages`` before the first statistics emission). Every row carries every column of its listing.
FIELD_TYPES: dict[str, type] = {
    "tags": list,
    "durable": bool,
    "auto_delete": bool,
    "exclusive": bool,
    "internal": bool,
    "ack_required": bool,
    "active": bool,
    "messages": int,
    "consumers": int,
    "peer_port": int,
    "channels": int,
    "number": int,
    "unacked": int,
    "prefetch": int,
    "arguments": dict,
    "members": list,
    "online": list,
}
#: Quorum queue and stream replica fields: the nodes holding a member, the leader's node, the members'
#: nodes that are up. A classic queue has none (None; rabbitmqctl prints "" for them).
REPLICA_FIELDS = frozenset({"members", "leader", "online"})


def _typed(field: str, value: Any) -> Any:
    kind = FIELD_TYPES.get(field)
    if field in REPLICA_FIELDS and value in ("", None):
        return None
    if kind is bool:
        # rabbitmqctl prints "" for a flag a queue type does not have (quorum and stream queues are never
        # exclusive); the management API says false.
        if value in ("", None):
            return False if value == "" else None
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind is int:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        return int(value) if isinstance(value, str) and value.strip().isdigit() else None
    if kind is list:
        return tag_list(value)
    if kind is dict:
        return table_arguments(value)
    return value


def shaped(kind: str, rows: list[Row]) -> list[Row]:
    """Rows of listing ``kind`` in the one shape both backends give: exactly ``COLUMNS[kind]``, in order,
    each value of its ``FIELD_TYPES`` type or None (never ``""`` for a flag, never a numeric string)."""
    return [{column: _typed(column, row.get(column)) for column in COLUMNS[kind]} for row in rows]


P = ParamSpec("P")
S = TypeVar("S")


def listing(kind: str) -> Callable[[Callable[Concatenate[S, P], list[Row]]], Callable[Concatenate[S, P], list[Row]]]:
    """Decorates a backend's ``list_*`` method so that its rows come out :func:`shaped` as ``kind``."""

    def decorate(method: Callable[Concatenate[S, P], list[Row]]) -> Callable[Concatenate[S, P], list[Row]]:
        @functools.wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> list[Row]:
            return shaped(kind, method(self, *args, **kwargs))

        return wrapper

    return decorate


class AdminOps(Protocol):
    """What the administration commands need from a server; see the module docstring."""

    #: "http" or "ctl", for messages.
    name: str
    #: What the user should know about writes that succeeded, e.g. an answer that was lost and the write
    #: read back done (the commands print them on stderr as "note: ...").
    notes: list[str]

    def close(self) -> None:
        """Release connections or temporary files."""

    # users
    def list_users(self) -> list[Row]:
        """Every user with its tags."""

    def add_user(self, name: str, password: Secret, tags: Sequence[str]) -> None:
        """Create a user; ``AlreadyExists`` if it exists (its password is never overwritten here);
        ``UsageError`` for a blank password (see ``refuse_blank``)."""

    def delete_user(self, name: str) -> bool:
        """Delete a user; False if there was none."""

    def change_password(self, name: str, password: Secret) -> None:
        """Set a user's password, keeping its tags; ``NotFound`` if there is no such user; ``UsageError`` for
        a blank password."""

    def authenticate(self, name: str, password: Secret) -> bool:
        """True if ``name`` can log in with ``password`` as the server decides it: False for a blank
        password (refused at login), an unknown user, a user without a password or a wrong password."""

    def set_user_tags(self, name: str, tags: Sequence[str]) -> None:
        """Replace a user's tags, keeping its password; ``NotFound`` if there is no such user."""

    # vhosts
    def list_vhosts(self) -> list[Row]:
        """Every vhost with its description, tags and default queue type."""

    def add_vhost(
        self, name: str, description: str | None, tags: Sequence[str], default_queue_type: str | None
    ) -> None:
        """Create a vhost; ``AlreadyExists`` if it exists."""

    def delete_vhost(self, name: str) -> bool:
        """Delete a vhost and everything in it; False if there was none."""

    # permissions
    def list_permissions(self, vhost: str | None = None, user: str | None = None) -> list[Row]:
        """Permissions, optionally only in one vhost and/or of one user."""

    def set_permissions(self, user: str, vhost: str, configure: str, write: str, read: str) -> None:
        """Grant (or replace) a user's permissions in a vhost."""

    def clear_permissions(self, user: str, vhost: str) -> bool:
        """Revoke a user's permissions in a vhost; False if it had none."""

    # queues, exchanges, bindings
    def list_queues(self, vhost: str | None = None) -> list[Row]:
        """Queues with their message and consumer counts (``messages`` may be None on a brand new queue)."""

    def purge_queue(self, vhost: str, name: str) -> None:
        """Drop every ready message of a queue; ``NotFound`` if there is no such queue."""

    def delete_queue(self, vhost: str, name: str, *, if_empty: bool = False, if_unused: bool = False) -> bool:
        """Delete a queue (and its messages); False if there was none."""

    def list_exchanges(self, vhost: str | None = None) -> list[Row]:
        """Exchanges, server-owned ones included."""

    def list_bindings(self, vhost: str | None = None) -> list[Row]:
        """Bindings, the default exchange's implicit ones included."""

    # clients
    def list_connections(self) -> list[Row]:
        """Client connections."""

    def list_channels(self) -> list[Row]:
        """Channels of every connection."""

    def list_consumers(self, vhost: str | None = None) -> list[Row]:
        """Consumers, with their queue and channel."""

    # everyday read-outs and actions (backends/daily_ops.py; backends/http/daily.py, backends/ctl/daily.py)
    def overview(self) -> Row:
        """``cluster_name``, ``node``, ``rabbitmq_version``, ``erlang_version``, ``nodes`` (name, running, type,
        rabbitmq_version), ``object_totals`` (``daily_ops.OBJECT_TOTALS``), ``messages`` (total, ready,
        unacked; None before the first statistics over HTTP) and ``alarms`` (node, resource)."""

    def health_check(self, name: str, argument: str | None = None) -> CheckResult:
        """Run one of ``daily_ops.HEALTH_CHECKS`` on the node; a failed check is a result, not an exception
        (``ConnectionFailed`` when the node cannot be asked)."""

    def list_connection_names(self) -> list[Row]:
        """Connections with ``name``, ``user`` and ``vhost`` only (and what the transport needs to close one)."""

    def close_connection(self, name: str, reason: str) -> bool:
        """Close a client connection, telling the client ``reason``; False if there was none."""

    def list_policies(self, vhost: str | None = None) -> list[Row]:
        """Policies and operator policies (``kind`` "policy" or "operator"), as ``DAILY_COLUMNS["policies"]``."""

    def list_feature_flags(self) -> list[Row]:
        """Feature flags: name, state, stability, provided_by, desc."""

    def list_plugins(self) -> list[Row]:
        """Plugins: name, enabled ("enabled", "implicit", "not_enabled"), running, version. Over HTTP only the
        enabled ones are known."""

    def set_plugins(self, names: list[str], *, enable: bool) -> str:
        """Enable or disable plugins on the running node; what the tool said. ``Refused`` over HTTP."""

    def export_definitions(self, vhost: str | None = None) -> dict[str, Any]:
        """The server's definitions document (``GET /api/definitions[/{vhost}]``, ``export_definitions``)."""


def refuse_blank(password: Secret) -> Secret:
    """``password`` unchanged, or ``UsageError`` if it is blank: the server would store it and then refuse
    every login with it (see ``passwords.is_blank``), so no user is given one."""
    if is_blank(password.reveal()):
        raise UsageError(f"the password is empty: {BLANK_PASSWORD_REFUSAL}")
    return password


def tag_list(value: Any) -> list[str]:
    """Tags as a sorted list, from a list or a comma-separated string (``normalize.normalize_tags``)."""
    return list(normalize_tags(value))


def vhost_row(vhost: Vhost) -> Row:
    """A vhost listing row from the vhost as read (``definitions.vhost_from_server``, which knows the
    server's ``"undefined"`` default queue type and both places it keeps description and tags)."""
    return {
        "name": vhost.name,
        "description": vhost.description or "",
        "tags": list(vhost.tags or ()),
        "default_queue_type": vhost.default_queue_type,
    }


def channel_row(data: dict[str, Any]) -> Row:
    """A channel listing row from the server's channel fields (the same names over HTTP and rabbitmqctl)."""
    return {
        "name": data.get("name"),
        "user": data.get("user"),
        "vhost": data.get("vhost"),
        "number": data.get("number"),
        "consumers": data.get("consumer_count"),
        "unacked": data.get("messages_unacknowledged"),
        "prefetch": data.get("prefetch_count"),
    }
