"""The node's definitions document through rabbitmqctl: what the ctl backend's state read, ``definitions
export`` and ``authenticate`` (users' hashes) all start from.

Read with the ``export`` eval (``eval``): the document of ``rabbit_definitions:all_definitions/0``, built on the
node from the server's own list functions with every parameter value and policy definition kept in its shape
(a list as a list: 3.10.8's export crashes on a list-valued federation-upstream-set) and encoded there with
``rabbit_json``, as ``GET /api/definitions`` encodes it. Where the eval cannot run (a server lacking those
functions, checked by the expression itself and remembered) or fails, ``rabbitmqctl export_definitions`` is
the fallback, with its known faults: on 3.10 it crashes on such a parameter (``{:badrpc, ...}`` on stdout,
exit 0), and on 3.10.8 and 4.0.5 its JSON encoder prints a JSON null as the string ``"null"`` and the
objects the node keeps as proplists as lists of pairs (parameters' values are turned back here, operator
policies' definitions and limits where they are read, ``definitions.as_mapping``): on that path a null reads
as "null" and a parameter whose value is a list of pairs reads as an object.

A state read (``CtlBackend.read_state``) asks for more in the same VM (``read_with_state``): the export eval's
document together with the queue counts and internal exchanges of ``read_extras`` and the vhost fields the
export leaves out (``rabbit_vhost:info_all/1``), one JSON object; where that eval cannot serve, the backend
reads the three apart as before (this export, its fallback, and theirs).

The expression carries no data, so where rabbitmqctl runs elsewhere (``ssh``, ``docker`` prefixes: no shared
file) it goes on the argument list rather than stdin, which 4.0.5's rabbitmqctl never reads (``runner``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.definitions import as_mapping
from rabbitadmin.errors import CtlError

#: What the export eval returns (its last line) when some entry holds a value no JSON can carry.
UNREADABLE = "unreadable"
#: 3.10.8's ``rabbit_definitions:list_exchanges/0`` leaves out the ``amq.*`` exchanges with
#: ``rabbit_exchange:is_amq_prefixed/1``, which has no clause for a name that is not a binary: an exchange named
#: null (or 5, ...), which its own ``POST /api/definitions`` creates, makes every export of the node fail
#: with ``{:badrpc, {:EXIT, {:function_clause, [{:rabbit_exchange, :is_amq_prefixed, [:null], ...``.
_UNADDRESSABLE_EXCHANGE = ":is_amq_prefixed, ["
_UNADDRESSABLE_EXCHANGE_MESSAGE = (
    "the node could not export its definitions: it holds an exchange whose name is not a string (null, a "
    "number, ...: its own definitions import creates one as given), on which 3.10's rabbit_definitions fails "
    "(rabbit_exchange:is_amq_prefixed has no clause for it). --backend http reads this node, leaving such "
    "objects out with a warning; or remove the exchange on the node (rabbitmqctl eval)"
)
_SECTION_NAMES = {"parameters": "parameter", "global_parameters": "global parameter", "policies": "policy"}


class DefinitionsReader:
    """Reads the definitions document of one node; see the module docstring."""

    def __init__(self, ctl: Rabbitmqctl) -> None:
        self.ctl = ctl
        #: Why the eval cannot run on this server (its missing functions), once seen; None: not seen.
        self.eval_unsupported: str | None = None
        #: The same for the state read's eval (``read_with_state``), which needs more functions.
        self.state_eval_unsupported: str | None = None

    def read(self) -> dict[str, Any]:
        """The node's definitions: ``{"rabbit_version": ..., "users": [...], "parameters": [...], ...}``, the
        keys of ``rabbit_definitions:all_definitions/0``.

        Raises ``CtlError`` naming the entries (section, vhost, component, name) whose value no JSON can hold,
        or rabbitmqctl's own error when the fallback ``export_definitions`` fails too; ``ConnectionFailed`` and
        ``CtlTimeout`` as every rabbitmqctl call.
        """
        if self.eval_unsupported is None:
            expression = ctl_eval.expression("export", {})
            try:
                output = self.ctl.eval(expression)  # it carries no data: argv through a remote prefix
            except CtlError:
                output = ""  # the eval failed as a whole: export_definitions below reports its own error
            if output.lstrip().startswith(ctl_eval.MISSING_MARKER):
                self.eval_unsupported = " ".join(output.split())
            else:
                unreadable = _unreadable_entries(output)
                if unreadable is not None:
                    raise CtlError("eval (definitions read)", 0, _unreadable_message(unreadable))
                with contextlib.suppress(ValueError):
                    document: dict[str, Any] = ctl_eval.parse_json_line(output)
                    return document
        return self._exported()

    def read_with_state(self, vhosts: list[str] | None, vhost_fields: list[str]) -> dict[str, Any] | None:
        """The definitions with what a state read needs besides, in one eval (``eval`` operation ``read``):
        ``{"definitions": <as read returns>, "extras": {"queues": [[vhost, name, messages, consumers], ...],
        "internal_exchanges": [{...}, ...]} (of ``vhosts``, None: all), "vhost_fields": [{"name": ...,
        <each of vhost_fields>: ...}, ...]}`` (keys: ``eval.READ_PARTS``).

        None when that eval cannot serve: the server lacks a function it calls (remembered: not asked again),
        the export eval is known not to run here, the eval failed as a whole, or its output is not its own.
        The caller then reads the parts apart, each with its own fallback. Raises ``CtlError`` naming the
        entries no JSON can hold, as ``read`` does; ``ConnectionFailed`` and ``CtlTimeout`` as every call.
        """
        if self.eval_unsupported is not None or self.state_eval_unsupported is not None:
            return None
        expression = ctl_eval.expression("read", {"vhosts": vhosts, "vhost_fields": vhost_fields})
        try:
            output = self.ctl.eval(expression)  # names only, no secret: argv through a remote prefix
        except CtlError:
            return None  # read apart: each part reports (or falls back from) its own failure
        if output.lstrip().startswith(ctl_eval.MISSING_MARKER):
            self.state_eval_unsupported = " ".join(output.split())
            return None
        unreadable = _unreadable_entries(output)
        # An empty list names nothing: what could not be encoded is not in the definitions. Read apart then
        # (the output is not ``done``'s: None below), where the part at fault fails as it always did.
        if unreadable:
            raise CtlError("eval (definitions read)", 0, _unreadable_message(unreadable))
        try:
            parts = ctl_eval.parse_json_line(output)
        except ValueError:
            return None
        if not isinstance(parts, dict) or set(parts) != set(ctl_eval.READ_PARTS):
            return None
        return parts

    def _exported(self) -> dict[str, Any]:
        output = self.ctl.run(["export_definitions", "-", "--format=json"]).strip() or "{}"
        try:
            document: dict[str, Any] = json.loads(output)
        except ValueError:
            # 3.10.8's export_definitions fails this way on a list-valued parameter (a federation-upstream-set):
            # {:badrpc, {:EXIT, {:badarg, [{:maps, :from_list, ...}]}}} on stdout, exit 0.
            if _UNADDRESSABLE_EXCHANGE in output:
                raise CtlError("export_definitions", 0, _UNADDRESSABLE_EXCHANGE_MESSAGE) from None
            raise CtlError(
                "export_definitions", 0, f"the node could not export its definitions: {output[:200]}"
            ) from None
        # Its encoder prints an object the node keeps as a proplist as a list of pairs: a global parameter's
        # value, and (before 3.8.10, where the export did not make it a map itself) a runtime parameter's.
        for section in ("global_parameters", "parameters"):
            for entry in document.get(section) or ():
                if isinstance(entry, dict) and entry.get("value"):
                    entry["value"] = as_mapping(entry["value"])
        return document


def _unreadable_entries(output: str) -> list[dict[str, Any]] | None:
    """The entries the eval reported it cannot encode, or None when it did not end ``unreadable``."""
    body, _, last = output.rstrip().rpartition("\n")
    if last.strip() != UNREADABLE:
        return None
    try:
        entries = json.loads(body.rstrip().rpartition("\n")[2])
    except ValueError:
        return [{}]
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else [{}]


def _unreadable_message(entries: list[dict[str, Any]]) -> str:
    named = []
    for entry in entries:
        kind = _SECTION_NAMES.get(str(entry.get("section")), "an entry")
        where = " ".join(
            f"{field} {entry[field]!r}" for field in ("vhost", "component", "name") if entry.get(field) is not None
        )
        named.append(f"{kind} ({where})" if where else kind)
    return (
        f"the node holds a value no JSON can carry (an Erlang term such as a tuple, written by code rather than "
        f"through the API) in: {', '.join(named) or 'an entry'}. Neither rabbitmqctl nor the management API can "
        "export it; set it again or remove it (rabbitmqctl clear_parameter, clear_global_parameter, clear_policy)"
    )
