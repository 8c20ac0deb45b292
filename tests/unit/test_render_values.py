"""Plan text shows values as a file writes them (value_text), never Python's repr (None, True, 'k': v)."""

from __future__ import annotations

from typing import Any

import pytest

from rabbitadmin.engine.plan import Action, Change, FieldChange, Plan
from rabbitadmin.render import render_plan
from rabbitadmin.value_text import value_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (1.5, "1.5"),
        ("quorum", "'quorum'"),
        (["management", "é"], '["management", "é"]'),
        (("a", 1), '["a", 1]'),
        ({"x-max-length": 10, "x-dead-letter-exchange": None}, '{"x-max-length": 10, "x-dead-letter-exchange": null}'),
    ],
)
def test_value_text_is_json_but_for_strings_quoted_as_names(value: Any, text: str) -> None:
    assert value_text(value) == text


def test_an_update_to_null_and_a_flag_read_as_json_in_the_plan() -> None:
    change = Change(
        Action.UPDATE,
        "global_parameter",
        ("g",),
        fields=(FieldChange("value", {"on": True}, None),),
    )
    text = render_plan(Plan(scope=(), changes=[change]))
    assert 'value: {"on": true} -> null' in text
    assert "None" not in text and "True" not in text


def test_validation_messages_show_a_wrong_value_as_the_file_wrote_it() -> None:
    from rabbitadmin.errors import TopologyError
    from rabbitadmin.loader import load_topology_text

    text = (
        "vhosts:\n  - name: v\n    limits: {max-queues: null}\n"
        "    queues:\n      - {name: q, arguments: {x-max-length: true}}\n"
    )
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    message = str(info.value)
    assert "got null" in message and "got true" in message
    assert "None" not in message and "True" not in message
