"""What a definitions import in flight has created so far, for a progress bar that moves during it.

``POST /api/definitions`` answers once the whole batch is imported: thousands of objects, tens of seconds.
Meanwhile the server's object totals (``GET /api/overview``, ``object_totals``: queues and exchanges) grow as
the import declares them: they are counted live, not from the statistics database (measured on 3.10.8: a
3,000-queue import showed 123, 448, 774... queues at one-second reads, each read taking about 0.02 s). So
while the request runs, a thread reads them every ``INTERVAL`` seconds and reports how many of the batch's
queues and exchanges already exist. Bindings are not in the totals: they count when the request answers.

Only a display: the totals are the whole server's (another client's declares count too), so the estimate is
kept between 0 and the batch's queues and exchanges, and the request's answer is what marks objects done. A
read that fails stops nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.model import Exchange, Queue, TopologyObject
from rabbitadmin.threads import helper_thread

#: Seconds between two reads of the server's totals while an import runs.
INTERVAL = 0.5
#: Seconds to wait for the reading thread once the import has answered (its read has the client's timeout).
JOIN_SECONDS = 2.0

ImportProgress = Callable[[int, int], None]


def object_total(client: HttpClient) -> int | None:
    """Queues plus exchanges on the server now (``object_totals``), or None if it cannot be read."""
    try:
        overview: Any = client.get(api_path("overview"), {"columns": "object_totals"})
        totals = overview["object_totals"]
        return int(totals["queues"]) + int(totals["exchanges"])
    except Exception:  # a progress display never fails an apply
        return None


@contextmanager
def watch_import(
    client: HttpClient, batch: Sequence[TopologyObject], report: ImportProgress | None, interval: float = INTERVAL
) -> Iterator[None]:
    """While the block (one import request of ``batch``) runs, call ``report(seen, len(batch))`` with how
    many of the batch's queues and exchanges the server shows so far. Nothing when ``report`` is None."""
    visible = sum(1 for obj in batch if isinstance(obj, Queue | Exchange))
    base = object_total(client) if report is not None and visible else None
    if report is None or base is None:
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(interval):
            now = object_total(client)
            if now is not None and not stop.is_set():
                report(max(0, min(now - base, visible)), len(batch))

    thread = helper_thread(poll, "import-progress")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(JOIN_SECONDS)
