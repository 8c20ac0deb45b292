"""What the server's AMQP URI parser refuses in a shovel's or a federation upstream's URI.

The plugins check each URI with ``amqp_uri:parse/1`` (``deps/amqp_client/src/amqp_uri.erl`` and its
``uri_parser.erl``, the same in 3.10.8 and 4.0.5), which is not RFC 3986 and not Python's ``urlsplit``:

- the scheme is ``amqp`` or ``amqps`` (any case), then ``//``; the authority is split at the first ``@``
  (user info, itself split at ``:``) and the host at the first ``:``, whose remainder must be an integer port
  in 1-65535 (``amqp://h:/v`` is refused); a port needs a host; no host means a direct connection
  (``amqp://``); an ``@`` in a password is read as the end of the user info (write it ``%40``);
- the path is the vhost: one segment, so ``amqp://h/a/b`` is refused (write ``a%2Fb``); ``%`` must be
  followed by two hex digits there, in the host and in the user and password;
- a query key naming a connection field other than ``channel_max``, ``frame_max``, ``heartbeat``,
  ``connection_timeout`` (integers) and ``password`` is refused ("unconfigurable in query"); for ``amqps``,
  ``fail_if_no_peer_cert`` is ``true`` or ``false`` and ``depth`` an integer; an ``auth_mechanism`` is
  ``function`` or ``module:function``. Other keys are ignored.

A problem never quotes the URI or a piece of it: it may hold a password.
"""

from __future__ import annotations

import re

__all__ = ["uri_problem"]

_SCHEMES = ("amqp", "amqps")
_INTEGER = re.compile(r"[+-]?[0-9]+")  # erlang:list_to_integer/1
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: Fields of ``#amqp_params_network{}`` and ``#amqp_params_direct{}`` (amqp_client.hrl), less ``password``.
_NETWORK_FIELDS = (
    "username", "virtual_host", "host", "port", "channel_max", "frame_max", "heartbeat", "connection_timeout",
    "ssl_options", "auth_mechanisms", "client_properties", "socket_options",
)  # fmt: skip
_DIRECT_FIELDS = ("username", "virtual_host", "node", "adapter_info", "client_properties")
_INTEGER_FIELDS = ("channel_max", "frame_max", "heartbeat", "connection_timeout")


def uri_problem(uri: str) -> str | None:
    """Why ``amqp_uri:parse`` refuses ``uri`` (text to follow "is not a valid URI: "), or None."""
    scheme, colon, rest = uri.partition(":")
    # Without "//" the parser finds no user info and build_broker fails on it (case_clause).
    if not colon or scheme.lower() not in _SCHEMES or not rest.startswith("//"):
        return "it must start with amqp:// or amqps://"
    authority, tail = _split_first(rest[2:], "/?#")
    user_part, at, host_port = authority.partition("@")
    if not at:
        user_part, host_port = "", authority
    userinfo = [] if user_part == "" else user_part.split(":")
    host, port, problem = _host_and_port(host_port)
    if problem:
        return problem
    path, _, query = tail.partition("#")[0].partition("?")
    if port is not None:
        if not _INTEGER.fullmatch(port):
            return "its port is not a number"
        if not 0 < int(port) <= 65535:
            return "its port must be 1 to 65535"
        if not host:
            return "a port needs a host"
    if "/" in path[1:]:
        return "its vhost (the path) may not hold a '/': write it %2F"
    parts = [("host", host or ""), ("vhost", path[1:]), *zip(("user", "password"), userinfo[:2], strict=False)]
    for part, text in parts:
        if _BAD_ESCAPE.search(text):
            return f"its {part} holds a '%' that is not followed by two hex digits (write a '%' as %25)"
    return _query_problem(query, secure=scheme.lower() == "amqps", direct=not host)


def _split_first(text: str, separators: str) -> tuple[str, str]:
    """``text`` cut before the first of ``separators`` (``uri_parser``'s authority ends there)."""
    for index, char in enumerate(text):
        if char in separators:
            return text[:index], text[index:]
    return text, ""


def _host_and_port(host_port: str) -> tuple[str, str | None, str | None]:
    """(host, port text or None, problem or None); an IPv6 host is in brackets."""
    if host_port.startswith("["):
        host, _, after = host_port[1:].partition("]")
        if after and not after.startswith(":"):
            return host, None, "its port must follow the host's ']' after a ':'"
        return host, after[1:] if after else None, None
    host, colon, port = host_port.partition(":")
    return host, port if colon else None, None


def _query_problem(query: str, *, secure: bool, direct: bool) -> str | None:
    """The query's keys the parser acts on (``broker_add_query``, ``build_ssl_broker``, ``mechanisms``)."""
    pairs = [param.partition("=")[::2] for param in query.split("&") if "=" in param] if query else []
    seen: set[str] = set()
    for key, value in pairs:
        first = key not in seen  # proplists:get_value takes the first of a key
        seen.add(key)
        if key in _INTEGER_FIELDS and not direct and first and not _INTEGER.fullmatch(value):
            return f"its query parameter {key} must be a whole number"
        if key in (_DIRECT_FIELDS if direct else _NETWORK_FIELDS) and key not in _INTEGER_FIELDS:
            return f"its query parameter {key} cannot be set in the URI's query"
        if secure and not direct and first:
            if key == "fail_if_no_peer_cert" and value not in ("true", "false"):
                return "its query parameter fail_if_no_peer_cert must be true or false"
            if key == "depth" and not _INTEGER.fullmatch(value):
                return "its query parameter depth must be a whole number"
            if key in ("cacertfile", "certfile", "keyfile", "password", "server_name_indication") and (
                _BAD_ESCAPE.search(value)
            ):
                return f"its query parameter {key} holds a '%' that is not followed by two hex digits"
        if key == "auth_mechanism" and not direct and len([t for t in value.split(":") if t]) > 2:
            return "its auth_mechanism must be a function or module:function"
    return None
