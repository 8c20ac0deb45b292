"""The pure parts of the rabbitmqctl layer: argument lists, option resolution, output parsing, tables."""

from __future__ import annotations

import shlex

import pytest

from rabbitadmin.admin.output import cell, render_table
from rabbitadmin.backends.admin_ops import table_arguments, tag_list
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl import runner
from rabbitadmin.backends.ctl.backend import CtlBackend, needs_node_decoding
from rabbitadmin.backends.ctl.runner import Rabbitmqctl, _reason, rabbitmqctl_from_options
from rabbitadmin.errors import CtlError
from rabbitadmin.model import GlobalParameter, Parameter, Policy, Queue, Vhost, holds_null


def test_argv_puts_node_then_arguments() -> None:
    ctl = Rabbitmqctl(node="rabbit@h", executable="/x/rabbitmqctl")
    assert ctl.argv(["list_queues", "--vhost=a b"]) == [
        "/x/rabbitmqctl",
        "-n",
        "rabbit@h",
        "list_queues",
        "--vhost=a b",
    ]


def test_docker_prefix_keeps_arguments_and_ssh_quotes_them() -> None:
    docker = Rabbitmqctl(prefix=("docker", "exec", "c"))
    assert docker.argv(["delete_queue", "--", "a b"]) == [
        "docker",
        "exec",
        "c",
        "rabbitmqctl",
        "delete_queue",
        "--",
        "a b",
    ]
    ssh = Rabbitmqctl(prefix=("ssh", "mq1"))
    remote = ssh.argv(["delete_queue", "--", "it's a b"])
    assert remote[:2] == ["ssh", "mq1"]
    assert shlex.split(" ".join(remote[2:])) == ["rabbitmqctl", "delete_queue", "--", "it's a b"]


def test_options_fall_back_to_environment() -> None:
    environ = {"RABBITADMIN_NODE": "env@h", "RABBITADMIN_CTL_PREFIX": "ssh -p 2222 mq1"}
    ctl = rabbitmqctl_from_options({"rabbitmqctl": "/opt/rabbitmqctl"}, environ)
    assert (ctl.node, ctl.executable, tuple(ctl.prefix)) == ("env@h", "/opt/rabbitmqctl", ("ssh", "-p", "2222", "mq1"))
    assert rabbitmqctl_from_options({"node": "opt@h"}, environ).node == "opt@h"


@pytest.mark.parametrize(
    ("reason", "not_found"),
    [("Queue not found", True), ('User "x" does not exist', True), ("not_found", True), ("bad argument", False)],
)
def test_not_found_errors(reason: str, not_found: bool) -> None:
    assert CtlError("cmd", 65, reason).not_found is not_found


def test_reason_drops_banners() -> None:
    text = 'Error:\nUser "x" already exists\n\x1b[1mUsage\x1b[0m\nrabbitmqctl ...'
    assert _reason(text) == 'User "x" already exists'


@pytest.mark.parametrize(
    ("printed", "reason"),
    [
        # RabbitMQ 4.0's import_definitions, a policy and a shovel refused (measured on 4.0.5)
        (
            'Error:\n<<"Validation failed\\n\\n&lt;&lt;\\"nope\\"&gt;&gt; '
            'is not a valid maximum length\\n (//bad)">>\n',
            'Validation failed <<"nope">> is not a valid maximum length (//bad)',
        ),
        (
            'Error:\n<<"Validation failed\\n\\ncomponent shovel not found\\n (//shovel/s)">>\n',
            "Validation failed component shovel not found (//shovel/s)",
        ),
        ('<<"a \\\\ backslash, é &amp; no validation">>', "a \\ backslash, é &amp; no validation"),
        # RabbitMQ 3.10.8's: the same words as plain lines
        (
            'Error:\nValidation failed\n\n&lt;&lt;"nope"&gt;&gt; is not a valid maximum length\n (v é/refused)\n',
            'Validation failed <<"nope">> is not a valid maximum length (v é/refused)',
        ),
        ('Error:\nUser "a&amp;b" already exists', 'User "a&amp;b" already exists'),
        ("<<not a binary", "<<not a binary"),
    ],
)
def test_reason_reads_an_erlang_binary_as_its_text(printed: str, reason: str) -> None:
    assert _reason(printed) == reason


# What Debian 13's rabbitmqctl 4.0 printed for a policy refused in the vhost "ctl é" (captured): its own crash.
_CRASH = (
    "** (ArgumentError) errors were found at the given arguments:\n\n  * 2nd argument: not valid character data "
    "(an iodata term)\n\n    (stdlib 6.2.2.1) io.erl:203: :io.put_chars(:standard_error, [<<69, 114, 114, 111, "
    "114, 58, 10, 60, 60, 34, 86, 97, 108, 105, 100, 97, 116, 105, 111, 110, 32, 102, 97, 105, 108, 101, 100, 92, "
    "110, 92, 110, 38, 108, 116, 59, 38, 108, 116, 59, 92, 34, 110, 111, 112, 101, 92, 34, 38, 103, ...>>, 10])\n"
    '    (elixir 1.18.3) lib/enum.ex:987: Enum."-each/2-lists^foreach/1-0-"/2\n    (rabbitmqctl 4.0.0-dev) '
    "lib/rabbitmqctl.ex:256: RabbitMQCtl.handle_shutdown/1\n"
)


def test_reason_of_rabbitmqctl_crashing_on_its_own_error_names_what_it_could_see() -> None:
    reason = _reason(_CRASH)
    assert reason.startswith("rabbitmqctl could not print the server's answer")
    assert reason.endswith('it begins: Validation failed <<"nope"&g...')
    assert "ArgumentError" not in reason and "69, 114" not in reason


def test_eval_outcomes() -> None:
    assert ctl_eval.parse_outcomes('["deleted","not_found"]\ndone\n', 2) == ["deleted", "not_found"]
    with pytest.raises(ValueError, match="missing_functions"):
        ctl_eval.parse_outcomes("{missing_functions,[{rabbit_binding,remove,2}]}", 1)
    with pytest.raises(ValueError, match="expected 2"):
        ctl_eval.parse_outcomes('["deleted"]\ndone', 2)
    assert ctl_eval.parse_json_line('{"queues": []}\ndone\n') == {"queues": []}
    with pytest.raises(ValueError):
        ctl_eval.parse_json_line("{error,badarg}\n")
    # Blank lines around the JSON line, Windows line ends, the line alone without "done".
    assert ctl_eval.parse_json_line('\n{"a": [1]}\r\n\n done \n') == {"a": [1]}
    for output in ('{"a": 1}\n', "done\n", "\n\ndone", ""):
        with pytest.raises(ValueError):
            ctl_eval.parse_json_line(output)


@pytest.mark.parametrize("operation", sorted(ctl_eval.BODIES))
def test_every_expression_binds_its_variables_inside_one_fun(operation: str) -> None:
    # rabbitmqctl eval copies every variable bound at the top level back into its own VM (erl_eval:exprs/2
    # returns the bindings): the whole expression must be one fun, called at once, that binds nothing outside.
    specs: object = {"vhosts": None} if operation == "read_extras" else {"vhost": "v", "name": "n", "arguments": {}}
    text = ctl_eval.expression(operation, specs if operation in ("read_extras", "apply_lock", "export") else [])
    assert text.startswith("(fun() ->") and text.rstrip().endswith("end)().")
    assert text.count("(fun() ->") == 1


def test_expression_carries_names_as_base64() -> None:
    text = ctl_eval.expression("exchange_delete", [{"vhost": '"); halt(). %', "name": "x"}])
    assert "halt()" not in text and "{rabbit_exchange, delete, 3}" in text


def test_an_import_expression_carries_the_document_as_base64_and_says_imported() -> None:
    secret = "amqp://u:pa55@h"
    text = ctl_eval.expression("import", {"global_parameters": [{"name": "g", "value": {"uri": secret, "k": None}}]})
    assert secret not in text and "rabbit_definitions:import_parsed(Specs)" in text
    assert "{rabbit_definitions, import_parsed, 1}" in text
    assert ctl_eval.parse_json_line('"imported"\ndone\n') == "imported"


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        (None, True), ({"a": None}, True), ([1, [None]], True), ({"a": [{"b": None}]}, True), ((None,), True),
        ({}, False), ([], False), ("null", False), ("nil", False), ({"a": 0, "b": False, "c": ""}, False),
    ],
)  # fmt: skip
def test_which_values_rabbitmqctl_import_would_change(value: object, changed: bool) -> None:
    assert holds_null(value) is changed


def test_objects_holding_null_anywhere_in_their_json_are_the_ones_imported_on_the_node() -> None:
    assert needs_node_decoding(GlobalParameter("g", None))
    assert needs_node_decoding(Parameter("v", "c", "n", {"a": [None]}))
    assert needs_node_decoding(Queue("v", "q", arguments={"x-custom": None}))
    assert not needs_node_decoding(GlobalParameter("g", "nil")) and not needs_node_decoding(Queue("v", "q"))
    assert not needs_node_decoding(Vhost("v")) and not needs_node_decoding(Policy("v", "p", ".*", {"max-length": 1}))


def test_an_eval_goes_in_a_file_here_and_on_the_argument_list_remotely_unless_it_holds_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[list[str], str | None]] = []

    def record(self: Rabbitmqctl, command: str, args: list[str], stdin: str | None, wait: float | None = None) -> str:
        calls.append((list(args), stdin))
        return "done"

    monkeypatch.setattr(Rabbitmqctl, "_run", record)
    Rabbitmqctl(prefix=("sudo",)).eval("x().")
    assert calls[-1][0][0] == "eval_file" and calls[-1][1] is None  # a private file, never argv
    remote = Rabbitmqctl(prefix=("ssh", "mq1"))
    remote.eval("x().")
    assert calls[-1] == (["eval", "x()."], None)
    remote.eval("secret().", holds_secrets=True)
    assert calls[-1] == (["eval"], "secret().")
    long = "a" * (runner.ARGV_EXPRESSION_LIMIT + 1)
    remote.eval(long)
    assert calls[-1] == (["eval"], long)


def test_a_batch_holding_a_null_is_imported_whole_by_the_node_decoded_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole batch goes by one eval (the server orders it, as an import), nothing by import_definitions."""
    ctl = Rabbitmqctl()
    calls: list[tuple[str, bool]] = []

    def fake_eval(expression: str, *, holds_secrets: bool = False, wait: float | None = None) -> str:
        calls.append(("import" if "import_parsed(Specs)" in expression else "check", holds_secrets))
        return '"imported"\ndone\n' if "import_parsed(Specs)" in expression else "[]"

    def fake_run(args: list[str], *, stdin: str | None = None, wait: float | None = None) -> str:
        calls.append((args[0], False))
        return ""

    monkeypatch.setattr(ctl, "eval", fake_eval)
    monkeypatch.setattr(ctl, "run", fake_run)
    backend = CtlBackend(ctl=ctl)
    backend.create([Vhost("v"), GlobalParameter("g", {"k": None}), Queue("v", "q")])
    assert calls == [("check", False), ("import", True)]
    calls.clear()
    backend.create([Vhost("w"), GlobalParameter("h", "nil")])
    assert calls == [("import_definitions", False)]


def test_table_arguments_and_tags() -> None:
    assert table_arguments([["x-match", "longstr", "all"], ["n", "long", 5]]) == {"x-match": "all", "n": 5}
    assert table_arguments({"a": 1}) == {"a": 1}
    assert tag_list("b, a,,a") == ["a", "b"] and tag_list(None) == []


def test_render_table() -> None:
    rows = [{"name": "q", "messages": None, "tags": ["a", "b"], "args": {"k": 1}, "ok": True}]
    lines = render_table(rows, ["name", "messages", "tags", "args", "ok"]).splitlines()
    assert lines[0].split() == ["NAME", "MESSAGES", "TAGS", "ARGS", "OK"]
    assert lines[1].split() == ["q", "-", "a,b", '{"k":1}', "true"]
    assert cell("x" * 100).endswith("…") and len(cell("x" * 100)) == 60


def test_batcher_coalesces_concurrent_calls_and_shares_failures() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from rabbitadmin.backends.ctl.batch import Batcher

    batches: list[list[int]] = []

    def double(items: object) -> list[int]:
        batch = list(items)  # type: ignore[call-overload]
        batches.append(batch)
        return [2 * item for item in batch]

    batcher: Batcher[int, int] = Batcher(double, window=0.2)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(batcher.submit, range(20)))
    assert results == [2 * i for i in range(20)]
    assert len(batches) <= 2 and sorted(i for b in batches for i in b) == list(range(20))

    def fail(items: object) -> list[int]:
        raise RuntimeError("boom")

    failing: Batcher[int, int] = Batcher(fail, window=0.05)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(failing.submit, i) for i in range(3)]
    for future in futures:
        with pytest.raises(RuntimeError, match="boom"):
            future.result()


@pytest.mark.parametrize("exclusive", [True, False])
def test_an_exclusive_batcher_never_runs_two_batches_at_once(exclusive: bool) -> None:
    """A call arriving while a batch runs makes a batch of its own: exclusive, it waits for the first."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from rabbitadmin.backends.ctl.batch import Batcher

    running = most = 0
    guard = threading.Lock()

    def slow(items: object) -> list[int]:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with guard:
            running -= 1
        return [0 for _ in items]  # type: ignore[attr-defined]

    batcher: Batcher[int, int] = Batcher(slow, window=0.02, exclusive=exclusive)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(batcher.submit, 1)
        time.sleep(0.1)  # the first batch is running now
        second = pool.submit(batcher.submit, 2)
        assert first.result(timeout=10) == 0 and second.result(timeout=10) == 0
    assert most == (1 if exclusive else 2)


def _no_http_settings() -> object:
    raise AssertionError("the ctl transport resolved the HTTP connection settings")


@pytest.mark.parametrize("parallel", [None, 1, 7])
def test_factory_builds_ctl_transport_without_http_settings(parallel: int | None) -> None:
    from rabbitadmin.backends.ctl.admin import CtlAdmin
    from rabbitadmin.backends.ctl.backend import CtlBackend
    from rabbitadmin.backends.factory import TransportOptions, admin_ops, engine_backend, lock_transport

    options = TransportOptions("ctl", _no_http_settings, {"node": "rabbit@h"}, parallel)  # type: ignore[arg-type]
    backend = engine_backend(options)
    assert isinstance(backend, CtlBackend) and backend.ctl.node == "rabbit@h"
    assert backend.ctl.max_concurrent == (parallel or Rabbitmqctl().max_concurrent)
    assert lock_transport(options, backend) is backend  # the lock is taken on the node, not over AMQP
    ops = admin_ops(options)
    assert isinstance(ops, CtlAdmin) and ops.ctl.node == "rabbit@h"


def test_factory_http_parallel_and_unknown_name() -> None:
    from rabbitadmin.backends.factory import HTTP_PARALLELISM, TransportOptions, engine_backend
    from rabbitadmin.backends.http.backend import HttpBackend
    from rabbitadmin.connection import ConnectionSettings
    from rabbitadmin.errors import UsageError

    settings = ConnectionSettings(url="http://127.0.0.1:9", user="u", password=None)
    for parallel, expected in ((None, HTTP_PARALLELISM), (5, 5)):
        backend = engine_backend(TransportOptions("http", lambda: settings, {}, parallel))
        assert isinstance(backend, HttpBackend) and backend.parallelism == expected
        backend.close()
    with pytest.raises(UsageError, match="unknown backend 'amqp': use ctl or http"):
        TransportOptions("amqp", lambda: settings)
    with pytest.raises(UsageError, match=r"unknown backend 'htp' \(did you mean 'http'\?\)"):
        TransportOptions("htp", lambda: settings)


def test_import_chunks_keep_every_object_after_what_it_needs() -> None:
    from rabbitadmin.backends.ctl.backend import import_chunks
    from rabbitadmin.kinds import CREATE_ORDER
    from rabbitadmin.model import Binding, Exchange, Permission, Queue, User, Vhost

    # Shuffled kinds, as a caller might hand them over: bindings first, the vhost last.
    objects = [
        *(Binding(vhost="v", source=f"x{i % 3}", destination_type="queue", destination=f"q{i}") for i in range(7)),
        *(Queue(vhost="v", name=f"q{i}") for i in range(7)),
        Permission(user="u", vhost="v", configure=".*", write=".*", read=".*"),
        *(Exchange(vhost="v", name=f"x{i}") for i in range(3)),
        User(name="u", password_hash="h"),
        Vhost(name="v"),
    ]
    for size in (1, 4, 5, len(objects), 1000):
        chunks = import_chunks(objects, size)
        assert all(0 < len(chunk) <= size for chunk in chunks)
        assert len(chunks) == -(-len(objects) // size)
        flat = [obj for chunk in chunks for obj in chunk]
        assert sorted(map(repr, flat)) == sorted(map(repr, objects))  # nothing lost, nothing twice
        # The kinds come in the server's creation order, so what an object needs is never in a later chunk.
        ranks = [CREATE_ORDER.index(obj.kind) for obj in flat]
        assert ranks == sorted(ranks)
        seen: set[tuple[str, str]] = set()
        for chunk in chunks:
            seen |= {(obj.kind, obj.name) for obj in chunk if isinstance(obj, Queue | Exchange | Vhost | User)}
            for obj in chunk:
                if isinstance(obj, Binding):
                    assert {("exchange", obj.source), ("queue", obj.destination)} <= seen
                elif isinstance(obj, Queue | Exchange):
                    assert ("vhost", obj.vhost) in seen
                elif isinstance(obj, Permission):
                    assert {("vhost", obj.vhost), ("user", obj.user)} <= seen
    assert import_chunks([], 5) == []


# -- a failed import read back (``CtlBackend._settle_import``), the server played by the in-memory backend ----
def _backend_over(server: object, failure: Exception) -> tuple[CtlBackend, list[object]]:
    """A CtlBackend whose imports raise ``failure`` and whose reads are ``server``'s; and what it reports done."""
    backend = CtlBackend(rabbitmqctl="/bin/false")

    def refused(batch: object) -> None:
        raise failure

    backend._import = refused  # type: ignore[method-assign]
    backend.read_state = server.read_state  # type: ignore[attr-defined, method-assign]
    return backend, []


def test_a_refused_import_whose_queue_exists_with_other_arguments_fails_it() -> None:
    from rabbitadmin.backends.memory import MemoryBackend
    from rabbitadmin.errors import BatchFailed

    server = MemoryBackend(user="admin")
    server.create([Vhost("v"), Queue("v", "q", arguments={"x-max-length": 5})])  # someone else's, meanwhile
    failure = CtlError("import_definitions", 65, "PRECONDITION_FAILED - inequivalent arg 'x-max-length'")
    backend, done = _backend_over(server, failure)
    asked = Queue("v", "q", arguments={"x-max-length": 10})
    with pytest.raises(BatchFailed) as caught:
        backend.create([asked], progress=done.extend)
    assert caught.value.failed == [asked] and done == []
    assert "0 of them were created, 1 is there with other properties" in str(caught.value)


def test_an_import_whose_answer_was_lost_counts_as_done_when_every_object_is_there_as_asked() -> None:
    from rabbitadmin.backends.memory import MemoryBackend
    from rabbitadmin.errors import CtlTimeout

    server = MemoryBackend(user="admin")
    objects = [Vhost("v"), Queue("v", "q", arguments={"x-max-length": 5})]
    server.create(objects)  # what the import did before its rabbitmqctl was killed at the timeout
    backend, done = _backend_over(server, CtlTimeout("rabbitmqctl import_definitions timed out"))
    backend.create(objects, progress=done.extend)
    assert done == objects
