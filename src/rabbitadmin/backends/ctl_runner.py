"""Run ``rabbitmqctl``: argument lists only, secrets and payloads on stdin, errors mapped to our own.

Each call starts an Erlang VM (about 0.4 s), so callers batch work. The runner knows how to reach the
node: the ``rabbitmqctl`` executable, the node name (``-n``), an optional command prefix that runs it
elsewhere (``ssh host``, ``docker exec container``) and the environment (``HOME`` holds the Erlang cookie,
or ``cookie_file`` names a cookie copied into a private temporary ``HOME``).

Nothing secret ever goes on an argument list: passwords, password hashes and definitions travel on stdin,
and error messages are built from rabbitmqctl's stderr, which never echoes stdin.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rabbitadmin.errors import ConnectionFailed, RabbitAdminError, UsageError

# rabbitmqctl's exit codes (sysexits): 64 usage, 65 data error, 67 no such user, 69 node unavailable,
# 70 internal error, 75 timeout.
UNAVAILABLE = 69
TIMEOUT_EXIT = 75
NOT_FOUND_MARKERS = ("not found", "does not exist", "no_such", "not_found")
UNREACHABLE_MARKERS = ("unable to perform an operation on node", "nodedown", "unable to connect to node")


class CtlError(RabbitAdminError):
    """``rabbitmqctl`` ran and reported an error; carries its exit code and its own words."""

    def __init__(self, command: str, returncode: int, reason: str) -> None:
        self.command = command
        self.returncode = returncode
        self.reason = reason
        super().__init__(f"rabbitmqctl {command} failed (exit {returncode}): {reason}")

    @property
    def not_found(self) -> bool:
        """True when the error says the object does not exist (a delete then reached its goal)."""
        lowered = self.reason.lower()
        return any(marker in lowered for marker in NOT_FOUND_MARKERS)


@dataclass
class Rabbitmqctl:
    """How to run ``rabbitmqctl`` against one node; see the module docstring."""

    node: str | None = None
    executable: str = "rabbitmqctl"
    prefix: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cookie_file: str | None = None
    timeout: float = 600.0
    #: Erlang VMs started at once at most: each takes a core for its 0.4 s start-up and about 60 MB.
    max_concurrent: int = 3
    _home: str | None = field(default=None, repr=False)
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _home_lock: threading.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._home_lock = threading.Lock()

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

    def run(self, args: Sequence[str], *, stdin: str | None = None) -> str:
        """Run one command quietly; return its stdout or raise ``CtlError`` / ``ConnectionFailed``."""
        command = args[0] if args else ""
        argv = self.argv(["-q", *args])
        try:
            with self._slots:
                completed = subprocess.run(
                    argv,
                    input=stdin if stdin is not None else "",
                    capture_output=True,
                    text=True,
                    encoding="utf-8",
                    env=self._environment(),
                    timeout=self.timeout,
                    check=False,
                )
        except FileNotFoundError:
            raise UsageError(
                f"cannot run {argv[0]!r}: not found (give its path with --rabbitmqctl or RABBITADMIN_RABBITMQCTL)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ConnectionFailed(f"rabbitmqctl {command} did not finish within {self.timeout:.0f}s") from None
        if completed.returncode == 0:
            return completed.stdout
        reason = _reason(completed.stderr or completed.stdout)
        lowered = reason.lower()
        if completed.returncode in (UNAVAILABLE, TIMEOUT_EXIT) and any(m in lowered for m in UNREACHABLE_MARKERS):
            target = self.node or "the default node"
            raise ConnectionFailed(
                f"rabbitmqctl cannot reach {target}: is it running, is the node name right and is the Erlang "
                "cookie the node's (HOME/.erlang.cookie or --erlang-cookie-file)?"
            )
        raise CtlError(command, completed.returncode, reason)

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
}


def rabbitmqctl_from_options(
    options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Rabbitmqctl:
    """A runner from options (``node``, ``rabbitmqctl``, ``prefix``, ``cookie_file``), each falling back to its
    ``RABBITADMIN_*`` variable; ``prefix`` may be a list or a shell-like string (``"ssh admin@mq1"``)."""
    env = os.environ if environ is None else environ
    chosen = {key: (options or {}).get(key) or env.get(variable) for key, variable in OPTION_ENV.items()}
    prefix = chosen["prefix"]
    return Rabbitmqctl(
        node=chosen["node"],
        executable=chosen["rabbitmqctl"] or "rabbitmqctl",
        prefix=shlex.split(prefix) if isinstance(prefix, str) else tuple(prefix or ()),
        cookie_file=chosen["cookie_file"],
    )


def _reason(text: str) -> str:
    """The useful part of rabbitmqctl's error output: its non-empty lines, without the usage banner."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if line not in ("Error:", "Error")]
    useful = []
    for line in lines:
        if line.startswith(("Usage", "\x1b[1mUsage", "Most common reasons")):
            break
        useful.append(line.removeprefix("Error: "))
    return " ".join(useful)[:500] or "no reason given"


def table_arguments(value: Any) -> dict[str, Any]:
    """Arguments as a dict, from a dict or from rabbitmqctl's ``[[name, type, value], ...]`` triples."""
    if isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for item in value or []:
        if isinstance(item, list) and len(item) == 3:
            result[str(item[0])] = item[2]
    return result
