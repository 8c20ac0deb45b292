"""Differential test: each definitions file of tests/corpus/differential/ is imported by the server's own
import (``POST /api/definitions``) and applied by ``rabbitadmin apply``, each time on a freshly wiped node;
both states are read back (``GET /api/definitions``) and must be equal after ``normalised`` below. What
differs on purpose is listed once, in ``DELIBERATE_DIFFERENCES``, with the reason (docs/definitions.md too).

Node cost: one extra node per server version, for this module only (the corpus imports policies matching
``.*`` and global parameters, which must not reach the shared session node), used for both sides and wiped
over HTTP between them (about a second; a ``rabbitmqctl reset`` cycle took 11 s and a node start 28 s on
this machine). A corpus file that needs plugins lists them, one a line, in ``<file stem>.plugins``; the test
reads which plugins the node has enabled and fails, naming the missing ones, when it lacks any (the node
runs shovel and federation, as the session node does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.model import Secret
from rabbitadmin.normalize import normalize_tags
from rabbitadmin.passwords import check_password
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import SESSION_PLUGINS, CliRunner

CORPUS = Path(__file__).parent.parent / "corpus" / "differential"
FILES = sorted(CORPUS.glob("*.json"))

#: What rabbitadmin leaves different from the server's own import on purpose, and why (docs/definitions.md).
#: (Empty since runtime and global parameters became managed kinds: every section is compared.)
DELIBERATE_DIFFERENCES: dict[str, str] = {}
#: Differences of one server version's import, which rabbitadmin does not copy: (versions, reason).
VERSION_DIFFERENCES = {
    "untyped queue": (
        ("3.10",),
        "3.10's import creates a queue the file gives no x-queue-type as classic even in a "
        "vhost whose default queue type is quorum or stream; 4.0's import and rabbitadmin give it the "
        "vhost's default (as a declaration by a client does)",
    ),
}
#: Normalisations: spellings of one state, not differences (applied to both sides alike).
NORMALISED = {
    "password_hash": "compared by what logs in: each corpus user's password is '<name>-pw'; a user the file gives "
    "no password has none (rabbitadmin) or one of the empty string (the server), and neither can log in "
    "with a password (the server refuses a blank one)",
    "order": "entries sorted by their identity; tags as sets; limits and definitions as mappings (3.10 exports "
    "some as lists of pairs)",
    "x-queue-type": "folded into the queue's type, default classic (rabbitadmin always sends it explicitly)",
    "versions": "rabbit_version, rabbitmq_version and product fields name the node, not its state",
}


@pytest.fixture(scope="module")
def diff_node(rabbitmq_version: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """A node of its own for this module (see the module's docstring), both sides run on it in turn."""
    box = Sandbox(
        tmp_path_factory.mktemp(f"differential-{rabbitmq_version}") / "node",
        rabbitmq=rabbitmq_version,
        plugins=SESSION_PLUGINS,  # shovel and federation: the corpus carries their parameters
    )
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


@pytest.fixture(scope="module")
def diff_client(diff_node: SandboxInfo) -> Iterator[HttpClient]:
    settings = ConnectionSettings(url=diff_node.url, user=diff_node.user, password=Secret(diff_node.password()))
    client = HttpClient(settings)
    yield client
    client.close()


def wipe(client: HttpClient, admin: str) -> None:
    """Every vhost, user (but ``admin``) and global parameter gone; ``/`` back as a fresh node has it."""
    for vhost in client.get(api_path("vhosts")):
        client.delete(api_path("vhosts", vhost["name"]))
    for user in client.get(api_path("users")):
        if user["name"] != admin:
            client.delete(api_path("users", user["name"]))
    for parameter in client.get(api_path("global-parameters")):
        if parameter["name"] not in ("internal_cluster_id", "cluster_name"):
            client.delete(api_path("global-parameters", parameter["name"]))
    client.put(api_path("global-parameters", "cluster_name"), {"name": "cluster_name", "value": "differential"})
    client.put(api_path("vhosts", "/"), {"description": "Default virtual host"})
    client.put(api_path("permissions", "/", admin), {"configure": ".*", "write": ".*", "read": ".*"})


def _mapping(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        return {str(name): _mapping(item) for name, item in value}
    if isinstance(value, dict):
        return {key: _mapping(item) for key, item in value.items()}
    return value


def _login(user: dict[str, Any]) -> str:
    stored, algorithm = user.get("password_hash") or "", user.get("hashing_algorithm", "")
    if stored and check_password(f"{user['name']}-pw", stored, algorithm):
        return "its password"
    if not stored or check_password("", stored, algorithm):
        return "no usable password"
    return "another password"


def normalised(definitions: dict[str, Any]) -> dict[str, list[Any]]:
    """A ``GET /api/definitions`` answer as comparable data (``NORMALISED`` says what is folded, and why)."""
    result: dict[str, list[Any]] = {}
    result["users"] = [
        {"name": u["name"], "tags": sorted(normalize_tags(u.get("tags"))), "login": _login(u),
         "hashing_algorithm": u.get("hashing_algorithm"), "limits": _mapping(u.get("limits") or {})}
        for u in definitions.get("users", [])
    ]  # fmt: skip
    result["vhosts"] = []
    for v in definitions.get("vhosts", []):
        metadata = v.get("metadata") or {}
        queue_type = metadata.get("default_queue_type", v.get("default_queue_type"))
        result["vhosts"].append(
            {"name": v["name"], "description": v.get("description", metadata.get("description", "")),
             "tags": sorted(normalize_tags(v.get("tags", metadata.get("tags")))),
             "default_queue_type": None if queue_type in (None, "undefined") else queue_type,
             "limits": _mapping(v.get("limits") or {})}
        )  # fmt: skip
    for section in ("permissions", "topic_permissions", "policies", "exchanges", "bindings", "global_parameters"):
        result[section] = [_mapping(entry) for entry in definitions.get(section, [])]
    result["parameters"] = [_mapping(entry) for entry in definitions.get("parameters", [])]
    result["queues"] = []
    for q in definitions.get("queues", []):
        arguments = dict(q.get("arguments") or {})
        queue_type = arguments.pop("x-queue-type", None) or q.get("type") or "classic"
        result["queues"].append({**{k: v for k, v in q.items() if k not in ("arguments", "type")},
                                 "type": queue_type, "arguments": arguments})  # fmt: skip
    result["global_parameters"] = [p for p in result["global_parameters"] if p["name"] != "internal_cluster_id"]
    for section in DELIBERATE_DIFFERENCES:
        result.pop(section, None)
    return {section: sorted(entries, key=lambda e: json.dumps(e, sort_keys=True)) for section, entries in
            result.items()}  # fmt: skip


def _typed_by_vhost_default(queues: list[dict[str, Any]], document: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's queues with the file's untyped ones given their vhost's default type (VERSION_DIFFERENCES)."""
    defaults = {v["name"]: (v.get("metadata") or {}).get("default_queue_type") for v in document.get("vhosts", [])}
    untyped = {(q["vhost"], q["name"]) for q in document.get("queues", []) if "x-queue-type" not in q["arguments"]}
    result = [
        {**q, "type": defaults[q["vhost"]]} if (q["vhost"], q["name"]) in untyped and defaults.get(q["vhost"]) else q
        for q in queues
    ]
    return sorted(result, key=lambda e: json.dumps(e, sort_keys=True))


def assert_logins(info: SandboxInfo, users: list[dict[str, Any]]) -> None:
    """Every user whose hash holds its password logs in with it (``GET /api/whoami``), whatever the algorithm
    (MD5 from a 3.0 export included); the management tag is what the API needs, so others are not asked."""
    for user in users:
        if user["login"] == "its password" and {"management", "administrator", "monitoring", "policymaker"} & set(
            user["tags"]
        ):
            answer = requests.get(f"{info.url}/api/whoami", auth=(user["name"], f"{user['name']}-pw"), timeout=30)
            assert answer.status_code == 200 and answer.json()["name"] == user["name"], (user["name"], answer.text)


def required_plugins(corpus_file: Path) -> set[str]:
    listing = corpus_file.with_suffix(".plugins")
    if not listing.exists():
        return set()
    return {line.strip() for line in listing.read_text().splitlines() if line.strip()}


def enabled_plugins(client: HttpClient, timeout: float = 60.0) -> set[str]:
    """The plugins the nodes list as enabled. The management statistics that carry the list lag a node's boot
    (``HttpBackend.enabled_plugins``): a node up for a few seconds lists none, so this asks again until one
    does, at most ``timeout`` s (the first corpus file, run right after the node started, met that on 3.10)."""
    deadline = time.monotonic() + timeout
    while True:
        names = {plugin for node in client.get(api_path("nodes")) for plugin in node.get("enabled_plugins") or ()}
        if names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def server_import(info: SandboxInfo, corpus_file: Path) -> requests.Response:
    """The server's own import of the file's bytes, as ``curl -T`` or the management UI sends them."""
    return requests.post(
        f"{info.url}/api/definitions",
        data=corpus_file.read_bytes(),
        headers={"content-type": "application/json"},
        auth=(info.user, info.password()),
        timeout=120,
    )


def cli_for(info: SandboxInfo) -> CliRunner:
    return CliRunner({"RABBITADMIN_URL": info.url, "RABBITADMIN_USER": info.user,
                      "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
                      "RABBITADMIN_AMQP_PORT": str(info.amqp_port)})  # fmt: skip


def test_the_corpus_covers_every_kind_and_format() -> None:
    """The corpus is what the differential proves: keep it covering what real files contain."""
    seen: dict[str, set[str]] = {}
    for path in FILES:
        document = json.loads(path.read_text())
        for section, entries in document.items():
            if isinstance(entries, list) and entries:
                seen.setdefault("sections", set()).add(section)
        for user in document.get("users", []):
            by_version = f"by version {document.get('rabbit_version')}"
            seen.setdefault("hash", set()).add(user.get("hashing_algorithm", by_version))
            seen.setdefault("tags", set()).add(type(user.get("tags")).__name__)
            seen.setdefault("password", set()).update(k for k in ("password", "password_hash") if k in user)
        for vhost in document.get("vhosts", []):
            seen.setdefault("vhost shape", set()).update(k for k in ("metadata", "description") if k in vhost)
        for permission in document.get("topic_permissions", []):
            seen.setdefault("topic exchange", set()).add("default" if permission["exchange"] == "" else "named")
        for queue in document.get("queues", []):
            seen.setdefault("queue type", set()).add(queue["arguments"].get("x-queue-type", "untyped"))
        for parameter in document.get("parameters", []):
            seen.setdefault("components", set()).add(parameter["component"])
    assert {"users", "vhosts", "permissions", "topic_permissions", "parameters", "global_parameters", "policies",
            "exchanges", "queues", "bindings"} <= seen["sections"]  # fmt: skip
    assert {"rabbit_password_hashing_sha256", "rabbit_password_hashing_sha512", "by version 3.0.4"} <= seen["hash"]
    assert {"list", "str"} <= seen["tags"] and {"password", "password_hash"} <= seen["password"]
    assert {"metadata", "description"} <= seen["vhost shape"] and {"default", "named"} <= seen["topic exchange"]
    assert {"classic", "quorum", "stream", "untyped"} <= seen["queue type"]
    assert {"vhost-limits", "operator_policy", "shovel", "federation-upstream", "federation-upstream-set"} <= seen[
        "components"
    ]


@pytest.mark.parametrize("corpus_file", FILES, ids=[path.stem for path in FILES])
def test_rabbitadmin_leaves_the_state_the_servers_import_leaves(
    corpus_file: Path, rabbitmq_version: str, diff_node: SandboxInfo, diff_client: HttpClient
) -> None:
    missing = required_plugins(corpus_file) - enabled_plugins(diff_client)
    assert not missing, f"{corpus_file.name} needs the plugins {sorted(missing)}, which this node has not enabled"

    wipe(diff_client, diff_node.user)
    answer = server_import(diff_node, corpus_file)
    assert answer.status_code in (200, 201, 204), f"the server refused {corpus_file.name}: {answer.text}"
    by_server = normalised(diff_client.get(api_path("definitions")))

    assert_logins(diff_node, by_server["users"])

    wipe(diff_client, diff_node.user)
    applied = cli_for(diff_node)("apply", str(corpus_file), "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    by_rabbitadmin = normalised(diff_client.get(api_path("definitions")))

    assert_logins(diff_node, by_rabbitadmin["users"])
    if rabbitmq_version in VERSION_DIFFERENCES["untyped queue"][0]:
        by_server["queues"] = _typed_by_vhost_default(by_server["queues"], json.loads(corpus_file.read_text()))
    for section in by_server:
        assert by_rabbitadmin[section] == by_server[section], f"{corpus_file.name}: {section} differ"
    replanned = cli_for(diff_node)("plan", str(corpus_file), "--detailed-exitcode")
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr


@pytest.mark.parametrize("corpus_file", FILES, ids=[path.stem for path in FILES])
def test_the_servers_export_and_rabbitadmins_validate_with_no_warning(
    corpus_file: Path, diff_node: SandboxInfo, diff_client: HttpClient, tmp_path: Path
) -> None:
    """Whatever a corpus file leaves on the node, its export (the server's ``GET /api/definitions`` and
    ``rabbitadmin export --format definitions``) is read back without one warning: nothing an export writes is a
    field or object the import ignores or skips (``definitions_input.IMPORT_READS``, ``_skipped``). (3.10.8's
    export lists vhosts by name only, which the import reads as clearing their descriptions: not a warning.)"""
    wipe(diff_client, diff_node.user)
    assert server_import(diff_node, corpus_file).status_code in (200, 201, 204)
    by_server = tmp_path / "server.json"
    by_server.write_text(json.dumps(diff_client.get(api_path("definitions")), indent=1))
    by_rabbitadmin = tmp_path / "rabbitadmin.json"
    exported = cli_for(diff_node)(
        "export",
        "--format",
        "definitions",
        "--include-password-hashes",
        "--include-uri-passwords",
        "--output-file",
        str(by_rabbitadmin),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    for path in (by_server, by_rabbitadmin):
        validated = cli_for(diff_node)("validate", str(path))
        # Offline, validate knows no plugin's policy keys: what it says of them is all a file that needs plugins
        # may get (a warning or a problem, by the version of the rule); nothing else, and no other file anything.
        said = [line for line in validated.stderr.splitlines() if str(path) in line]
        if required_plugins(corpus_file):
            said = [line for line in said if "plugin enabled" not in line]
        assert not said and (validated.returncode == 0 or required_plugins(corpus_file)), (path.name, validated.stderr)
