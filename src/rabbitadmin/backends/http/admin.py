"""``AdminOps`` over the management HTTP API.

Passwords travel in request bodies (never in a URL); ``authenticate`` does not log in: it checks the
password against the stored salted hash, as ``rabbitmqctl authenticate_user`` does for internal users.
Listings ask for the columns they show only, which keeps them fast on large servers.
"""

from __future__ import annotations

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
from rabbitadmin.backends.http import quirks
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.daily import HttpDailyOps
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.backends.http.settle import ReadBack, settled
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import vhost_from_server
from rabbitadmin.errors import AlreadyExists, AnswerLost, NotFound, Refused
from rabbitadmin.model import Secret
from rabbitadmin.passwords import DEFAULT_ALGORITHM, check_password, is_blank

#: What to do after a write that was read back not done: nothing changed, so a second run is safe.
RUN_AGAIN = " (the server did not change: run the same command again)"


def _scoped(collection: str, vhost: str | None) -> str:
    return api_path(collection, vhost) if vhost is not None else api_path(collection)


class HttpAdmin(HttpDailyOps):
    """Administration through the management API; see the module docstring."""

    name = "http"

    def __init__(self, settings: ConnectionSettings, client: HttpClient | None = None) -> None:
        self.settings = settings
        self.client = client or HttpClient(settings)
        #: What the user should know about writes that succeeded (an answer lost, the write read back done).
        self.notes: list[str] = []

    def close(self) -> None:
        self.client.close()

    def _write(self, send: Callable[[], None], read_back: ReadBack) -> None:
        """One write; a lost answer is read back (``settle``): done with a note, or ``AnswerLost`` "not done"."""
        settled(send, read_back, on_done=None, note=self.notes.append, advice=RUN_AGAIN)

    def _delete(self, path: str, subject: str, params: dict[str, str] | None = None) -> bool:
        """Delete; False if there was none (404). A lost answer is read back: gone is done."""

        def read_back() -> str | None:
            return None if self.client.get_or_none(path) is None else f"{subject} is still there"

        return settled(
            lambda: self.client.delete(path, params), read_back, on_done=True, note=self.notes.append, advice=RUN_AGAIN
        )

    def _list(self, path: str, columns: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.client.get(path, {"columns": columns})
        return result

    # -- users -------------------------------------------------------------------------------------------
    def _user(self, name: str) -> dict[str, Any]:
        data = self.client.get_or_none(api_path("users", name))
        if data is None:
            raise NotFound(f"there is no user {name!r}")
        result: dict[str, Any] = data
        return result

    @listing("users")
    def list_users(self) -> list[Row]:
        return [
            {"name": u["name"], "tags": tag_list(u.get("tags"))} for u in self._list(api_path("users"), "name,tags")
        ]

    def add_user(self, name: str, password: Secret, tags: Sequence[str]) -> None:
        refuse_blank(password)
        # A PUT on an existing user would reset its password: refuse instead.
        if self.client.get_or_none(api_path("users", name)) is not None:
            raise AlreadyExists(f"user {name!r} exists already (change its password with `users change-password`)")
        body = {"password": password.reveal(), "tags": quirks.user_tags(tags)}
        self._write(lambda: self.client.put(api_path("users", name), body), self._user_is(name, password, tags))

    def delete_user(self, name: str) -> bool:
        if name == quirks.connected_user(self.settings):
            # The next command would be locked out; plan/apply protect this user the same way.
            raise Refused(f"refusing to delete {name!r}: this command logs in as that user")
        return self._delete(api_path("users", name), f"user {name!r}")

    def change_password(self, name: str, password: Secret) -> None:
        refuse_blank(password)
        current = self._user(name)
        tags = tag_list(current.get("tags"))
        body = {"password": password.reveal(), "tags": quirks.user_tags(tags)}
        self._write(lambda: self.client.put(api_path("users", name), body), self._user_is(name, password, tags))

    def authenticate(self, name: str, password: Secret) -> bool:
        if is_blank(password.reveal()):
            return False  # refused at login before the hash is looked at (rabbit_auth_backend_internal)
        data = self.client.get_or_none(api_path("users", name))
        if data is None or not data.get("password_hash"):
            return False
        algorithm = data.get("hashing_algorithm") or DEFAULT_ALGORITHM
        return check_password(password.reveal(), data["password_hash"], algorithm)

    def set_user_tags(self, name: str, tags: Sequence[str]) -> None:
        current = self._user(name)
        # Send the stored hash back: a user PUT without a password or a hash would clear the password.
        body = {
            "password_hash": current.get("password_hash") or "",
            "hashing_algorithm": current.get("hashing_algorithm") or DEFAULT_ALGORITHM,
            "tags": quirks.user_tags(tags),
        }
        self._write(lambda: self.client.put(api_path("users", name), body), self._user_is(name, None, tags))

    def _user_is(self, name: str, password: Secret | None, tags: Sequence[str]) -> ReadBack:
        """Reads user ``name`` back: None if it has ``tags`` (and logs in with ``password``, unless None), else
        how it is not."""

        def read_back() -> str | None:
            data = self.client.get_or_none(api_path("users", name))
            if data is None:
                return f"user {name!r} is not there"
            algorithm = data.get("hashing_algorithm") or DEFAULT_ALGORITHM
            stored = data.get("password_hash")
            if password is not None and not (stored and check_password(password.reveal(), stored, algorithm)):
                return f"user {name!r} does not have the new password"
            if tag_list(data.get("tags")) != tag_list(list(tags)):
                return f"user {name!r} has tags {tag_list(data.get('tags'))}, not {tag_list(list(tags))}"
            return None

        return read_back

    # -- vhosts ------------------------------------------------------------------------------------------
    @listing("vhosts")
    def list_vhosts(self) -> list[Row]:
        rows = self._list(api_path("vhosts"), "name,description,tags,default_queue_type,metadata")
        return [vhost_row(vhost_from_server(v)) for v in rows]

    def add_vhost(
        self, name: str, description: str | None, tags: Sequence[str], default_queue_type: str | None
    ) -> None:
        if self.client.get_or_none(api_path("vhosts", name)) is not None:
            raise AlreadyExists(f"vhost {name!r} exists already")
        body = quirks.vhost_body(description, tags, default_queue_type)

        def read_back() -> str | None:
            data = self.client.get_or_none(api_path("vhosts", name))
            if data is None:
                return f"vhost {name!r} is not there"
            row = vhost_row(vhost_from_server(data))
            wanted = {"description": description or "", "tags": tag_list(list(tags))}
            if default_queue_type:
                wanted["default_queue_type"] = default_queue_type
            differ = [field for field, value in wanted.items() if row[field] != value]
            return f"vhost {name!r} is there, but its {', '.join(differ)} differ" if differ else None

        self._write(lambda: self.client.put(api_path("vhosts", name), body), read_back)

    def delete_vhost(self, name: str) -> bool:
        return self._delete(api_path("vhosts", name), f"vhost {name!r}")

    # -- permissions -------------------------------------------------------------------------------------
    @listing("permissions")
    def list_permissions(self, vhost: str | None = None, user: str | None = None) -> list[Row]:
        if vhost is not None and user is not None:
            one = self.client.get_or_none(api_path("permissions", vhost, user))
            rows = [one] if one else []
        elif vhost is not None:
            rows = self.client.get_or_none(api_path("vhosts", vhost, "permissions")) or []
        elif user is not None:
            rows = self.client.get_or_none(api_path("users", user, "permissions")) or []
        else:
            rows = self.client.get(api_path("permissions"))
        keys = ("user", "vhost", "configure", "write", "read")
        return [{key: row[key] for key in keys} for row in rows]

    def set_permissions(self, user: str, vhost: str, configure: str, write: str, read: str) -> None:
        path = api_path("permissions", vhost, user)
        body = {"configure": configure, "write": write, "read": read}

        def read_back() -> str | None:
            data = self.client.get_or_none(path)
            if data is None:
                return f"user {user!r} has no permissions in vhost {vhost!r}"
            have = {key: data.get(key) for key in body}
            return None if have == body else f"the permissions of {user!r} in vhost {vhost!r} are {have}"

        self._write(lambda: self.client.put(path, body), read_back)

    def clear_permissions(self, user: str, vhost: str) -> bool:
        return self._delete(api_path("permissions", vhost, user), f"the permissions of {user!r} in vhost {vhost!r}")

    # -- queues, exchanges, bindings ---------------------------------------------------------------------
    @listing("queues")
    def list_queues(self, vhost: str | None = None) -> list[Row]:
        """Queues with counts and, for quorum queues and streams, ``members``, ``leader`` and ``online``.

        A listing limited to columns leaves out a stream's members and online members (3.10.8, 4.0.5: they
        are added with its statistics): each stream missing them is read on its own. A stream has no
        ``leader`` field over HTTP: its ``node`` is the leader's (as ``rabbitmqctl list_queues leader`` says).
        """
        columns = "vhost,name,type,durable,auto_delete,exclusive,messages,consumers,members,leader,online,node"
        rows: list[Row] = []
        for listed in self._list(_scoped("queues", vhost), columns):
            q = listed
            kind = q.get("type", "classic")
            if kind == "stream" and "members" not in q:
                q = {**q, **(self.client.get_or_none(api_path("queues", q["vhost"], q["name"])) or {})}
            rows.append(
                {
                    "vhost": q["vhost"],
                    "name": q["name"],
                    "type": kind,
                    "durable": q.get("durable"),
                    "auto_delete": q.get("auto_delete"),
                    "exclusive": q.get("exclusive"),
                    "messages": q.get("messages"),  # absent until the first statistics emission
                    "consumers": q.get("consumers"),
                    **_replicas(q, kind),
                }
            )
        return rows

    def purge_queue(self, vhost: str, name: str) -> None:
        path = api_path("queues", vhost, name, "contents")
        try:
            response = self.client.request("DELETE", path, ok_statuses=(404,))
        except AnswerLost as lost:
            # Nothing on the server records a purge, and messages published since make a count prove nothing.
            raise AnswerLost(
                f"{lost} (a purge cannot be read back: `queues list` shows the queue's messages now)", lost.exit_code
            ) from None
        if response.status_code == 404:
            raise NotFound(f"there is no queue {name!r} in vhost {vhost!r}")

    def delete_queue(self, vhost: str, name: str, *, if_empty: bool = False, if_unused: bool = False) -> bool:
        params = {}
        if if_empty:
            params["if-empty"] = "true"
        if if_unused:
            params["if-unused"] = "true"
        return self._delete(api_path("queues", vhost, name), f"queue {name!r} in vhost {vhost!r}", params or None)

    @listing("exchanges")
    def list_exchanges(self, vhost: str | None = None) -> list[Row]:
        columns = "vhost,name,type,durable,auto_delete,internal,arguments"
        return [
            {**{key: x.get(key) for key in columns.split(",")}, "arguments": table_arguments(x.get("arguments"))}
            for x in self._list(_scoped("exchanges", vhost), columns)
        ]

    @listing("bindings")
    def list_bindings(self, vhost: str | None = None) -> list[Row]:
        columns = "vhost,source,destination_type,destination,routing_key,arguments"
        return [
            {**{key: b.get(key) for key in columns.split(",")}, "arguments": table_arguments(b.get("arguments"))}
            for b in self._list(_scoped("bindings", vhost), columns)
        ]

    # -- clients -----------------------------------------------------------------------------------------
    @listing("connections")
    def list_connections(self) -> list[Row]:
        columns = "name,user,vhost,peer_host,peer_port,state,channels"
        return [{key: c.get(key) for key in columns.split(",")} for c in self._list(api_path("connections"), columns)]

    @listing("channels")
    def list_channels(self) -> list[Row]:
        columns = "name,user,vhost,number,consumer_count,messages_unacknowledged,prefetch_count"
        return [channel_row(c) for c in self._list(api_path("channels"), columns)]

    @listing("consumers")
    def list_consumers(self, vhost: str | None = None) -> list[Row]:
        rows: list[dict[str, Any]] = self.client.get(_scoped("consumers", vhost))
        return [
            {
                "vhost": (c.get("queue") or {}).get("vhost"),
                "queue": (c.get("queue") or {}).get("name"),
                "consumer_tag": c.get("consumer_tag"),
                "channel": (c.get("channel_details") or {}).get("name"),
                "ack_required": c.get("ack_required"),
                "prefetch": c.get("prefetch_count"),
                "active": c.get("active"),
            }
            for c in rows
        ]


def _replicas(queue: dict[str, Any], kind: str) -> Row:
    """``members``, ``leader``, ``online`` of a quorum queue or stream; None for a classic queue (no replicas)."""
    if kind == "classic":
        return dict.fromkeys(("members", "leader", "online"))
    leader = queue.get("leader") or (queue.get("node") if kind == "stream" else None)
    return {"members": queue.get("members"), "leader": leader, "online": queue.get("online")}
