"""Exit codes through the real command line (a subprocess), without a RabbitMQ node.

Every ``ExitCode`` that can be reached without a broker is reached here; the others are listed with the
reason, so a new code has to be placed on one side or the other. Servers that are not there are a
closed local port (nothing listens: connection refused) and a local socket that accepts connections
but never answers (a timeout); neither stands in for RabbitMQ.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from rabbitadmin.cli_entry import InterruptReportingGroup
from rabbitadmin.cli_entry import run as run_command
from rabbitadmin.errors import ExitCode

#: Codes only a server's answer can produce; proven against real nodes in tests/integration and tests/ctl.
NEEDS_A_NODE = {
    ExitCode.PARTIAL: "an apply that stops part-way needs a server that took some writes",
    ExitCode.CHANGES_PENDING: "plan --detailed-exitcode compares with a server's state",
    ExitCode.LOCKED: "the apply lock is a queue on the server",
    ExitCode.MESSAGES_ARRIVED: "a conditional delete refused by the server",
}
VALID = "vhosts:\n  - name: v\n    queues: [{name: q}]\nusers:\n  - {name: admin, tags: [administrator]}\n"
PERMISSIVE = VALID + "permissions:\n  - {user: admin, vhost: v, configure: '.*', write: '.*', read: '.*'}\n"
INVALID = "vhosts:\n  - name: v\n    queues: [{name: q, type: lazy}]\n"


def run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "rabbitadmin", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # no terminal to ask on
        env=environment,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def closed_url() -> str:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A listening socket that never answers (the kernel completes the handshake; nobody reads). Its backlog is
    a real server's order (ranch, under RabbitMQ's management listener: 1024): a plan's reads open a dozen
    connections, and with a backlog of 8 the later ones were not even accepted (a connect timeout, exit 3)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (("valid", VALID), ("permissive", PERMISSIVE), ("invalid", INVALID)):
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


def expect(result: subprocess.CompletedProcess[str], code: ExitCode) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)


def test_ok(files: dict[str, Path]) -> None:
    expect(run("validate", str(files["valid"])), ExitCode.OK)


def test_an_invalid_file_is_invalid_and_names_its_line(files: dict[str, Path]) -> None:
    result = run("validate", str(files["invalid"]))
    expect(result, ExitCode.INVALID)
    assert "invalid.yaml:3" in result.stderr


def test_a_missing_file_is_invalid(tmp_path: Path) -> None:
    expect(run("validate", str(tmp_path / "nowhere.yaml")), ExitCode.INVALID)


@pytest.mark.parametrize(
    "args", [("plan", "--no-such-option", "x"), ("no-such-command",), ("plan",), ("audit", "--fail-on", "worst")]
)
def test_usage_errors_are_invalid(args: tuple[str, ...]) -> None:
    expect(run(*args), ExitCode.INVALID)


def test_an_unreachable_server_is_a_connection_error(files: dict[str, Path], closed_url: str) -> None:
    result = run("--url", closed_url, "plan", str(files["valid"]), RABBITADMIN_PASSWORD="pw")
    expect(result, ExitCode.CONNECTION)
    assert "pw" not in result.stderr.replace("password", "")


def test_a_server_that_never_answers_is_a_timeout(files: dict[str, Path], silent_server: socket.socket) -> None:
    result = run(
        "--url", url_of(silent_server), "--timeout", "1", "plan", str(files["valid"]), RABBITADMIN_PASSWORD="p"
    )
    expect(result, ExitCode.TIMEOUT)


def test_a_destructive_command_without_a_terminal_is_refused(closed_url: str) -> None:
    result = run("--url", closed_url, "users", "delete", "someone", RABBITADMIN_PASSWORD="p")
    expect(result, ExitCode.REFUSED)
    assert "--yes" in result.stderr


def test_audit_findings_fail_the_run(files: dict[str, Path]) -> None:
    expect(run("audit", "--offline", "-t", str(files["permissive"]), "--fail-on", "info"), ExitCode.FINDINGS)


def test_a_command_that_fails_is_an_error(tmp_path: Path) -> None:
    expect(run("sandbox", "status", "--dir", str(tmp_path / "no-node")), ExitCode.ERROR)


#: Read by a background thread while the file is validated (``engine/prefetch.py``), and, top-level queues
#: making it look like a definitions file, by the main thread after validation: both are interrupted.
WAITING_LAYOUTS = {
    "read-while-validating": VALID,
    "read-after-validating": "vhosts: [{name: a}]\nqueues:\n  - {vhost: a, name: q}\n",
}


def plan_against(server: socket.socket, path: Path) -> subprocess.Popen[str]:
    """``rabbitadmin plan PATH`` started against ``server`` (an hour's --timeout), no RABBITADMIN_* inherited."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    return subprocess.Popen(
        [sys.executable, "-m", "rabbitadmin", "--url", url_of(server), "--timeout", "3600", "plan", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, "RABBITADMIN_PASSWORD": "p"},
    )


@pytest.mark.parametrize("layout", WAITING_LAYOUTS)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_while_waiting_for_the_server_is_interrupted(
    tmp_path: Path, silent_server: socket.socket, signum: signal.Signals, layout: str
) -> None:
    """The interrupt ends the command at once: the reads in flight (eight at a time) are not waited for.

    --timeout is an hour: were they waited for, the command would outlive the test's own two minutes.
    """
    path = tmp_path / "topology.yaml"
    path.write_text(WAITING_LAYOUTS[layout])
    process = plan_against(silent_server, path)
    try:
        silent_server.settimeout(60)
        connection, _ = silent_server.accept()  # the command is now waiting for an answer
        connection.recv(1)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted (Ctrl-C or SIGTERM)" in stderr
    assert "Traceback" not in stderr
    connection.close()


#: Each code reachable without a node, and the test above that reaches it.
REACHABLE = {
    ExitCode.OK: test_ok,
    ExitCode.ERROR: test_a_command_that_fails_is_an_error,
    ExitCode.INVALID: test_an_invalid_file_is_invalid_and_names_its_line,
    ExitCode.CONNECTION: test_an_unreachable_server_is_a_connection_error,
    ExitCode.REFUSED: test_a_destructive_command_without_a_terminal_is_refused,
    ExitCode.FINDINGS: test_audit_findings_fail_the_run,
    ExitCode.TIMEOUT: test_a_server_that_never_answers_is_a_timeout,
    ExitCode.INTERRUPTED: test_ctrl_c_while_waiting_for_the_server_is_interrupted,
}


def test_every_exit_code_is_reached_here_or_needs_a_node() -> None:
    assert set(REACHABLE) | set(NEEDS_A_NODE) == set(ExitCode)
    assert not set(REACHABLE) & set(NEEDS_A_NODE)


#: Runs the real entry point with a Ctrl-C (or SIGTERM) landing while the program loads: the signal is sent
#: by an import hook the moment typer is first imported, which is inside ``launcher.main``'s import of the CLI.
SIGNAL_WHILE_LOADING = """
import importlib.abc, os, signal, sys

SIGNUM = getattr(signal, sys.argv[1])

class SignalOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), SIGNUM)
        return None

sys.meta_path.insert(0, SignalOnImport())
sys.argv = ["rabbitadmin", "validate", sys.argv[2]]
from rabbitadmin.launcher import main
main()
"""


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_while_the_program_loads_is_an_interrupt_not_a_traceback(
    files: dict[str, Path], signame: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_WHILE_LOADING, signame, str(files["valid"])],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == ExitCode.INTERRUPTED, result.stderr
    assert result.stderr == "error: interrupted (Ctrl-C or SIGTERM) while starting: nothing was done\n"


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` with no terminal, its output captured."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


#: As above, but the interrupt lands where the interpreter does not let its KeyboardInterrupt through: a
#: finaliser, whose exception it drops and prints as "Exception ignored in" (as it does in the import
#: system's module-lock weakref callback), or a descriptor's __set_name__, whose exception 3.11 wraps in a
#: RuntimeError (tenacity's dataclass fields); both seen here.
#: The script's start: the signal (argv[1]) is sent where the interrupt is dropped or wrapped (argv[3]).
SIGNAL_SENDERS = """
import importlib.abc, os, signal, sys

SIGNUM = getattr(signal, sys.argv[1])
WHERE = sys.argv[3]

class SignalWhenCollected:
    def __del__(self):
        os.kill(os.getpid(), SIGNUM)
        for _ in range(1000):  # the handler runs at one of these bytecodes, inside the finaliser
            pass

class SignalWhenNamed:
    def __set_name__(self, owner, name):
        os.kill(os.getpid(), SIGNUM)
        for _ in range(1000):  # the handler runs here: Python 3.11 wraps it in a RuntimeError
            pass
"""
INTERRUPT_DROPPED_WHILE_LOADING = (
    SIGNAL_SENDERS
    + """
class DroppedSignalOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            if WHERE == "finaliser":
                SignalWhenCollected()  # collected at once: its __del__ runs here
            else:
                class Built:  # a class being built, as a library's dataclass is on import
                    field = SignalWhenNamed()
        return None

sys.meta_path.insert(0, DroppedSignalOnImport())
sys.argv = ["rabbitadmin", "validate", sys.argv[2]]
from rabbitadmin.launcher import main
main()
"""
)


@pytest.mark.parametrize("where", ["finaliser", "set_name"])
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_whose_exception_was_dropped_while_loading_still_ends_the_command(
    files: dict[str, Path], signame: str, where: str
) -> None:
    result = run_script(INTERRUPT_DROPPED_WHILE_LOADING, signame, str(files["valid"]), where)
    assert result.returncode == ExitCode.INTERRUPTED, (result.stdout, result.stderr)
    assert result.stderr == "error: interrupted (Ctrl-C or SIGTERM) while starting: nothing was done\n"
    assert result.stdout == ""  # validate did not run
    assert "Exception ignored" not in result.stderr


#: An interrupt whose exception the interpreter drops or wraps, this time inside a command (a lazy import's
#: weakref callback or dataclass): the command stops there, as for any interrupt, and does not go on to the end.
INTERRUPT_DROPPED_IN_A_COMMAND = (
    SIGNAL_SENDERS
    + """
import rabbitadmin.cli

real_load = rabbitadmin.cli.load_topology

def load_topology(*args, **kwargs):  # the validate command's first step, after start-up
    if WHERE == "finaliser":
        SignalWhenCollected()  # collected at once: its __del__ runs here
    else:
        class Built:
            field = SignalWhenNamed()
    for _ in range(100_000):  # where the interrupt takes effect at the latest
        pass
    print("went on", flush=True)
    return real_load(*args, **kwargs)

rabbitadmin.cli.load_topology = load_topology
sys.argv = ["rabbitadmin", "validate", sys.argv[2], *sys.argv[4:]]
from rabbitadmin.launcher import main
main()
"""
)


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("where", ["finaliser", "set_name"])
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_whose_exception_was_dropped_in_a_command_ends_it_there(
    files: dict[str, Path], signame: str, where: str, output: str
) -> None:
    result = run_script(INTERRUPT_DROPPED_IN_A_COMMAND, signame, str(files["valid"]), where, "-o", output)
    assert result.returncode == ExitCode.INTERRUPTED, (result.stdout, result.stderr)
    assert result.stderr == "error: interrupted (Ctrl-C or SIGTERM)\n"
    assert "went on" not in result.stdout and "valid" not in result.stdout.replace('"error"', "")
    if output == "json":
        assert json.loads(result.stdout)["error"]["exit_code"] == ExitCode.INTERRUPTED


def interrupting_app() -> typer.Typer:
    """An app on the root class the real one uses, with an interrupt while an option is read and one in a
    command's body, neither inside a command's own handling."""
    sub = typer.Typer(cls=InterruptReportingGroup)

    def interrupt_while_parsing(value: str) -> str:
        raise KeyboardInterrupt

    @sub.command()
    def parse(name: str = typer.Option("x", callback=interrupt_while_parsing)) -> None:
        print("ran")

    @sub.command()
    def body() -> None:
        raise KeyboardInterrupt

    return sub


@pytest.mark.parametrize("command", ["parse", "body"])
def test_an_interrupt_outside_a_commands_handling_is_one_line_and_130(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # typer 0.28 ends such an interrupt with exit 130 and nothing on stderr (typer.core._main); seen as a
    # plan interrupted while its arguments were read.
    code = run_command(typer.main.get_command(interrupting_app()), [command])
    captured = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert captured.err == "error: interrupted (Ctrl-C or SIGTERM)\n"
    assert captured.out == ""


def test_the_real_root_command_reports_interrupts() -> None:
    from rabbitadmin.cli import app

    assert isinstance(typer.main.get_command(app), InterruptReportingGroup)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_at_any_moment_of_the_start_is_one_line_and_130(
    tmp_path: Path, silent_server: socket.socket, signum: signal.Signals
) -> None:
    """From the launcher to the read (the early read, the command tree, the arguments, the callback): wherever
    the interrupt lands, the command ends with exit 130 and one line, never a traceback."""
    path = tmp_path / "topology.yaml"
    path.write_text(VALID)
    for delay in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        process = plan_against(silent_server, path)
        try:
            time.sleep(delay)
            process.send_signal(signum)
            _, stderr = process.communicate(timeout=120)
        finally:
            process.kill()
        if process.returncode == -signum:  # before the launcher's handler was in place: the default action
            continue
        assert process.returncode == ExitCode.INTERRUPTED, (delay, stderr)
        assert "interrupted (Ctrl-C or SIGTERM)" in stderr and "Traceback" not in stderr, (delay, stderr)


def test_an_interrupt_while_the_command_tree_is_built_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The window between the launcher's handling and the commands' own (20 ms, too short to hit with a timer).
    import typer.main

    from rabbitadmin import cli

    def interrupted(app: object) -> None:
        raise KeyboardInterrupt

    exits: list[int] = []
    monkeypatch.setattr(typer.main, "get_command", interrupted)
    monkeypatch.setattr(cli.os, "_exit", exits.append)
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)
    try:
        cli.main()
    finally:
        cli._ONE_COMMAND_PER_PROCESS.clear()  # set by main: this process runs more than one command
    assert exits == [ExitCode.INTERRUPTED]
    assert capsys.readouterr().err == "error: interrupted (Ctrl-C or SIGTERM)\n"


def test_the_command_starts_with_the_collector_on_and_the_loaded_program_frozen() -> None:
    """``launcher.main`` loads with the collector off (no pass over the modules as they are made) and hands the
    command a collector that is on, with what loading made frozen: no later pass walks it either."""
    script = (
        "import gc, os, sys\n"
        "import rabbitadmin.cli as cli\n"
        "def command():\n"
        "    print(gc.isenabled(), gc.get_freeze_count())\n"
        "    sys.stdout.flush()\n"
        "    os._exit(0)\n"
        "cli.main = command\n"
        "gc.unfreeze()\n"
        "from rabbitadmin.launcher import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    enabled, frozen = result.stdout.split()
    assert enabled == "True" and int(frozen) > 20_000  # the objects the collector tracks after loading: ~39,000
