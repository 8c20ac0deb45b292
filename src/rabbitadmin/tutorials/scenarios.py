"""The six tutorial scenarios: their presets (package data), explanations and runner programs.

A preset is an ordinary topology file for vhost ``myproject`` and the tutorial user ``myuser``;
``load_preset`` can retarget it to another vhost and read the user's password from a file instead of
``MYUSER_PASSWORD``. Nothing here talks to a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rabbitadmin.errors import UsageError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Secret, Topology

DEFAULT_VHOST = "myproject"
TUTORIAL_USER = "myuser"
PASSWORD_ENV = "MYUSER_PASSWORD"  # noqa: S105 - the name of a variable, not a password


@dataclass(frozen=True)
class Scenario:
    """One tutorial: its preset file, what it shows, and the runner programs that play it."""

    name: str
    title: str
    explanation: str
    programs: tuple[str, ...]
    example: tuple[str, ...]

    @property
    def preset_file(self) -> str:
        return f"{self.name}.yaml"


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "hello-world",
            "Hello World",
            "A producer publishes to the queue `hello` through the default exchange; a consumer reads it.",
            ("send", "receive"),
            ("run receive --count 1", "run send"),
        ),
        Scenario(
            "work-queues",
            "Work queues",
            "Tasks go to the durable queue `task_queue` as persistent messages. Workers take one task at a "
            "time (prefetch 1), sleep one second per dot in the message, and acknowledge when done: a busy "
            "worker gets no new task, and a task whose worker dies is redelivered to another.",
            ("new_task", "worker"),
            ("run worker", "run new_task 'A task with three dots...'"),
        ),
        Scenario(
            "publish-subscribe",
            "Publish/Subscribe",
            "A producer publishes to the fanout exchange `logs`; every subscriber binds its own exclusive, "
            "server-named queue to it and receives a copy of every message.",
            ("emit_log", "receive_logs"),
            ("run receive_logs", "run emit_log 'info: Hello World!'"),
        ),
        Scenario(
            "routing",
            "Routing",
            "A producer publishes to the direct exchange `direct_logs` with a severity as routing key; each "
            "consumer binds its exclusive queue once per severity it wants and receives only those.",
            ("emit_log_direct", "receive_logs_direct"),
            ("run receive_logs_direct info warning error", "run emit_log_direct error 'Run. Run. Or it will explode.'"),
        ),
        Scenario(
            "topics",
            "Topics",
            "A producer publishes to the topic exchange `topic_logs` with a dotted key such as "
            "`kern.critical`; consumers bind patterns where `*` is exactly one word and `#` any number.",
            ("emit_log_topic", "receive_logs_topic"),
            (
                "run receive_logs_topic 'kern.*' '*.critical'",
                "run emit_log_topic kern.critical 'A critical kernel error'",
            ),
        ),
        Scenario(
            "rpc",
            "RPC",
            "A client publishes `n` to the queue `rpc_queue` with its own exclusive reply queue and a "
            "correlation id; a server computes fib(n) and answers on the reply queue with the same id.",
            ("rpc_server", "rpc_client"),
            ("run rpc_server", "run rpc_client 30"),
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; ``UsageError`` listing the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(f"no tutorial called {name!r}; choose one of: {', '.join(SCENARIOS)}") from None


def preset_text(name: str) -> str:
    """The preset YAML of a scenario, exactly as shipped."""
    scenario = get_scenario(name)
    return resources.files("rabbitadmin.tutorials").joinpath("presets", scenario.preset_file).read_text("utf-8")


def retarget(document: dict[str, Any], vhost: str, password_file: Path | None) -> dict[str, Any]:
    """Move a preset document to another vhost and/or take the user's password from a file."""
    for entry in document.get("vhosts", []):
        if entry.get("name") == DEFAULT_VHOST:
            entry["name"] = vhost
    for kind in ("permissions", "topic_permissions"):
        for entry in document.get(kind, []):
            if entry.get("vhost") == DEFAULT_VHOST:
                entry["vhost"] = vhost
    if password_file is not None:
        for user in document.get("users", []):
            if user.get("name") == TUTORIAL_USER:
                user["password"] = {"file": str(password_file.resolve())}
    return document


def preset_document_text(name: str, *, vhost: str = DEFAULT_VHOST, password_file: Path | None = None) -> str:
    """The preset as YAML, retargeted when ``vhost`` or ``password_file`` ask for it."""
    text = preset_text(name)
    if vhost == DEFAULT_VHOST and password_file is None:
        return text  # unchanged: keep the comments and the line numbers of the shipped file
    document = yaml.safe_load(text)
    return yaml.safe_dump(retarget(document, vhost, password_file), sort_keys=False, allow_unicode=True)


def load_preset(
    name: str,
    *,
    vhost: str = DEFAULT_VHOST,
    password_file: Path | None = None,
    password: Secret | None = None,
    resolve_secrets: bool = True,
) -> Topology:
    """Load and validate a scenario's preset as a ``Topology`` (raises ``TopologyError``).

    The tutorial user's password: read from ``password_file`` if given, else ``password``, else
    the variable MYUSER_PASSWORD. ``password`` never goes into the process environment.
    """
    text = preset_document_text(name, vhost=vhost, password_file=password_file)
    environ = None if password is None or password_file is not None else {PASSWORD_ENV: password.reveal()}
    return load_topology_text(text, f"<preset {name}>", resolve_secrets=resolve_secrets, environ=environ)
