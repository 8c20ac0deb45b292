"""Run ``rabbitmqctl``: argument lists only, payloads in private files, a timeout on every call.

Each call starts an Erlang VM (about 0.4 s), so callers batch work. The runner knows how to reach the
node: the ``rabbitmqctl`` executable, the node name (``-n``), an optional command prefix that runs it
elsewhere (``ssh host``, ``docker exec container``) and the environment (``HOME`` holds the Erlang cookie,
or ``cookie_file`` names a cookie copied into a private temporary ``HOME``).

Payloads (definitions with password hashes, ``eval`` expressions) never go on an argument list. Where
rabbitmqctl runs on this machine's filesystem, they are written to a 0600 file in a private 0700
temporary directory, read by rabbitmqctl itself (``import_definitions FILE``, ``eval_file FILE``; the CLI
reads the file, not the node: checked on 3.10.8 and 4.0.5) and removed after the call. That is needed:
RabbitMQ 4.0.5's ``rabbitmqctl`` script starts the VM with ``-noinput`` for every command but a few exact
argument shapes, so a payload on stdin is never read and the call hangs (upstream rabbitmq-server issue
13157, fixed in later 4.0.x). Through ``ssh``, ``docker``, ``podman`` or ``kubectl`` (another
filesystem) a payload that may hold a secret still goes on stdin; an ``eval`` expression that holds none
(reads, deletes by name: ``eval``) goes on the argument list, so plans work there on 4.0.5 too.

Every call ends within ``timeout`` seconds: past it, rabbitmqctl's whole process group (the script and
the Erlang VM under it) is killed and ``CtlTimeout`` (exit code 10) is raised, naming issue 13157 when
the call had been given stdin. Error messages are built from rabbitmqctl's stderr, which never echoes
its input.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rabbitadmin.backends.ctl.quirks import UNREACHABLE_MARKERS
from rabbitadmin.backends.ctl.wrapper import wrapper_hint
from rabbitadmin.errors import ConnectionFailed, CtlError, CtlTimeout, UsageError
from rabbitadmin.server_reason import erlang_text, readable_line, without_html_escapes
from rabbitadmin.threads import signals_for_a_child

# rabbitmqctl's exit codes (sysexits): 64 usage, 65 data error, 67 no such user, 69 node unavailable,
# 70 internal error, 75 timeout.
UNAVAILABLE = 69
TIMEOUT_EXIT = 75
#: Seconds a rabbitmqctl call may take (``--ctl-timeout``, ``RABBITADMIN_CTL_TIMEOUT``). An import of
#: 21,000 objects takes about 25 s; a hang is reported after this long.
DEFAULT_TIMEOUT = 300.0
#: Prefix commands whose rabbitmqctl sees another filesystem: payloads go on its stdin there.
REMOTE_PREFIXES = ("ssh", "docker", "podman", "kubectl", "nerdctl")
#: Commands that take their payload from a file instead of stdin: name -> the file command.
FILE_COMMANDS = {"eval": "eval_file", "import_definitions": "import_definitions"}
#: Bytes of an ``eval`` expression put on an argument list at most (Linux refuses one argument over 128 KiB,
#: ``MAX_ARG_STRLEN``); a longer one goes on stdin.
ARGV_EXPRESSION_LIMIT = 100_000
STDIN_ISSUE = (
    "RabbitMQ 4.0.5's rabbitmqctl never reads standard input for this command (upstream rabbitmq-server "
    "issue 13157, fixed in later 4.0.x releases). Running it again will not help: use --backend http, or a "
    "rabbitmqctl that reads stdin (3.x, or 4.0.6 and later), or run rabbitmqctl on this machine so that "
    "rabbitadmin can hand it a file"
)


@dataclass
class Rabbitmqctl:
    """How to run ``rabbitmqctl`` against one node; see the module docstring."""

    node: str | None = None
    executable: str = "rabbitmqctl"
    prefix: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cookie_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    #: Erlang VMs started at once at most: each takes a core for its 0.4 s start-up and about 60 MB.
    max_concurrent: int = 3
    _home: str | None = field(default=None, repr=False)
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _home_lock: threading.Lock = field(init=False, repr=False)
    _running: set[subprocess.Popen[str]] = field(init=False, repr=False)
    _running_lock: threading.Lock = field(init=False, repr=False)
    _abandoned: bool = field(default=False, init=False, repr=False)
    _payloads: set[str] = field(default_factory=set, init=False, repr=False)  # private_file directories in use

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._home_lock = threading.Lock()
        self._running = set()
        self._running_lock = threading.Lock()

    def stop_running(self) -> None:
        """Kill every rabbitmqctl this runner has running (Ctrl-C: ``worker_pool``'s ``on_interrupt``).

        Each runs in its own process group, so the terminal's Ctrl-C never reaches it; the threads waiting
        on them then return at once with an error, and their private files are removed.
        """
        with self._running_lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    def argv(self, args: Sequence[str]) -> list[str]:
        """The full argument list for ``rabbitmqctl args...`` (node and prefix included)."""
        command = [self.executable]
        if self.node:
            command += ["-n", self.node]
        command += list(args)
        if self.prefix and Path(self.prefix[0]).name == "ssh":
            # ssh joins its arguments into one remote shell command line: quote each one.
            command = [shlex.quote(part) for part in command]
        return [*self.prefix, *command]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        if self.cookie_file:
            env["HOME"] = self._private_home()
        return env

    def _private_home(self) -> str:
        # Erlang reads the cookie from $HOME/.erlang.cookie and insists on mode 0600: copy it there once,
        # rather than pass it with --erlang-cookie, which would show it in `ps`.
        with self._home_lock:
            return self._make_home()

    def _make_home(self) -> str:
        if self._abandoned:  # a command that has ended leaves no copy of the cookie behind
            raise UsageError("rabbitmqctl is no longer run: the command has ended")
        if self._home is None:
            home = tempfile.mkdtemp(prefix="rabbitadmin-ctl-")
            target = Path(home) / ".erlang.cookie"
            try:
                shutil.copyfile(str(self.cookie_file), target)
            except OSError as exc:
                shutil.rmtree(home, ignore_errors=True)
                raise UsageError(f"cannot read the Erlang cookie file {self.cookie_file}: {exc.strerror}") from None
            target.chmod(0o600)
            self._home = home
        return self._home

    def close(self) -> None:
        """Remove the private ``HOME`` made for a cookie file, if any."""
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def abandon(self) -> None:
        """Give up what still runs, for good (the command ends while a read is under way on another thread):
        kill the rabbitmqctl processes running, remove the private ``HOME`` with its copy of the cookie and the
        private files handed to them, and make none again (a later run raises ``UsageError``)."""
        with self._home_lock:
            self._abandoned = True
            self.close()
        self.stop_running()
        for directory in list(self._payloads):  # an eval's or an import's private file, its run now killed
            shutil.rmtree(directory, ignore_errors=True)

    @property
    def shares_files(self) -> bool:
        """True when rabbitmqctl sees this machine's files (no prefix, or a local one such as ``sudo``)."""
        return not self.prefix or Path(self.prefix[0]).name not in REMOTE_PREFIXES

    def run(self, args: Sequence[str], *, stdin: str | None = None, wait: float | None = None) -> str:
        """Run one command quietly; return its stdout or raise ``CtlError``, ``ConnectionFailed`` or
        ``CtlTimeout``. ``stdin``: the command's input; for ``eval`` and ``import_definitions`` it is
        handed over as a private file where rabbitmqctl can read one (see the module docstring).
        ``wait``: seconds this call may take instead of ``timeout`` (an import: ``import_wait``)."""
        command = args[0] if args else ""
        with self._payload_file(args, stdin) as (final_args, final_stdin):
            return self._run(command, final_args, final_stdin, wait)

    def eval(self, expression: str, *, holds_secrets: bool = False, wait: float | None = None) -> str:
        """``rabbitmqctl eval`` of ``expression``; its stdout. Here, the expression goes in a private file;
        through a remote prefix, on the argument list unless it ``holds_secrets`` (or is too long for one
        argument), else on stdin (see the module docstring). Raises as ``run``."""
        if self.shares_files or holds_secrets or len(expression.encode("utf-8")) > ARGV_EXPRESSION_LIMIT:
            return self.run(["eval"], stdin=expression, wait=wait)
        return self.run(["eval", expression], wait=wait)

    @contextlib.contextmanager
    def _payload_file(self, args: Sequence[str], stdin: str | None) -> Iterator[tuple[Sequence[str], str | None]]:
        command = args[0] if args else ""
        if stdin is None or command not in FILE_COMMANDS or not self.shares_files:
            yield args, stdin
            return
        with private_file(stdin) as path:
            self._payloads.add(os.path.dirname(path))  # removed by abandon() too: the command may end first
            try:
                yield [FILE_COMMANDS[command], *args[1:], path], None
            finally:
                self._payloads.discard(os.path.dirname(path))

    def _run(self, command: str, args: Sequence[str], stdin: str | None, wait: float | None = None) -> str:
        argv = self.argv(["-q", *args])
        try:
            with self._slots:
                stdout, stderr, returncode = self._communicate(command, argv, stdin, wait)
        except FileNotFoundError:
            raise UsageError(
                f"cannot run {argv[0]!r}: not found (give its path with --rabbitmqctl or RABBITADMIN_RABBITMQCTL)"
            ) from None
        if returncode == 0:
            return stdout
        reason = _reason(stderr or stdout)
        lowered = reason.lower()
        if returncode in (UNAVAILABLE, TIMEOUT_EXIT) and any(m in lowered for m in UNREACHABLE_MARKERS):
            target = self.node or "the default node"
            raise ConnectionFailed(
                f"rabbitmqctl cannot reach {target}: is it running, is the node name right and is the Erlang "
                "cookie the node's (HOME/.erlang.cookie or --erlang-cookie-file)?"
                + wrapper_hint(self.executable, self.prefix)
            )
        raise CtlError(command, returncode, reason + wrapper_hint(self.executable, self.prefix))

    def _communicate(
        self, command: str, argv: list[str], stdin: str | None, wait: float | None = None
    ) -> tuple[str, str, int]:
        """Run ``argv`` in its own process group; kill the whole group past ``wait`` (default: the timeout)."""
        limit = self.timeout if wait is None else wait
        allowed = "--ctl-timeout" if wait is None else "--ctl-timeout and the import's size"
        with signals_for_a_child():  # run from worker threads, which block SIGINT and SIGTERM
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                env=self._environment(),
                start_new_session=True,  # the script, the Erlang VM and its helpers: one group to kill
            )
        with self._running_lock:
            self._running.add(process)
        try:
            stdout, stderr = process.communicate(stdin or None, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            if stdin:
                raise CtlTimeout(
                    f"rabbitmqctl {command} did not finish within {limit:g}s and was stopped. {STDIN_ISSUE}",
                    permanent=True,
                ) from None
            raise CtlTimeout(
                f"rabbitmqctl {command} did not finish within {limit:g}s ({allowed}) and was stopped: "
                "the node may be overloaded or unreachable; nothing more was sent"
            ) from None
        except BaseException:
            _kill_group(process)  # Ctrl-C or an error here: leave no Erlang VM behind
            raise
        finally:
            with self._running_lock:
                self._running.discard(process)
        return stdout, stderr, process.returncode

    def json(self, args: Sequence[str], *, stdin: str | None = None) -> Any:
        """Run a listing command with ``--formatter json`` and return the parsed result."""
        # Options must precede a "--" among the arguments, so the formatter goes right after the command.
        output = self.run([args[0], "--formatter", "json", *args[1:]], stdin=stdin).strip()
        if not output:
            return []
        try:
            return json.loads(output)
        except ValueError:
            raise CtlError(args[0], 0, f"unexpected output: {output[:200]}") from None


#: The environment variables behind each rabbitmqctl option (an explicit option wins).
OPTION_ENV = {
    "node": "RABBITADMIN_NODE",
    "rabbitmqctl": "RABBITADMIN_RABBITMQCTL",
    "prefix": "RABBITADMIN_CTL_PREFIX",
    "cookie_file": "RABBITADMIN_ERLANG_COOKIE_FILE",
    "timeout": "RABBITADMIN_CTL_TIMEOUT",
}


def rabbitmqctl_from_options(
    options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Rabbitmqctl:
    """A runner from options (``node``, ``rabbitmqctl``, ``prefix``, ``cookie_file``, ``timeout``), each falling
    back to its ``RABBITADMIN_*`` variable; ``prefix`` may be a list or a shell-like string (``"ssh admin@mq1"``).

    Raises ``UsageError`` for a timeout that is not a positive number of seconds.
    """
    env = os.environ if environ is None else environ
    chosen = {key: (options or {}).get(key) or env.get(variable) for key, variable in OPTION_ENV.items()}
    prefix = chosen["prefix"]
    return Rabbitmqctl(
        node=chosen["node"],
        executable=chosen["rabbitmqctl"] or "rabbitmqctl",
        prefix=shlex.split(prefix) if isinstance(prefix, str) else tuple(prefix or ()),
        cookie_file=chosen["cookie_file"],
        timeout=_seconds(chosen["timeout"]),
    )


def _seconds(value: Any) -> float:
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"the rabbitmqctl timeout must be a number of seconds, not {value!r}") from None
    if not seconds > 0:
        raise UsageError(f"the rabbitmqctl timeout must be positive, not {value!r}")
    return seconds


@contextlib.contextmanager
def private_file(content: str) -> Iterator[str]:
    """The path of a file holding ``content`` (UTF-8), mode 0600 in a private 0700 directory, for the length of
    the ``with`` block; removed after it (an error or Ctrl-C included)."""
    directory = tempfile.mkdtemp(prefix="rabbitadmin-ctl-")  # mode 0700
    try:
        path = os.path.join(directory, "payload")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process group of ``process`` and collect it (its pipes close with the group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        process.communicate(timeout=10)


# rabbitmqctl 4.0 crashes printing an error whose text holds non-ASCII characters (a vhost named "é", say):
# it prints the crash instead, with the first bytes of the error as a list of numbers (measured with Debian
# 13's RabbitMQ 4.0).
_UNPRINTED = re.compile(r":io\.put_chars\(:standard_error, \[<<([0-9, ]+)(, \.\.\.)?>>")


def _unprinted(text: str) -> str | None:
    """What rabbitmqctl meant to print, as far as its crash shows it, or None if ``text`` is no such crash."""
    crash = _UNPRINTED.search(text)
    if crash is None or "ArgumentError" not in text:
        return None
    start = bytes(int(number) for number in crash.group(1).split(",")).decode("utf-8", errors="replace")
    start = start.strip().removeprefix("Error:").strip().removeprefix('<<"').removesuffix('">>')
    start = without_html_escapes(" ".join((erlang_text(start) or start).split()))
    cut = "..." if crash.group(2) else ""
    return (
        "rabbitmqctl could not print the server's answer (rabbitmqctl 4.0 fails on non-ASCII text, such as a "
        f"vhost name in it); it begins: {start}{cut}"
    )


def _reason(text: str) -> str:
    """The useful part of rabbitmqctl's error output: its non-empty lines, without the usage banner (an
    Erlang binary printed as a line is read as the text it holds, a validation refusal without HTML escapes)."""
    unprinted = _unprinted(text)
    if unprinted is not None:
        return unprinted
    text = "\n".join(readable_line(line.strip()) for line in text.splitlines())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if line not in ("Error:", "Error")]
    useful = []
    for line in lines:
        if line.startswith(("Usage", "\x1b[1mUsage", "Most common reasons")):
            break
        useful.append(line.removeprefix("Error: "))
    return without_html_escapes(" ".join(useful))[:500] or "no reason given"


def table_arguments(value: Any) -> dict[str, Any]:
    """Arguments as a dict, from a dict or from rabbitmqctl's ``[[name, type, value], ...]`` triples."""
    if isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for item in value or []:
        if isinstance(item, list) and len(item) == 3:
            result[str(item[0])] = item[2]
    return result
