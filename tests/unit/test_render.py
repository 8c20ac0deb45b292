"""Plans as text: the same words with or without colours, names printed literally, secrets never."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from rabbitadmin.engine.plan import Action, Change, FieldChange, Plan
from rabbitadmin.model import Queue, User
from rabbitadmin.render import PlainOutput, make_console, plan_output, render_plan

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sample_plan() -> Plan:
    tricky = Queue("v[1]", "[bold]q[/] ~", arguments={"x-max-length": 5})
    return Plan(
        changes=[
            Change(Action.CREATE, "queue", tricky.key, desired=tricky),
            Change(
                Action.UPDATE,
                "user",
                ("alice",),
                desired=User("alice", tags=("administrator",)),
                actual=User("alice"),
                fields=(
                    FieldChange("tags", [], ["administrator"]),
                    FieldChange("password", "old-secret-hash", "new-secret-hash", secret=True),
                ),
            ),
            Change(
                Action.REPLACE, "queue", ("v", "r"), actual=Queue("v", "r"), reason="type changes", messages_at_risk=3
            ),
            Change(Action.DELETE, "queue", ("v", "d"), actual=Queue("v", "d"), messages_at_risk=None),
        ],
        refusals=["refusing [this]"],
        notes=["kept [that]"],
        scope=("v[1]",),
    )


def rendered(color: bool) -> str:
    buffer = io.StringIO()
    render_plan(sample_plan(), make_console(buffer, color=color))
    return buffer.getvalue()


def test_plain_and_coloured_output_say_the_same_thing() -> None:
    plain, coloured = rendered(False), rendered(True)
    assert ANSI.search(coloured), "a colour console gets colours"
    assert not ANSI.search(plain)
    assert ANSI.sub("", coloured) == plain


def test_names_with_brackets_are_printed_literally_and_secrets_never() -> None:
    text = rendered(False)
    assert "'[bold]q[/] ~'" in text and "'v[1]'" in text
    assert "refused: refusing [this]" in text and "note: kept [that]" in text
    assert "password: (changed)" in text and "secret-hash" not in text
    assert "3 message(s) would be lost" in text and "message count unknown" in text
    assert text.rstrip().endswith("Summary: 1 to create, 1 to update, 1 to replace, 1 to delete.")


def test_without_a_console_the_plan_comes_back_as_plain_text() -> None:
    assert render_plan(sample_plan()) == rendered(False)


class _Pipe(io.StringIO):
    def __init__(self, terminal: bool = False) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_a_plan_in_a_pipe_is_printed_without_rich_and_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    pipe = _Pipe()
    out = plan_output(pipe)
    assert isinstance(out, PlainOutput)  # what rich would not colour: no rich loaded for it
    render_plan(sample_plan(), out, page=True)
    assert pipe.getvalue() == rendered(False)


@pytest.mark.parametrize(
    ("terminal", "env"), [(True, {}), (False, {"FORCE_COLOR": "1"}), (False, {"TTY_COMPATIBLE": "1"})]
)
def test_where_rich_could_colour_a_plan_it_prints_it(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, env: dict[str, str]
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pipe = _Pipe(terminal)
    out = plan_output(pipe)
    assert not isinstance(out, PlainOutput)
    render_plan(sample_plan(), out)
    assert ANSI.search(pipe.getvalue()), "rich coloured it"
    assert ANSI.sub("", pipe.getvalue()) == rendered(False)


def test_printing_a_plan_into_a_pipe_does_not_load_rich() -> None:
    # In a process of its own: this one has rich loaded already.
    code = (
        "import io, sys; from rabbitadmin.render import plan_output, render_plan; from rabbitadmin.engine.plan "
        "import Plan; render_plan(Plan(), plan_output(io.StringIO())); print('rich' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "False"
