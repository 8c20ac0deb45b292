"""``--backend ctl`` creating exchanges, queues and bindings by declares on the node (``ctl.declare``).

The same topology declared on the node in one vhost and imported in another leaves what the management API
shows identical (typed arguments and bindings' ``properties_key`` included), and identical to what the HTTP
backend's pika declares leave; ineligible objects take the import; a refusal part-way is settled by reading
back and a rerun converges; a node without RabbitMQ's AMQP client imports and says so once; the declares stop
when the rabbitmqctl that asked is killed. ``CtlBackend.declared_over_amqp`` says which route was taken.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import BatchFailed, ExitCode, PartialApply
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Exchange, Queue
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner, ctl_backend_options, ctl_env, delete_vhost
from ..integration.test_amqp_create import (
    NESTED,
    check_refused_part_way,
    declare_transient,
    reapply_converges,
    server_view,
    text,
    topology,
)
from ..integration.test_amqp_create import apply as http_apply


def ctl_backend(box: Sandbox, info: SandboxInfo, mode: CreateWith, **options: Any) -> CtlBackend:
    return CtlBackend(**ctl_backend_options(box, info), create_with=mode, **options)  # type: ignore[arg-type]


def ctl_apply(
    box: Sandbox, info: SandboxInfo, mode: CreateWith, document: dict[str, Any], **options: Any
) -> CtlBackend:
    """Plan and apply ``document`` over rabbitmqctl; it must succeed and the next plan be empty."""
    return apply_with(ctl_backend(box, info, mode, **options), document)


def apply_with(engine: CtlBackend, document: dict[str, Any]) -> CtlBackend:
    """``ctl_apply`` with a backend already made; closes it."""
    try:
        result = execute_plan(make_plan(load_topology_text(text(document)), engine), engine)
        assert result.ok, result.failed
        assert make_plan(load_topology_text(text(document)), engine).is_empty
    finally:
        engine.close()
    return engine


def eligible_count(document: dict[str, Any]) -> int:
    return sum(len(document["vhosts"][0][k]) for k in ("exchanges", "queues", "bindings"))


@pytest.fixture
def vhosts(admin_client: HttpClient) -> Iterator[list[str]]:
    """Three fresh vhost names (awkward ones), deleted afterwards; the ctl apply creates them."""
    names = [f"ctl decl {secrets.token_hex(3)}/é{n}" for n in range(3)]
    yield names
    for name in names:
        delete_vhost(admin_client, name)


def test_declares_on_the_node_leave_what_the_import_and_pika_leave(
    sandbox: Sandbox, node: SandboxInfo, settings: ConnectionSettings, admin_client: HttpClient, vhosts: list[str]
) -> None:
    on_node, imported, by_pika = vhosts
    declared = ctl_apply(sandbox, node, CreateWith.amqp, topology(on_node))
    assert declared.declared_over_amqp == eligible_count(topology(on_node))
    assert ctl_apply(sandbox, node, CreateWith.import_, topology(imported)).declared_over_amqp == 0
    admin_client.put(api_path("vhosts", by_pika), {})
    assert http_apply(settings, CreateWith.amqp, topology(by_pika)).declared_over_amqp > 0
    view = server_view(admin_client, on_node)
    assert view == server_view(admin_client, imported) == server_view(admin_client, by_pika)
    # Not trivially equal: the typed arguments are there (properties_key hashes them with their types).
    assert any(("arguments", {"x-tag": NESTED, "neg": -5, "on": False}) in row for row in view[2])
    assert any(("type", "quorum") in row for row in view[1])


@pytest.mark.parametrize("case", ["amq. source", "float argument", "below threshold"])
def test_ineligible_objects_take_the_import(
    case: str, sandbox: Sandbox, node: SandboxInfo, admin_client: HttpClient, vhosts: list[str]
) -> None:
    name = vhosts[0]
    document = topology(name, plain_queues=10)
    objects = eligible_count(document)
    mode, options, expected = CreateWith.amqp, {}, objects
    if case == "amq. source":
        amq = {"source": "amq.topic", "destination": "plain.000", "routing_key": "#"}
        document["vhosts"][0]["bindings"].append(amq)
    elif case == "float argument":
        document["vhosts"][0]["queues"][1]["arguments"]["x-weight"] = 0.5  # and the binding to it follows
        weighted = {"source": "direct.d", "destination": "plain.001", "arguments": {"w": 1.5}}
        document["vhosts"][0]["bindings"].append(weighted)
        expected -= 2
    else:
        mode, options["amqp_threshold"], expected = CreateWith.auto, objects + 1, 0
    assert ctl_apply(sandbox, node, mode, document, **options).declared_over_amqp == expected
    names = {q["name"] for q in admin_client.get(api_path("queues", name), {"columns": "name"})}
    assert {q["name"] for q in document["vhosts"][0]["queues"]} <= names


def test_auto_declares_at_the_threshold(sandbox: Sandbox, node: SandboxInfo, vhosts: list[str]) -> None:
    document = topology(vhosts[0], plain_queues=10)
    objects = eligible_count(document)
    assert ctl_apply(sandbox, node, CreateWith.auto, document, amqp_threshold=objects).declared_over_amqp == objects


def test_a_refused_declare_is_settled_and_a_rerun_converges(
    sandbox: Sandbox, node: SandboxInfo, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    document = topology(vhost, plain_queues=60)
    engine = ctl_backend(sandbox, node, CreateWith.amqp)
    plan = make_plan(load_topology_text(text(document)), engine)
    # Between plan and apply another client declares a planned queue as transient: the durable declare is
    # refused with PRECONDITION_FAILED (the import would leave that queue as it is and succeed).
    declare_transient(settings, vhost, "plain.030")
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, engine)
    engine.close()
    check_refused_part_way(caught.value, plan, engine.declared_over_amqp, admin_client, vhost, "plain.030")
    assert "1 refused" in caught.value.result.failed[0][1]
    reapply_converges(ctl_backend(sandbox, node, CreateWith.amqp), document)


def test_a_node_without_the_amqp_client_imports_and_says_so(
    bare_sandbox: Sandbox, bare_node: SandboxInfo, bare_backend: CtlBackend
) -> None:
    """The node without management has no ``amqp_client`` loaded: nothing is declared, the import does it
    all, and the notice says why, once."""
    name = f"bare decl {secrets.token_hex(3)}"
    notices: list[str] = []
    document = topology(name, plain_queues=10)
    try:
        engine = ctl_apply(bare_sandbox, bare_node, CreateWith.amqp, document, on_notice=notices.append)
        assert engine.declared_over_amqp == 0
        assert len(notices) == 1 and "amqp_client" in notices[0], notices
        assert "not AMQP declares" in notices[0]
    finally:
        bare_backend.ctl.run(["delete_vhost", name])


def test_the_declares_stop_when_the_rabbitmqctl_that_asked_is_killed(
    sandbox: Sandbox, node: SandboxInfo, admin_client: HttpClient, vhost: str
) -> None:
    """The node watches the rabbitmqctl that sent the declares (its group leader): killed part-way (here as
    at a timeout), no declare follows, and the batch is settled by reading back."""
    admin_client.put(api_path("vhosts", vhost), {})
    total = 6000
    queues = [Queue(vhost, f"q.{n:05d}") for n in range(total)]
    engine = ctl_backend(sandbox, node, CreateWith.amqp)
    outcome: dict[str, BaseException] = {}

    def create() -> None:
        try:
            engine.create(queues)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    def count() -> int:
        return len(admin_client.get(api_path("queues", vhost), {"columns": "name", "disable_stats": "true"}))

    worker = threading.Thread(target=create)
    worker.start()
    deadline = time.monotonic() + 120
    while count() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    engine.ctl.stop_running()
    worker.join(300)
    assert not worker.is_alive()
    engine.close()
    first = count()
    time.sleep(2)
    assert count() == first < total  # stopped part-way, and nothing more came
    failure = outcome.get("error")
    assert isinstance(failure, BatchFailed), failure
    assert "read back from the server" in str(failure)
    assert len(failure.failed) == total - first


def test_cli_create_with_reaches_the_ctl_backend(node: SandboxInfo, admin_client: HttpClient, tmp_path: Path) -> None:
    """``rabbitadmin --backend ctl apply --create-with``, through the real command: in a vhost whose
    ``max-connections`` is 0 the node refuses the direct connection, so ``amqp`` says once (stderr) that it
    imports instead, and still applies; ``import`` never tries. Either way the next plan is empty."""
    run = CliRunner(ctl_env(node), clean_prefixes=("RABBITADMIN_",))
    names = {mode: f"ctl cli {secrets.token_hex(3)}" for mode in ("amqp", "import")}
    try:
        for mode, name in names.items():
            admin_client.put(api_path("vhosts", name), {})
            admin_client.put(api_path("vhost-limits", name, "max-connections"), {"value": 0})
            file = tmp_path / f"{mode}.yaml"
            file.write_text(text(topology(name, plain_queues=100)), encoding="utf-8")
            applied = run("--backend", "ctl", "apply", "-y", "--no-lock", "--create-with", mode, str(file))
            output = applied.stdout + applied.stderr
            assert applied.returncode == 0, output
            notices = [line for line in applied.stderr.splitlines() if "not AMQP declares" in line]
            assert len(notices) == (1 if mode == "amqp" else 0), output
            if notices:
                assert "direct connection" in notices[0] and name in notices[0]
            planned = run("--backend", "ctl", "plan", "--detailed-exitcode", str(file))
            assert planned.returncode == 0, planned.stdout + planned.stderr
    finally:
        for name in names.values():
            delete_vhost(admin_client, name)


def test_declares_the_node_cannot_read_go_to_the_import(
    sandbox: Sandbox, node: SandboxInfo, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node reads the declares' file through rabbitmqctl; a file it cannot read (here: gone) sends
    nothing, and the import creates everything, saying why once."""
    import contextlib

    from rabbitadmin.backends.ctl import backend as ctl_backend_module

    @contextlib.contextmanager
    def vanished(_content: str) -> Iterator[str]:
        yield "/nonexistent/rabbitadmin-declares.json"

    monkeypatch.setattr(ctl_backend_module, "private_file", vanished)
    notices: list[str] = []
    engine = ctl_apply(sandbox, node, CreateWith.amqp, topology(vhost, plain_queues=10), on_notice=notices.append)
    assert engine.declared_over_amqp == 0
    assert len(notices) == 1 and "could not read the declares" in notices[0] and "enoent" in notices[0], notices


def test_a_refusal_that_closes_the_connection_is_a_refusal(
    sandbox: Sandbox, node: SandboxInfo, admin_client: HttpClient, vhost: str
) -> None:
    """An exchange type the node does not know: 3.10 answers with a connection-level error (COMMAND_INVALID,
    503, closing the direct connection), 4.0 with a channel error (406). Either way it is the server's
    refusal, with its code (exit 1, not a network fault); what was declared before it is done. On 3.10 the
    other declare may have been in flight too and got the same answer: then which one was refused is not
    told, and the read-back finds the one that was carried out."""
    admin_client.put(api_path("vhosts", vhost), {})
    objects = [Exchange(vhost, "known", "direct"), Exchange(vhost, "unknown", "x-no-such-type")]
    engine = ctl_backend(sandbox, node, CreateWith.amqp)
    done: list[object] = []
    try:
        with pytest.raises(BatchFailed) as caught:
            engine.create(objects, progress=done.extend)
    finally:
        engine.close()
    message = str(caught.value)
    assert caught.value.failed == [objects[1]] and caught.value.exit_code == ExitCode.ERROR, message
    one_in_flight, both_in_flight = "1 refused, 0 sent without an answer", "0 refused, 1 in flight when the server"
    assert one_in_flight in message or both_in_flight in message, message
    assert ("503" in message or "406" in message) and "x-no-such-type" in message
    assert objects[0] in done
