"""Passwords inside URIs (a shovel's ``src-uri``, a federation upstream's ``uri``): found, masked, never shown.

A runtime parameter's value may hold ``amqp://user:password@host/vhost``. The management API returns such
URIs as they were set, password included (measured on 3.10.8 and 4.0.5: ``GET /api/parameters``, the
definitions export, and the validation error of a refused URI all quote it). Errors, logs and the models'
``repr`` go through ``secret_text`` (``mask_uri``, ``mask_text``), which turns the password into ``***``
(``amqp://user:***@host``, and ``?password=***``); exports and plans mask it, and every secret-named key's value
besides, through ``masking`` (``mask_secrets``, ``masked``). Comparisons use the real values. This module
finds them (``has_password``, ``uri_values``: what validation warns about).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rabbitadmin.secret_text import MASK, uri_has_secret

__all__ = ["MASK", "has_password", "json_strings", "uri_values"]


def has_password(text: str) -> bool:
    """True if ``text`` holds a URI with a (non-empty) password, in its user part or a secret-named query
    parameter (``?password=``: ``secret_text.mask_uri`` masks both)."""
    return uri_has_secret(text)


def json_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (mapping values, list items, the value itself), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from json_strings(item)


def uri_values(value: Any) -> list[str]:
    """Every string in a JSON value that holds a URI with a password (for audits and warnings)."""
    return [text for text in json_strings(value) if has_password(text)]
