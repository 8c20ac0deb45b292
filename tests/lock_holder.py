"""Another process that holds the apply lock of a vhost, for the tests of every front end that takes it.

The holder is a real process (its own AMQP connection, its own pid), so the lock's holder named in messages
is that process and the lock dies with it.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Iterator

TIMEOUT = 60

# Holds the lock of argv[4] until stdin closes; the password comes from the environment, never argv.
_HOLDER = """
import os, sys
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine.apply_lock import ApplyLock
from rabbitadmin.model import Secret
url, user, amqp_port, vhost = sys.argv[1:5]
settings = ConnectionSettings(url=url, user=user, password=Secret(os.environ["HOLDER_PASSWORD"]),
                              amqp_port=int(amqp_port))
with ApplyLock(settings, timeout=0) as lock:
    lock.acquire([vhost])
    assert lock.held == {vhost}, lock.missing
    print("held", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def lock_held_elsewhere(url: str, user: str, password: str, amqp_port: int, vhost: str) -> Iterator[int]:
    """Hold the apply lock of ``vhost`` (which must exist) in a child process; yields its pid."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url, user, str(amqp_port), vhost],
        env={**os.environ, "HOLDER_PASSWORD": password},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if line.strip() != "held":
            process.kill()
            _, errors = process.communicate(timeout=TIMEOUT)
            raise AssertionError(f"the lock holder did not take the lock: {line!r} {errors}")
        yield process.pid
    finally:
        process.kill()  # as kill -9 would: the broker drops the lock with the connection
        process.communicate(timeout=TIMEOUT)
