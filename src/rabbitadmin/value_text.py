"""How a plan's text shows a field's value: the file's words, not Python's.

A string is quoted as the plan quotes names (``'orders'``); anything else is written as JSON, the way a
topology or definitions file says it: ``null``, ``true``, ``1.5``, ``{"x-max-length": 10}``. Python's own
``repr`` would show ``None``, ``True`` and single-quoted keys that no file holds.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["value_text"]


def value_text(value: Any) -> str:
    """``value`` (a JSON value; tuples are lists) as one line of plan text."""
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=_fallback)


def _fallback(value: Any) -> Any:
    """A tuple is a JSON array; anything else that is not JSON is shown by its ``repr``."""
    return list(value) if isinstance(value, tuple) else repr(value)
