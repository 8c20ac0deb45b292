"""Canonical forms shared by both sides of a diff."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """A stable text form of a JSON value (sorted keys, no spaces), used in identity keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
