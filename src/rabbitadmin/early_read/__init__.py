"""The early read: a plan's reads sent before the program has loaded.

A no-change ``plan`` of a large vhost costs about one read of it, plus the program's own start (loading
typer and rich: about 0.2 s). The launcher calls ``begin`` first thing: for a single-target ``plan`` over
HTTP (``command_line``) it resolves the connection settings the way the main callback will
(``connection.resolve_settings``), reads the first vhost names from the beginning of the file
(``vhost_names``), and sends those vhosts' exchange, queue and binding listings on daemon threads
(``fetch``), then the state read's listings of the whole server and its version read
(``backends.http.paths``), while the rest of the program loads. For ``plan --prune`` each vhost's queues
with their message counts follow its queue listing on the same connection (``paths.queue_depth_listing``:
what the plan counts the messages of the queues it deletes from); ``sent_depths`` tells the state read to
take them. A read then takes an answer (``take``,
through ``HttpClient.get`` and ``get_or_none``) instead of sending the same GET, only when everything that
made it is the same: the settings (URL, user, password, TLS), the node in use (the first), the path and the
query. So a read with the early answers is the read without them, made earlier: what it returns is a
server's state, and the plan built from it the same. When every GET of a plan is answered early, the plan
never loads ``requests`` (about 50 ms of start-up). The first state read of the process drops what was not
taken (``forget``): a later read in the same process (an apply after a plan, in a process that runs more
than one command) never sees an answer fetched before it.

It never starts for another command (``apply`` reads after taking its locks), for several targets, a
named target, rabbitmqctl, a proxy set in the environment (any ``*_proxy`` variable, whatever its case:
``requests`` would go through it), a URL ``requests`` could read otherwise (a host that is not ASCII, a
space or control character, a ``.`` or ``..`` path segment), or when ``RABBITADMIN_NO_EARLY_READ`` is set.
It prints nothing and raises nothing: whatever it cannot do, the read does as before. An answer not there
by the request's own deadline (its start plus the settings' timeout) is not waited for any longer, and is not
sent again either: the client reports that request's timeout (``take`` with ``timeouts``: ``TimedOut``), so
that a server that never answers costs one timeout, not the early read's and then the client's own. Any other
fault (a connection refused or reset, an answer cut short or not JSON) leaves no answer: the read then sends
the request itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rabbitadmin.backends.http.paths import (
    DEPRECATED_FEATURES_READ,
    QUEUE_DEPTH_PARAMS,
    VERSION_READ,
    VHOST_LISTING_KINDS,
    Listing,
    queue_depth_listing,
    server_listings,
    vhost_listing,
)
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.early_read.command_line import PlanCommandLine, plan_command_line
from rabbitadmin.early_read.fetch import EarlyAnswer, TimedOut, fetch_in_turn, tls_context
from rabbitadmin.early_read.vhost_names import file_prefix, vhost_names

#: Set (to anything) to turn the early read off.
OPT_OUT = "RABBITADMIN_NO_EARLY_READ"
#: At most this many vhosts of the file get their listings sent early (three each).
MAX_VHOSTS = 4

_lock = threading.Lock()
_answers: dict[tuple[str, str, tuple[tuple[str, str], ...]], EarlyAnswer] = {}


class Taken(NamedTuple):
    """An early answer taken by a read: the JSON, as ``HttpClient.get`` returns it; ``found`` False for a 404
    (``payload`` None), which ``HttpClient.get_or_none`` returns as None."""

    payload: Any
    found: bool = True


def begin(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Send the early listings for the command line ``argv`` (the arguments after the program's name);
    return how many were sent (0 for any command line it does not start for). Never raises an
    ``Exception``, prints nothing."""
    try:
        command = plan_command_line(argv, environ)
        settings = None if command is None else early_settings(command, environ)
        if command is None or settings is None:
            return 0
        text = file_prefix(command.file)
        if text is None:  # no file to plan: the command fails before it reads anything
            return 0
        names = vhost_names(text, MAX_VHOSTS)
        url = settings.urls[0].rstrip("/")
        tls = tls_context(settings, environ) if urlsplit(url).scheme == "https" else None
        # Each vhost listing on a connection of its own, first: the longest (a large vhost's bindings) decide
        # when the read ends. Then the server's small listings in turn over one more connection (a server that
        # accepts but never answers, its backlog full, is then still met by the client as it was).
        batches = [_vhost_batch(kind, name, command.prune) for name in names for kind in VHOST_LISTING_KINDS]
        batches.append([*server_listings(), VERSION_READ, DEPRECATED_FEATURES_READ])
        sent = 0
        for batch in batches:
            answers = [EarlyAnswer(settings, url, listing, tls) for listing in batch]
            fetch_in_turn(answers)  # registered once running: a thread that cannot start leaves nothing to wait for
            with _lock:
                for answer in answers:
                    _answers[_key(url, answer.listing.path, answer.listing.params)] = answer
            sent += len(answers)
        return sent
    except Exception:  # whatever it cannot do, the read does as before
        return 0


def _vhost_batch(kind: str, vhost: str, prune: bool) -> list[Listing]:
    """The vhost's listing of ``kind``; for a prune plan, the queue listing followed by the queue counts, in
    turn over its connection: the counts are needed only after the plan is computed, and the server then
    does not count while it lists what the read waits for."""
    listing = vhost_listing(kind, vhost)
    return [listing, queue_depth_listing(vhost)] if prune and kind == "queue" else [listing]


def early_settings(command: PlanCommandLine, environ: Mapping[str, str]) -> ConnectionSettings | None:
    """The settings the main callback will give the plan's HTTP client, or None where the early read does
    not start (see the module docstring). Raises what ``resolve_settings`` raises (``begin`` catches it)."""
    options = command.options
    if environ.get(OPT_OUT) is not None or options.get("target"):
        return None
    if options.get("backend") not in (None, "http"):
        return None
    if any(name.lower().endswith("_proxy") and name.lower() != "no_proxy" and value for name, value in environ.items()):
        return None  # urllib.request.getproxies_environment, which requests follows, reads any case
    timeout = options.get("timeout")
    seconds = float(timeout) if isinstance(timeout, str) else None
    urls = options.get("url")
    settings = resolve_settings(
        url=urls if isinstance(urls, list) else None,
        user=_text(options.get("user")),
        password=_text(options.get("password")),
        password_file=_text(options.get("password_file")),
        ca_bundle=_text(options.get("ca_bundle")),
        client_cert=_text(options.get("client_cert")),
        client_key=_text(options.get("client_key")),
        insecure=options.get("insecure") is True,
        timeout=seconds,
        environ=dict(environ),
    )
    if not all(plain_url(url) for url in settings.urls[:1]):
        return None
    return settings


def plain_url(url: str) -> bool:
    """Whether ``http.client`` and ``requests`` read ``url`` the same way: http or https, an ASCII host (IDNA
    encodings differ: requests follows UTS 46), no space or control character (``urlsplit`` drops some,
    requests refuses them), no ``.`` or ``..`` path segment (requests resolves them)."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        return False
    split = urlsplit(url)
    segments = split.path.split("/")
    return split.scheme in ("http", "https") and bool(split.hostname) and not {".", ".."} & set(segments)


def take(
    settings: ConnectionSettings,
    url: str,
    path: str,
    params: Mapping[str, str] | None,
    timeouts: bool = False,
) -> Taken | TimedOut | None:
    """The early answer to ``GET path?params`` from ``url`` with ``settings``, once (later calls: None); None
    when there is none, or it was made with other settings or for another node. Waits for one in flight
    until its own deadline (its start plus ``settings.timeout``). A body that is not JSON is no answer: the
    caller sends the GET. A 404 is ``Taken(None, found=False)``. No answer in time (``fetch.TimedOut``): None,
    or with ``timeouts`` (the client, which then reports the timeout instead of sending the GET), the
    ``TimedOut``. ``timeouts`` is positional too: a caller's spy that passes ``*args`` on keeps it."""
    key = _key(url.rstrip("/"), path, params or {})
    with _lock:
        answer = _answers.get(key)
        if answer is None or answer.settings != settings:
            return None
        del _answers[key]
    timed_out = answer.wait()
    if timed_out is not None:
        return timed_out if timeouts else None
    if answer.not_found():
        return Taken(None, found=False)
    body = answer.body()
    if body is None:
        return None
    try:
        return Taken(json.loads(body))
    except ValueError:
        return None


def sent_depths() -> bool:
    """Whether queue counts sent early (a ``plan --prune`` command line) wait to be taken: the first state read
    then lists them as well, so that it takes them (``forget`` drops them when it ends)."""
    counts = _key("", "", QUEUE_DEPTH_PARAMS)[2]
    with _lock:
        return any(params == counts for _, _, params in _answers)


def untaken() -> int:
    """How many early answers no read has taken yet (in flight or arrived)."""
    with _lock:
        return len(_answers)


def forget() -> None:
    """Drop every early answer not taken (tests; a process that runs more than one command). A fetch in
    flight goes on, unseen: ``settle`` first to wait for it."""
    with _lock:
        _answers.clear()


def settle() -> None:
    """Wait until every early answer not taken is in, or past its deadline (tests that count the requests
    sent: after ``forget``, a fetch still in flight would be counted with the next command's)."""
    with _lock:
        waiting = list(_answers.values())
    for answer in waiting:
        answer.wait()


def _key(url: str, path: str, params: Mapping[str, str]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return url, path, tuple(sorted(params.items()))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
