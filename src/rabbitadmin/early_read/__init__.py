"""The early read: a plan's largest listings sent before the program has loaded.

A no-change ``plan`` of a large vhost costs about one read of it, plus the program's own start (loading
typer, requests and rich: about 0.25 s). The launcher calls ``begin`` first thing: for a single-target
``plan`` over HTTP (``command_line``) it resolves the connection settings the way the main callback will
(``connection.resolve_settings``), reads the first vhost names from the beginning of the file
(``vhost_names``), and sends those vhosts' exchange, queue and binding listings on daemon threads
(``fetch``), while the rest of the program loads. The state read then takes an answer (``take``) instead of
sending the same GET, only when everything that made it is the same: the settings (URL, user, password,
TLS), the node in use (the first), the path and the query. So a read with the early answers is the read
without them, made earlier: what it returns is a server's state, and the plan built from it the same.
The state read (``backends.http.state_read``) is the only taker, and the first read of the process drops
what it did not take (``forget``): a later read in the same process (an apply after a plan, in a process
that runs more than one command) never sees an answer fetched before it.

It never starts for another command (``apply`` reads after taking its locks), for several targets, a
named target, rabbitmqctl, a proxy set in the environment (any ``*_proxy`` variable, whatever its case:
``requests`` would go through it), a URL ``requests`` could read otherwise (a host that is not ASCII, a
space or control character, a ``.`` or ``..`` path segment), or when ``RABBITADMIN_NO_EARLY_READ`` is set.
It prints nothing and raises nothing: whatever it cannot do, the read does as before. An answer not there
by the request's own deadline (its start plus the settings' timeout) is not waited for any longer; the read
then sends the request itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rabbitadmin.backends.http.paths import VHOST_LISTING_KINDS, vhost_listing
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.early_read.command_line import PlanCommandLine, plan_command_line
from rabbitadmin.early_read.fetch import EarlyAnswer, tls_context
from rabbitadmin.early_read.vhost_names import file_prefix, vhost_names

#: Set (to anything) to turn the early read off.
OPT_OUT = "RABBITADMIN_NO_EARLY_READ"
#: At most this many vhosts of the file get their listings sent early (three each).
MAX_VHOSTS = 4

_lock = threading.Lock()
_answers: dict[tuple[str, str, tuple[tuple[str, str], ...]], EarlyAnswer] = {}


class Taken(NamedTuple):
    """An early answer taken by the read: the listing's JSON, as ``HttpClient.get`` returns it."""

    payload: Any


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
        names = [] if text is None else vhost_names(text, MAX_VHOSTS)
        url = settings.urls[0].rstrip("/")
        tls = tls_context(settings, environ) if names and urlsplit(url).scheme == "https" else None
        sent = 0
        for name in names:
            for kind in VHOST_LISTING_KINDS:
                answer = EarlyAnswer(settings, url, vhost_listing(kind, name), tls)
                answer.start()  # registered once running: a thread that cannot start leaves nothing to wait for
                with _lock:
                    _answers[_key(url, answer.listing.path, answer.listing.params)] = answer
                sent += 1
        return sent
    except Exception:  # whatever it cannot do, the read does as before
        return 0


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


def take(settings: ConnectionSettings, url: str, path: str, params: Mapping[str, str] | None) -> Taken | None:
    """The early answer to ``GET path?params`` from ``url`` with ``settings``, once (later calls: None); None
    when there is none, or it was made with other settings or for another node. Waits for one in flight
    until its own deadline (its start plus ``settings.timeout``). A body that is not JSON is no answer: the
    caller sends the GET."""
    key = _key(url.rstrip("/"), path, params or {})
    with _lock:
        answer = _answers.get(key)
        if answer is None or answer.settings != settings:
            return None
        del _answers[key]
    body = answer.body()
    if body is None:
        return None
    try:
        return Taken(json.loads(body))
    except ValueError:
        return None


def untaken() -> int:
    """How many early answers no read has taken yet (in flight or arrived)."""
    with _lock:
        return len(_answers)


def forget() -> None:
    """Drop every early answer not taken (tests; a process that runs more than one command)."""
    with _lock:
        _answers.clear()


def _key(url: str, path: str, params: Mapping[str, str]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return url, path, tuple(sorted(params.items()))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
