"""Plans as text: the same words with or without colours, names printed literally, secrets never."""

from __future__ import annotations

import io
import re

from rabbitadmin.engine.plan import Action, Change, FieldChange, Plan
from rabbitadmin.model import Queue, User
from rabbitadmin.render import make_console, render_plan

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
