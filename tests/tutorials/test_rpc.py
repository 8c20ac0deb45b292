"""Tutorial 6 with real processes: fib(30) over RPC, and concurrent clients each get their own answers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from .conftest import TUTORIAL, Runner, tutorial

FIB = {0: 0, 1: 1, 2: 1, 5: 5, 10: 55, 20: 6765, 25: 75025, 30: 832040}


def test_client_without_server_gives_up_after_its_timeout(tut_env: dict[str, str], tutorial_vhost: str) -> None:
    done = tutorial(tut_env, "run", "rpc_client", "3", "--vhost", tutorial_vhost, "--timeout", "1")
    assert done.returncode == 1
    assert done.stdout == " [x] Requesting fib(3)\n"
    assert "no answer within 1 s" in done.stderr
    # The request waited in the durable rpc_queue; a server started later answers it (to nobody) and stops.
    drain = tutorial(tut_env, "run", "rpc_server", "--vhost", tutorial_vhost, "--count", "1", "--timeout", "10")
    assert drain.returncode == 0, drain.stderr
    assert drain.stdout.splitlines() == [" [x] Awaiting RPC requests", " [.] fib(3)"]


def test_fib_30(tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]) -> None:
    server = start_runner("rpc_server", "--vhost", tutorial_vhost)
    server.wait_for(" [x] Awaiting RPC requests")
    done = tutorial(tut_env, "run", "rpc_client", "--vhost", tutorial_vhost, "--timeout", "30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [" [x] Requesting fib(30)", " [.] Got 832040"]
    server.wait_for(" [.] fib(30)")
    too_big = tutorial(tut_env, "run", "rpc_client", "99", "--vhost", tutorial_vhost, "--timeout", "30")
    assert too_big.returncode == 1
    assert "fib(99): the server answered: error: expected a whole number from 0 to 35, got '99'" in too_big.stderr
    # Scripts stop a server with a plain `kill`: SIGTERM ends it as cleanly as Ctrl-C.
    server.process.terminate()
    assert server.finish() == 0
    assert "Traceback" not in server.stderr


def test_concurrent_clients_each_get_their_own_answers(
    tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    servers = [start_runner("rpc_server", "--vhost", tutorial_vhost) for _ in range(2)]
    for server in servers:
        server.wait_for(" [x] Awaiting RPC requests")
    # Each client sends all its requests at once; with two servers the slow fib(30) is answered after the
    # fast ones, so only the correlation ids put the answers back in the order asked.
    asks = [["30", "5", "1"], ["25", "0"], ["20", "10", "2"], ["30"]]
    clients = [
        subprocess.Popen(
            [*TUTORIAL, "run", "rpc_client", "--vhost", tutorial_vhost, "--timeout", "60", "--", *numbers],
            env=tut_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for numbers in asks
    ]
    for numbers, client in zip(asks, clients, strict=True):
        out, errors = client.communicate(timeout=120)
        assert client.returncode == 0, errors
        assert [line for line in out.splitlines() if "Got" in line] == [f" [.] Got {FIB[int(n)]}" for n in numbers]
        assert "unknown correlation id" not in errors
    for server in servers:
        assert server.interrupt() == 0
    handled = sorted(line for server in servers for line in server.lines if line.startswith(" [.] fib("))
    assert handled == sorted(f" [.] fib({n})" for numbers in asks for n in numbers)
