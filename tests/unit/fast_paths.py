"""What validating a file gives, with one of validation's fast paths switched off or not: the fast-path tests
(``test_validate_queue_fast_path``, ``test_validate_binding_fast_path``) require both ways to agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rabbitadmin import validate
from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import parse_document


def outcome(text: str, fast_path: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The objects (with origins), absent marks and warnings of ``text``, or its problems; ``fast`` False: the
    ``_Validator`` method ``fast_path`` (``plain_queue``, ``plain_binding``) takes nothing, so every item goes
    through the full checks."""
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(validate._Validator, fast_path, lambda *_: False)
        try:
            document = parse_document(text, "t.yaml")
            topology = validate.validate_document(document, "t.yaml", base_dir=Path("."), consume=True)
        except TopologyError as exc:
            return ("problems", [(p.message, p.line, p.column, p.field) for p in exc.problems])
    objects = [(repr(obj), obj.origin) for obj in topology]
    warnings = [(p.message, p.line, p.field) for p in topology.warnings]
    return ("ok", objects, dict(topology.absent), warnings)
