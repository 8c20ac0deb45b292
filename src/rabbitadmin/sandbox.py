"""A private, throwaway RabbitMQ node: the locally installed server (3.10), or 4.0 from a cached root.

The node lives in one directory (data, logs, config, Erlang cookie), listens on free loopback ports and
has an administrator with a generated password instead of ``guest``. The demo, the tests and anyone who
wants a scratch broker use the same code::

    sandbox = Sandbox(Path("/tmp/node"))
    info = sandbox.start()          # idempotent: returns the running node if there is one
    info.url, info.user, info.password()
    sandbox.stop()                  # idempotent: also cleans up after a node that crashed

The password lives only in a 0600 file in the sandbox directory and in the node's own config file; it is
never put on a process's argument list.

``Sandbox(dir, rabbitmq="4.0")`` runs RabbitMQ 4.0.5 from a Debian 13 root built on first use and cached
(``server_root``), in a chroot inside a private mount namespace, with the same layout, ports, credentials
and TLS option; its ``rabbitmqctl`` is reached through the ``in-root`` script written into the sandbox
directory (``ctl_settings``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rabbitadmin.errors import SandboxError
from rabbitadmin.server_root import RECIPES, ensure_root, in_root_script
from rabbitadmin.suggest import did_you_mean

if TYPE_CHECKING:
    import requests

SERVER_SCRIPTS_DIRS = (Path("/usr/lib/rabbitmq/bin"), Path("/usr/local/lib/rabbitmq/bin"))
STATE_FILE = "sandbox.json"
PASSWORD_FILE = "admin.password"  # noqa: S105 - a file name, not a password
ADMIN_USER = "rabbitadmin"
#: The RabbitMQ versions a sandbox can run: the host's package, and Debian 13's from a cached root.
VERSIONS = ("3.10", "4.0")
DEFAULT_VERSION = "3.10"
IN_ROOT_SCRIPT = "in-root"
ROOT_SCRIPTS_DIR = "/usr/lib/rabbitmq/bin"  # inside a root
#: Lowest port ``free_port`` picks (well clear of the well-known and registered services below it).
PORT_FLOOR = 20000
STOP_GRACE = 30.0  # seconds a node is given to stop cleanly on SIGTERM before it is killed
INTERRUPTED_GRACE = 5.0  # the same for a node whose start was interrupted
_HANDED_OUT: set[int] = set()
_PORTS_LOCK = threading.Lock()


def default_directory() -> Path:
    """Where ``rabbitadmin sandbox`` keeps its node unless told otherwise."""
    override = os.environ.get("RABBITADMIN_SANDBOX_DIR")
    if override:
        return Path(override)
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "rabbitadmin" / "sandbox"


def server_scripts_dir() -> Path:
    """The directory holding ``rabbitmq-server`` and ``rabbitmqctl`` as the package installs them.

    Debian's ``/usr/sbin`` wrappers switch to the ``rabbitmq`` user and its fixed directories, so the
    sandbox calls the real scripts underneath them.
    """
    override = os.environ.get("RABBITADMIN_RABBITMQ_BIN")
    candidates = (Path(override),) if override else SERVER_SCRIPTS_DIRS
    for candidate in candidates:
        if (candidate / "rabbitmq-server").exists():
            return candidate
    raise SandboxError(
        "RabbitMQ is not installed here: no rabbitmq-server script in "
        + ", ".join(str(c) for c in candidates)
        + ". Install Debian's rabbitmq-server package (apt-get install rabbitmq-server)."
    )


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now, outside the kernel's
    ephemeral range, and not handed out before by this process.

    Why not the ephemeral range (what binding port 0 gives): a node that closes its listeners for a while
    (``rabbitmqctl stop_app`` before ``join_cluster``, a restart) can find its port taken by an outgoing
    connection's local end, and fails with ``eaddrinuse`` (seen on 3.10.8 joining a cluster).
    """
    low, high = _ephemeral_range()
    choices = [*range(PORT_FLOOR, low), *range(high + 1, 65536)]
    with _PORTS_LOCK:
        for _ in range(500):
            port = choices[secrets.randbelow(len(choices))] if choices else 0
            if port and port not in _HANDED_OUT and _port_is_free(port):
                _HANDED_OUT.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # every port taken: let the kernel pick
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) readable by its owner only (it holds passwords and the cookie).

    Raises ``SandboxError`` naming the directory and the system's reason (e.g. a path under ``/proc``, no
    permission, a file in the way) instead of an ``OSError`` traceback.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise SandboxError(f"cannot use {directory} as the sandbox directory: {exc.strerror or exc}") from None


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default when unreadable)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the node's own listeners do: connections of a node just stopped, left in TIME_WAIT, do not
        # keep a restarted node from its old port (a cluster member keeps its URL across start-node).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class SandboxInfo:
    """Everything a client needs to reach a sandbox node (the password stays in its file)."""

    directory: str
    nodename: str
    amqp_port: int
    http_port: int
    dist_port: int
    user: str
    pid: int
    management: bool = True
    #: With TLS: the directory holding ca.pem, server.pem/.key and client.pem/.key; the API then speaks
    #: HTTPS and requires a client certificate.
    tls_dir: str | None = None
    #: "3.10" (the host's package) or "4.0" (from the cached root ``root``).
    rabbitmq: str = DEFAULT_VERSION
    root: str | None = None
    #: Plugins enabled at start besides the management plugin (``enabled_plugins``, written before boot).
    plugins: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_dir else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"

    @property
    def ca_file(self) -> str | None:
        return str(Path(self.tls_dir) / "ca.pem") if self.tls_dir else None

    @property
    def client_cert(self) -> tuple[str, str] | None:
        """(certificate, key) a client presents to a TLS sandbox."""
        if not self.tls_dir:
            return None
        return (str(Path(self.tls_dir) / "client.pem"), str(Path(self.tls_dir) / "client.key"))

    @property
    def password_file(self) -> Path:
        return Path(self.directory) / PASSWORD_FILE

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def public(self) -> dict[str, object]:
        """What ``sandbox start/status`` show of a node (never the password, only its file)."""
        return {
            "directory": self.directory,
            "nodename": self.nodename,
            "url": self.url,
            "amqp_port": self.amqp_port,
            "user": self.user,
            "password_file": str(self.password_file),
            "pid": self.pid,
            "management": self.management,
            "rabbitmq": self.rabbitmq,
            **({"root": self.root} if self.root else {}),
            **({"plugins": list(self.plugins)} if self.plugins else {}),
        }


@dataclass(frozen=True)
class SandboxStatus:
    #: "running", "stopped" (nothing there, or stopped with --keep-data: then ``info`` is kept) or
    #: "crashed" (state left, process gone)
    state: str
    info: SandboxInfo | None


class Sandbox:
    """One private node in ``directory``; see the module docstring."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        management: bool = True,
        tls_dir: Path | None = None,
        rabbitmq: str | None = None,
        nodename: str | None = None,
        plugins: tuple[str, ...] | None = None,
    ) -> None:
        """``rabbitmq``: "3.10" or "4.0"; None keeps the version of the node this directory holds (else 3.10).

        ``plugins``: plugins to enable at start besides the management plugin (e.g. ``rabbitmq_shovel``),
        written to the node's ``enabled_plugins`` file before it boots (no ``rabbitmq-plugins`` call, no
        restart); each must be a plugin the server ships (``SandboxError`` names the unknown one). None
        keeps the plugins of the node this directory holds.

        ``nodename``: the Erlang node name of a new node (``name@localhost``; a cluster gives its members
        theirs); None picks a random one. A directory that held a node keeps that node's name.
        """
        if rabbitmq is not None and rabbitmq not in VERSIONS:
            raise SandboxError(f"unknown RabbitMQ version {rabbitmq!r} for a sandbox: use one of {', '.join(VERSIONS)}")
        self.directory = (directory or default_directory()).resolve()
        self.management = management
        self.tls_dir = tls_dir
        self.rabbitmq = rabbitmq
        self.nodename = nodename
        self.plugins = tuple(dict.fromkeys(plugins)) if plugins is not None else None
        #: The node this object started: stop() still finds it if its directory was removed meanwhile.
        self._started: SandboxInfo | None = None

    # -- paths -------------------------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.directory / STATE_FILE

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    def _read_state(self) -> SandboxInfo | None:
        raw = read_state_file(self._state_path)
        if raw is not None and isinstance(raw.get("plugins"), list):
            raw["plugins"] = tuple(raw["plugins"])  # JSON keeps the tuple as a list
        return None if raw is None else SandboxInfo(**raw)

    # -- public API --------------------------------------------------------------------------------------
    def status(self) -> SandboxStatus:
        info = self._read_state()
        if info is None or not info.pid:
            return SandboxStatus("stopped", info)
        from rabbitadmin.sandbox_processes import pid_alive  # brings psutil: not on every command's start-up

        if pid_alive(info.pid):
            return SandboxStatus("running", info)
        return SandboxStatus("crashed", info)

    def start(self, timeout: float = 120.0) -> SandboxInfo:
        """Start the node, or return the one already running in this directory."""
        current = self.status()
        previous = current.info
        version = self.rabbitmq or (previous.rabbitmq if previous else DEFAULT_VERSION)
        if previous is not None and previous.rabbitmq != version:
            raise SandboxError(
                f"{self.directory} holds a RabbitMQ {previous.rabbitmq} node: stop it first "
                f"(rabbitadmin sandbox stop), or use another --dir for {version}"
            )
        if current.state == "running" and previous is not None:
            self._wait_ready(previous, timeout)
            return previous
        if current.state == "crashed" and previous is not None:
            # The process that started it is gone; its Erlang VM may not be (it would hold the ports).
            from rabbitadmin.sandbox_processes import stop_node

            stop_node(previous.pid, previous.nodename, grace=STOP_GRACE)
        root = ensure_root(RECIPES[version]) if version in RECIPES else None
        plugins = self.plugins if self.plugins is not None else (previous.plugins if previous else ())
        check_plugins(plugins, root)
        make_private_dir(self.directory)
        info = SandboxInfo(
            directory=str(self.directory),
            nodename=previous.nodename if previous else self._new_nodename(),
            amqp_port=self._reuse_or_pick(previous.amqp_port if previous else None),
            http_port=self._reuse_or_pick(previous.http_port if previous else None),
            dist_port=self._reuse_or_pick(previous.dist_port if previous else None),
            user=ADMIN_USER,
            pid=0,
            management=self.management,
            tls_dir=str(self.tls_dir.resolve()) if self.tls_dir else None,
            rabbitmq=version,
            root=str(root) if root else None,
            plugins=tuple(plugins),
        )
        self._write_config(info)
        command = self._server_command(info)
        log = (self.directory / "server.out").open("ab")
        try:
            process = subprocess.Popen(
                command,
                env=self.server_env(info),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the whole tree
            )
        finally:
            log.close()
        info.pid = process.pid
        self._started = info
        self._state_path.write_text(json.dumps(asdict(info), indent=2))
        try:
            self._wait_ready(info, timeout, process)
        except (SandboxError, KeyboardInterrupt) as exc:
            # A node that never came up, or whose start was interrupted (Ctrl-C, SIGTERM): stopped, not left
            # running behind a command that reported failure. Interrupted, it is not given the time of a clean
            # stop: a 3.10 VM still booting ignores SIGTERM until its boot ends, and the user asked to stop now.
            grace = INTERRUPTED_GRACE if isinstance(exc, KeyboardInterrupt) else STOP_GRACE
            from rabbitadmin.sandbox_processes import stop_node

            _despite_interrupts(lambda: stop_node(info.pid, info.nodename, grace=grace))
            raise
        return info

    def stop(self, *, keep_data: bool = False) -> bool:
        """Stop the node; remove its directory unless ``keep_data``. True if a node was running."""
        info = self._read_state() or self._started
        from rabbitadmin.sandbox_processes import pid_alive, stop_node

        was_running = info is not None and pid_alive(info.pid)
        if info is not None:
            _despite_interrupts(lambda: stop_node(info.pid, info.nodename, grace=STOP_GRACE))
        if not keep_data and self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)
        elif info is not None and info.pid and self._state_path.parent.is_dir():
            info.pid = 0  # stopped on purpose: "stopped", not "crashed", and nothing of ours to signal
            self._state_path.write_text(json.dumps(asdict(info), indent=2))
        return was_running

    def restart(self, timeout: float = 120.0) -> SandboxInfo:
        """Stop and start again on the same ports, keeping every message and definition."""
        self.stop(keep_data=True)
        return self.start(timeout)

    def wait_ready(self, timeout: float = 120.0) -> SandboxInfo:
        """Wait (at most ``timeout`` s) until the node answers on AMQP and, with management, over HTTP.

        Raises ``SandboxError`` with the node's log when it does not.
        """
        info = self._require_info()
        self._wait_ready(info, timeout)
        return info

    def server_env(self, info: SandboxInfo) -> dict[str, str]:
        """The environment under which ``rabbitmq-server`` and ``rabbitmqctl`` reach this node."""
        base = self.directory
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(base),  # the Erlang cookie is read from $HOME/.erlang.cookie
            RABBITMQ_NODENAME=info.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(info.amqp_port),
            RABBITMQ_DIST_PORT=str(info.dist_port),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.log_dir),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=str(base / "node.pid"),
        )
        return env

    def _server_command(self, info: SandboxInfo) -> list[str]:
        if info.root is None:
            return [str(server_scripts_dir() / "rabbitmq-server")]
        script = self.directory / IN_ROOT_SCRIPT
        shared = [self.directory, *([Path(info.tls_dir)] if info.tls_dir else [])]
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
        with os.fdopen(fd, "w") as handle:
            handle.write(in_root_script(Path(info.root), shared))
        _ensure_epmd(Path(info.root))
        # Run by /bin/sh, not exec'd: a cluster starts its nodes from threads, and a child forked by another
        # thread holds this file's write descriptor until its own exec, so exec'ing the script just written
        # can fail with ETXTBSY ("Text file busy"); reading it through sh cannot.
        return ["/bin/sh", str(script), f"{ROOT_SCRIPTS_DIR}/rabbitmq-server"]

    def ctl_settings(self) -> dict[str, str | None]:
        """How the ctl backend reaches this node: ``node``, ``rabbitmqctl``, ``prefix`` (a command line, for
        a 4.0 node the ``in-root`` script) and ``cookie_file``, the keys of ``rabbitmqctl_from_options``."""
        info = self._require_info()
        if info.root is None:
            executable, prefix = str(server_scripts_dir() / "rabbitmqctl"), None
        else:
            executable, prefix = f"{ROOT_SCRIPTS_DIR}/rabbitmqctl", str(self.directory / IN_ROOT_SCRIPT)
        return {
            "node": info.nodename,
            "rabbitmqctl": executable,
            "prefix": prefix,
            "cookie_file": str(self.directory / ".erlang.cookie"),
        }

    def ctl_command(self) -> list[str]:
        """Argument list prefix for running ``rabbitmqctl`` against this node (with ``server_env``)."""
        ctl = self.ctl_settings()
        return [*([str(ctl["prefix"])] if ctl["prefix"] else []), str(ctl["rabbitmqctl"]), "-n", str(ctl["node"])]

    def env_exports(self) -> str:
        """Shell lines pointing rabbitadmin at this node; the password is read from its file, not shown."""
        info = self._require_info()
        return "\n".join(
            [
                f"export RABBITADMIN_URL={info.url}",
                f"export RABBITADMIN_USER={info.user}",
                f'export RABBITADMIN_PASSWORD="$(cat {info.password_file})"',
                f"export RABBITADMIN_AMQP_PORT={info.amqp_port}",
                *self._tls_exports(info),
                *self._ctl_exports(),
            ]
        )

    def ctl_environment(self) -> dict[str, str]:
        """The ``RABBITADMIN_*`` variables that point ``--backend ctl`` at this node (``ctl_settings``; a 4.0
        node's rabbitmqctl runs in its root, through the prefix), unset ones left out."""
        names = {
            "node": "RABBITADMIN_NODE",
            "rabbitmqctl": "RABBITADMIN_RABBITMQCTL",
            "prefix": "RABBITADMIN_CTL_PREFIX",
            "cookie_file": "RABBITADMIN_ERLANG_COOKIE_FILE",
        }
        return {names[key]: value for key, value in self.ctl_settings().items() if value}

    def _ctl_exports(self) -> list[str]:
        """The ctl backend's settings (used with ``--backend ctl``; harmless otherwise)."""
        return [f"export {name}={shlex.quote(value)}" for name, value in self.ctl_environment().items()]

    @staticmethod
    def _tls_exports(info: SandboxInfo) -> list[str]:
        if not info.ca_file or not info.client_cert:
            return []
        cert, key = info.client_cert
        return [
            f"export RABBITADMIN_CA_BUNDLE={info.ca_file}",
            f"export RABBITADMIN_CLIENT_CERT={cert}",
            f"export RABBITADMIN_CLIENT_KEY={key}",
        ]

    # -- internals ---------------------------------------------------------------------------------------
    def _require_info(self) -> SandboxInfo:
        info = self._read_state()
        if info is None:
            raise SandboxError(f"no sandbox node in {self.directory}: run `rabbitadmin sandbox start`")
        return info

    def _new_nodename(self) -> str:
        return self.nodename or f"rabbitadmin-{secrets.token_hex(4)}@localhost"

    @staticmethod
    def _reuse_or_pick(port: int | None) -> int:
        return port if port is not None and _port_is_free(port) else free_port()

    def _write_config(self, info: SandboxInfo) -> None:
        base = self.directory
        password_path = base / PASSWORD_FILE
        if not password_path.exists():
            write_private(password_path, secrets.token_urlsafe(24) + "\n")
        cookie = base / ".erlang.cookie"
        if not cookie.exists():
            write_private(cookie, secrets.token_hex(16).upper())
        password = password_path.read_text().strip()
        lines = [
            f"listeners.tcp.default = 127.0.0.1:{info.amqp_port}",
            f"default_user = {info.user}",
            f"default_pass = {password}",
            "default_user_tags.administrator = true",
            "default_permissions.configure = .*",
            "default_permissions.write = .*",
            "default_permissions.read = .*",
            "loopback_users = none",
            "log.console = false",
            "log.file.level = info",
        ]
        if info.management and info.tls_dir:
            tls = Path(info.tls_dir)
            lines += [
                f"management.ssl.port = {info.http_port}",
                "management.ssl.ip = 127.0.0.1",
                f"management.ssl.cacertfile = {tls / 'ca.pem'}",
                f"management.ssl.certfile = {tls / 'server.pem'}",
                f"management.ssl.keyfile = {tls / 'server.key'}",
                # Mutual TLS: clients must present a certificate signed by the same CA.
                "management.ssl.verify = verify_peer",
                "management.ssl.fail_if_no_peer_cert = true",
            ]
        elif info.management:
            lines += [f"management.tcp.port = {info.http_port}", "management.tcp.ip = 127.0.0.1"]
        write_private(base / "rabbitmq.conf", "\n".join(lines) + "\n")
        write_private(base / "advanced.config", "[].\n")
        write_private(base / "rabbitmq-env.conf", "")
        enabled = (["rabbitmq_management"] if info.management else []) + [
            name for name in info.plugins if name != "rabbitmq_management"
        ]
        write_private(base / "enabled_plugins", f"[{','.join(enabled)}].\n")

    def _wait_ready(self, info: SandboxInfo, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
        import requests  # here: cli.py imports this module, and a plan need not load requests (early_read)

        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            while time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    raise SandboxError(
                        f"the RabbitMQ node exited during start-up (code {process.returncode}):\n" + self.log_tail()
                    )
                if self._ready(info, http):
                    return
                time.sleep(0.2)
        raise SandboxError(f"the RabbitMQ node did not become ready within {timeout:.0f}s:\n{self.log_tail()}")

    @staticmethod
    def _ready(info: SandboxInfo, http: requests.Session) -> bool:
        import requests

        # The AMQP listener opens last during boot, so a TCP accept there means the broker is up.
        try:
            with socket.create_connection(("127.0.0.1", info.amqp_port), timeout=1):
                pass
        except OSError:
            return False
        if not info.management:
            return True
        try:
            response = http.get(
                f"{info.url}/api/overview",
                auth=(info.user, info.password()),
                timeout=2,
                verify=info.ca_file or True,
                cert=info.client_cert,
            )
        except requests.RequestException:
            return False
        return response.status_code == 200

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the node's logs, for error messages."""
        chunks: list[str] = []
        for path in [self.directory / "server.out", *sorted(self.log_dir.glob("*.log"))]:
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(chunks) or "(no log output)"


def _despite_interrupts(stop: Callable[[], None]) -> None:
    """Run ``stop`` to its end even if Ctrl-C or SIGTERM comes again meanwhile (a second Ctrl-C used to leave
    the node half-stopped); ``stop`` is idempotent and bounded, so it is simply run again."""
    while True:
        try:
            stop()
            return
        except KeyboardInterrupt:
            continue


def _ensure_epmd(root: Path) -> None:
    """Start the Erlang port mapper from ``root`` unless one listens already.

    epmd is shared by every Erlang node on the machine and outlives them (as with any node); started
    here, outside the node's mount namespace, it keeps none of the node's mounts alive.
    """
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 4369), timeout=1):
        return
    subprocess.run(
        ["chroot", str(root), "/usr/bin/epmd", "-daemon"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )


PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def server_plugins(root: Path | None) -> set[str] | None:
    """The plugins the server in ``root`` (None: the host's package) ships, by name; None if its plugins
    directory cannot be found. (``<root>/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins``, each a
    ``name-version`` directory or ``.ez`` archive.)"""
    base = (root or Path("/")) / "usr/lib/rabbitmq/lib"
    found: set[str] = set()
    for plugins_dir in base.glob("rabbitmq_server-*/plugins"):
        for entry in plugins_dir.iterdir():
            found.add(entry.name.removesuffix(".ez").rsplit("-", 1)[0])
    return found or None


def check_plugins(plugins: tuple[str, ...], root: Path | None) -> None:
    """Refuse a plugin name the server does not ship before the node starts (the node would not boot)."""
    for name in plugins:
        if not PLUGIN_NAME.match(name):
            raise SandboxError(f"{name!r} is not a plugin name (e.g. rabbitmq_shovel)")
    known = server_plugins(root)
    if known is None:
        return  # a layout we do not know: the node itself will say
    unknown = [name for name in plugins if name not in known]
    if unknown:
        shipped = sorted(name for name in known if name.startswith("rabbitmq_"))  # the rest are libraries
        hint = did_you_mean(unknown[0], shipped)
        raise SandboxError(f"unknown plugin {unknown[0]!r}{hint}: this server's plugins are {', '.join(shipped)}")


def read_state_file(path: Path) -> dict[str, Any] | None:
    """The JSON object a sandbox keeps in ``path``, None when there is none. Raises ``SandboxError``."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SandboxError(f"cannot read sandbox state {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise SandboxError(f"cannot read sandbox state {path}: not a JSON object")
    return raw


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600 from creation: a secret never sits readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def running_sandbox(
    directory: Path, *, management: bool = True, rabbitmq: str | None = None, plugins: tuple[str, ...] | None = None
) -> Iterator[Sandbox]:
    """Start a node for the duration of a ``with`` block, then stop it and remove its data."""
    sandbox = Sandbox(directory, management=management, rabbitmq=rabbitmq, plugins=plugins)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
