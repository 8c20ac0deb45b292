"""The pure decisions of the ctl definitions read (``backends.ctl.definitions_read``): which call it makes,
when it falls back to ``export_definitions``, what it makes of each answer. The answers are the texts real
nodes print (3.10.8, 4.0.5); tests/ctl/test_parameter_values.py proves the read itself on real nodes, where
the fallback never runs (both versions have the eval's functions)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.ctl.definitions_read import DefinitionsReader
from rabbitadmin.backends.ctl.runner import Rabbitmqctl
from rabbitadmin.definitions import as_json_value
from rabbitadmin.errors import CtlError

#: What 3.10.8's export_definitions prints (exit 0) on a node holding a federation-upstream-set.
BADRPC = (
    '{:badrpc, {:EXIT, {:badarg, [{:maps, :from_list, [[%{"upstream" => "up-a"}]], [error_info: %{module: '
    ":erl_stdlib_errors}]}, {:rabbit_definitions, :runtime_parameter_definition, 1, []}]}}}\n"
)


@dataclass
class Answers(Rabbitmqctl):
    """A runner that answers each command from ``answers`` (eval and export_definitions) and records calls."""

    answers: dict[str, str | CtlError] = field(default_factory=dict)
    calls: list[tuple[list[str], str | None]] = field(default_factory=list)

    def run(self, args: Sequence[str], *, stdin: str | None = None, wait: float | None = None) -> str:
        self.calls.append((list(args), stdin))
        answer = self.answers[args[0]]
        if isinstance(answer, CtlError):
            raise answer
        return answer


def test_the_eval_answer_is_the_document_and_export_definitions_is_not_called() -> None:
    ctl = Answers(answers={"eval": '{"parameters": [{"value": [["a", 1]]}]}\ndone\n'})
    assert DefinitionsReader(ctl).read() == {"parameters": [{"value": [["a", 1]]}]}
    assert [args[0] for args, _ in ctl.calls] == ["eval"]


@pytest.mark.parametrize(
    ("prefix", "on_stdin"),
    [((), True), (("sudo", "-u", "rabbitmq"), True), (("ssh", "mq1"), False), (("docker", "exec", "rabbit"), False)],
)
def test_the_expression_goes_as_a_file_locally_and_as_an_argument_through_a_remote_prefix(
    prefix: tuple[str, ...], on_stdin: bool
) -> None:
    """stdin becomes a private file where rabbitmqctl shares this machine's files (``runner``); elsewhere it
    would stay stdin, which 4.0.5's rabbitmqctl never reads: the expression (no data in it) is an argument."""
    ctl = Answers(prefix=prefix, answers={"eval": "{}\ndone\n"})
    DefinitionsReader(ctl).read()
    (args, stdin), = ctl.calls  # fmt: skip
    if on_stdin:
        assert args == ["eval"] and stdin is not None and "rabbit_runtime_parameters" in stdin
    else:
        assert len(args) == 2 and "rabbit_runtime_parameters" in args[1] and stdin is None


def test_missing_functions_fall_back_to_export_definitions_and_are_remembered() -> None:
    ctl = Answers(
        answers={
            "eval": "{missing_functions,[{rabbit_definitions,list_users,0}]}\n",
            "export_definitions": '{"global_parameters": [{"name": "g", "value": [["k", "v"]]}, {"name": "e", '
            '"value": []}, {"name": "s", "value": "null"}], "parameters": [{"vhost": "v", "component": "shovel", '
            '"name": "s", "value": [["src-uri", "amqp://"]]}]}',
        }
    )
    reader = DefinitionsReader(ctl)
    first = reader.read()
    # That encoder prints an object the node keeps as a proplist as a list of pairs: turned back; null stays lost.
    assert first["global_parameters"] == [
        {"name": "g", "value": {"k": "v"}},
        {"name": "e", "value": []},
        {"name": "s", "value": "null"},
    ]
    assert first["parameters"][0]["value"] == {"src-uri": "amqp://"}
    assert reader.eval_unsupported is not None and "list_users" in reader.eval_unsupported
    reader.read()
    assert [args[0] for args, _ in ctl.calls] == ["eval", "export_definitions", "export_definitions"]


def test_a_failed_eval_falls_back_and_the_badrpc_of_3_10_is_a_clear_error() -> None:
    ctl = Answers(answers={"eval": CtlError("eval", 70, "badarg"), "export_definitions": BADRPC})
    with pytest.raises(CtlError, match=r"could not export its definitions: \{:badrpc.*runtime_parameter_definition"):
        DefinitionsReader(ctl).read()


@pytest.mark.parametrize(
    ("printed", "named"),
    [
        (
            '[{"section":"global_parameters","name":"weird"}]\nunreadable\n',
            "global parameter (name 'weird')",
        ),
        (
            '[{"section":"parameters","vhost":"v/1","component":"shovel","name":"s"},'
            '{"section":"policies","vhost":"v","name":"p"}]\nunreadable\n',
            "parameter (vhost 'v/1' component 'shovel' name 's'), policy (vhost 'v' name 'p')",
        ),
        ("garbled\nunreadable\n", "in: an entry."),
    ],
)
def test_an_unreadable_answer_names_the_entries_and_does_not_fall_back(printed: str, named: str) -> None:
    ctl = Answers(answers={"eval": printed})
    with pytest.raises(CtlError, match="no JSON can carry") as raised:
        DefinitionsReader(ctl).read()
    assert named in str(raised.value)
    assert [args[0] for args, _ in ctl.calls] == ["eval"]


@pytest.mark.parametrize(
    "value",
    [
        [["a", 1], ["b", 2]],  # a list of pairs is a list: the API and the eval give objects as objects
        [["a", 1]],
        {"k": [["x", 1]], "n": None, "s": "null", "e": [], "o": {}},
        [[1, 2], [], [[{}]]],
        [{"upstream": "a"}, {"upstream": "b"}],
        [],
        {},
        None,
        "null",
        1.5,
    ],
)
def test_a_parameter_value_is_read_in_its_own_shape(value: Any) -> None:
    assert as_json_value(value) == value
    assert type(as_json_value(value)) is type(value)


# -- the state read's eval (``read_with_state``) -----------------------------------------------------------
PARTS = {
    "definitions": {"vhosts": [{"name": "v"}]},
    "extras": {"queues": [["v", "q", 3, 1]], "internal_exchanges": []},
    "vhost_fields": [{"name": "v", "tracing": True}],
}


def test_the_state_read_is_one_eval_asking_for_the_vhosts_and_fields_and_answering_three_parts() -> None:
    ctl = Answers(answers={"eval": json.dumps(PARTS) + "\ndone\n"})
    assert DefinitionsReader(ctl).read_with_state(["v"], ["tracing"]) == PARTS
    ((args, stdin),) = ctl.calls
    assert args == ["eval"] and stdin is not None
    assert "{rabbit_vhost, info_all, 1}" in stdin and "{rabbit_definitions, list_users, 0}" in stdin
    payload = stdin.split('base64:decode(<<"')[1].split('"')[0]
    assert json.loads(base64.b64decode(payload)) == {"vhosts": ["v"], "vhost_fields": ["tracing"]}


@pytest.mark.parametrize(
    "answer",
    [
        CtlError("eval", 70, "crashed"),
        "{badrpc, nodedown}\n",
        '{"definitions": {}, "extras": {}}\ndone\n',  # a part missing: not this expression's answer
        "[]\nunreadable\n",  # nothing in the definitions at fault: the parts read apart say what
    ],
)
def test_a_state_read_that_fails_as_a_whole_is_read_apart_and_asked_again_next_time(answer: str | CtlError) -> None:
    ctl = Answers(answers={"eval": answer})
    reader = DefinitionsReader(ctl)
    assert reader.read_with_state(None, ["tracing"]) is None
    assert reader.read_with_state(None, ["tracing"]) is None
    assert len(ctl.calls) == 2 and reader.state_eval_unsupported is None


def test_a_server_lacking_the_state_reads_functions_is_not_asked_again() -> None:
    ctl = Answers(answers={"eval": "{missing_functions,[{rabbit_vhost,info_all,1}]}\n"})
    reader = DefinitionsReader(ctl)
    assert reader.read_with_state(None, []) is None
    assert "info_all" in (reader.state_eval_unsupported or "")
    assert reader.read_with_state(None, []) is None
    assert len(ctl.calls) == 1
    # Nor where the export eval alone is known not to run.
    other = DefinitionsReader(Answers(answers={"eval": json.dumps(PARTS) + "\ndone\n"}))
    other.eval_unsupported = "{missing_functions,[]}"
    assert other.read_with_state(None, []) is None and other.ctl.calls == []  # type: ignore[attr-defined]


def test_an_unreadable_entry_in_the_state_read_is_named_as_by_the_export_read() -> None:
    printed = '[{"section":"global_parameters","name":"weird"}]\nunreadable\n'
    with pytest.raises(CtlError, match="no JSON can carry") as raised:
        DefinitionsReader(Answers(answers={"eval": printed})).read_with_state(None, [])
    with pytest.raises(CtlError) as alone:
        DefinitionsReader(Answers(answers={"eval": printed})).read()
    assert str(raised.value) == str(alone.value) and "global parameter (name 'weird')" in str(raised.value)


def test_the_backend_builds_its_state_from_the_three_parts_of_one_answer() -> None:
    parts = {
        "definitions": {
            "rabbit_version": "3.10.8",
            "vhosts": [{"name": "v"}],
            "queues": [{"vhost": "v", "name": "q", "durable": True, "auto_delete": False, "arguments": {}}],
        },
        "extras": {
            "queues": [["v", "q", 3, 1]],
            "internal_exchanges": [
                {"vhost": "v", "name": "in", "type": "topic", "durable": True, "auto_delete": False,
                 "internal": True, "arguments": {}}
            ],
        },
        "vhost_fields": [{"name": "v", "tracing": True}],
    }  # fmt: skip
    ctl = Answers(answers={"eval": json.dumps(parts) + "\ndone\n"})
    backend = CtlBackend(ctl=ctl)
    state = backend.read_state(["v"])
    assert len(ctl.calls) == 1
    assert state.vhosts[("v",)].tracing is True
    assert state.queues[("v", "q")].messages == 3
    assert state.exchanges[("v", "in")].internal is True and state.exchanges[("v", "in")].type == "topic"
    assert backend.server_facts()[0] == "3.10.8" and len(ctl.calls) == 1
