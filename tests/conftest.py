"""Shared fixtures: one private RabbitMQ node per server version per test session.

Every test that touches a server runs once per version in ``RABBITADMIN_TEST_VERSIONS`` (default
``3.10,4.0``: the host's 3.10.8 and 4.0.5 from the cached Debian 13 root, built on first use): the
session fixture ``rabbitmq_version`` is parametrised, its id (``rabbitmq-3.10``, ``rabbitmq-4.0``) is
in every test id, and pytest orders the tests so that each version's node starts once. A test that
cannot run on some version says so with ``@pytest.mark.rabbitmq_versions("3.10", reason="...")``; it
is then generated for those versions only (never skipped). A test that needs a broker asks for ``node``
(or ``settings``, ``cli_env``, ``rabbitadmin``); if the node cannot start, the test fails with the
node's log, it is never skipped.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import AnswerLost
from rabbitadmin.model import Secret
from rabbitadmin.sandbox import VERSIONS, Sandbox, SandboxInfo


def selected_versions() -> list[str]:
    """The server versions this run covers: ``RABBITADMIN_TEST_VERSIONS`` (comma-separated), default all."""
    wanted = [v.strip() for v in os.environ.get("RABBITADMIN_TEST_VERSIONS", ",".join(VERSIONS)).split(",")]
    unknown = [v for v in wanted if v not in VERSIONS]
    if unknown or not any(wanted):
        raise pytest.UsageError(f"RABBITADMIN_TEST_VERSIONS: use a comma-separated subset of {', '.join(VERSIONS)}")
    return [v for v in VERSIONS if v in wanted]


TESTS = Path(__file__).parent
#: Every fixture that starts (or needs) a node depends on this one.
NODE_FIXTURES = frozenset({"rabbitmq_version"})
#: Test files that start a node by other means (Ansible deploys one); tests/cluster/ starts clusters.
NODE_FILES = frozenset({"ansible/test_playbook.py", "ansible/test_fresh_debian.py"})
NODE_DIRECTORIES = ("cluster/",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that starts a node ``integration``, so ``-m "not integration"`` runs none, and every
    test run once per server version ``versioned`` (scripts/test.sh runs the 4.0 ones in a second process).

    A test made for versions this run does not cover (``rabbitmq_versions("3.10", ...)`` in a 4.0-only run)
    has no parameter left: it is deselected, not reported as skipped (it runs in the other version's run).
    """
    other_versions = [
        item
        for item in items
        if "rabbitmq_version" in getattr(item, "fixturenames", ())
        and any(mark.name == "skip" and "empty parameter set" in str(mark.kwargs.get("reason", ""))
                for mark in item.iter_markers())
    ]  # fmt: skip
    if other_versions:
        config.hook.pytest_deselected(items=other_versions)
        items[:] = [item for item in items if item not in other_versions]
    for item in items:
        path = item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
        uses_node = bool(NODE_FIXTURES & set(getattr(item, "fixturenames", ())))
        if uses_node or path in NODE_FILES or path.startswith(NODE_DIRECTORIES):
            item.add_marker(pytest.mark.integration)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "rabbitmq_version" in callspec.params:
            item.add_marker(pytest.mark.versioned)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "rabbitmq_versions(*versions, reason): the server versions a test can run on, and why not the others",
    )
    # A non-interactive shell starts a background command with SIGINT ignored (scripts/test.sh runs one half
    # so), and an ignored signal is inherited through exec: every command a test started would then ignore
    # the Ctrl-C the test sends it, as rabbitadmin rightly does when started that way. A handled signal is
    # reset to its default in a child: so the session handles SIGINT again, as a foreground pytest does.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``rabbitmq_version`` (session scope: one node per version) for every test using it."""
    if "rabbitmq_version" not in metafunc.fixturenames:
        return
    versions = selected_versions()
    marker = metafunc.definition.get_closest_marker("rabbitmq_versions")
    if marker is not None:
        if not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: rabbitmq_versions needs a reason=")
        versions = [v for v in versions if v in marker.args]
    metafunc.parametrize(
        "rabbitmq_version", versions, indirect=True, scope="session", ids=[f"rabbitmq-{v}" for v in versions]
    )


@pytest.fixture(scope="session")
def rabbitmq_version(request: pytest.FixtureRequest) -> str:
    """The server version of this test's node ("3.10" or "4.0")."""
    return str(request.param)


#: Plugins the session node runs besides management (tests/integration/test_parameters.py uses them).
SESSION_PLUGINS = ("rabbitmq_shovel", "rabbitmq_federation", "rabbitmq_federation_management")


@pytest.fixture(scope="session")
def node_root() -> Iterator[Path]:
    """Where the session's nodes live: not under pytest's numbered temp dirs. At its end a session drops
    its own lock on its dir before it tears its session fixtures down, and removes numbered dirs older than
    the 3 newest unlocked: with 3 newer sessions on the machine (tests run beside the suite), its nodes'
    directories went first and the nodes were left running."""
    root = Path(tempfile.mkdtemp(prefix="rabbitadmin-test-nodes-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(rabbitmq_version: str, node_root: Path) -> Iterator[Sandbox]:
    # Shovel and federation (with its links API) on the shared node: the parameter tests need no node of their own.
    box = Sandbox(
        node_root / f"rabbitmq-{rabbitmq_version}" / "node",
        rabbitmq=rabbitmq_version,
        plugins=SESSION_PLUGINS,
    )
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="session")
def node(sandbox: Sandbox) -> SandboxInfo:
    status = sandbox.status()
    assert status.info is not None, "the session node is not running"
    return status.info


@pytest.fixture(scope="session")
def settings(node: SandboxInfo) -> ConnectionSettings:
    """Administrator credentials for the session node."""
    return ConnectionSettings(url=node.url, user=node.user, password=Secret(node.password()), amqp_port=node.amqp_port)


@pytest.fixture(scope="session")
def admin_client(settings: ConnectionSettings) -> Iterator[HttpClient]:
    client = HttpClient(settings)
    yield client
    client.close()


@pytest.fixture
def vhost(admin_client: HttpClient) -> Iterator[str]:
    """A fresh, uniquely named vhost for one test, deleted afterwards (its name is deliberately awkward)."""
    name = f"t {secrets.token_hex(3)}/é#%"
    yield name
    delete_vhost(admin_client, name)


def delete_vhost(client: HttpClient, name: str, timeout: float = 600.0) -> None:
    """Delete the vhost ``name`` and return once it is gone (none there is fine).

    A busy node resets the connection before it answers a long delete (a vhost of 6,000 queues and
    bindings: 4.0.5 and 3.10.8, under load) and may stop the delete part-way, so after a lost answer the
    delete is sent again until the vhost is gone, for up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.delete(api_path("vhosts", name))
            return
        except AnswerLost:
            if client.get_or_none(api_path("vhosts", name)) is None:
                return
            if time.monotonic() > deadline:
                raise


def ctl_env(node: SandboxInfo) -> dict[str, str]:
    """The ``RABBITADMIN_*`` ctl settings for a sandbox node (what ``sandbox env`` prints), whatever its version."""
    return Sandbox(Path(node.directory)).ctl_environment()


def ctl_backend_options(box: Sandbox, info: SandboxInfo) -> dict[str, object]:
    """Keyword arguments for ``CtlBackend`` reaching ``box``'s node (3.10 directly, 4.0 in its root)."""
    settings = box.ctl_settings()
    return {
        "node": info.nodename,
        "rabbitmqctl": str(settings["rabbitmqctl"]),
        "prefix": shlex.split(settings["prefix"]) if settings["prefix"] else (),
        "env": box.server_env(info),
    }


@pytest.fixture
def cli_env(node: SandboxInfo) -> dict[str, str]:
    """Environment variables pointing the ``rabbitadmin`` command at the session node (HTTP by default;
    the ctl settings are there too, for ``--backend ctl``)."""
    return {
        "RABBITADMIN_URL": node.url,
        "RABBITADMIN_USER": node.user,
        "RABBITADMIN_PASSWORD_FILE": str(Path(node.password_file)),
        "RABBITADMIN_AMQP_PORT": str(node.amqp_port),
        **ctl_env(node),
    }


class CliRunner:
    """Runs the real ``rabbitadmin`` command in a subprocess, with no terminal on stdin.

    ``clean_prefixes`` drops every inherited variable starting with one of them (``("RABBITADMIN_",)``: the
    test gives each setting it wants, nothing leaks in from the developer's shell); ``stdin`` is text fed to
    the command (no stdin at all otherwise).
    """

    def __init__(self, env: dict[str, str], clean_prefixes: tuple[str, ...] = ()) -> None:
        self.env = env
        self.clean_prefixes = clean_prefixes

    def base_env(self, env: dict[str, str] | None = None) -> dict[str, str]:
        inherited = {
            k: v for k, v in os.environ.items() if not (self.clean_prefixes and k.startswith(self.clean_prefixes))
        }
        full_env = {**inherited, **self.env, **(env or {})}
        if "RABBITADMIN_PASSWORD" not in self.env and "RABBITADMIN_PASSWORD" not in (env or {}):
            full_env.pop("RABBITADMIN_PASSWORD", None)
        return full_env

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        check: bool = False,
        timeout: float = 300,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "-m", "rabbitadmin", *args], env, check, timeout, stdin)

    def shell(
        self, script: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """``script`` in bash (pipefail on), with ``ra`` standing for the rabbitadmin command."""
        ra = shlex.join([sys.executable, "-m", "rabbitadmin"])
        return self._run(
            ["bash", "-o", "pipefail", "-c", f'ra() {{ {ra} "$@"; }}\n{script}'], env, False, timeout, None
        )

    def _run(
        self, argv: list[str], env: dict[str, str] | None, check: bool, timeout: float, stdin: str | None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv,
            env=self.base_env(env),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{shlex.join(argv[2:])} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture
def rabbitadmin(cli_env: dict[str, str]) -> CliRunner:
    """Call as ``rabbitadmin("plan", "file.yaml")``; returns the CompletedProcess."""
    return CliRunner(cli_env)


def without_released_lock(list_names: Callable[[], list[str]], timeout: float = 30.0) -> list[str]:
    """Queue names from ``list_names`` once the apply lock is gone (at most ``timeout`` s, then as they are).

    The server deletes an exclusive queue asynchronously after its owner ends, so right after an apply over
    ``--backend ctl`` the lock queue may still be listed for a moment; it must go, and this waits for that.
    """
    deadline = time.monotonic() + timeout
    names = list_names()
    while "rabbitadmin.apply-lock" in names and time.monotonic() < deadline:
        time.sleep(0.5)
        names = list_names()
    return names
