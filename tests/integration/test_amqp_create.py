"""Creating exchanges, queues and bindings by pipelined AMQP declares (``--create-with``) on a real node.

The same topology applied by AMQP declares in one vhost and by the definitions import in another leaves
what the management API shows identical (arguments of every eligible type, bindings' ``properties_key``,
which hashes the arguments with their AMQP types); each ineligible case takes the import and still applies;
a declare the server refuses part-way is reported as done / failed / not attempted like a failed import,
and a second apply converges. ``HttpBackend.declared_over_amqp`` says which route was taken.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.http.amqp_declare import CONNECTION_NAME, declare_pipelined
from rabbitadmin.backends.http.amqp_probe import connection_parameters
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Plan
from rabbitadmin.errors import ApplyInterrupted, ExitCode, PartialApply
from rabbitadmin.kinds import is_server_owned_exchange
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Queue, Secret
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner

# Arguments of every eligible kind: int (small and beyond 32 bits, negative), str, bool, list, nested table
# with keys out of order (the server keeps a nested table's order in the binding's properties_key).
NESTED: dict[str, Any] = {"zeta": 1, "alpha": ["b", 2, True, {"y": "1", "x": -2}], "mid": {"k2": 2**40, "k1": "v"}}


def topology(vhost: str, plain_queues: int = 40) -> dict[str, Any]:
    exchanges = [
        {"name": "direct.d", "type": "direct"},
        {"name": "topic.transient", "type": "topic", "durable": False},
        {"name": "fanout.ad", "type": "fanout", "auto_delete": True},
        {"name": "headers.internal", "type": "headers", "internal": True},
        {"name": "with.ae", "type": "topic", "arguments": {"alternate-exchange": "direct.d", "x-tag": NESTED}},
    ]
    queues: list[dict[str, Any]] = [
        {"name": "classic.args", "arguments": {"x-max-length": 100, "x-message-ttl": 60000, "x-max-priority": 5,
                                               "x-overflow": "reject-publish", "x-dead-letter-exchange": "direct.d"}},
        {"name": "classic.sac", "arguments": {"x-single-active-consumer": True, "x-custom": NESTED}},
        {"name": "classic.transient", "durable": False},
        {"name": "classic.autodelete", "auto_delete": True},
        {"name": "quorum.q", "type": "quorum", "arguments": {"x-delivery-limit": 3, "x-max-length-bytes": 2**33}},
    ]  # fmt: skip
    queues += [{"name": f"plain.{n:03d}"} for n in range(plain_queues)]
    bindings = [
        {"source": "direct.d", "destination": "classic.args", "routing_key": "a"},
        {"source": "topic.transient", "destination": "quorum.q", "routing_key": "q.#", "arguments": {"n": 7}},
        {"source": "with.ae", "destination": "classic.sac", "arguments": {"x-tag": NESTED, "neg": -5, "on": False}},
        {"source": "fanout.ad", "destination": "headers.internal", "destination_type": "exchange"},
        {"source": "direct.d", "destination": "with.ae", "destination_type": "exchange", "routing_key": "e2e",
         "arguments": {"z": "last", "a": 1}},
        {"source": "headers.internal", "destination": "classic.transient",
         "arguments": {"x-match": "all", "level": "error", "code": 500}},
    ]  # fmt: skip
    bindings += [
        {"source": "direct.d", "destination": f"plain.{n:03d}", "routing_key": f"k{n}"} for n in range(plain_queues)
    ]
    return {"vhosts": [{"name": vhost, "exchanges": exchanges, "queues": queues, "bindings": bindings}]}


def text(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def backend(settings: ConnectionSettings, mode: CreateWith, **options: Any) -> HttpBackend:
    # bulk_threshold=1: every create goes through create()'s bulk path, where the route is chosen.
    return HttpBackend(replace(settings, timeout=60), bulk_threshold=1, create_with=mode, **options)


def server_view(client: HttpClient, vhost: str) -> tuple[Any, ...]:
    """Exchanges, queues and bindings as the management API shows them (not the server's own exchanges)."""
    columns = {"columns": "name,type,durable,auto_delete,internal,arguments"}
    exchanges = [
        e for e in client.get(api_path("exchanges", vhost), columns) if not is_server_owned_exchange(e["name"])
    ]
    queues = client.get(
        api_path("queues", vhost), {"columns": "name,type,durable,auto_delete,arguments", "disable_stats": "true"}
    )
    bindings = [
        b for b in client.get(api_path("bindings", vhost))
        if b["source"]  # the default exchange's implicit bindings
    ]  # fmt: skip
    for row in bindings:
        row.pop("vhost", None)
    key = lambda row: sorted(row.items(), key=str)  # noqa: E731
    return tuple(sorted((key(r) for r in rows), key=str) for rows in (exchanges, queues, bindings))


@pytest.fixture
def other_vhost(admin_client: HttpClient) -> Iterator[str]:
    """A second fresh vhost (the management API gives its creator full permissions on it)."""
    name = f"amqp {secrets.token_hex(3)}/é"
    admin_client.put(api_path("vhosts", name), {})
    yield name
    admin_client.delete(api_path("vhosts", name))


def apply(settings: ConnectionSettings, mode: CreateWith, document: dict[str, Any], **options: Any) -> HttpBackend:
    """Plan and apply ``document``; the backend (closed) tells the route; the apply must succeed."""
    engine = backend(settings, mode, **options)
    try:
        result = execute_plan(make_plan(load_topology_text(text(document)), engine), engine)
        assert result.ok
        assert make_plan(load_topology_text(text(document)), engine).is_empty
    finally:
        engine.close()
    return engine


def test_amqp_and_import_leave_the_same_state(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str, other_vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    by_amqp = apply(settings, CreateWith.amqp, topology(vhost))
    by_import = apply(settings, CreateWith.import_, topology(other_vhost))
    document = topology(vhost)["vhosts"][0]
    assert by_amqp.declared_over_amqp == sum(len(document[k]) for k in ("exchanges", "queues", "bindings"))
    assert by_import.declared_over_amqp == 0
    amqp_view, import_view = server_view(admin_client, vhost), server_view(admin_client, other_vhost)
    assert amqp_view == import_view
    # The view is not trivially equal: the typed arguments are there (properties_key hashes them).
    assert any(("arguments", {"x-tag": NESTED, "neg": -5, "on": False}) in row for row in amqp_view[2])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_narrow_user(client: HttpClient, vhost: str) -> tuple[str, str]:
    user, password = f"narrow-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    client.put(api_path("users", user), {"password": password, "tags": "administrator"})
    # Every name of the topology matches, but the regexes are not '.*': never guessed, so the import.
    client.put(
        api_path("permissions", vhost, user),
        {"configure": "^(direct|topic|fanout|headers|with|classic|quorum|plain)\\..*", "write": ".*", "read": ".*"},
    )
    return user, password


@pytest.mark.parametrize(
    "case", ["narrow permissions", "amq. source", "float argument", "closed AMQP port", "below threshold"]
)
def test_ineligible_takes_the_import_and_applies(
    case: str, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    document = topology(vhost, plain_queues=10)
    objects = sum(len(document["vhosts"][0][k]) for k in ("exchanges", "queues", "bindings"))
    mode, options, expected, notices = CreateWith.amqp, {}, 0, []
    user = None
    if case == "narrow permissions":
        user, password = add_narrow_user(admin_client, vhost)
        settings = replace(settings, user=user, password=Secret(password))
    elif case == "amq. source":
        document["vhosts"][0]["bindings"].append(
            {"source": "amq.topic", "destination": "plain.000", "routing_key": "#"}
        )
        expected = objects  # only that binding goes by import
    elif case == "float argument":
        document["vhosts"][0]["queues"][1]["arguments"]["x-weight"] = 0.5  # and the binding to it follows
        document["vhosts"][0]["bindings"].append(
            {"source": "direct.d", "destination": "plain.001", "arguments": {"w": 1.5}}
        )
        expected = objects - 2
    elif case == "closed AMQP port":
        settings = replace(settings, amqp_port=closed_port())
        options["on_notice"] = notices.append
    else:
        mode, options["amqp_threshold"] = CreateWith.auto, objects + 1
    try:
        engine = apply(settings, mode, document, **options)
    finally:
        if user is not None:
            admin_client.delete(api_path("users", user))
    assert engine.declared_over_amqp == expected
    if case == "closed AMQP port":
        assert len(notices) == 1 and "AMQP port" in notices[0] and settings.password.reveal() not in notices[0]


def test_auto_uses_amqp_at_the_threshold(settings: ConnectionSettings, admin_client: HttpClient, vhost: str) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    document = topology(vhost, plain_queues=10)
    objects = sum(len(document["vhosts"][0][k]) for k in ("exchanges", "queues", "bindings"))
    assert apply(settings, CreateWith.auto, document, amqp_threshold=objects).declared_over_amqp == objects


def planned_by_amqp(
    settings: ConnectionSettings, client: HttpClient, vhost: str, plain_queues: int
) -> tuple[dict[str, Any], HttpBackend, Plan]:
    """``vhost`` created, and a plan of ``topology(vhost, plain_queues)`` made with an AMQP-mode backend."""
    client.put(api_path("vhosts", vhost), {})
    document = topology(vhost, plain_queues=plain_queues)
    engine = backend(settings, CreateWith.amqp)
    return document, engine, make_plan(load_topology_text(text(document)), engine)


def declare_transient(settings: ConnectionSettings, vhost: str, queue: str) -> None:
    """Another client declares ``queue`` as transient (a planned durable declare of it is then refused)."""
    credentials = pika.PlainCredentials(settings.user, settings.password.reveal() if settings.password else "")
    with pika.BlockingConnection(pika.ConnectionParameters(settings.host, settings.amqp_port, vhost, credentials)) as c:
        c.channel().queue_declare(queue, durable=False)


def check_refused_part_way(
    caught: PartialApply, plan: Plan, declared: int, client: HttpClient, vhost: str, queue: str
) -> None:
    """The apply of ``plan`` stopped on the refused declare of ``queue``: exit 5 as for a failed import
    batch, that queue the one failure (the server's reason named), every object answered done (``declared``
    of them) and shown, the bindings phase never started, every change accounted for."""
    result = caught.result
    assert caught.exit_code == ExitCode.PARTIAL
    errors = {change.key: error for change, error in result.failed}
    assert list(errors) == [(vhost, queue)]
    assert "PRECONDITION_FAILED" in errors[(vhost, queue)]
    assert result.done and declared == len(result.done)
    assert all(change.kind != "binding" for change in result.done)
    shown = {q["name"] for q in client.get(api_path("queues", vhost), {"columns": "name"})}
    assert {change.key[1] for change in result.done if change.kind == "queue"} <= shown
    assert any(change.kind == "binding" for change in result.not_attempted)
    assert len(result.done) + len(result.failed) + len(result.not_attempted) == len(plan.changes)


def reapply_converges(engine: Any, document: dict[str, Any]) -> None:
    """A second apply (the data-loss flag: the empty transient queue is replaced) leaves nothing to do."""
    try:
        execute_plan(make_plan(load_topology_text(text(document)), engine), engine, allow_data_loss=True)
        assert make_plan(load_topology_text(text(document)), engine).is_empty
    finally:
        engine.close()


def test_a_refused_declare_part_way_is_settled_and_a_rerun_converges(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    document, engine, plan = planned_by_amqp(settings, admin_client, vhost, plain_queues=60)
    # Between plan and apply another client declares a planned queue as transient: the durable declare is
    # refused with PRECONDITION_FAILED. (The definitions import would not fail here: it leaves an existing
    # queue as it is and answers 204, measured on 3.10.8; the next plan then shows the difference.)
    declare_transient(settings, vhost, "plain.030")
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, engine)
    engine.close()
    check_refused_part_way(caught.value, plan, engine.declared_over_amqp, admin_client, vhost, "plain.030")
    reapply_converges(backend(settings, CreateWith.amqp), document)


def test_stop_sends_no_new_declare_and_reports_the_rest_not_attempted(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    _document, engine, plan = planned_by_amqp(settings, admin_client, vhost, plain_queues=150)
    stop = threading.Event()
    seen: list[int] = []

    def progress(count: int, _what: str) -> None:
        seen.append(count)
        if len(seen) == 20:  # as Ctrl-C would, from the apply's own thread here
            stop.set()

    with pytest.raises(ApplyInterrupted) as caught:
        execute_plan(plan, engine, progress=progress, interrupt=stop)
    engine.close()
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    # The declares in flight when it stopped (at most one per channel) answered and count as done.
    assert 20 <= len(result.done) <= 20 + 32 and not result.failed
    assert len(result.done) == engine.declared_over_amqp
    assert len(result.done) + len(result.not_attempted) == len(plan.changes)
    shown = {q["name"] for q in admin_client.get(api_path("queues", vhost), {"columns": "name"})}
    done_queues = {change.key[1] for change in result.done if change.kind == "queue"}
    assert done_queues <= shown
    assert not {change.key[1] for change in result.not_attempted if change.kind == "queue"} & shown


def test_cli_create_with(rabbitadmin: CliRunner, admin_client: HttpClient, node: SandboxInfo, tmp_path: Path) -> None:
    """``apply --create-with``: amqp applies a batch above the engine's bulk size (200) and the plan is then
    empty; with the AMQP port closed it says so once on stderr (no password) and imports; a bad value is
    a usage error (exit 2)."""
    names = [f"cli {secrets.token_hex(3)}" for _ in range(2)]
    try:
        for name, port in zip(names, (None, closed_port()), strict=True):
            admin_client.put(api_path("vhosts", name), {})
            file = tmp_path / f"{name}.yaml"
            file.write_text(text(topology(name, plain_queues=100)), encoding="utf-8")
            env = {} if port is None else {"RABBITADMIN_AMQP_PORT": str(port)}
            applied = rabbitadmin("apply", "-y", "--no-lock", "--create-with", "amqp", str(file), env=env)
            assert applied.returncode == 0, applied.stderr
            notices = [line for line in applied.stderr.splitlines() if "not AMQP declares" in line]
            assert len(notices) == (0 if port is None else 1)
            assert node.password() not in applied.stderr + applied.stdout
            planned = rabbitadmin("plan", "--detailed-exitcode", str(file))
            assert planned.returncode == 0, planned.stdout + planned.stderr
        bad = rabbitadmin("apply", "-y", "--create-with", "sometimes", str(file))
        assert bad.returncode == 2 and "sometimes" in bad.stderr
    finally:
        for name in names:
            admin_client.delete(api_path("vhosts", name))


def test_a_vhost_the_same_apply_creates_is_eligible(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    """Without the apply lock the new vhost is in the bulk batch: it is created first, and the management
    API gives its creator full permissions there, which the rules then read."""
    document = topology(vhost, plain_queues=10)
    objects = sum(len(document["vhosts"][0][k]) for k in ("exchanges", "queues", "bindings"))
    assert apply(settings, CreateWith.amqp, document).declared_over_amqp == objects


def test_fleet_apply_passes_create_with_to_each_target(
    node: SandboxInfo, admin_client: HttpClient, tmp_path: Path
) -> None:
    """Two targets (the session node, one with a closed AMQP port): ``--create-with amqp`` reaches both
    backends; the one that cannot connect says so once and imports (216 objects: ``auto`` would not even try)."""
    names = {"open": f"fleet-amqp-{secrets.token_hex(3)}", "closed": f"fleet-amqp-{secrets.token_hex(3)}"}
    ports = {"open": node.amqp_port, "closed": closed_port()}
    config = "".join(
        f'[targets.{t}]\nurl = "{node.url}"\nuser = "{node.user}"\npassword_env = "FLEET_PW"\n'
        f'amqp_port = {ports[t]}\n[targets.{t}.vars]\nvhost = "{names[t]}"\n\n'
        for t in names
    )
    (tmp_path / "targets.toml").write_text(config, encoding="utf-8")
    document = topology("VHOST", plain_queues=100)
    (tmp_path / "t.yaml").write_text(text(document).replace("VHOST", "${vhost}"), encoding="utf-8")
    run = CliRunner({"RABBITADMIN_CONFIG": str(tmp_path / "targets.toml"), "FLEET_PW": node.password()})
    try:
        for name in names.values():
            admin_client.put(api_path("vhosts", name), {})
        targets = ["--target", "open", "--target", "closed"]
        applied = run("apply", str(tmp_path / "t.yaml"), *targets, "--yes", "--no-lock", "--create-with", "amqp")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert applied.stderr.count("not AMQP declares") == 1
        assert node.password() not in applied.stdout + applied.stderr
        again = run("plan", str(tmp_path / "t.yaml"), *targets, "--detailed-exitcode")
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        for name in names.values():
            admin_client.delete(api_path("vhosts", name))


def test_a_callback_that_raises_stops_the_run_and_closes_the_connection(
    settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    """A callback that raises (here the progress report) stops the run and leaves no connection open."""
    admin_client.put(api_path("vhosts", vhost), {})
    queues = [Queue(vhost, f"q{n}") for n in range(50)]

    def boom(_obj: object) -> None:
        raise RuntimeError("progress failed")

    # pika catches what a callback raises and ends the connection with it: the run stops, it does not hang.
    outcome = declare_pipelined(
        connection_parameters(settings, vhost), queues, channels=4, timeout=30, on_declared=boom
    )
    assert not outcome.complete and "progress failed" in str(outcome.error), outcome

    def ours() -> list[Any]:
        rows = admin_client.get(api_path("connections"), {"columns": "client_properties"})
        return [r for r in rows if (r.get("client_properties") or {}).get("connection_name") == CONNECTION_NAME]

    deadline = time.monotonic() + 60  # the connections listing comes from statistics (every few seconds)
    while ours() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not ours()
