"""Secrets taken out of values before a plan shows them (text or JSON).

A plan shows what each object holds before and after a change. Three sorts of values are secrets and never
shown: fields the facts table marks ``OnChange.SECRET`` (a user's password, compared through its hash),
values under a key that names a secret (``password``, ``secret``, ``token``... anywhere in a nested
definition or parameter value), and the password inside a URI (``amqp://user:pw@host``: shovel and
federation URIs carry them). Each is replaced by ``MASK``: the reader sees that a value is there, and which
user a URI names, never the secret itself.
"""

from __future__ import annotations

from typing import Any

from rabbitadmin.secret_text import MASK, is_secret_key, mask_text, mask_uri, uri_holds_mask

__all__ = ["MASK", "is_secret_key", "mask_secrets", "mask_text", "mask_uri", "masked", "masked_fields"]

_PLAIN = (bool, int, float, type(None))


def masked(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with every secret replaced by ``MASK`` (see the module docstring).

    Tuples become lists; a ``model.Secret`` (any class with ``always_masked``) is masked whatever its key.
    (Called for every field of every change of a plan: the common shapes are tested first.)
    """
    kind = type(value)
    if kind is str:
        return mask_uri(value) if "://" in value else value
    if kind in _PLAIN:
        return value
    if isinstance(value, dict):
        if not value:
            return {}
        return {
            key: (MASK if isinstance(key, str) and is_secret_key(key) and item not in (None, "") else masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    if getattr(kind, "always_masked", False):  # model.Secret
        return MASK
    if isinstance(value, str):
        return mask_uri(value)  # a str subclass
    return value


def mask_secrets(value: Any, where: str = "value") -> tuple[Any, list[str]]:
    """``masked(value)`` for a JSON value, and where each mask went: ``value.password``,
    ``value.src-uri[1]`` (the paths ``validate`` names a field by).

    For exports: a runtime or global parameter's value and a policy's definition come back from the server
    in clear (3.10.8 and 4.0.5), and what a plan would never show must not reach a terminal either.
    """
    found: list[str] = []

    def walk(item: Any, path: str) -> Any:
        if isinstance(item, str):
            shown = mask_uri(item) if "://" in item else item
            if shown != item:
                found.append(path)
            return shown
        if isinstance(item, dict):
            copy = {}
            for key, inner in item.items():
                if isinstance(key, str) and is_secret_key(key) and inner not in (None, ""):
                    copy[key] = MASK  # the whole value under a secret's key, whatever its shape
                    found.append(f"{path}.{key}")
                else:
                    copy[key] = walk(inner, f"{path}.{key}")
            return copy
        if isinstance(item, list | tuple):
            return [walk(inner, f"{path}[{index}]") for index, inner in enumerate(item)]
        return masked(item)

    return walk(value, where), found


def masked_fields(value: Any, where: str = "value") -> list[tuple[str, Any, Any]]:
    """Where a value read as input holds ``MASK`` as ``mask_secrets`` writes it: the whole value under a
    secret's key, or a URI's password. Each as (path, the mapping or list holding it, its key or index), so a
    located input can name the line. Such a value is an export's mask, never a secret to apply."""
    found: list[tuple[str, Any, Any]] = []

    def walk(item: Any, path: str) -> None:
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list | tuple) else ()
        for key, inner in pairs:
            inner_path = f"{path}.{key}" if isinstance(item, dict) else f"{path}[{key}]"
            if isinstance(inner, str) and (
                (inner == MASK and isinstance(key, str) and is_secret_key(key)) or uri_holds_mask(inner)
            ):
                found.append((inner_path, item, key))
            else:
                walk(inner, inner_path)

    if isinstance(value, str) and uri_holds_mask(value):
        found.append((where, None, None))
    walk(value, where)
    return found


def secret_by_name(obj: Any, name: str) -> bool:
    """Whether field ``name`` of ``obj`` is a secret by the object's own name: a global parameter is a key and
    its value (``rabbit_runtime_parameters:set_global/3``), so ``db_secret``'s whole value is one, as it would
    be under that key in a mapping."""
    return name == "value" and getattr(obj, "kind", None) == "global_parameter" and is_secret_key(obj.name)


def global_parameter_secret(name: Any, value: Any) -> bool:
    """Whether a global parameter named ``name`` holds ``value`` as a secret: its name names one (``db_secret``)
    and the value is not empty (nothing secret in ``""`` or null)."""
    return value not in (None, "") and isinstance(name, str) and is_secret_key(name)


def masked_field(obj: Any, name: str, value: Any) -> Any:
    """``masked(value)`` for field ``name`` of ``obj``: ``MASK`` for a value that is a secret by the object's
    name (``secret_by_name``, ``global_parameter_secret``)."""
    if secret_by_name(obj, name) and global_parameter_secret(obj.name, value):
        return MASK
    return masked(value)
