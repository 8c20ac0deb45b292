"""The ctl backend's declares on the node, without a node: the JSON the expression is given, and the outcome
read from what it prints (``backends/ctl/declare.py``)."""

from __future__ import annotations

import json

import pytest

from rabbitadmin.backends.amqp_eligibility import Declarable
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl.declare import declare_item, declare_specs, read_import, read_run
from rabbitadmin.backends.declares import DeclareOutcome, settle_declares
from rabbitadmin.errors import BatchFailed, DeclaresUnavailable, ExitCode
from rabbitadmin.model import Binding, Exchange, Queue, Topology, User


def printed(results: object, imported: str | None = None) -> str:
    """What rabbitmqctl eval shows: the expression's JSON line, then its value ``done``."""
    return json.dumps({"import": imported, "declares": results}) + "\ndone\n"


def objects() -> list[Declarable]:
    return [
        Queue("b", "q1", type="quorum", arguments={"x-delivery-limit": 3}),
        Exchange("a", "x1", "topic", durable=False, internal=True, arguments={"alternate-exchange": "x2"}),
        Binding("a", "x1", "queue", "q0", "k.#", {"n": 1}),
        Queue("a", "q0", durable=False, auto_delete=True),
        Binding("a", "x1", "exchange", "x2", "", {}),
        Exchange("a", "x2", "fanout"),
    ]


def test_items_carry_the_methods_fields_in_order() -> None:
    quorum, exchange, to_queue, classic, to_exchange, _ = objects()
    assert declare_item(quorum) == ["queue", "q1", True, False, {"x-delivery-limit": 3, "x-queue-type": "quorum"}]
    assert declare_item(exchange) == ["exchange", "x1", "topic", False, False, True, {"alternate-exchange": "x2"}]
    assert declare_item(to_queue) == ["queue_binding", "q0", "x1", "k.#", {"n": 1}]
    assert declare_item(to_exchange) == ["exchange_binding", "x2", "x1", "", {}]
    assert declare_item(classic)[:4] == ["queue", "q0", False, True]
    with pytest.raises(TypeError):
        declare_item(User("u"))  # type: ignore[arg-type]


def test_specs_group_by_vhost_and_phase_and_deal_slices_round_robin() -> None:
    given = objects()
    specs = declare_specs(given, channels=2)
    assert [spec["vhost"] for spec in specs] == ["b", "a"]  # first seen first
    phases_a = specs[1]["phases"]
    # Exchanges (2 over 2 channels), then the queue (1 slice), then bindings (2 over 2 channels).
    assert [[[item[0] for item in piece] for piece in phase] for phase in phases_a] == [[[1], [5]], [[3]], [[2], [4]]]
    for spec in specs:
        for phase in spec["phases"]:
            for piece in phase:
                for index, *item in piece:
                    assert item == declare_item(given[index])
    many = [Queue("a", f"q{n}") for n in range(7)]
    slices = declare_specs(many, channels=3)[0]["phases"][0]
    assert [[item[0] for item in piece] for piece in slices] == [[0, 3, 6], [1, 4], [2, 5]]
    json.dumps(specs)  # the expression's payload is JSON


def test_the_outcome_read_back_from_the_output() -> None:
    given = objects()
    output = printed([
        {"declared": [0], "failed": []},
        {"declared": [1, 5],
         "failed": [[3, 406, "PRECONDITION_FAILED - inequivalent arg 'durable'"], [2, 0, "timeout"]]},
    ])  # fmt: skip
    run = read_run(output, given)
    outcome = run.outcome
    assert outcome.declared == [given[0], given[1], given[5]]
    assert outcome.refused == [(given[3], "406 PRECONDITION_FAILED - inequivalent arg 'durable'")]
    assert outcome.unanswered == [given[2]]
    assert outcome.error is not None and "PRECONDITION_FAILED" in outcome.error
    assert not run.not_connected and not run.connect_errors


def test_a_channel_that_did_not_open_is_an_error_with_nothing_attributed() -> None:
    given = [Queue("a", "q0"), Queue("a", "q1")]
    run = read_run(printed([{"declared": [0], "failed": [[None, 0, "{error,closing}"]]}]), given)
    assert run.outcome.error is not None and "closing" in run.outcome.error
    assert run.outcome.declared == [given[0]] and not run.outcome.refused and not run.outcome.unanswered


def test_a_vhost_that_would_not_connect_goes_to_the_import() -> None:
    given = objects()
    output = printed([{"connect_error": "{error,not_allowed}"}, {"declared": [1, 5, 3, 2, 4], "failed": []}])
    run = read_run(output, given)
    assert run.not_connected == [given[0]]
    assert run.connect_errors == ["vhost 'b': {error,not_allowed}"]
    assert run.outcome.error is None and len(run.outcome.declared) == 5


@pytest.mark.parametrize(
    "output",
    [
        "{missing_functions,[{amqp_connection,start,2}]}\n",
        printed("the amqp_client application is not running on the node"),
    ],
)
def test_a_node_that_cannot_declare_says_so(output: str) -> None:
    with pytest.raises(DeclaresUnavailable) as caught:
        read_run(output, objects())
    assert "amqp_connection" in str(caught.value) or "amqp_client" in str(caught.value)


@pytest.mark.parametrize(
    "output",
    [
        printed([{"declared": [], "failed": []}]),
        "{badrpc,nodedown}\n",
        "",
        json.dumps([{"declared": [], "failed": []}, {"declared": [], "failed": []}]) + "\ndone\n",  # no import key
        printed(None, "{error,refused}"),  # the import refused: nothing declared, nothing to read as declares
        printed(["x", "y"]),  # valid JSON, not the shape: no TypeError escapes
        printed([{"declared": [0], "failed": []}, {"declared": [99], "failed": []}]),  # no object 99
        printed([{"declared": [0], "failed": []}, {"declared": [0], "failed": []}]),  # 0 is vhost b's, not a's
        printed([{"declared": [0], "failed": []}, {"declared": [], "failed": [[1, 406]]}]),  # a failure cut short
        printed([{"declared": [0], "failed": []}, {"failed": []}]),
    ],
)
def test_output_that_is_not_the_expressions_is_an_error(output: str) -> None:
    with pytest.raises(ValueError):
        read_run(output, objects())  # two vhosts expected


def test_the_expression_binds_its_funs_before_the_payload() -> None:
    """A fun made after ``Specs`` would carry the whole payload into every worker process it is spawned in."""
    expression = ctl_eval.expression("declare", declare_specs(objects()))
    assert expression.index("Work = fun") < expression.index("Specs = rabbit_json:decode")
    assert expression.index("InVHost = fun") < expression.index("Specs = rabbit_json:decode")
    assert "{missing_functions, Missing}" in expression and "amqp_connection, start, 2" in expression


def test_a_refusal_naming_the_missing_marker_is_still_a_refusal() -> None:
    """Only the expression's value says the functions are missing; a queue's name in a refusal may be
    anything, and must not turn a refused declare into an import (which would leave that queue as it is)."""
    given = [Queue("a", "{missing_functions")]
    reason = "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '{missing_functions' in vhost 'a'"
    run = read_run(printed([{"declared": [], "failed": [[0, 406, reason]]}]), given)
    assert run.outcome.refused == [(given[0], f"406 {reason}")]


def test_a_run_that_stopped_with_nothing_refused_is_the_applys_cause() -> None:
    """A channel that did not open names no object: the batch's failure still reaches the apply's report,
    as its cause, with exit 5, and the objects never sent are not attempted."""
    from rabbitadmin.backends.declares import DeclareOutcome, settle_declares
    from rabbitadmin.backends.memory import MemoryBackend
    from rabbitadmin.engine import execute_plan, make_plan
    from rabbitadmin.errors import BatchFailed, ExitCode, PartialApply
    from rabbitadmin.loader import load_topology_text

    queues = [Queue("/", f"q{n}") for n in range(3)]
    outcome = DeclareOutcome(declared=[queues[0]], connected=True, error="no answer: {error,closing}")
    with pytest.raises(BatchFailed) as caught:
        settle_declares(queues, outcome, lambda _vhosts: pytest.fail("nothing to read back"), lambda _done: None)
    assert caught.value.failed == [] and caught.value.exit_code == ExitCode.PARTIAL
    assert "1 of them were created, the rest were not attempted" in str(caught.value)

    class ChannelLost(MemoryBackend):
        def create(self, objects, progress=None, stop=None):  # type: ignore[no-untyped-def]
            raise caught.value

    backend = ChannelLost(user="admin", bulk_threshold=1)
    plan = make_plan(load_topology_text("vhosts:\n  - name: v\n    queues: [{name: a}, {name: b}]\n"), backend)
    with pytest.raises(PartialApply) as stopped:
        execute_plan(plan, backend)
    assert stopped.value.exit_code == ExitCode.PARTIAL
    assert "stopped: the AMQP declares" in str(stopped.value) and "{error,closing}" in str(stopped.value)
    assert not stopped.value.result.failed and stopped.value.result.not_attempted


def test_the_import_before_the_declares_is_read_apart_from_them() -> None:
    both = [{"declared": [0], "failed": []}, {"declared": [1, 2, 3, 4, 5], "failed": []}]
    assert read_import(printed(both)) is None  # none asked
    assert read_import(printed(both, "imported")) == "imported"
    assert len(read_run(printed(both, "imported"), objects()).outcome.declared) == 6
    refused = printed(None, '{error,{no_such_vhost,<<"v">>}}')
    assert read_import(refused) == '{error,{no_such_vhost,<<"v">>}}'
    # Imported, then the node said it cannot declare: the import stands, the declares go to the import.
    unavailable = printed("the amqp_client application is not running on the node", "imported")
    assert read_import(unavailable) == "imported"
    with pytest.raises(DeclaresUnavailable):
        read_run(unavailable, objects())
    # A node lacking a function: nothing ran at all, the import neither.
    missing = "{missing_functions,[{rabbit_definitions,import_parsed,1}]}\n"
    assert read_import(missing) is None
    with pytest.raises(ValueError):
        read_import("{badrpc,nodedown}\n")


def test_a_connection_closed_on_several_declares_in_flight_blames_none_of_them() -> None:
    """3.10 closes the whole direct connection for a hard error and every call in flight gets the same exit:
    which object was refused is not told, so all are unknown (the read-back decides), and the run failed on a
    refusal, not on the network."""
    given = [Exchange("a", f"x{i}", "direct") for i in range(4)]
    reason = "COMMAND_INVALID - unknown exchange type 'x-no-such-type'"
    failed = [[1, 503, reason, "connection"], [2, 503, reason, "connection"], [3, 503, reason, "connection"]]
    outcome = read_run(printed([{"declared": [0], "failed": failed}]), given).outcome
    assert outcome.declared == [given[0]] and not outcome.refused and outcome.unanswered == given[1:]
    assert outcome.closed_by_server and outcome.error is not None and "closed the connection" in outcome.error
    assert "503" in outcome.error and "x-no-such-type" in outcome.error


def test_a_connection_closed_on_a_single_declare_in_flight_is_that_declares_refusal() -> None:
    given = [Exchange("a", "x0", "direct"), Exchange("a", "x1", "x-no-such-type")]
    reason = "COMMAND_INVALID - unknown exchange type 'x-no-such-type'"
    outcome = read_run(printed([{"declared": [0], "failed": [[1, 503, reason, "connection"]]}]), given).outcome
    assert outcome.refused == [(given[1], f"503 {reason}")] and not outcome.unanswered
    assert not outcome.closed_by_server


@pytest.mark.parametrize(("closed_by_server", "expected"), [(True, ExitCode.ERROR), (False, ExitCode.CONNECTION)])
def test_unanswered_declares_are_a_network_fault_unless_the_server_closed_for_a_refusal(
    closed_by_server: bool, expected: ExitCode
) -> None:
    given = [Exchange("a", "x0", "direct"), Exchange("a", "x1", "direct")]
    outcome = DeclareOutcome(
        declared=[given[0]], unanswered=[given[1]], connected=True, error="cut", closed_by_server=closed_by_server
    )
    with pytest.raises(BatchFailed) as caught:
        settle_declares(given, outcome, lambda _vhosts: Topology(), lambda _done: None)
    assert caught.value.exit_code == expected and caught.value.failed == [given[1]]
    wording = "in flight when the server closed the connection" if closed_by_server else "sent without an answer"
    assert f"0 refused, 1 {wording}" in str(caught.value)
