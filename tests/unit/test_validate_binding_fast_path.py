"""Validation's fast path for plain binding items (issue 19, target 2) gives what the full checks give.

``_Validator.plain_binding`` adds an item like ``{source: ex, destination: q, routing_key: k}`` without the field
readers; everything else goes through ``_Validator.binding``. Each file below is validated both ways (the fast
path switched off) and must give the same bindings, origins, absent marks, warnings and problems, the
problems ``cross_check`` finds afterwards included (an undeclared source or destination: they name the item's
path and its field's line, which the fast path records for them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rabbitadmin import validate
from rabbitadmin.loader import parse_document

from .fast_paths import outcome

_ITEMS = [
    "{source: ex, destination: q}",
    "{source: ex, destination: q, routing_key: k}",
    "{source: ex, destination: q, routing_key: ''}",
    "{source: ex, destination: ex2, destination_type: exchange}",
    "{source: ex, destination: q, destination_type: queue, routing_key: '#'}",
    "{source: ex, destination: q, destination_type: Queue}",
    "{source: ex, destination: q, destination_type: null}",
    "{source: ex, destination: q, destination_type: [q]}",
    "{source: ex, destination: q, routing_key: 5}",
    "{source: ex, destination: q, routing_key: null}",
    "{source: ex, destination: q, routing_key: yes}",
    "{source: ex, destination: q, arguments: {x-match: all}}",
    "{source: ex, destination: q, arguments: {}}",
    "{source: ex, destination: q, state: absent}",
    "{source: ex, destination: q, state: present}",
    "{source: '', destination: q}",
    "{source: amq.topic, destination: q, routing_key: a.b}",
    "{source: amq.nothing, destination: q}",
    "{source: nowhere, destination: q}",
    "{source: ex, destination: nowhere}",
    "{source: ex, destination: nowhere, destination_type: exchange}",
    "{source: 010, destination: q}",
    "{source: ex, destination: 010}",
    "{source: ex, destination: ''}",
    "{source: ex, destination: null}",
    "{source: null, destination: q}",
    "{source: ex}",
    "{destination: q}",
    '{source: ex, destination: "a\\x01b"}',
    "{source: ex, destination: " + "a" * 64 + "}",
    "{source: ex, destination: " + "a" * 256 + "}",
    "{source: " + "e" * 300 + ", destination: q}",
    "{source: ex, destination: q, rooting_key: k}",
    "{}",
    "just a string",
    "[a, list]",
    "null",
]


def _file(items: list[str]) -> str:
    head = "vhosts:\n  - name: v\n    exchanges: [{name: ex, type: topic}, {name: ex2, type: fanout}]\n"
    queues = "    queues: [{name: q}, {name: '010'}, {name: " + "a" * 64 + "}]\n"
    bindings = "".join(f"      - {item}\n" for item in items)
    return f"{head}{queues}    bindings:\n{bindings}"


def _outcome(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    return outcome(text, "plain_binding", fast, monkeypatch)


CASES = [
    *([item] for item in _ITEMS),
    # declared twice: the second is a problem, with the first's line, whichever path took the first
    ["{source: ex, destination: q, routing_key: k}", "{source: ex, destination: q, routing_key: k}"],
    ["{source: ex, destination: q}", "{source: ex, destination: q, destination_type: queue, routing_key: ''}"],
    ["{source: ex, destination: q, state: absent}", "{source: ex, destination: q}"],
    ["{source: ex, destination: q, arguments: {}}", "{source: ex, destination: q}"],
]


@pytest.mark.parametrize("items", CASES, ids=lambda items: " + ".join(items)[:60])
def test_the_fast_path_gives_what_the_full_checks_give(items: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = _file(items)
    assert _outcome(text, True, monkeypatch) == _outcome(text, False, monkeypatch)


def test_every_item_at_once_gives_the_same_problems_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _file(_ITEMS + _ITEMS[:3])
    fast = _outcome(text, True, monkeypatch)
    assert fast == _outcome(text, False, monkeypatch)
    assert fast[0] == "problems" and len(fast[1]) > 15


def test_plain_items_take_the_fast_path_and_others_the_full_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard on the speed-up without timing it: the full per-item checks run only for what needs them."""
    calls: list[str] = []
    full = validate._Validator.binding

    def counted(self: Any, vhost: str, item: Any, path: str) -> None:
        calls.append(path)
        full(self, vhost, item, path)

    monkeypatch.setattr(validate._Validator, "binding", counted)
    items = [f"{{source: ex, destination: q, routing_key: k.{i}}}" for i in range(1000)]
    items += ["{source: ex, destination: q, arguments: {x: 1}}"]
    topology = validate.validate_document(parse_document(_file(items), "t.yaml"), "t.yaml", base_dir=Path("."))
    assert len(topology.bindings) == 1001
    assert calls == ["vhosts[0].bindings[1000]"]
