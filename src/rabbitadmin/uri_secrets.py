"""Passwords inside URIs (a shovel's ``src-uri``, a federation upstream's ``uri``): found, masked, never shown.

A runtime parameter's value may hold ``amqp://user:password@host/vhost``. The management API returns such
URIs as they were set, password included (measured on 3.10.8 and 4.0.5: ``GET /api/parameters``, the
definitions export, and the validation error of a refused URI all quote it). Errors, logs and the models'
``repr`` go through ``mask_text``/``mask_value``, which turn the password into ``***``
(``amqp://user:***@host``); exports and plans mask it, and every secret-named key's value besides, through
``masking`` (``mask_secrets``, ``masked``). Comparisons use the real values.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "has_password", "mask_text", "mask_value", "uri_values"]

MASK = "***"
#: ``scheme://user:password@``: the user part holds no ``:`` or ``/``; the password runs to the last ``@``
#: of the authority (before any ``/ ? #``), so an unencoded ``@`` inside it (``Pa@ss``) is masked whole.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/\s\"']*:)(?P<password>[^\s\"'/?#]*)@")


def mask_text(text: str) -> str:
    """``text`` with the password of every URI in it replaced by ``***`` (an empty password stays empty)."""
    return _USERINFO.sub(lambda m: f"{m['head']}{MASK if m['password'] else ''}@", text)


def mask_value(value: Any) -> Any:
    """A JSON value (mapping, list, string...) with every URI password in its strings masked; a copy."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value


def has_password(text: str) -> bool:
    """True if ``text`` holds a URI with a (non-empty) password."""
    return any(match["password"] for match in _USERINFO.finditer(text))


def uri_values(value: Any) -> list[str]:
    """Every string in a JSON value that holds a URI with a password (for audits and warnings)."""
    if isinstance(value, str):
        return [value] if has_password(value) else []
    if isinstance(value, dict):
        return [uri for item in value.values() for uri in uri_values(item)]
    if isinstance(value, list | tuple):
        return [uri for item in value for uri in uri_values(item)]
    return []
