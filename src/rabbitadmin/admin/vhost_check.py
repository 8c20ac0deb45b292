"""Readable errors for a vhost, user or queue that does not exist, the same through either backend.

The management API answers an unknown name with a bare 404 (listings: ``GET /api/queues/nosuch``) or
400 ``vhost_or_user_not_found`` (``PUT /api/permissions/...``), and an empty list for
``GET /api/users/nosuch/permissions`` on some versions; ``rabbitmqctl list_queues -p nosuch`` lists nothing
and exits 0, ``set_permissions`` exits 67. All become ``UnknownVhost``, ``UnknownUser`` or ``UnknownQueue``,
with a "did you mean" among the names there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from rabbitadmin.backends.admin_ops import AdminOps, Row
from rabbitadmin.errors import NotFound, RabbitAdminError, UnknownQueue, UnknownUser, UnknownVhost
from rabbitadmin.suggest import no_such as unknown

#: Per kind of name: how to list the names there are, and the error for one that is missing.
KINDS: dict[str, tuple[Callable[[AdminOps], list[Row]], type[NotFound]]] = {
    "vhost": (lambda ops: ops.list_vhosts(), UnknownVhost),
    "user": (lambda ops: ops.list_users(), UnknownUser),
}
def missing_error(ops: AdminOps, kind: str, name: str) -> NotFound | None:
    """The error for ``name`` when the server has no such ``kind`` ("vhost" or "user"), else None."""
    list_rows, error = KINDS[kind]
    names = [str(row.get("name")) for row in list_rows(ops)]
    return None if name in names else error(unknown(kind, name, names))


def missing_vhost_error(ops: AdminOps, vhost: str) -> NotFound | None:
    """``UnknownVhost`` for ``vhost`` when the server has no such vhost, else None (one listing of vhosts)."""
    return missing_error(ops, "vhost", vhost)


def missing_queue_error(ops: AdminOps, vhost: str, queue: str) -> NotFound | None:
    """``UnknownQueue`` (or ``UnknownVhost``) when ``vhost`` has no queue ``queue``, else None."""
    names = [str(row.get("name")) for row in ops.list_queues(vhost)]
    if queue in names:
        return None
    return missing_vhost_error(ops, vhost) or UnknownQueue(unknown("queue", queue, names, f" in vhost {vhost!r}"))


@contextmanager
def name_errors(ops: AdminOps, given: Mapping[str, str | None]) -> Iterator[None]:
    """Inside: an error of a command given names (``{"vhost": ..., "user": ...}``) is replaced by the
    ``Unknown*`` error of the first of them the server does not have; other errors pass unchanged."""
    try:
        yield
    except RabbitAdminError as exc:
        if isinstance(exc, UnknownVhost | UnknownUser | UnknownQueue) or getattr(exc, "exit_code", 1) != 1:
            raise  # connection, timeout, refusal errors are about something else
        for kind, name in given.items():
            missing = missing_error(ops, kind, name) if name else None
            if missing is not None:
                raise missing from None
        raise


def checked_rows(ops: AdminOps, vhost: str | None, rows: Sequence[Row], user: str | None = None) -> Sequence[Row]:
    """``rows`` of a listing filtered to ``vhost`` (and ``user``); an empty one is checked: is it empty, or is
    there no such vhost (user)?"""
    if not rows:
        for kind, name in (("vhost", vhost), ("user", user)):
            missing = missing_error(ops, kind, name) if name else None
            if missing is not None:
                raise missing
    return rows
