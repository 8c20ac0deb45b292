"""Validation's fast path for plain queue items (issue 19.4b) gives what the full checks give.

``_Validator.plain_queue`` adds an item like ``{name: q.0000001}`` without the field readers; everything else
goes through ``_Validator.queue``. Each file below is validated both ways (the fast path switched off by
a ``plain_queue`` that takes nothing) and must give the same queues, origins, absent marks, warnings and
problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rabbitadmin import validate
from rabbitadmin.loader import parse_document

from .fast_paths import outcome

_ITEMS = [
    "{name: q}",
    "{name: q, durable: false}",
    "{name: q, auto_delete: true}",
    "{name: q, type: quorum}",
    "{name: q, type: stream, durable: true, auto_delete: false}",
    "{name: q, type: quorum, durable: false}",
    "{name: q, type: stream, auto_delete: true}",
    "{name: q, type: Quorum}",
    "{name: q, type: 1}",
    "{name: q, type: null}",
    "{name: q, durable: yes}",
    "{name: q, durable: 1}",
    "{name: q, durable: null, auto_delete: ~}",
    "{name: q, state: absent}",
    "{name: q, state: present}",
    "{name: q, arguments: {x-max-length: 1}}",
    "{name: q, type: classic, arguments: {x-queue-type: quorum}}",
    "{name: amq.q}",
    "{name: amq.}",
    "{name: ''}",
    "{name: 010}",
    "{name: 1.50}",
    "{name: yes}",
    "{name: null}",
    "{name: [a]}",
    '{name: "a\\x01b"}',
    '{name: "tab\\there"}',
    "{name: " + "a" * 63 + "}",
    "{name: " + "a" * 64 + "}",
    "{name: " + "a" * 256 + "}",
    "{name: " + "\u00fc" * 63 + "}",
    "{name: " + "\u00fc" * 128 + "}",
    "{nme: q}",
    "{}",
    "{type: quorum}",
    "just a string",
    "[a, list]",
    "null",
]


def _file(items: list[str], default_type: str | None = None) -> str:
    vhost = "  - name: v\n" + (f"    default_queue_type: {default_type}\n" if default_type else "")
    queues = "".join(f"      - {item}\n" for item in items)
    return f"vhosts:\n{vhost}    queues:\n{queues}"


def _outcome(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    return outcome(text, "plain_queue", fast, monkeypatch)


CASES = [
    *([item] for item in _ITEMS),
    ["{name: q}", "{name: r}", "{name: q}"],  # declared twice: the second is a problem, with the first's line
    ["{name: q, state: absent}", "{name: q}"],
    ["{name: q}", "{name: q, type: quorum}"],
]


@pytest.mark.parametrize("items", CASES, ids=lambda items: " + ".join(items)[:60])
@pytest.mark.parametrize("default_type", [None, "quorum"])
def test_the_fast_path_gives_what_the_full_checks_give(
    items: list[str], default_type: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _file(items, default_type)
    assert _outcome(text, True, monkeypatch) == _outcome(text, False, monkeypatch)


def test_every_item_at_once_gives_the_same_problems_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _file(_ITEMS + _ITEMS[:3])
    fast = _outcome(text, True, monkeypatch)
    assert fast == _outcome(text, False, monkeypatch)
    assert fast[0] == "problems" and len(fast[1]) > 20


def test_plain_items_take_the_fast_path_and_others_the_full_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard on the speed-up without timing it: the full per-item checks run only for what needs them."""
    calls: list[str] = []
    full = validate._Validator.queue

    def counted(self: Any, vhost: str, default_type: str, item: Any, path: str) -> None:
        calls.append(path)
        full(self, vhost, default_type, item, path)

    monkeypatch.setattr(validate._Validator, "queue", counted)
    items = [f"{{name: q.{i}}}" for i in range(1000)] + ["{name: q.x, durable: false}", "{name: r, state: absent}"]
    topology = validate.validate_document(parse_document(_file(items), "t.yaml"), "t.yaml", base_dir=Path("."))
    assert len(topology.queues) == 1001
    assert calls == ["vhosts[0].queues[1001]"]
