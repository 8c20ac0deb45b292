"""What each RabbitMQ server version accepts, deprecates or ignores, as data (see docs/server-versions.md).

The plan reads the server's version once (``GET /api/overview`` ``rabbitmq_version``, or the definitions
export's ``rabbit_version`` through rabbitmqctl) and, on 4.0 and later, the server's own deprecated
features (``GET /api/deprecated-features``: name and ``deprecation_phase``). With them:

- ``version_notes(topology, version, phases)``: for every object of a desired topology, what the target
  server would refuse (a deprecated feature in phase ``denied_by_default`` or ``removed``) and what it
  deprecates or ignores (a warning), before anything is written;
- ``argument_notes(kind, queue_type, arguments, version)``: the same for one object's arguments, the
  function an argument-rules table can call per object (``check_arguments(..., server_version=)``);
- ``deprecated_in_use(topology, version, used)``: what ``audit`` reports as rule RA023.

Facts measured on 3.10.8 and 4.0.5 (both accept every argument below; 4.0.5 lists the deprecated
features ``transient_nonexcl_queues`` and ``queue_master_locator`` as ``permitted_by_default`` and
``classic_queue_mirroring`` as ``removed``). Sources: rabbitmq-server ``deps/rabbit/src/rabbit_queue_type.erl``
and each queue type's ``capabilities()``, ``rabbit_deprecated_features.erl``, and the 3.12, 3.13 and 4.0
release notes in ``release-notes/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rabbitadmin.model import Queue, Topology

Version = tuple[int, ...]
#: Phases in which a server refuses to let a deprecated feature be used (rabbit_deprecated_features).
REFUSING_PHASES = ("denied_by_default", "disconnected", "removed")


def parse_version(text: str | None) -> Version | None:
    """``"4.0.5"`` -> ``(4, 0, 5)``; None for None or an unreadable version (``"4.1.0-beta.2"`` -> (4, 1, 0))."""
    if not text:
        return None
    parts = []
    for piece in text.split("+")[0].split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


@dataclass(frozen=True)
class ArgumentFact:
    """An optional argument that a server version ignores or deprecates (none here is refused by 4.0.5)."""

    argument: str
    queue_types: tuple[str, ...]
    since: Version
    effect: str  # "ignored" or "deprecated"
    advice: str
    #: The deprecated feature behind it (its phase on the server can turn the warning into a refusal).
    feature: str | None = None
    #: From this version on the server refuses the argument (with one of ``refused_values``; None: any).
    refused_since: Version | None = None
    refused_values: tuple[object, ...] | None = None


ARGUMENT_FACTS: tuple[ArgumentFact, ...] = (
    ArgumentFact(
        "x-queue-mode",
        ("classic",),
        (3, 12),
        "ignored",
        "classic queues (version 2) always keep messages on disk; remove the argument",
        refused_since=(4, 3),  # 4.3.0 release notes: CQv1 removed, any x-queue-mode fails
    ),
    ArgumentFact(
        "x-queue-version",
        ("classic",),
        (4, 0),
        "ignored",
        "classic queues are version 2 from 4.0 on; remove the argument",
        refused_since=(4, 3),  # 4.3.0 release notes: x-queue-version 1 fails
        refused_values=(1, "1"),
    ),
    ArgumentFact(
        "x-max-in-memory-length",
        ("quorum",),
        (4, 0),
        "ignored",
        "quorum queues no longer keep message bodies in memory; remove the argument",
    ),
    ArgumentFact(
        "x-max-in-memory-bytes",
        ("quorum",),
        (4, 0),
        "ignored",
        "quorum queues no longer keep message bodies in memory; remove the argument",
    ),
    ArgumentFact(
        "x-queue-master-locator",
        ("classic", "quorum", "stream"),
        (4, 0),
        "deprecated",
        "use x-queue-leader-locator (client-local or balanced) instead",
        feature="queue_master_locator",
    ),
)

#: Deprecated features each version knows, with their phase (for servers whose API does not say).
KNOWN_PHASES: dict[Version, dict[str, str]] = {
    (4, 0): {
        "transient_nonexcl_queues": "permitted_by_default",
        "queue_master_locator": "permitted_by_default",
        "global_qos": "permitted_by_default",
        "ram_node_type": "permitted_by_default",
        "classic_queue_mirroring": "removed",
    },
}
#: The quorum queue delivery limit a server applies when a queue sets none (None: unlimited).
QUORUM_DEFAULT_DELIVERY_LIMIT: dict[Version, int | None] = {(3, 0): None, (4, 0): 20}


def known_phases(version: Version | None) -> dict[str, str]:
    """The deprecated features and phases of the newest table entry not newer than ``version``."""
    if version is None:
        return {}
    entries = [since for since in KNOWN_PHASES if since <= version[:2]]
    return dict(KNOWN_PHASES[max(entries)]) if entries else {}


def quorum_default_delivery_limit(version: Version | None) -> int | None:
    if version is None:
        return None
    return QUORUM_DEFAULT_DELIVERY_LIMIT[max(s for s in QUORUM_DEFAULT_DELIVERY_LIMIT if s <= version[:2])]


@dataclass(frozen=True)
class VersionNote:
    """One finding about an object on a server version: ``refuse`` (the server would refuse it) or ``warn``."""

    severity: str  # "refuse" or "warn"
    subject: str
    message: str
    feature: str | None = None

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


def argument_notes(
    kind: str,
    queue_type: str | None,
    arguments: Mapping[str, object],
    version: Version | None,
    phases: Mapping[str, str] | None = None,
    subject: str = "",
) -> list[VersionNote]:
    """What ``version`` does with these arguments of a queue (``kind == "queue"``) of ``queue_type``."""
    if version is None or kind != "queue":
        return []
    phases = known_phases(version) if phases is None else phases
    notes = []
    for fact in ARGUMENT_FACTS:
        if fact.argument not in arguments or (queue_type or "classic") not in fact.queue_types:
            continue
        if version[:2] < fact.since:
            continue
        shown = ".".join(map(str, fact.since))
        value = arguments[fact.argument]
        if (
            fact.refused_since is not None
            and version[:2] >= fact.refused_since
            and (fact.refused_values is None or value in fact.refused_values)
        ):
            since = ".".join(map(str, fact.refused_since))
            notes.append(
                VersionNote(
                    "refuse", subject, f"RabbitMQ {since} and later refuse {fact.argument}: {value!r}; {fact.advice}"
                )
            )
        elif fact.feature and phases.get(fact.feature) in REFUSING_PHASES:
            message = f"{fact.argument}: the server refuses deprecated feature {fact.feature} ({phases[fact.feature]})"
            notes.append(VersionNote("refuse", subject, f"{message}; {fact.advice}", fact.feature))
        else:
            what = "has no effect" if fact.effect == "ignored" else "is deprecated"
            message = f"{fact.argument} {what} since RabbitMQ {shown}; {fact.advice}"
            notes.append(VersionNote("warn", subject, message, fact.feature))
    return notes


def _transient(queue: Queue) -> bool:
    # Queues in a topology are never exclusive; a server-side exclusive queue is its connection's.
    return not queue.durable and not queue.exclusive


def version_notes(
    topology: Topology, version_text: str | None, phases: Mapping[str, str] | None = None
) -> list[VersionNote]:
    """Refusals and warnings for every queue of ``topology`` on a server of version ``version_text``.

    ``phases``: the server's deprecated features (name -> ``deprecation_phase``) when it reports them;
    otherwise the phases known for that version are assumed.
    """
    version = parse_version(version_text)
    if version is None:
        return []
    phases = known_phases(version) if phases is None else phases
    notes: list[VersionNote] = []
    quorum_without_limit = []
    for queue in topology.queues.values():
        subject = f"queue {queue.name!r} in vhost {queue.vhost!r}"
        notes += argument_notes("queue", queue.type, queue.arguments, version, phases, subject)
        phase = phases.get("transient_nonexcl_queues")
        if _transient(queue) and phase is not None:
            if phase in REFUSING_PHASES:
                notes.append(
                    VersionNote(
                        "refuse",
                        subject,
                        f"the server refuses transient non-exclusive queues ({phase}): make it durable",
                        "transient_nonexcl_queues",
                    )
                )
            else:
                notes.append(
                    VersionNote(
                        "warn",
                        subject,
                        "transient non-exclusive queues are deprecated since RabbitMQ 4.0 (and refused where the "
                        "operator denies transient_nonexcl_queues): make it durable",
                        "transient_nonexcl_queues",
                    )
                )
        if queue.type == "quorum" and "x-delivery-limit" not in queue.arguments:
            quorum_without_limit.append(subject)
    limit = quorum_default_delivery_limit(version)
    if limit is not None and quorum_without_limit:
        notes.append(
            VersionNote(
                "warn",
                f"{len(quorum_without_limit)} quorum queue(s)",
                f"no x-delivery-limit: RabbitMQ {version[0]}.{version[1]} drops or dead-letters a message after "
                f"{limit} redeliveries by default (3.x: unlimited); set x-delivery-limit to choose "
                f"(first: {quorum_without_limit[0]})",
            )
        )
    return notes


def deprecated_in_use(
    topology: Topology, version_text: str | None, used: Iterable[Mapping[str, object]] | None
) -> list[tuple[str, str]]:
    """Deprecated features in use on a server, as (feature, explanation) pairs.

    ``used``: the server's own ``GET /api/deprecated-features/used`` rows (4.0 and later), or None where it
    has no such API (3.x, or the ctl backend): then the server's objects are checked against the facts of
    4.0, the version an upgrade goes to.
    """
    if used is not None:
        return [
            (str(row.get("name")), f"the server reports it in use (phase {row.get('deprecation_phase', '?')})")
            for row in used
        ]
    target = parse_version(version_text) or (3, 0)
    horizon = max(target, (4, 0))
    label = "on this server" if target >= (4, 0) else "in RabbitMQ 4.0"
    found: dict[str, list[str]] = {}
    for note in version_notes(topology, ".".join(map(str, horizon))):
        if note.feature:
            found.setdefault(note.feature, []).append(note.subject)
    return [
        (feature, f"deprecated {label}: {len(subjects)} object(s), e.g. {subjects[0]}")
        for feature, subjects in sorted(found.items())
    ]
