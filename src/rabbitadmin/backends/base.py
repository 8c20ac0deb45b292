"""The one narrow interface between the engine and a server.

The engine decides *what* to do and in which order; a backend only knows *how* to read the state and
carry out one kind of operation. Passwords never reach a backend in plain text for plan/apply: the engine
hashes them first (``User.password_hash``), so a backend sends hashes only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple, Protocol

from rabbitadmin.model import Key, Queue, Topology, TopologyObject


class QueueDepth(NamedTuple):
    """A queue's current message count (ready and unacknowledged) and consumer count; None if unknown."""

    messages: int | None
    consumers: int | None


class Backend(Protocol):
    """What plan and apply need from a server connection."""

    #: Short name shown in plans and errors ("http", "ctl").
    name: str
    #: How many operations may run at once (1 for a backend whose calls cannot overlap).
    parallelism: int
    #: Batches of at least this many creates are handed to ``create`` in one call (a bulk import).
    bulk_threshold: int

    def connected_user(self) -> str | None:
        """The user this backend acts as, protected from deletion and demotion (None if not a user)."""

    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        """The server's state: global objects plus everything inside ``vhosts`` (None: every vhost).

        Queues carry ``exclusive`` (and ``messages`` where the read is free; ``message_counts`` is what
        counts); bindings may carry ``properties_key``; users carry ``password_hash`` and
        ``hashing_algorithm``. Server-owned objects are included as they are (the engine decides what to
        ignore), except the implicit default-exchange bindings, which no backend reports.
        """

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, QueueDepth]:
        """Exact, current message and consumer counts of ``queues`` (None where it cannot be known).

        Called for the queues a plan would delete or replace: statistics may be seconds old, and a stale
        zero would let messages be destroyed without the data-loss flag.
        """

    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        """Why ``action`` ("create", "update", "delete") on ``obj`` cannot be done here, or None."""

    def create(
        self,
        objects: Sequence[TopologyObject],
        progress: Callable[[Sequence[TopologyObject]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Create objects that do not exist yet, given in dependency order (may be bulk requests).

        ``progress`` is called with the objects of each batch once they are created. Once ``stop`` is set,
        no new batch starts (the method returns; objects not reported were not attempted). A batch that
        fails raises ``errors.BatchFailed`` naming its objects that are not on the server.
        """

    def update(self, obj: TopologyObject) -> None:
        """Change the updatable fields of an existing object to those of ``obj``."""

    def delete(self, obj: TopologyObject, *, if_empty: bool = False, if_unused: bool = False) -> None:
        """Delete an existing object (as read from the server). Already gone counts as done.

        ``if_empty`` (queues and vhosts): the server deletes a queue only if it holds no ready message at
        that moment (``DELETE /api/queues/{vhost}/{name}?if-empty=true``, ``rabbit_amqqueue:delete/4`` with
        ``IfEmpty``), and raises ``errors.MessagesArrived`` otherwise; a vhost is deleted only after each of
        its queues was deleted that way. The server's if-empty counts ready messages only: messages
        delivered to a consumer and not yet acknowledged go with the queue.
        ``if_unused`` (classic queues, and a vhost's classic queues; with ``if_empty``): the server also
        refuses while the queue has a consumer (``if-unused=true``, ``IfUnused``; 400 "in use", eval
        ``{error, in_use}``), raising ``errors.MessagesArrived`` too. It is sent to classic queues only:
        quorum queues refuse the flag itself (``rabbit_quorum_queue:delete/4``, HTTP 400 "not supported by
        quorum queues") and streams ignore conditions; the engine never asks for it on them.
        """

    def server_facts(self) -> tuple[str | None, dict[str, str] | None]:
        """The server's RabbitMQ version (``"4.0.5"``) and its deprecated features (name -> phase), each
        None where unknown (the phases exist from 3.13/4.0 on, over HTTP). Read once, then cached."""

    def close(self) -> None:
        """Release connections."""
