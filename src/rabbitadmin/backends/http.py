"""The management HTTP API backend.

Reads: a handful of column-limited listings fetched in parallel (users, vhosts, permissions, topic
permissions, then exchanges, queues and bindings per vhost in scope). Column limits matter: a plain queue
listing computes statistics for every queue and is an order of magnitude slower on large servers.

Creates: small batches go object by object in parallel (precise progress and error reporting); large
batches go through the server's own definitions import, which creates objects server-side without a round
trip each. The import only adds and overwrites, so it is used only for objects the plan found missing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import (
    binding_from_server,
    chunk_definitions,
    exchange_from_server,
    permission_from_server,
    queue_from_server,
    to_definition,
    to_definitions,
    topic_permission_from_server,
    user_from_server,
    vhost_from_server,
)
from rabbitadmin.http_client import HttpClient, api_path
from rabbitadmin.model import (
    Binding,
    Exchange,
    Key,
    Permission,
    Queue,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    Vhost,
)

VHOST_COLUMNS = "name,description,tags,default_queue_type,metadata"
EXCHANGE_COLUMNS = "name,type,durable,auto_delete,internal,arguments"
QUEUE_COLUMNS = "name,type,durable,auto_delete,exclusive,arguments,messages"
BINDING_COLUMNS = "source,destination,destination_type,routing_key,arguments,properties_key"
# The server refuses bodies over max_http_body_size (10,000,000 bytes by default); stay well below it.
IMPORT_CHUNK_BYTES = 4_000_000


class HttpBackend:
    """``Backend`` over the management HTTP API; see the module docstring."""

    name = "http"

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        parallelism: int = 16,
        bulk_threshold: int = 200,
        client: HttpClient | None = None,
    ) -> None:
        self.settings = settings
        self.parallelism = parallelism
        #: Create batches at least this large use the definitions import.
        self.bulk_threshold = bulk_threshold
        self.client = client or HttpClient(settings, pool_size=parallelism)

    def connected_user(self) -> str | None:
        return self.settings.user

    def close(self) -> None:
        self.client.close()

    # -- reading -----------------------------------------------------------------------------------------
    def read_state(self, vhosts: Collection[str] | None) -> Topology:
        get = self.client.get
        with ThreadPoolExecutor(max_workers=8) as pool:
            users_f = pool.submit(get, api_path("users"))
            vhosts_f = pool.submit(
                get, api_path("vhosts"), {"columns": "name,description,tags,default_queue_type,metadata"}
            )
            perms_f = pool.submit(get, api_path("permissions"))
            topic_f = pool.submit(get, api_path("topic-permissions"))
            existing = [entry["name"] for entry in vhosts_f.result()]
            in_scope = [name for name in existing if vhosts is None or name in vhosts]
            per_vhost = [
                (
                    name,
                    pool.submit(get, api_path("exchanges", name), {"columns": EXCHANGE_COLUMNS}),
                    # disable_stats skips the per-queue statistics join; queue totals keep the message counts.
                    pool.submit(
                        get,
                        api_path("queues", name),
                        {"columns": QUEUE_COLUMNS, "disable_stats": "true", "enable_queue_totals": "true"},
                    ),
                    pool.submit(get, api_path("bindings", name), {"columns": BINDING_COLUMNS}),
                )
                for name in in_scope
            ]
            topology = Topology()
            for entry in vhosts_f.result():
                topology.add(vhost_from_server(entry))
            for entry in users_f.result():
                topology.add(user_from_server(entry))
            for entry in perms_f.result():
                topology.add(permission_from_server(entry))
            for entry in topic_f.result():
                topology.add(topic_permission_from_server(entry))
            for name, exchanges_f, queues_f, bindings_f in per_vhost:
                for entry in exchanges_f.result():
                    topology.add(exchange_from_server(entry, name))
                for entry in queues_f.result():
                    topology.add(queue_from_server(entry, name))
                for entry in bindings_f.result():
                    topology.add(binding_from_server(entry, name))
        return topology

    def message_counts(self, queues: Sequence[Queue]) -> dict[Key, int | None]:
        """The larger of the statistics' count (includes unacknowledged) and a live AMQP passive declare."""
        from rabbitadmin.amqp_probe import ready_counts

        live = ready_counts(self.settings, queues)
        result: dict[Key, int | None] = {}
        for queue in queues:
            known = [count for count in (queue.messages, live.get(queue.key)) if count is not None]
            result[queue.key] = max(known) if known else None
        return result

    # -- writing -----------------------------------------------------------------------------------------
    def unsupported(self, obj: TopologyObject, action: str) -> str | None:
        return None

    def create(self, objects: Sequence[TopologyObject], progress: Callable[[int], None] | None = None) -> None:
        vhosts = [obj for obj in objects if isinstance(obj, Vhost)]
        rest: list[TopologyObject] = [obj for obj in objects if not isinstance(obj, Vhost)]
        for vhost in vhosts:  # the import cannot set a vhost's default queue type on 3.10
            self.create_one(vhost)
        if len(rest) < self.bulk_threshold:
            for obj in rest:
                self.create_one(obj)
            return
        for batch in chunk_definitions(rest, IMPORT_CHUNK_BYTES):
            self.client.post(api_path("definitions"), to_definitions(batch))
            if progress is not None:
                progress(len(batch))

    def create_one(self, obj: TopologyObject) -> None:
        """Create one object with its own request."""
        if isinstance(obj, Binding):
            letter = "q" if obj.destination_type == "queue" else "e"
            path = api_path("bindings", obj.vhost, "e", obj.source, letter, obj.destination)
            self.client.post(path, {"routing_key": obj.routing_key, "arguments": obj.arguments})
        elif isinstance(obj, Exchange | Queue):
            body = to_definition(obj)
            for field in ("name", "vhost"):
                body.pop(field)
            self.client.put(api_path(f"{obj.kind}s", obj.vhost, obj.name), body)
        else:
            self.update(obj)

    def update(self, obj: TopologyObject) -> None:
        if isinstance(obj, Vhost):
            body: dict[str, Any] = {"description": obj.description or "", "tags": ",".join(obj.tags or ())}
            if obj.default_queue_type:
                body["defaultqueuetype"] = obj.default_queue_type  # the 3.10 API's spelling
            self.client.put(api_path("vhosts", obj.name), body)
        elif isinstance(obj, User):
            body = to_definition(obj)
            body.pop("name")
            self.client.put(api_path("users", obj.name), body)
        elif isinstance(obj, Permission):
            body = {"configure": obj.configure, "write": obj.write, "read": obj.read}
            self.client.put(api_path("permissions", obj.vhost, obj.user), body)
        elif isinstance(obj, TopicPermission):
            body = {"exchange": obj.exchange, "write": obj.write, "read": obj.read}
            self.client.put(api_path("topic-permissions", obj.vhost, obj.user), body)
        else:
            raise ValueError(f"a {obj.kind} cannot be updated in place")

    def delete(self, obj: TopologyObject) -> None:
        client = self.client
        if isinstance(obj, Vhost):
            client.delete(api_path("vhosts", obj.name))
        elif isinstance(obj, User):
            client.delete(api_path("users", obj.name))
        elif isinstance(obj, Permission):
            client.delete(api_path("permissions", obj.vhost, obj.user))
        elif isinstance(obj, TopicPermission):
            self._delete_topic_permission(obj)
        elif isinstance(obj, Exchange):
            client.delete(api_path("exchanges", obj.vhost, obj.name))
        elif isinstance(obj, Queue):
            client.delete(api_path("queues", obj.vhost, obj.name))
        else:
            letter = "q" if obj.destination_type == "queue" else "e"
            props = obj.properties_key if obj.properties_key is not None else obj.routing_key
            client.delete(api_path("bindings", obj.vhost, "e", obj.source, letter, obj.destination, props))

    def _delete_topic_permission(self, obj: TopicPermission) -> None:
        # The API deletes all of a user's topic permissions in a vhost at once: put the others back.
        path = api_path("topic-permissions", obj.vhost, obj.user)
        current = self.client.get_or_none(path) or []
        self.client.delete(path)
        for entry in current:
            if entry["exchange"] != obj.exchange:
                body = {"exchange": entry["exchange"], "write": entry["write"], "read": entry["read"]}
                self.client.put(path, body)
