"""Writes whose answer was lost are read back, never re-sent blindly and never reported as a guess.

Used by the engine backend (every create, update and delete of ``apply``) and by the administration
operations (``users add``, ``vhosts delete``, ``permissions set``...). A reset, a cut answer, a 502/503/504
or a timeout after a write was sent (``errors.AnswerLost``) says nothing about whether the server carried
it out: the object is read back, and the write is done (the server shows what was asked) or not done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rabbitadmin.backends.http.client import MAYBE_CARRIED_OUT
from rabbitadmin.errors import AnswerLost, RabbitAdminError

T = TypeVar("T")
#: Reads the object back after a lost answer: None when the server shows the write done, else how it is
#: not ("user 'x' is not there"). May raise ``RabbitAdminError`` (the read failed too).
ReadBack = Callable[[], str | None]


def fault_of(lost: AnswerLost) -> str:
    """The transport fault alone (method, path, what happened), without the "may or may not" ending."""
    return str(lost).removesuffix(f": {MAYBE_CARRIED_OUT}")


def settled(
    send: Callable[[], T],
    read_back: ReadBack,
    *,
    on_done: T,
    note: Callable[[str], None] | None = None,
    advice: str = "",
    resend_when: Callable[[], bool] | None = None,
) -> T:
    """``send()``'s result; if its answer is lost, ``on_done`` when ``read_back`` shows the write done (and
    ``note`` is told so), else ``AnswerLost`` ending in "not done" (plus ``advice``) or "outcome unknown"
    when the read fails too. The exit code stays the fault's (3, or 10 after a timeout).

    ``resend_when``: asked after a read-back shows the write not done; when it says yes (the client moved
    to another node of the cluster since the write was sent, so the node that lost the answer is gone and
    the read came from its successor), the write is sent once more, settled the same way without a third try.
    """
    try:
        return send()
    except AnswerLost as lost:
        fault = fault_of(lost)
        try:
            state = read_back()
        except RabbitAdminError as exc:
            raise AnswerLost(f"{fault}; reading it back failed too ({exc}): outcome unknown", lost.exit_code) from None
        if state is not None and resend_when is not None and resend_when():
            return settled(send, read_back, on_done=on_done, note=note, advice=advice)
        if state is not None:
            raise AnswerLost(f"{fault}; read back: {state}: not done{advice}", lost.exit_code) from None
        if note is not None:
            note(f"{fault}; read back from the server: done")
        return on_done
