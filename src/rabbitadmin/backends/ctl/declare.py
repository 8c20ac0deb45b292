"""Exchanges, queues and bindings declared on the node by one ``rabbitmqctl eval``, through RabbitMQ's own
Erlang AMQP client: what the HTTP backend does with pika over the network (``http.amqp_declare``), for a
backend that has no AMQP credentials.

The expression (``eval._DECLARE_PRELUDE``) opens one direct connection per vhost as the internal user
``none`` (``rabbit_direct``: a direct connection given no username logs in as
``rabbit_auth_backend_dummy:user()``, which is allowed everything and needs no password: rabbitmqctl already
acts with the node's own rights), and declares each phase (exchanges, queues, bindings) over ``channels``
channels, one process per channel taking its slice in order. The management UI shows the connection as
``rabbitadmin apply: declares``, user ``none``; the server's events name ``none`` as the acting user.

Arguments become AMQP tables on the node by ``rabbit_misc:to_amqp_table/1``, the function the definitions
import calls on the same JSON, so a declared object is the imported one (tested, ``tests/ctl``). The objects
given must have passed ``amqp_eligibility`` (no ``amq.`` names, no null or float argument values).

The same eval may first import a small definitions document (the vhosts, users, permissions and policies the
declares need: ``CtlBackend.create``), in the expression itself since it holds password hashes; refused, nothing
is declared (``read_import``).

Needs the ``amqp_client`` application running on the node (the management, shovel and federation plugins
start it; the expression does not, so no application is started on a node that had none): without it, or
without the functions the expression calls, nothing is done (``DeclaresUnavailable``) and the backend imports.
Measured (docs/benchmarks.md, 2026-12-02): the direct client declares at the pace of pika's network
declares on the same node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rabbitadmin.backends.amqp_eligibility import Declarable
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.declares import DeclareOutcome, phases_of
from rabbitadmin.definitions import to_definition
from rabbitadmin.errors import DeclaresUnavailable
from rabbitadmin.model import Binding, Exchange, Queue

#: Channels (and worker processes) per phase on the node: as the HTTP backend's pipelined declares.
DEFAULT_CHANNELS = 32


def declare_item(obj: Declarable) -> list[Any]:
    """``obj`` as the expression's ``Method`` takes it: a kind tag, then the method's fields in order.

    Raises ``TypeError`` for anything but an exchange, queue or binding."""
    if not isinstance(obj, Exchange | Queue | Binding):
        raise TypeError(f"a {obj.kind} cannot be declared over AMQP")
    arguments = to_definition(obj)["arguments"]  # a queue's type is in them, as x-queue-type
    if isinstance(obj, Exchange):
        return ["exchange", obj.name, obj.type, obj.durable, obj.auto_delete, obj.internal, arguments]
    if isinstance(obj, Queue):
        return ["queue", obj.name, obj.durable, obj.auto_delete, arguments]
    kind = "exchange_binding" if obj.destination_type == "exchange" else "queue_binding"
    return [kind, obj.destination, obj.source, obj.routing_key, arguments]


def declare_specs(objects: Sequence[Declarable], channels: int = DEFAULT_CHANNELS) -> list[dict[str, Any]]:
    """The expression's JSON: per vhost (in first-seen order), its phases, each split round-robin into at most
    ``channels`` slices of ``[index, *declare_item]``; ``index`` is the object's position in ``objects``."""
    index = {id(obj): position for position, obj in enumerate(objects)}
    by_vhost: dict[str, list[Declarable]] = {}
    for obj in objects:
        by_vhost.setdefault(obj.vhost, []).append(obj)
    specs = []
    for vhost, members in by_vhost.items():
        phases = []
        for phase in phases_of(members):
            ways = max(1, min(channels, len(phase)))
            phases.append([[[index[id(obj)], *declare_item(obj)] for obj in phase[way::ways]] for way in range(ways)])
        specs.append({"vhost": vhost, "phases": phases})
    return specs


@dataclass
class DeclareRun:
    """What one eval did: ``outcome`` over every object sent to a vhost that connected, and ``not_connected``:
    the objects of vhosts the node would not open a direct connection to (nothing sent there), with why."""

    outcome: DeclareOutcome
    not_connected: list[Declarable] = field(default_factory=list)
    connect_errors: list[str] = field(default_factory=list)


def _printed(output: str) -> dict[str, Any] | None:
    """The object the expression printed (``{"import": ..., "declares": ...}``, see ``eval._DECLARE``), or None
    when the node lacks a function it calls (then nothing ran). Raises ``ValueError`` for other output."""
    # The expression's value, not a line it printed: an object's name in a refusal may hold anything.
    if output.lstrip().startswith(ctl_eval.MISSING_MARKER):
        return None
    printed = ctl_eval.parse_json_line(output)
    if not isinstance(printed, dict) or set(printed) != {"import", "declares"}:
        raise ValueError(f"not the declares' answer: {str(printed)[:500]}")
    return printed


def read_import(output: str) -> str | None:
    """The outcome of the definitions import the expression ran before declaring: ``"imported"``, the server's
    error (an Erlang term as text; may quote a password hash), or None when none ran (none was asked, or the
    node lacks a function the expression calls). Raises ``ValueError`` when the output is not the expression's."""
    printed = _printed(output)
    imported = printed["import"] if printed is not None else None
    return None if imported is None else str(imported)


def read_run(output: str, objects: Sequence[Declarable]) -> DeclareRun:
    """The outcome the expression printed for ``objects`` (the list ``declare_specs`` was given), once its import
    (``read_import``), if any, was done.

    A failure with code 0 is an unknown outcome (no answer, or not the answer expected): ``unanswered``; so is
    each of the calls in flight when the server closed the whole connection (marked ``"connection"``: 3.10
    does so for a hard error, and every such call gets the same answer, so which object was refused is not
    told; with a single one in flight, it is that one: refused); any other code is the server's refusal of
    that object (its channel closed with that code and reason): ``refused``. Objects neither declared nor
    failed were not sent. Raises ``DeclaresUnavailable`` when the node said it cannot declare (nothing
    declared), ``ValueError`` when the output is not the expression's, in shape or in the objects it names
    (or says the import was refused: nothing declared)."""
    printed = _printed(output)
    if printed is None:
        raise DeclaresUnavailable(f"this node lacks RabbitMQ's AMQP client ({' '.join(output.split())[:300]})")
    results = printed["declares"]
    if isinstance(results, str):
        raise DeclaresUnavailable(results)
    vhosts = list(dict.fromkeys(obj.vhost for obj in objects))
    if not isinstance(results, list) or len(results) != len(vhosts):
        raise ValueError(f"expected {len(vhosts)} vhost outcome(s), got: {str(results)[:500]}")
    try:
        return _run_of(vhosts, results, objects)
    except (KeyError, TypeError, IndexError, ValueError) as exc:  # valid JSON, not the expression's shape
        raise ValueError(f"not the declares' answer ({exc!r}): {str(results)[:500]}") from None


def _run_of(vhosts: list[str], results: list[Any], objects: Sequence[Declarable]) -> DeclareRun:
    run = DeclareRun(DeclareOutcome(connected=True))
    outcome = run.outcome
    for vhost, result in zip(vhosts, results, strict=True):
        if "connect_error" in result:
            run.not_connected += [obj for obj in objects if obj.vhost == vhost]
            run.connect_errors.append(f"vhost {vhost!r}: {result['connect_error']}")
            continue
        outcome.declared += [_object(objects, position, vhost) for position in result["declared"]]
        # With one call in flight when the server closed the connection, that call is the refused one.
        closed = sum(failure[3:] == ["connection"] for failure in result["failed"])
        outcome.closed_by_server |= closed > 1
        for position, code, reason, *scope in result["failed"]:
            whole_connection = scope == ["connection"] and closed > 1
            if outcome.error is None:
                outcome.error = (
                    f"the server closed the connection to vhost {vhost!r} ({code} {reason}): the declares in flight "
                    "on its other channels were cut off with it"
                    if whole_connection
                    else f"{code} {reason}"
                    if code
                    else f"no answer: {reason}"
                )
            if position is None:
                continue  # a channel that did not open, a worker lost: its slice is settled as not attempted
            obj = _object(objects, position, vhost)
            if code and not whole_connection:
                outcome.refused.append((obj, f"{code} {reason}"))
            else:
                outcome.unanswered.append(obj)
    return run


def _object(objects: Sequence[Declarable], position: Any, vhost: str) -> Declarable:
    """``objects[position]``, which must be an object of ``vhost``; raises ``ValueError`` otherwise."""
    if not isinstance(position, int) or not 0 <= position < len(objects) or objects[position].vhost != vhost:
        raise ValueError(f"no object {position!r} of vhost {vhost!r} was sent")
    return objects[position]
