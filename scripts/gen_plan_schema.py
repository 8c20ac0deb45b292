"""Write src/rabbitadmin/schema/plan.schema.json: the JSON Schema of `plan -o json` and `apply -o json`.

The per-kind parts (identity, before/after values) follow the facts table (``kinds.KINDS``) and the model's
field types, so a kind or a field added there is one run of this script away from the published schema:

    .venv/bin/python scripts/gen_plan_schema.py

tests/unit/test_plan_schema.py fails while the shipped file differs from what this script writes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from rabbitadmin.engine.plan import FORMAT_VERSION, Action
from rabbitadmin.kinds import KINDS, OnChange
from rabbitadmin.masking import MASK

TARGET = Path(__file__).resolve().parents[1] / "src" / "rabbitadmin" / "schema" / "plan.schema.json"


def _type_of(hint: str) -> dict[str, Any]:
    """A field's JSON type from the model's annotation text (``str | None``, ``tuple[str, ...] | None``...)."""
    if "tuple" in hint:
        return {"type": "array", "items": {"type": "string"}}
    if "dict" in hint:
        return {"type": "object"}
    if "JsonValue" in hint:  # a plugin's value (parameters): any JSON, which the plugin validates
        return {}
    if "bool" in hint:
        return {"type": "boolean"}
    if "int | float" in hint:
        return {"type": "number"}
    if "int" in hint:
        return {"type": "integer"}
    return {"type": "string"}


def _hints(model: type) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(model)}


def _values(kind: str) -> dict[str, Any]:
    facts = KINDS[kind]
    hints = _hints(facts.model)
    properties: dict[str, Any] = {}
    for field in facts.fields:
        if field.on_change is OnChange.SECRET:
            properties[field.name] = {
                "description": f"A secret: {MASK!r} when the object has one, null when it has none. Never a value.",
                "enum": [MASK, None],
            }
        else:
            properties[field.name] = _type_of(hints[field.name])
    return {
        "description": f"Every field of a {facts.label}, as the server holds it (before) or will hold it (after).",
        "type": "object",
        "properties": properties,
        "required": [field.name for field in facts.fields],
        "additionalProperties": False,
    }


def _identity(kind: str) -> dict[str, Any]:
    facts = KINDS[kind]
    hints = _hints(facts.model)
    return {
        "description": f"The fields that identify a {facts.label}, in key order.",
        "type": "object",
        "properties": {name: _type_of(hints[name]) for name in facts.identity},
        "required": list(facts.identity),
        "additionalProperties": False,
    }


def _per_kind(kind: str) -> dict[str, Any]:
    either = {"oneOf": [{"type": "null"}, {"$ref": f"#/$defs/values_{kind}"}]}
    return {
        "if": {"properties": {"kind": {"const": kind}}},
        "then": {
            "properties": {
                "identity": {"$ref": f"#/$defs/identity_{kind}"},
                "key": {"minItems": len(KINDS[kind].identity), "maxItems": len(KINDS[kind].identity)},
                "before": either,
                "after": either,
            }
        },
    }


def _per_action() -> list[dict[str, Any]]:
    is_null, is_object = {"type": "null"}, {"type": "object"}
    shapes = {
        Action.CREATE: (is_null, is_object),
        Action.UPDATE: (is_object, is_object),
        Action.REPLACE: (is_object, is_object),
        Action.DELETE: (is_object, is_null),
    }
    return [
        {
            "if": {"properties": {"action": {"const": str(action)}}},
            "then": {"properties": {"before": before, "after": after}},
        }
        for action, (before, after) in shapes.items()
    ]


def build() -> dict[str, Any]:
    kinds = list(KINDS)
    change_fields: dict[str, Any] = {
        "description": "One change. before: the object as the server holds it (null for a create); after: as it "
        "will be (null for a delete). Secrets (passwords, password hashes, passwords in URIs, values under keys "
        f"such as 'password' or 'secret') are {MASK!r}.",
        "type": "object",
        "properties": {
            "action": {"enum": [str(a) for a in Action]},
            "kind": {"enum": kinds},
            "key": {"description": "The identity's values in key order.", "type": "array"},
            "identity": {"type": "object"},
            "subject": {"description": "The object in words, as the text plan names it.", "type": "string"},
            "before": {"type": ["object", "null"]},
            "after": {"type": ["object", "null"]},
            "fields": {
                "description": "The fields an update or a replace changes.",
                "type": "array",
                "items": {"$ref": "#/$defs/field_change"},
            },
            "reason": {"type": "string"},
            "messages_at_risk": {"type": ["integer", "null"], "minimum": 0},
            "consumers": {"type": ["integer", "null"], "minimum": 0},
            "conditional": {"type": "boolean"},
        },
        "required": ["action", "kind", "key", "identity", "subject", "before", "after"],
        "allOf": [*_per_action(), *(_per_kind(kind) for kind in kinds)],
    }
    defs: dict[str, Any] = {
        "change_fields": change_fields,
        "change": {"$ref": "#/$defs/change_fields", "unevaluatedProperties": False},
        "field_change": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "before": {}, "after": {}},
                    "required": ["field", "before", "after"],
                    "additionalProperties": False,
                },
                {
                    "description": "A secret field: only that it changed.",
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "changed": {"const": True}},
                    "required": ["field", "changed"],
                    "additionalProperties": False,
                },
            ]
        },
        "plan": {
            "type": "object",
            "properties": {
                "format_version": {"const": FORMAT_VERSION},
                "scope": {
                    "type": "object",
                    "properties": {"vhosts": {"type": "array", "items": {"type": "string"}}},
                    "required": ["vhosts"],
                    "additionalProperties": False,
                },
                "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
                "summary": {
                    "type": "object",
                    "properties": {str(a): {"type": "integer", "minimum": 0} for a in Action},
                    "required": [str(a) for a in Action],
                    "additionalProperties": False,
                },
                "refusals": {"type": "array", "items": {"type": "string"}},
                "notes": {"type": "array", "items": {"type": "string"}},
                "server_version": {"type": ["string", "null"]},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "unlisted_bindings": {"type": "integer", "minimum": 0},
                "data_loss": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "subject": {"type": "string"},
                            "messages": {"type": ["integer", "null"]},
                            "conditional": {"type": "boolean"},
                        },
                        "required": ["subject", "messages", "conditional"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": [
                "format_version",
                "scope",
                "changes",
                "summary",
                "refusals",
                "notes",
                "server_version",
                "warnings",
                "unlisted_bindings",
                "data_loss",
            ],
            "additionalProperties": False,
        },
        "result": {
            "description": "What an apply did: every change of the plan is in exactly one list.",
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"},
                "done": {"type": "array", "items": {"$ref": "#/$defs/change"}},
                "failed": {"type": "array", "items": {"$ref": "#/$defs/change_with", "required": ["error"]}},
                "not_attempted": {"type": "array", "items": {"$ref": "#/$defs/change"}},
                "kept": {"type": "array", "items": {"$ref": "#/$defs/change_with", "required": ["reason_kept"]}},
            },
            "required": ["ok", "done", "failed", "not_attempted", "kept"],
            "additionalProperties": False,
        },
        "change_with": {
            "description": "A change of an apply's result with why it failed (error) or was kept (reason_kept).",
            "$ref": "#/$defs/change_fields",
            "properties": {"error": {"type": "string"}, "reason_kept": {"type": "string"}},
            "unevaluatedProperties": False,
        },
        "apply": {
            "description": "What `apply -o json` (and `tutorial provision -o json`) prints: the plan and its result.",
            "type": "object",
            "properties": {
                "plan": {"$ref": "#/$defs/plan"},
                "result": {"$ref": "#/$defs/result"},
                "failovers": {
                    "description": "The nodes of a cluster the apply moved between (docs/clusters.md): from and "
                    "to are the nodes' URLs (without credentials), reason why it moved. Empty: it stayed on one.",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "from": {"type": "string"},
                            "to": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                        "required": ["from", "to", "reason"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["plan", "result"],
            "additionalProperties": False,
        },
    }
    for kind in kinds:
        defs[f"identity_{kind}"] = _identity(kind)
        defs[f"values_{kind}"] = _values(kind)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rabbitadmin plan",
        "description": f"The JSON plan of `rabbitadmin plan -o json` (format_version {FORMAT_VERSION}), and of "
        "`apply -o json`, which prints {plan, result}. Reference: docs/plan.md. Generated from the facts table "
        "by scripts/gen_plan_schema.py.",
        "if": {"type": "object", "required": ["result"]},
        "then": {"$ref": "#/$defs/apply"},
        "else": {"$ref": "#/$defs/plan"},
        "$defs": defs,
    }


def text() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(text(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
