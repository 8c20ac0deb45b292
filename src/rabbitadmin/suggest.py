"""'Did you mean' hints for mistyped values (a queue type, a backend, a key, a vhost), from ``difflib``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``value`` is close to one of ``choices``, else an empty string.

    Closeness is difflib's ratio (cut-off 0.6), which catches swapped or missing letters (``qourum``).
    """
    close = difflib.get_close_matches(value, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_value(what: str, value: str, choices: Iterable[str]) -> str:
    """The message for a value not among ``choices``.

    ``unknown backend 'htp' (did you mean 'http'?): use ctl or http``
    """
    options = sorted(set(choices))
    listed = " or ".join([", ".join(options[:-1]), options[-1]] if len(options) > 1 else options)
    return f"unknown {what} {value!r}{did_you_mean(value, options)}: use {listed}"


#: ``no_such`` lists the names there are up to this many (a server may have thousands of users).
LISTED = 20


def no_such(kind: str, name: str, names: Sequence[str], where: str = "") -> str:
    """The message for a name the server (or topology) does not have, with the names there are.

    ``there is no user 'bob' (did you mean 'bobby'?); users: alice, bobby`` (at most ``LISTED`` names).
    """
    shown = [n or "''" for n in sorted(names)[:LISTED]]  # the default exchange's name is empty
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    listed = f"; {kind}s: {', '.join(shown)}{more}" if names else f"; there are no {kind}s"
    return f"there is no {kind} {name!r}{where}{did_you_mean(name, names)}{listed}"
