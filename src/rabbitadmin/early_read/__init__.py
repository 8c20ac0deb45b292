"""The early read: a plan's largest listings sent before the program has loaded.

A no-change ``plan`` of a large vhost costs about one read of it, plus the program's own start (loading
typer, requests and rich: about 0.25 s). The launcher calls ``begin`` first thing: for a single-target
``plan`` over HTTP (``command_line``) it resolves the connection settings the way the main callback will
(``connection.resolve_settings``), reads the first vhost names from the beginning of the file
(``vhost_names``), and sends those vhosts' exchange, queue and binding listings on daemon threads
(``fetch``), while the rest of the program loads. The HTTP client then takes an answer (``take``) instead of
sending the same GET, only when everything that made it is the same: the settings (URL, user, password,
TLS), the node in use (the first), the path and the query. So a read with the early answers is the read
without them, made earlier: what it returns is a server's state, and the plan built from it the same.

It never starts for another command (``apply`` reads after taking its locks), for several targets, a
named target, rabbitmqctl, a proxy set in the environment (``requests`` would go through it), or when
``RABBITADMIN_NO_EARLY_READ`` is set. It prints nothing and raises nothing: whatever it cannot do, the read
does as before. An answer not there within the settings' timeout is not waited for any longer; the read
then sends the request itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rabbitadmin.backends.http.paths import VHOST_LISTING_KINDS, vhost_listing
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.early_read.command_line import PlanCommandLine, plan_command_line
from rabbitadmin.early_read.fetch import EarlyAnswer, tls_context
from rabbitadmin.early_read.vhost_names import file_prefix, vhost_names

#: Set (to anything) to turn the early read off.
OPT_OUT = "RABBITADMIN_NO_EARLY_READ"
#: At most this many vhosts of the file get their listings sent early (three each).
MAX_VHOSTS = 4
#: Environment variables ``requests`` reads (proxies, CA bundles): the early read leaves such setups alone.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")

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
        tls = tls_context(settings, environ) if names and url.startswith("https://") else None
        sent = 0
        for name in names:
            for kind in VHOST_LISTING_KINDS:
                answer = EarlyAnswer(settings, url, vhost_listing(kind, name), tls)
                with _lock:
                    _answers[_key(url, answer.listing.path, answer.listing.params)] = answer
                answer.start()
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
    if any(environ.get(name) or environ.get(name.upper()) for name in PROXY_VARIABLES):
        return None
    timeout = options.get("timeout")
    seconds = float(timeout) if isinstance(timeout, str) else None
    if seconds is not None and not seconds >= 0.001:  # the option's minimum; typer refuses the rest
        return None
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
    if not settings.url.startswith(("http://", "https://")):
        return None
    return settings


def take(settings: ConnectionSettings, url: str, path: str, params: Mapping[str, str] | None) -> Taken | None:
    """The early answer to ``GET path?params`` from ``url`` with ``settings``, once (later calls: None); None
    when there is none, or it was made with other settings or for another node. Waits for one in flight
    at most ``settings.timeout`` seconds. A body that is not JSON is no answer: the caller sends the GET."""
    key = _key(url.rstrip("/"), path, params or {})
    with _lock:
        answer = _answers.get(key)
        if answer is None or answer.settings != settings:
            return None
        del _answers[key]
    body = answer.body(settings.timeout)
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
