"""Transport faults between rabbitadmin and a REAL node, injected by a loopback proxy (tests/faults/proxy.py).

Reads are retried (bounded) and succeed when the fault passes; a fault that lasts ends with a clear message,
the documented exit code and ``{"error": ...}`` under ``-o json``. A write whose answer is lost is read back
and counted as done or not done; a failed bulk import is one line. Imports the server itself refuses are read
back the same way (no proxy): an object counts as created only when the server shows it as asked.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.http import backend as http_backend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import BatchFailed, ExitCode, RabbitAdminError
from rabbitadmin.model import Policy, Queue, TopologyObject, User
from rabbitadmin.passwords import hash_password

from ..conftest import CliRunner
from .proxy import FaultProxy


def is_get(method: str, _path: str) -> bool:
    return method == "GET"


def puts_to(kind: str) -> Any:
    return lambda method, path: method == "PUT" and path.startswith(f"/api/{kind}/")


# (fault, options, exit code when it lasts, words in the message)
READ_FAULTS = [
    ("cut", {"at": 300}, ExitCode.CONNECTION, "cut short"),
    ("cut", {"at": 20}, ExitCode.CONNECTION, "cut short"),
    ("cut", {"at": 4}, ExitCode.CONNECTION, "reset"),
    ("short_length", {}, ExitCode.ERROR, "cut short or bad"),
    ("reset_before", {}, ExitCode.CONNECTION, "reset"),
    ("reset_after", {}, ExitCode.CONNECTION, "reset"),
    ("status", {"status": 502}, ExitCode.CONNECTION, "HTTP 502"),
    ("status", {"status": 503}, ExitCode.CONNECTION, "HTTP 503"),
    ("status", {"status": 504}, ExitCode.CONNECTION, "HTTP 504"),
    ("not_json", {}, ExitCode.ERROR, "not JSON"),
]
IDS = [f"{kind}-{next(iter(options.values()), '')}" for kind, options, _, _ in READ_FAULTS]
# Lasting faults cost every retry: one gateway status stands for the three (all three pass through Retry).
LASTING = [fault for fault in READ_FAULTS if fault[0] != "status" or fault[1]["status"] == 503]
LASTING_IDS = [name for name, fault in zip(IDS, READ_FAULTS, strict=True) if fault in LASTING]


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int, words: str, *, as_json: bool) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert words in result.stderr
    if as_json:
        error = json.loads(result.stdout)["error"]
        assert error["exit_code"] == code and words in error["message"]


@pytest.mark.parametrize(("kind", "options", "code", "words"), READ_FAULTS, ids=IDS)
def test_a_passing_read_fault_is_retried(
    via_proxy: CliRunner, proxy: FaultProxy, kind: str, options: dict[str, float], code: int, words: str
) -> None:
    fault = proxy.inject(kind, count=1, match=is_get, **options)
    result = via_proxy("vhosts", "list", "-o", "json")
    if kind == "not_json":  # not the API's answer: not retried, reported (see the lasting case)
        assert_clean_error(result, code, words, as_json=True)
        return
    assert result.returncode == 0, result.stderr
    assert "/" in [row["name"] for row in json.loads(result.stdout)]
    assert fault.count == 0 and len(fault.hits) == 1


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("kind", "options", "code", "words"), LASTING, ids=LASTING_IDS)
def test_a_lasting_read_fault_is_reported(
    via_proxy: CliRunner,
    proxy: FaultProxy,
    vhost: str,
    tmp_path: Path,
    kind: str,
    options: dict[str, float],
    code: int,
    words: str,
    as_json: bool,
) -> None:
    json_args = ["-o", "json"] if as_json else []
    path = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "q"}]}]})
    # An admin listing both ways; plan in text, apply in JSON (each command pays the bounded retries).
    for command in (["vhosts", "list"], ["apply", str(path), "--yes"] if as_json else ["plan", str(path)]):
        proxy.inject(kind, count=1000, match=is_get, **options)
        result = via_proxy(*command, *json_args)
        proxy.clear()
        assert_clean_error(result, code, words, as_json=as_json)
        assert "GET /api/" in result.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_no_answer_within_the_timeout_is_exit_10(
    via_proxy: CliRunner, proxy: FaultProxy, vhost: str, tmp_path: Path, as_json: bool
) -> None:
    json_args = ["-o", "json"] if as_json else []
    path = write(tmp_path, {"vhosts": [{"name": vhost}]})
    for command in (["vhosts", "list"], ["plan", str(path)]):
        proxy.inject("stall", count=1000, match=is_get, seconds=10)
        result = via_proxy("--timeout", "1", *command, *json_args)
        proxy.clear()
        assert_clean_error(result, ExitCode.TIMEOUT, "no answer", as_json=as_json)


def test_server_unreachable_after_retries(via_proxy: CliRunner, proxy: FaultProxy) -> None:
    proxy.stop()  # the port now refuses connections
    for as_json in (False, True):
        result = via_proxy("vhosts", "list", *(["-o", "json"] if as_json else []))
        assert_clean_error(result, ExitCode.CONNECTION, "cannot connect", as_json=as_json)


# -- writes: never re-sent blindly, read back -------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "options", "done"),
    [
        ("reset_after", {}, True),  # the broker created it; only the answer was lost
        ("cut", {"at": 5}, True),
        ("reset_before", {}, False),  # never reached the broker
        ("status", {"status": 503}, False),
        ("status", {"status": 502}, False),
        ("not_json", {}, False),
        ("stall", {"seconds": 5}, False),
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_write_whose_answer_is_lost_is_read_back(
    via_proxy: CliRunner,
    proxy: FaultProxy,
    admin_client: HttpClient,
    vhost: str,
    tmp_path: Path,
    kind: str,
    options: dict[str, float],
    done: bool,
    as_json: bool,
) -> None:
    path = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "lost"}, {"name": "fine"}]}]})
    lost = lambda method, p: method == "PUT" and p.endswith("/lost")  # noqa: E731
    fault = proxy.inject(kind, count=1, match=lost, **options)
    json_args = ["-o", "json"] if as_json else []
    result = via_proxy("--timeout", "2", "apply", str(path), "--yes", *json_args)
    assert len(fault.hits) == 1 and "Traceback" not in result.stderr
    on_server = admin_client.get_or_none(api_path("queues", vhost, "lost")) is not None
    assert on_server is done
    if done:
        assert result.returncode == 0, result.stderr
        if as_json:
            assert len(json.loads(result.stdout)["result"]["done"]) == 3
    else:
        assert result.returncode == ExitCode.PARTIAL, result.stderr
        assert "read back" in result.stderr and "not done" in result.stderr
        assert "queue 'lost'" in result.stderr
        if as_json:
            error = json.loads(result.stdout)["error"]
            assert error["exit_code"] == ExitCode.PARTIAL and "not done" in error["result"]["failed"][0]["error"]
        again = via_proxy("apply", str(path), "--yes")
        assert again.returncode == 0, again.stderr
        assert admin_client.get_or_none(api_path("queues", vhost, "lost")) is not None
    assert via_proxy("plan", str(path), "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize(("kind", "done"), [("reset_after", True), ("reset_before", False)])
def test_a_delete_whose_answer_is_lost_is_read_back(
    via_proxy: CliRunner, proxy: FaultProxy, admin_client: HttpClient, vhost: str, tmp_path: Path, kind: str, done: bool
) -> None:
    path = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "stays"}, {"name": "goes"}]}]})
    assert via_proxy("apply", str(path), "--yes").returncode == 0
    path = write(tmp_path, {"vhosts": [{"name": vhost, "queues": [{"name": "stays"}]}]})
    proxy.inject(kind, count=1, match=lambda method, p: method == "DELETE")
    result = via_proxy("apply", str(path), "--yes", "--prune")
    gone = admin_client.get_or_none(api_path("queues", vhost, "goes")) is None
    assert gone is done
    assert result.returncode == (0 if done else ExitCode.PARTIAL), result.stderr
    if not done:
        assert "still there: not done" in result.stderr
        assert via_proxy("apply", str(path), "--yes", "--prune").returncode == 0


# -- the bulk import -------------------------------------------------------------------------------------
def bulk_topology(vhost: str, count: int) -> dict[str, Any]:
    return {
        "vhosts": [
            {
                "name": vhost,
                "queues": [{"name": f"q{i:04d}"} for i in range(count)],
                "bindings": [{"source": "amq.direct", "destination": f"q{i:04d}"} for i in range(count)],
            }
        ]
    }


def is_import(method: str, path: str) -> bool:
    return method == "POST" and path == "/api/definitions"


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_failed_bulk_import_is_one_line(
    via_proxy: CliRunner, proxy: FaultProxy, admin_client: HttpClient, vhost: str, tmp_path: Path, as_json: bool
) -> None:
    path = write(tmp_path, bulk_topology(vhost, 300))  # 600 creates: the definitions import
    fault = proxy.inject("status", count=1, match=is_import, status=503)
    result = via_proxy("apply", str(path), "--yes", *(["-o", "json"] if as_json else []))
    assert len(fault.hits) == 1
    assert result.returncode == ExitCode.PARTIAL, result.stderr
    failed_lines = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert len(failed_lines) == 1, result.stderr[-3000:]
    # A 503 is a lost answer (a gateway may have passed the import on): what is not there is not known to be lost.
    not_shown = "0 of them were created, 600 not shown yet (outcome unknown: the node may still carry them out)"
    assert "600 changes" in failed_lines[0] and not_shown in failed_lines[0]
    assert len(result.stderr.splitlines()) < 40
    if as_json:
        payload = json.loads(result.stdout)["error"]
        assert len(payload["result"]["failed"]) == 600 and len(payload["result"]["done"]) == 1  # the vhost
    assert admin_client.get(api_path("queues", vhost), {"columns": "name"}) == []
    again = via_proxy("apply", str(path), "--yes")
    assert again.returncode == 0, again.stderr
    assert len(admin_client.get(api_path("queues", vhost), {"columns": "name"})) == 300


def test_a_bulk_import_whose_answer_is_lost_is_read_back(
    via_proxy: CliRunner, proxy: FaultProxy, admin_client: HttpClient, vhost: str, tmp_path: Path
) -> None:
    path = write(tmp_path, bulk_topology(vhost, 300))
    fault = proxy.inject("reset_after", count=1, match=is_import)
    result = via_proxy("apply", str(path), "--yes", "-o", "json")
    assert len(fault.hits) == 1
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["result"]["done"]) == 601
    assert len(admin_client.get(api_path("queues", vhost), {"columns": "name"})) == 300


# -- a refused import read back as asked (HttpBackend._settle_batch; the same rule as the ctl backend's) ------------
def import_backend(settings: ConnectionSettings) -> HttpBackend:
    """Every create of a batch through one definitions import (no AMQP declares)."""
    return HttpBackend(settings, bulk_threshold=1, create_with=CreateWith.import_)


def test_a_refused_import_fails_a_queue_there_with_other_arguments(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    """The server imports users before policies and stops at the policy it refuses. The queue, declared by
    someone else with other arguments after the plan found it missing, is there by name but not as asked: it
    fails with the policy; the user, created before the refusal, is done."""
    admin_client.put(api_path("vhosts", vhost), {})
    admin_client.put(api_path("queues", vhost, "q"), {"durable": True, "arguments": {"x-max-length": 5}})
    user = User(name=f"refused-{secrets.token_hex(3)}", tags=(), password_hash=hash_password("x"))
    refused = Policy(vhost, "refused", ".*", {"max-length": "nope"}, 0, "queues")
    asked = Queue(vhost, "q", arguments={"x-max-length": 10})
    backend = import_backend(settings)
    created: list[TopologyObject] = []
    try:
        with pytest.raises(BatchFailed) as caught:
            backend.create([user, refused, asked], progress=created.extend)
        assert created == [user]
        assert sorted(map(repr, caught.value.failed)) == sorted(map(repr, [refused, asked]))
        message = str(caught.value)
        assert "POST /api/definitions failed with HTTP" in message, message
        words = "read back from the server: 1 of them were created, 1 were not, 1 is there with other properties"
        assert words in message, message
        assert admin_client.get(api_path("queues", vhost, "q"))["arguments"].get("x-max-length") == 5
        assert admin_client.get_or_none(api_path("policies", vhost, "refused")) is None
    finally:
        backend.close()
        admin_client.delete(api_path("users", user.name))


def test_a_refused_import_whose_objects_are_all_there_as_asked_is_done(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server refusal that leaves every object of the batch as asked: the queues were declared as asked after
    the plan found them missing, and the import body is over the server's limit (10,000,000 bytes; the chunks
    are let grow past it here, as a server configured below IMPORT_CHUNK_BYTES would refuse them): HTTP 400,
    nothing changed. The batch is done, not failed with an empty list."""
    admin_client.put(api_path("vhosts", vhost), {})
    note = "n" * 1_500_000  # 8 queues of 1.5 MB each: each declared alone, 12 MB in one import
    queues = [Queue(vhost, f"q{i}", arguments={"x-note": note}) for i in range(8)]
    for queue in queues:
        admin_client.put(api_path("queues", vhost, queue.name), {"durable": True, "arguments": queue.arguments})
    monkeypatch.setattr(http_backend, "IMPORT_CHUNK_BYTES", 100_000_000)
    backend = import_backend(settings)
    refusals: list[str] = []
    post = backend.client.post

    def recording_post(path: str, body: Any = None, **options: Any) -> Any:
        try:
            return post(path, body, **options)
        except RabbitAdminError as exc:
            refusals.append(str(exc))
            raise

    monkeypatch.setattr(backend.client, "post", recording_post)
    created: list[TopologyObject] = []
    try:
        backend.create(queues, progress=created.extend)
    finally:
        backend.close()
    assert len(refusals) == 1 and "HTTP 400: Exceeded HTTP request body size limit" in refusals[0], refusals
    assert created == queues


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_every_kind_of_write_is_read_back(
    via_proxy: CliRunner, proxy: FaultProxy, admin_client: HttpClient, vhost: str, tmp_path: Path, queue_type: str
) -> None:
    user = f"lost-{vhost[2:8]}"
    document = {
        "vhosts": [
            {
                "name": vhost,
                "default_queue_type": queue_type,
                "tags": ["t"],
                "exchanges": [{"name": "x", "type": "topic"}],
                "queues": [{"name": "q", "arguments": {"x-max-length": 5}}],
                "bindings": [{"source": "x", "destination": "q", "routing_key": "a.#"}],
            }
        ],
        "users": [{"name": user, "tags": ["management"], "password": {"env": "LOST_PASSWORD"}}],
        "permissions": [{"user": user, "vhost": vhost, "configure": "^$", "write": ".*", "read": ".*"}],
        "topic_permissions": [{"user": user, "vhost": vhost, "exchange": "x", "write": "^a", "read": ".*"}],
    }
    path = write(tmp_path, document)
    env = {"LOST_PASSWORD": "s3cret"}
    writes = lambda method, _p: method in ("PUT", "POST")  # noqa: E731
    try:
        fault = proxy.inject("reset_after", count=100, match=writes)
        result = via_proxy("apply", str(path), "--yes", "-o", "json", env=env)
        assert len(fault.hits) == 7  # every answer lost; every write read back and found done
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["result"]["done"]) == 7
        proxy.clear()
        assert via_proxy("plan", str(path), "--detailed-exitcode", env=env).returncode == 0
    finally:
        admin_client.delete(api_path("users", user))
