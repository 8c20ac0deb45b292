"""The project's exceptions and the exit codes the command line maps them to.

The library raises; only ``cli.py`` prints and chooses an exit code. Every exception here carries a
message that is safe to show: no password, no password hash, no request body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # types only: the engine imports this module
    from rabbitadmin.engine.apply import ApplyResult
    from rabbitadmin.engine.plan import Change


class ExitCode(IntEnum):
    """Exit codes of every ``rabbitadmin`` command (documented in docs/exit-codes.md)."""

    OK = 0
    ERROR = 1  # the server refused a request, or something unexpected happened
    INVALID = 2  # bad input: an invalid topology, a bad option
    CONNECTION = 3  # cannot reach or authenticate to the server
    REFUSED = 4  # a safety rule refused the operation (data loss, protected user, no terminal)
    PARTIAL = 5  # an apply stopped part-way: some changes were made, some were not
    CHANGES_PENDING = 6  # plan --detailed-exitcode: the server differs from the topology
    FINDINGS = 7  # audit --fail-on: findings at or above the threshold
    LOCKED = 8  # another apply holds the vhost's apply lock and did not let go within --lock-timeout
    MESSAGES_ARRIVED = 9  # a queue delete/replace planned as empty was kept: messages/consumer arrived after the plan
    TIMEOUT = 10  # a call to the server (HTTP or rabbitmqctl) did not answer within its timeout
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: what was done, failed and not attempted is reported


class RabbitAdminError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class TopologyError(RabbitAdminError):
    """The topology is invalid; ``problems`` lists every problem found, not just the first."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the topology:\n" + "\n".join(f"  {p}" for p in problems)
        )


class UsageError(RabbitAdminError):
    """A bad option or combination of options."""

    exit_code = ExitCode.INVALID


class ConnectionFailed(RabbitAdminError):
    """The server cannot be reached, or refused our credentials."""

    exit_code = ExitCode.CONNECTION


class RequestTimeout(RabbitAdminError):
    """A request was sent but no answer came within the timeout (``--timeout``)."""

    exit_code = ExitCode.TIMEOUT


class MalformedResponse(RabbitAdminError):
    """The server's answer could not be read: not JSON, or cut short again on every retry."""


class AnswerLost(RabbitAdminError):
    """A write was sent but its answer was lost (reset, cut, timed out, 502/503/504): it may or may not
    have been carried out. Backends read the object back and turn this into done or not done.

    ``exit_code`` is that of the transport fault (CONNECTION, or TIMEOUT for a timeout).
    """

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.CONNECTION) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class BatchFailed(RabbitAdminError):
    """A batch of creates (a bulk import) stopped: ``failed`` are the objects of the batch that are not on
    the server (or whose outcome is unknown); objects reported through the progress callback were created,
    and the rest were not attempted. One message for the whole batch, not one per object.
    """

    def __init__(
        self, message: str, failed: Sequence[object], exit_code: ExitCode = ExitCode.ERROR, *, permanent: bool = False
    ) -> None:
        self.failed = list(failed)
        self.exit_code = exit_code
        #: As ``CtlTimeout.permanent``: running the apply again cannot succeed either.
        self.permanent = permanent
        super().__init__(message)


class ServerError(RabbitAdminError):
    """The server answered a request with an error; carries its own reason, the method and the path."""

    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        from rabbitadmin.secret_text import mask_text  # the server quotes what it refused: URIs, secret-named keys

        self.method = method
        self.path = path
        self.status = status
        self.reason = mask_text(reason)
        super().__init__(f"{method} {path} failed with HTTP {status}: {self.reason}")


class Refused(RabbitAdminError):
    """A safety rule refused the operation before anything was written."""

    exit_code = ExitCode.REFUSED


class UnaddressableName(Refused):
    """A name the management HTTP API cannot carry in a URL path: ``.`` or ``..`` (RabbitMQ answers 405).

    HTTP treats them as relative path segments (RFC 3986 section 5.2.4) even percent-encoded, so the
    request reaches another route. ``rabbitmqctl`` (``--backend ctl``) handles such names.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"the name {name!r} cannot be addressed over the management HTTP API ('.' and '..' are relative URL "
            "path segments; RabbitMQ answers 405): use --backend ctl for it"
        )


class Unaddressable(RabbitAdminError):
    """An object the server lists whose identity field (a name, a vhost, a user, a binding's source or
    destination) is not a string. ``POST /api/definitions`` stores such values as they come
    (``rabbit_definitions`` checks no type; measured: 3.10.8 keeps null, numbers, lists and objects as the names
    of vhosts, users, exchanges, queues, policies, operator policies and parameters, and as permissions' user
    and vhost and bindings' source and destination; 4.0.5 refuses them for vhosts, users and permissions but
    still keeps any of them as a queue's name or a binding's destination, and null as the name of an
    exchange, a policy, an operator policy, a parameter, a global parameter and as a binding's source, even
    when it answers 400 for the rest of the import). No management API path or rabbitmqctl
    argument can name such an object, so rabbitadmin can neither change nor delete it: a state read leaves
    it out with one warning (``definitions.warn_unaddressable``) rather than failing on it, so that a plan neither
    creates nor deletes it (``--prune`` never touches it), an export never writes it, and audits and
    reports go on without it.

    A ``RabbitAdminError``: a caller that does not expect it reports it as an error, never a traceback.
    """

    def __init__(self, kind: str, data: dict[str, Any], fields: tuple[str, ...], vhost: str | None = None) -> None:
        self.kind = kind
        #: The vhost whose listing held it (None: a listing of the whole server).
        self.vhost = vhost
        shown = [f"{field} {_raw(data.get(field))}" for field in fields]
        if vhost is not None:  # listed per vhost: the row need not carry it
            shown.insert(0, f"vhost {_raw(vhost)}")
        if kind == "binding" and "routing_key" in data:  # two bindings may differ in their key alone
            shown.append(f"routing_key {_raw(data['routing_key'])}")
        #: The object as the server shows it: its vhost and identity fields, each as the server's JSON.
        self.shown = ", ".join(shown)
        bad = " and ".join(field for field in fields if not isinstance(data.get(field), str))
        super().__init__(
            f"{kind} ({self.shown}): its {bad} is not a string, so no API path can name it and rabbitadmin "
            "cannot address it: it is left out (a plan neither creates nor deletes it, --prune never touches "
            "it, export does not write it, audit, access and report skip it); only code run on the node can "
            "reach it"
        )


def _raw(value: Any) -> str:
    """A field's value as the server's JSON shows it (``null``, ``5``, ``["a"]``, ``"name"``)."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


class Interrupted(RabbitAdminError):
    """Ctrl-C or SIGTERM. An interrupted apply raises ``ApplyInterrupted`` (below), which says what was done."""

    exit_code = ExitCode.INTERRUPTED


class SandboxError(RabbitAdminError):
    """The private node could not be started, reached or stopped."""


class MessagesArrived(RabbitAdminError):
    """A conditional queue delete was refused: messages arrived, or a consumer attached, after the plan.

    Raised by a backend's ``delete(..., if_empty=True)`` (the queue holds ready messages) or
    ``delete(..., if_unused=True)`` (it has a consumer, whose unacknowledged deliveries the server's
    ``if-empty`` does not count); the apply keeps the queue and carries on. Build it with ``for_queue`` or
    ``for_vhost`` so every backend words it alike.
    """

    exit_code = ExitCode.MESSAGES_ARRIVED

    #: What the server's refusal said: ``"not_empty"`` (ready messages), ``"in_use"`` (a consumer), or
    #: ``"unknown"`` (the refusal does not say which: 4.0.5's 500 for a non-ASCII vhost, read back).
    CAUSES: ClassVar[dict[str, str]] = {
        "not_empty": "messages arrived after the plan",
        "in_use": "a consumer attached after the plan (its unacknowledged messages would have been lost)",
        "unknown": "messages arrived or a consumer attached after the plan",
    }

    cause = "not_empty"

    @classmethod
    def for_queue(cls, vhost: str, name: str, cause: str = "not_empty") -> MessagesArrived:
        """The refusal of one queue delete; ``cause`` is a key of ``CAUSES`` (kept in ``.cause``)."""
        error = cls(f"{cls.CAUSES[cause]}: queue {name!r} in vhost {vhost!r} was not deleted")
        error.cause = cause
        return error

    @classmethod
    def for_vhost(cls, vhost: str, kept: dict[str, str]) -> MessagesArrived:
        """The refusal of a vhost delete: ``kept`` maps each queue the server kept to its cause."""
        causes = sorted(set(kept.values()))
        cause = causes[0] if len(causes) == 1 else "unknown"
        names = list(kept)
        listed = ", ".join(repr(name) for name in names[:10]) + (" ..." if len(names) > 10 else "")
        return cls(f"{cls.CAUSES[cause]} in vhost {vhost!r} (queue(s) {listed}): the vhost was not deleted")


class ApplyLocked(RabbitAdminError):
    """Another apply holds the apply lock of a vhost and did not release it in time; names the holder."""

    exit_code = ExitCode.LOCKED


class LockUnavailable(ConnectionFailed):
    """The apply lock could not be taken at all (AMQP unreachable or refused): nothing was written."""


# -- moved here from the modules that raise them (issue 13.5); bases unchanged, so callers catch them as before.
class InputFileError(Exception):
    """A file cannot be read as input; the message says why (safe to show: no file content).

    Raised by ``input_files.read_bounded``; callers turn it into a located ``Problem`` or ``UsageError``."""


class UnknownHashingAlgorithm(ValueError):
    """The server uses a hashing module this tool does not know (``passwords``)."""


class PatternError(ValueError):
    """A permission pattern the server's PCRE would refuse to compile (``audit.patterns``)."""


class PublishRefused(UsageError):
    """The broker would refuse the publish itself (no such exchange, an internal exchange): a channel error,
    not an unroutable message (``routing.simulate``)."""


class NoSuchVhost(UsageError):
    """The vhost asked about is not in the topology (or on the server) (``routing.simulate``)."""


class GraphError(RabbitAdminError):
    """Graphviz's ``dot`` is missing or failed (``routing.graph``)."""


class ProbeError(RabbitAdminError):
    """A test publish could not be made (the broker closed the connection, a confirm never came)
    (``routing.verify``)."""


class RpcFailed(RabbitAdminError):
    """The RPC client got no answer in time, or an error instead of a number (``tutorials.runners``)."""


class NotProvisioned(RabbitAdminError):
    """A runner's named queue or exchange does not exist: the scenario was not provisioned (``tutorials.amqp``)."""

    exit_code = ExitCode.ERROR


# -- named targets --
class TargetsError(TopologyError):
    """The targets file is invalid; ``problems`` locates each one (file, line, key). Exit 2."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        count = len(problems)
        self.args = (
            f"{count} problem{'s' if count != 1 else ''} in the targets file:\n"
            + "\n".join(f"  {p}" for p in problems),
        )


# -- transports (backends/http, backends/ctl, the admin operations) ------------------------------------


class NotFound(RabbitAdminError):
    """The object an operation needs does not exist."""


class AlreadyExists(RabbitAdminError):
    """The object to add exists already (adding would overwrite it)."""


class CtlTimeout(RabbitAdminError):
    """A rabbitmqctl call did not finish within its timeout; its processes were killed.

    ``permanent`` is True when a re-run cannot succeed either (a rabbitmqctl that never reads the stdin
    it was given).
    """

    exit_code = ExitCode.TIMEOUT

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class CtlError(RabbitAdminError):
    """``rabbitmqctl`` ran and reported an error; carries its exit code and its own words."""

    def __init__(self, command: str, returncode: int, reason: str) -> None:
        from rabbitadmin.secret_text import mask_text  # an import error may quote a parameter's URI or password

        self.command = command
        self.returncode = returncode
        self.reason = mask_text(reason)
        super().__init__(f"rabbitmqctl {command} failed (exit {returncode}): {self.reason}")

    @property
    def not_found(self) -> bool:
        """True when the error says the object does not exist (a delete then reached its goal)."""
        from rabbitadmin.backends.ctl.quirks import NOT_FOUND_MARKERS  # the words are rabbitmqctl's, kept there

        lowered = self.reason.lower()
        return any(marker in lowered for marker in NOT_FOUND_MARKERS)


# -- the engine's own: an apply that stopped part-way, a vhost the apply lock cannot find -----------------


class PartialApply(RabbitAdminError):
    """An apply stopped part-way; ``result`` says what was and was not done.

    Exit code: ``PARTIAL`` when something failed or was not attempted; ``MESSAGES_ARRIVED`` when the only
    thing left undone is queues kept because messages arrived after the plan.
    """

    exit_code = ExitCode.PARTIAL
    headline = "the apply stopped part-way"

    def __init__(self, result: ApplyResult, cause: RabbitAdminError | None = None) -> None:
        self.result = result
        self.cause = cause
        only_kept = not result.failed and not result.not_attempted
        headline = self.headline
        if only_kept and self.exit_code == ExitCode.PARTIAL:  # an interrupt keeps its own code and headline
            self.exit_code = ExitCode.MESSAGES_ARRIVED
            headline = "the apply kept queues"
        lines = [
            f"{headline}: {len(result.done)} change(s) done, "
            f"{len(result.kept)} kept (messages arrived or consumers attached after the plan), "
            f"{len(result.failed)} failed, "
            f"{len(result.not_attempted)} not attempted"
        ]
        if cause is not None:  # what stopped the apply between two steps (the lock of a vhost it created)
            if not isinstance(cause, BatchFailed):  # a batch naming no object stays a partial apply (exit 5)
                self.exit_code = cause.exit_code
            lines.append(f"  stopped: {cause}")
        lines += [f"  kept: {c.subject}: {why}" for c, why in result.kept]
        # Failures that share one error (a bulk import's batch) are one line, not one per object.
        by_error: dict[str, list[Change]] = {}
        for change, error in result.failed:
            by_error.setdefault(error, []).append(change)
        for error, changes in by_error.items():
            if len(changes) == 1:
                lines.append(f"  failed: {changes[0].subject}: {error}")
            else:
                lines.append(f"  failed: {len(changes)} changes ({changes[0].subject}, ...): {error}")
        lines += [f"  not attempted: {c.subject}" for c in result.not_attempted[:20]]
        if len(result.not_attempted) > 20:
            lines.append(f"  ... and {len(result.not_attempted) - 20} more not attempted")
        if result.permanent:
            lines.append("running the same command again will not finish it: fix the cause named above first")
        elif result.ok:  # interrupted as the last requests in flight finished: nothing is left
            lines.append("every change of the plan was done before the apply stopped: nothing is left to do")
        elif only_kept:
            lines.append(
                "the kept queues hold messages or have consumers now: drain them (stop their consumers) and run "
                "the same command again, or pass --allow-data-loss to delete them with their messages"
            )
        else:
            lines.append("run the same command again to finish: the next plan starts from the server's state")
        super().__init__("\n".join(lines))


class ApplyInterrupted(PartialApply):
    """Ctrl-C or SIGTERM stopped the apply: requests in flight finished, no new one was sent."""

    exit_code = ExitCode.INTERRUPTED
    headline = "interrupted (Ctrl-C or SIGTERM): requests in flight finished, no new one was sent"


class DeclaresUnavailable(Exception):
    """The node cannot run the ctl backend's declares (no AMQP client there, or the declares' file could not be
    read); nothing was sent, and the backend imports instead. The message says why."""


class LockVhostMissing(Exception):
    """The vhost to lock does not exist (yet); internal to the apply lock (``engine.apply_lock``)."""


class UnknownVhost(NotFound):
    """An administration command named a vhost the server does not have (``admin.vhost_check``)."""


class UnknownUser(NotFound):
    """An administration command named a user the server does not have (``admin.vhost_check``)."""


class UnknownQueue(NotFound):
    """An administration command named a queue its vhost does not have (``admin.vhost_check``)."""


class UnknownExchange(NotFound):
    """A command named an exchange its vhost does not have (``audit.cli`` access)."""
