"""What a run of declares did, and how a run that stopped on a fault is settled; both backends' declares.

The HTTP backend declares over the network with pika (``http.amqp_declare``), the ctl backend on the node with
RabbitMQ's own Erlang AMQP client (``ctl.declare``). Either way a run goes in phases (exchanges, queues,
bindings), stops sending at the first refusal, and leaves a ``DeclareOutcome``; a run with a fault is settled
here by reading the server back, as a failed definitions import is (``read_back``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from rabbitadmin.backends.amqp_eligibility import Declarable
from rabbitadmin.backends.read_back import StateReader, split_by_read_back
from rabbitadmin.errors import BatchFailed, ExitCode, RabbitAdminError
from rabbitadmin.model import Binding, Exchange, Queue, TopologyObject


@dataclass
class DeclareOutcome:
    """What one run did. ``declared``: objects whose ``-Ok`` arrived, in that order. ``refused``: the object
    whose declare the server answered by closing its channel, with the server's reason. ``unanswered``: sent,
    no answer (the connection dropped or the answer timed out: outcome unknown). ``connected``: False when
    the connection never opened (then nothing was sent). ``error``: why it stopped early (None: it finished
    or ``stop`` was set); ``timed_out``: the error is a timeout. ``closed_by_server``: the server closed the
    whole connection for a refusal with several declares in flight, all unanswered since which one it refused
    is not told (RabbitMQ 3.10's hard errors): the run failed on a refusal, not on the network."""

    declared: list[Declarable] = field(default_factory=list)
    refused: list[tuple[Declarable, str]] = field(default_factory=list)
    unanswered: list[Declarable] = field(default_factory=list)
    connected: bool = False
    error: str | None = None
    timed_out: bool = False
    stopped: bool = False
    closed_by_server: bool = False

    @property
    def complete(self) -> bool:
        return self.error is None and not self.stopped


def phases_of(objects: Sequence[Declarable]) -> list[list[Declarable]]:
    """``objects`` in creation phases: exchanges, queues, bindings (empty phases left out)."""
    groups: list[list[Declarable]] = [
        [obj for obj in objects if isinstance(obj, kind)] for kind in (Exchange, Queue, Binding)
    ]
    return [group for group in groups if group]


def settle_declares(
    objects: Sequence[Declarable],
    outcome: DeclareOutcome,
    read_state: StateReader,
    report: Callable[[Sequence[TopologyObject]], None],
) -> NoReturn:
    """A run of declares of ``objects`` that stopped on a fault (``outcome.error``): the ones refused or left
    unanswered are read back (one read); those the server shows as asked are reported done (``report``), and
    ``BatchFailed`` is raised for the rest. Objects never sent are in neither: the engine reports them not
    attempted. The exit code: timeout; connection (something unanswered, the server having refused nothing);
    else error (a refusal). Nothing attempted at all (a channel that did not open): partial, naming no object."""
    attempted: list[TopologyObject] = [obj for obj, _reason in outcome.refused]
    attempted += outcome.unanswered
    network = outcome.unanswered and not outcome.closed_by_server
    code = ExitCode.TIMEOUT if outcome.timed_out else ExitCode.CONNECTION if network else ExitCode.ERROR
    what = f"the AMQP declares of a batch of {len(objects)} object(s) stopped: {outcome.error}"
    if not attempted:  # e.g. a channel that did not open: nothing of it was sent
        raise BatchFailed(
            f"{what}; {len(outcome.declared)} of them were created, the rest were not attempted", [], ExitCode.PARTIAL
        ) from None
    try:
        there, missing = split_by_read_back(attempted, read_state)
    except RabbitAdminError as read_exc:
        raise BatchFailed(
            f"{what}; reading them back failed too ({read_exc}): outcome unknown", attempted, code
        ) from None
    if there:
        report(there)
    refused = {id(obj) for obj, _reason in outcome.refused}
    unknown = sum(id(obj) not in refused for obj in missing)
    unanswered = (
        f"{unknown} in flight when the server closed the connection and not shown (the one it refused among them)"
        if outcome.closed_by_server
        else f"{unknown} sent without an answer and not shown (outcome unknown: the server may still carry them out)"
    )
    raise BatchFailed(
        f"{what}; read back from the server: {len(outcome.declared) + len(there)} of them were created, "
        f"{len(missing) - unknown} refused, {unanswered}, the rest were not attempted",
        missing,
        code,
    ) from None
