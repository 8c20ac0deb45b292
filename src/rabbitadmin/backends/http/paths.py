"""Request paths and queries of the management HTTP API that more than the client needs.

Import-light on purpose (the standard library and ``errors``): the early read of a plan
(``rabbitadmin.early_read``) builds the same requests as the state read before ``requests`` is loaded.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from rabbitadmin.errors import UnaddressableName

DOT_SEGMENTS = frozenset({".", ".."})

EXCHANGE_COLUMNS = "name,type,durable,auto_delete,internal,arguments"
QUEUE_COLUMNS = "name,type,durable,auto_delete,exclusive,arguments"
BINDING_COLUMNS = "source,destination,destination_type,routing_key,arguments"
# An empty sort skips the server's sort of a listing up to RabbitMQ 3.12 (``rabbit_mgmt_util:sort_list/4``:
# "do not sort when ... requested to sort with an empty sort columns list"): at W(10000) on 3.10.8 the queue
# listing took 0.33 s instead of 0.49 s, the bindings 0.46 s instead of 0.69 s. 3.13 and 4.0 read it as "the
# default sort" (``get_sorts_param/2``) and sort as before. Either way the state read puts the rows in one
# order itself, so what it returns does not depend on the server's version.
UNSORTED = {"sort": ""}


def api_path(*segments: str) -> str:
    """``api_path("queues", "/", "a b")`` gives ``/api/queues/%2F/a%20b``.

    Every segment is percent-encoded with nothing left safe. Raises ``UnaddressableName`` for a ``.`` or
    ``..`` segment: no encoding gets one to the server intact.
    """
    for segment in segments:
        if segment in DOT_SEGMENTS:
            raise UnaddressableName(segment)
    return "/api/" + "/".join(quote(segment, safe="") for segment in segments)


class Listing(NamedTuple):
    """One GET: its path and query parameters."""

    path: str
    params: dict[str, str]


#: A vhost's listings in a state read, by the kind they hold (``Topology.objects``), longest first (bindings:
#: one row per binding and per queue, at W(10000) the last to arrive). The queue listing without statistics:
#: with them the server computes every queue's counts (0.7-0.9 s instead of 0.4-0.5 s at W(10000)).
_VHOST_LISTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "binding": ("bindings", {"columns": BINDING_COLUMNS, **UNSORTED}),
    "queue": ("queues", {"columns": QUEUE_COLUMNS, "disable_stats": "true", **UNSORTED}),
    "exchange": ("exchanges", {"columns": EXCHANGE_COLUMNS, **UNSORTED}),
}
VHOST_LISTING_KINDS = tuple(_VHOST_LISTINGS)


def vhost_listing(kind: str, vhost: str) -> Listing:
    """The GET that lists ``vhost``'s objects of ``kind`` (``binding``, ``queue`` or ``exchange``) for a state
    read. Raises ``KeyError`` for another kind, ``UnaddressableName`` for a vhost named ``.`` or ``..``."""
    segment, params = _VHOST_LISTINGS[kind]
    return Listing(api_path(segment, vhost), dict(params))


#: A vhost's queues with their message counts (``HttpBackend.message_counts``): ``enable_queue_totals`` with
#: ``disable_stats`` asks each queue itself (``rabbit_amqqueue:collect_info_all/2`` with ``totals``: a classic
#: queue's process answers with its current count, a quorum queue with its last metrics tick), not the
#: management statistics, which lag up to ``collect_statistics_interval``; 3.10.8 and 4.0.5
#: (``rabbit_mgmt_wm_queues:basic/1``). Not a state read's listing: it leaves out a crashed queue and one whose
#: process is not local to a running node (``list_local/1``), which the listing without totals shows.
QUEUE_DEPTH_PARAMS = {"columns": "name,messages", "disable_stats": "true", "enable_queue_totals": "true", **UNSORTED}


def queue_depth_listing(vhost: str) -> Listing:
    """The GET of ``vhost``'s queues with their message counts (``QUEUE_DEPTH_PARAMS``). Raises
    ``UnaddressableName`` for a vhost named ``.`` or ``..``."""
    return Listing(api_path("queues", vhost), dict(QUEUE_DEPTH_PARAMS))


#: The columns of the vhost listing in a state read: the vhost's own fields and those kinds.py marks plain
#: (written out here, where kinds.py is not loaded; tests/unit/test_state_read_paths.py checks them).
VHOST_COLUMNS = "name,description,tags,default_queue_type,metadata,tracing"
#: A state read's listings of the whole server besides the vhosts (``state_read.StateRead``), in its order.
_SERVER_LISTINGS = (
    "users",
    "permissions",
    "topic-permissions",
    "policies",
    "operator-policies",
    "vhost-limits",
    "user-limits",
    "parameters",
    "global-parameters",
)
LIMITS_AND_POLICIES = _SERVER_LISTINGS[3:]


def server_listings() -> tuple[Listing, ...]:
    """The GETs a state read sends for the whole server: the vhosts (with ``VHOST_COLUMNS``), then the users,
    permissions, topic permissions, policies, operator policies, limits and parameters."""
    return (
        Listing(api_path("vhosts"), {"columns": VHOST_COLUMNS}),
        *(Listing(api_path(segment), {}) for segment in _SERVER_LISTINGS),
    )


#: The server's version, read without the statistics ``columns`` alone does not spare (rabbit_mgmt_wm_overview:
#: 20 ms idle on a 4.0 node of 10,000 queues, 2.5 ms with ``disable_stats``).
VERSION_READ = Listing("/api/overview", {"columns": "rabbitmq_version", "disable_stats": "true"})
#: What the server deprecates (RabbitMQ 3.13 and later; 404 before).
DEPRECATED_FEATURES_READ = Listing("/api/deprecated-features", {})
