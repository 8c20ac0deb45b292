"""``AdminOps`` through ``rabbitmqctl`` (works without the management plugin).

No plaintext password reaches rabbitmqctl: adding a user or changing a password imports the user with a
salted hash computed here (``import_definitions`` from a private file, see ``runner``), and
``authenticate`` checks the password against the stored hash read with the definitions (``definitions_read``), as the
HTTP backend does. That also avoids stdin, which RabbitMQ 4.0.5's rabbitmqctl never reads for these
commands (upstream issue 13157). Names go after ``--`` (and vhosts as ``--vhost=NAME``) so that a name
starting with ``-`` is never read as an option. Listings over every vhost need one call per vhost: they
run a few at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rabbitadmin.backends.admin_ops import (
    Row,
    channel_row,
    listing,
    refuse_blank,
    table_arguments,
    tag_list,
    vhost_row,
)
from rabbitadmin.backends.ctl.daily import CtlDailyOps
from rabbitadmin.backends.ctl.definitions_read import DefinitionsReader
from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.backends.import_wait import import_wait
from rabbitadmin.definitions import to_definition, vhost_from_server
from rabbitadmin.errors import AlreadyExists, CtlError, NotFound
from rabbitadmin.model import Secret, User
from rabbitadmin.passwords import DEFAULT_ALGORITHM, check_password, hash_password, is_blank
from rabbitadmin.threads import worker_pool

PARALLEL_CALLS = 4


def _vhost(vhost: str) -> str:
    return f"--vhost={vhost}"


def _peer(value: Any) -> Any:
    # rabbitmqctl's JSON shows an IPv4 address as a list of four numbers.
    if isinstance(value, list) and len(value) == 4 and all(isinstance(part, int) for part in value):
        return ".".join(str(part) for part in value)
    return value


class CtlAdmin(CtlDailyOps):
    """Administration through rabbitmqctl; see the module docstring."""

    name = "ctl"

    def __init__(self, ctl: Rabbitmqctl) -> None:
        self.ctl = ctl
        self.definitions = DefinitionsReader(ctl)
        #: Notes on writes (none yet: a rabbitmqctl call either finishes or is killed at its timeout).
        self.notes: list[str] = []

    def close(self) -> None:
        self.ctl.close()

    def _per_vhost(self, vhost: str | None, fetch: Callable[[str], list[Row]]) -> list[Row]:
        names = [vhost] if vhost is not None else [v["name"] for v in self.list_vhosts()]
        with worker_pool(PARALLEL_CALLS, on_interrupt=self.ctl.stop_running) as pool:
            results = list(pool.map(fetch, names))
        return [row for rows in results for row in rows]

    # -- users -------------------------------------------------------------------------------------------
    @listing("users")
    def list_users(self) -> list[Row]:
        return [{"name": u["user"], "tags": tag_list(u.get("tags"))} for u in self.ctl.json(["list_users"])]

    def add_user(self, name: str, password: Secret, tags: Sequence[str]) -> None:
        if self._user_tags(name) is not None:
            raise AlreadyExists(f"user {name!r} exists already (change its password with `users change-password`)")
        self._import_user(name, password, tags)

    def delete_user(self, name: str) -> bool:
        # 4.0.5's delete_user exits 0 for a user that does not exist (3.10.8: "not found"): look first.
        if self._user_tags(name) is None:
            return False
        return self._deleted(["delete_user", "--", name])

    def change_password(self, name: str, password: Secret) -> None:
        tags = self._user_tags(name)
        if tags is None:
            raise NotFound(f"there is no user {name!r}")
        self._import_user(name, password, tags)  # the import keeps the user's tags only if given them

    def authenticate(self, name: str, password: Secret) -> bool:
        if is_blank(password.reveal()):
            return False  # what authenticate_user answers (exit 65), without starting a VM
        # Wrong password and unknown user look the same, as they should.
        for user in self.definitions.read().get("users", []):
            if user.get("name") == name and user.get("password_hash"):
                algorithm = user.get("hashing_algorithm") or DEFAULT_ALGORITHM
                return check_password(password.reveal(), user["password_hash"], algorithm)
        return False

    def _user_tags(self, name: str) -> list[str] | None:
        """The user's tags, or None if there is no such user."""
        for user in self.list_users():
            if user["name"] == name:
                return list(user["tags"])
        return None

    def _import_user(self, name: str, password: Secret, tags: Sequence[str]) -> None:
        user = User(name=name, tags=tuple(tags), password_hash=hash_password(refuse_blank(password).reveal()))
        try:
            self.ctl.run(
                ["import_definitions", "--format=json"],
                stdin=json.dumps({"users": [to_definition(user)]}),
                wait=import_wait(self.ctl.timeout, [user]),
            )
        except CtlError as exc:  # an import error may quote the entry: never let the hash through
            reason = exc.reason.replace(user.password_hash or "", "***")
            raise CtlError(exc.command, exc.returncode, reason) from None

    def set_user_tags(self, name: str, tags: Sequence[str]) -> None:
        self._or_not_found(["set_user_tags", "--", name, *tags], f"there is no user {name!r}")

    # -- vhosts ------------------------------------------------------------------------------------------
    @listing("vhosts")
    def list_vhosts(self) -> list[Row]:
        rows = self.ctl.json(["list_vhosts", "name", "description", "tags", "default_queue_type"])
        return [vhost_row(vhost_from_server(v)) for v in rows]

    def add_vhost(
        self, name: str, description: str | None, tags: Sequence[str], default_queue_type: str | None
    ) -> None:
        # add_vhost succeeds on an existing vhost without changing it: say so, as over HTTP.
        if any(v["name"] == name for v in self.list_vhosts()):
            raise AlreadyExists(f"vhost {name!r} exists already")
        args = ["add_vhost"]
        if description:
            args.append(f"--description={description}")
        if tags:
            args.append(f"--tags={','.join(tags)}")
        if default_queue_type:
            args.append(f"--default-queue-type={default_queue_type}")
        self.ctl.run([*args, "--", name])

    def delete_vhost(self, name: str) -> bool:
        return self._deleted(["delete_vhost", "--", name])

    # -- permissions -------------------------------------------------------------------------------------
    @listing("permissions")
    def list_permissions(self, vhost: str | None = None, user: str | None = None) -> list[Row]:
        keys = ("configure", "write", "read")
        if vhost is None and user is not None:
            try:
                rows = self.ctl.json(["list_user_permissions", "--", user])
            except CtlError as exc:
                if exc.not_found or exc.returncode == 67:
                    return []
                raise
            return [{"user": user, "vhost": r["vhost"], **{k: r[k] for k in keys}} for r in rows]

        def fetch(name: str) -> list[Row]:
            try:
                rows = self.ctl.json(["list_permissions", _vhost(name)])
            except CtlError as exc:
                if exc.not_found:
                    return []
                raise
            return [{"user": r["user"], "vhost": name, **{k: r[k] for k in keys}} for r in rows]

        result = self._per_vhost(vhost, fetch)
        return [row for row in result if user is None or row["user"] == user]

    def set_permissions(self, user: str, vhost: str, configure: str, write: str, read: str) -> None:
        self.ctl.run(["set_permissions", _vhost(vhost), "--", user, configure, write, read])

    def clear_permissions(self, user: str, vhost: str) -> bool:
        before = self.list_permissions(vhost=vhost, user=user)
        if not before:
            return False
        return self._deleted(["clear_permissions", _vhost(vhost), "--", user])

    # -- queues, exchanges, bindings ---------------------------------------------------------------------
    @listing("queues")
    def list_queues(self, vhost: str | None = None) -> list[Row]:
        # members, leader, online: quorum queues' and streams' replicas (rabbit_quorum_queue:info/2,
        # rabbit_stream_queue:info/2). A classic queue has none: 3.10 prints "", 4.0 its own node as leader
        # and only member (measured, 4.0.5), the management API nothing; the listing shows none either way.
        columns = ["name", "type", "durable", "auto_delete", "exclusive", "messages", "consumers"]
        replicas = ("members", "leader", "online")

        def fetch(name: str) -> list[Row]:
            rows = self.ctl.json(["list_queues", _vhost(name), *columns, *replicas])
            return [
                {
                    "vhost": name,
                    **{key: q.get(key) for key in columns},
                    **{key: None if q.get("type") == "classic" else q.get(key) for key in replicas},
                }
                for q in rows
            ]

        return self._per_vhost(vhost, fetch)

    def purge_queue(self, vhost: str, name: str) -> None:
        self._or_not_found(["purge_queue", _vhost(vhost), "--", name], f"there is no queue {name!r} in vhost {vhost!r}")

    def delete_queue(self, vhost: str, name: str, *, if_empty: bool = False, if_unused: bool = False) -> bool:
        args = ["delete_queue", _vhost(vhost)]
        if if_empty:
            args.append("--if-empty")
        if if_unused:
            args.append("--if-unused")
        return self._deleted([*args, "--", name])

    @listing("exchanges")
    def list_exchanges(self, vhost: str | None = None) -> list[Row]:
        columns = ["name", "type", "durable", "auto_delete", "internal", "arguments"]

        def fetch(name: str) -> list[Row]:
            rows = self.ctl.json(["list_exchanges", _vhost(name), *columns])
            return [
                {
                    "vhost": name,
                    **{key: x.get(key) for key in columns},
                    "arguments": table_arguments(x.get("arguments")),
                }
                for x in rows
            ]

        return self._per_vhost(vhost, fetch)

    @listing("bindings")
    def list_bindings(self, vhost: str | None = None) -> list[Row]:
        columns = ["source_name", "destination_kind", "destination_name", "routing_key", "arguments"]

        def fetch(name: str) -> list[Row]:
            rows = self.ctl.json(["list_bindings", _vhost(name), *columns])
            return [
                {
                    "vhost": name,
                    "source": b["source_name"],
                    "destination_type": b["destination_kind"],
                    "destination": b["destination_name"],
                    "routing_key": b["routing_key"],
                    "arguments": table_arguments(b.get("arguments")),
                }
                for b in rows
            ]

        return self._per_vhost(vhost, fetch)

    # -- clients -----------------------------------------------------------------------------------------
    @listing("connections")
    def list_connections(self) -> list[Row]:
        columns = ["name", "user", "vhost", "peer_host", "peer_port", "state", "channels"]
        rows = self.ctl.json(["list_connections", *columns])
        return [{**{key: c.get(key) for key in columns}, "peer_host": _peer(c.get("peer_host"))} for c in rows]

    def _channels(self) -> list[dict[str, Any]]:
        columns = ["pid", "name", "user", "vhost", "number", "consumer_count", "messages_unacknowledged"]
        rows: list[dict[str, Any]] = self.ctl.json(["list_channels", *columns, "prefetch_count"])
        return rows

    @listing("channels")
    def list_channels(self) -> list[Row]:
        return [channel_row(c) for c in self._channels()]

    @listing("consumers")
    def list_consumers(self, vhost: str | None = None) -> list[Row]:
        columns = ["queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active"]

        def fetch(name: str) -> list[Row]:
            rows = self.ctl.json(["list_consumers", _vhost(name), *columns])
            return [{"vhost": name, **c} for c in rows]

        consumers = self._per_vhost(vhost, fetch)
        # rabbitmqctl names a consumer's channel by process id: show the channel's name, as over HTTP.
        names = {c.get("pid"): c.get("name") for c in self._channels()} if consumers else {}
        return [
            {
                "vhost": c["vhost"],
                "queue": c.get("queue_name"),
                "consumer_tag": c.get("consumer_tag"),
                "channel": names.get(c.get("channel_pid"), c.get("channel_pid")),
                "ack_required": c.get("ack_required"),
                "prefetch": c.get("prefetch_count"),
                "active": c.get("active"),
            }
            for c in consumers
        ]

    # -- helpers -----------------------------------------------------------------------------------------
    def _deleted(self, args: list[str]) -> bool:
        try:
            self.ctl.run(args)
        except CtlError as exc:
            if exc.not_found:
                return False
            raise
        return True

    def _or_not_found(self, args: list[str], message: str) -> None:
        try:
            self.ctl.run(args)
        except CtlError as exc:
            if exc.not_found:
                raise NotFound(message) from None
            raise
