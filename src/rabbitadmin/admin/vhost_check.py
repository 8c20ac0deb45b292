"""A readable error for a vhost that does not exist, the same through either backend.

The management API answers an unknown vhost with a bare 404 (listings: ``GET /api/queues/nosuch``) or
400 ``vhost_or_user_not_found`` (``PUT /api/permissions/...``); ``rabbitmqctl list_queues -p nosuch``
lists nothing and exits 0. Both become ``UnknownVhost``, with a "did you mean" among the vhosts there are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rabbitadmin.backends.admin_ops import AdminOps, Row
from rabbitadmin.errors import RabbitAdminError, UnknownVhost
from rabbitadmin.suggest import did_you_mean


def missing_vhost_error(ops: AdminOps, vhost: str) -> UnknownVhost | None:
    """``UnknownVhost`` for ``vhost`` when the server has no such vhost, else None (one listing of vhosts)."""
    names = [str(row.get("name")) for row in ops.list_vhosts()]
    if vhost in names:
        return None
    return UnknownVhost(f"there is no vhost {vhost!r}{did_you_mean(vhost, names)}; vhosts: {', '.join(sorted(names))}")


@contextmanager
def vhost_errors(ops: AdminOps, vhost: str | None) -> Iterator[None]:
    """Inside: an error of a command given ``vhost`` is replaced by ``UnknownVhost`` when that vhost is missing."""
    try:
        yield
    except RabbitAdminError as exc:
        if not vhost or isinstance(exc, UnknownVhost) or getattr(exc, "exit_code", 1) != 1:
            raise  # connection, timeout, refusal errors are about something else
        missing = missing_vhost_error(ops, vhost)
        if missing is None:
            raise
        raise missing from None


def checked_rows(ops: AdminOps, vhost: str | None, rows: Sequence[Row]) -> Sequence[Row]:
    """``rows`` of a listing filtered to ``vhost``; an empty one is checked: is it empty, or is it no vhost?"""
    if vhost and not rows:
        missing = missing_vhost_error(ops, vhost)
        if missing is not None:
            raise missing
    return rows
