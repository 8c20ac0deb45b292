"""The node's own configuration that hardening rules look at: ``loopback_users`` and listener addresses.

Read through whichever backend the audit uses, and honest about what it cannot see:

- ``rabbitmqctl`` (ctl backend): ``rabbitmqctl eval`` of ``application:get_env(rabbit, loopback_users)`` and
  ``rabbit_networking:active_listeners()`` on the node (the expression is an argument: nothing secret).
- the management API (http backend): ``GET /api/overview`` gives the listeners, not ``loopback_users``,
  which stays unknown. A web listener (the management API itself) is registered with the address ``::``
  whatever it is bound to; the address it really uses is its ``ip`` socket option (``management.tcp.ip``),
  which both backends read. Without that option the listener binds every interface (cowboy's default).

Sources: RabbitMQ Access Control guide ("loopback_users"), Networking guide ("Interfaces").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import RabbitAdminError

#: Listener protocols the rules look at: AMQP 0-9-1 (plain and TLS) and the management API.
CHECKED_PROTOCOLS = ("amqp", "amqp/ssl", "http", "https")
EVERY_INTERFACE = ("::", "0.0.0.0")  # noqa: S104 - addresses compared against, not bound
_MARKER = "rabbitadmin-node-facts:"


@dataclass(frozen=True)
class Listener:
    """One listener: ``address`` is None when the backend cannot tell which interface it is bound to."""

    protocol: str
    address: str | None
    port: int


@dataclass(frozen=True)
class NodeFacts:
    """What the backend could read; None for what it cannot (reported as RA022, never guessed)."""

    backend: str
    loopback_users: tuple[str, ...] | None
    listeners: tuple[Listener, ...] | None


def _address(entry: Mapping[str, Any]) -> str | None:
    opts = entry.get("socket_opts")
    if isinstance(opts, Mapping) and isinstance(opts.get("ip"), str) and opts["ip"]:
        return str(opts["ip"])
    if isinstance(entry.get("ip"), str) and entry["ip"]:
        return str(entry["ip"])
    address = entry.get("ip_address")
    if str(entry.get("protocol", "")).startswith("http") and not isinstance(opts, Mapping):
        return None  # a web listener always shows "::"; without its socket options the truth is unknown
    return str(address) if isinstance(address, str) and address else None


def listeners_from(entries: Any) -> tuple[Listener, ...]:
    """Listeners from ``/api/overview``'s ``listeners`` (or the ctl expression's, same keys)."""
    result = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("protocol") not in CHECKED_PROTOCOLS:
            continue
        port = entry.get("port")
        result.append(Listener(str(entry["protocol"]), _address(entry), int(port) if isinstance(port, int) else 0))
    return tuple(sorted(result, key=lambda item: (item.protocol, item.port)))


def read_http(client: Any) -> NodeFacts:
    """Facts over the management API (``client`` is an ``HttpClient``)."""
    overview = client.get(api_path("overview"), {"columns": "listeners"})
    return NodeFacts("http", None, listeners_from((overview or {}).get("listeners")))


# Runs on the node. Each listener is a #listener{} record: {listener, Node, Protocol, Host, IP, Port, Opts}.
_EXPRESSION = """Addr = fun(A) when is_tuple(A) -> list_to_binary(inet:ntoa(A));
          (A) when is_list(A) -> list_to_binary(A);
          (A) when is_binary(A) -> A;
          (_) -> null end,
Opt = fun(Opts) when is_list(Opts) -> proplists:get_value(ip, Opts);
         (Opts) when is_map(Opts) -> maps:get(ip, Opts, undefined);
         (_) -> undefined end,
Loop = case application:get_env(rabbit, loopback_users) of
         {ok, L} when is_list(L) -> [rabbit_data_coercion:to_binary(U) || U <- L];
         _ -> null end,
Ls = [case R of
        {listener, N, P, _, IP, Port, Opts} when N =:= node() ->
            #{protocol => rabbit_data_coercion:to_binary(P), ip_address => Addr(IP), port => Port,
              ip => Addr(Opt(Opts))};
        {listener, _, _, _, _, _, _} -> skip;
        _ -> #{protocol => <<"unreadable">>}
      end || R <- rabbit_networking:active_listeners()],
io:format("~s~s~n", ["@MARKER@", base64:encode(rabbit_json:encode(
    #{loopback_users => Loop, listeners => [X || X <- Ls, X =/= skip]}))]).""".replace("@MARKER@", _MARKER)


def read_ctl(ctl: Any) -> NodeFacts:
    """Facts from the node itself (``ctl`` is a ``Rabbitmqctl``); ``RabbitAdminError`` if unreadable."""
    output = ctl.run(["eval", _EXPRESSION])
    for line in output.splitlines():
        if line.startswith(_MARKER):
            try:
                data = json.loads(base64.b64decode(line[len(_MARKER) :], validate=True))
            except (binascii.Error, ValueError):
                break
            entries = data.get("listeners")
            if any(e.get("protocol") == "unreadable" for e in entries):
                raise RabbitAdminError("rabbitmqctl eval: the node's listener records have an unknown shape")
            loopback = data.get("loopback_users")
            return NodeFacts("ctl", tuple(loopback) if isinstance(loopback, list) else None, listeners_from(entries))
    raise RabbitAdminError("rabbitmqctl eval did not return the node's loopback_users and listeners")


def node_rules(facts: NodeFacts, *, guest: bool) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(rule id, message, objects) for RA020-RA022; ``guest`` says whether a user named guest exists."""
    if facts.loopback_users is None:
        yield "RA022", f"loopback_users cannot be read over {facts.backend}", ("setting:loopback_users",)
    elif guest and "guest" not in facts.loopback_users:
        yield (
            "RA020",
            "user 'guest' exists and loopback_users does not restrict it to localhost",
            ("setting:loopback_users", "user:guest"),
        )
    for listener in facts.listeners or ():
        obj = f"listener:{listener.protocol}:{listener.port}"
        if listener.address is None:
            yield (
                "RA022",
                f"the interface of the {listener.protocol} listener cannot be told over {facts.backend}",
                (obj,),
            )
        elif listener.address in EVERY_INTERFACE:
            yield (
                "RA021",
                f"the {listener.protocol} listener on port {listener.port} is bound to every interface "
                f"({listener.address})",
                (obj,),
            )
