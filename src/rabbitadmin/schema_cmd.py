"""``rabbitadmin schema``: print the JSON Schema (draft 2020-12) of the topology format, or with ``--plan``
the one of the JSON plan (``plan -o json``, ``apply -o json``; ``schema/plan.schema.json``, generated from
the facts table by scripts/gen_plan_schema.py).

The schema ships as package data (``schema/topology.schema.json``) so that editors can validate and
complete topology files before ``rabbitadmin validate`` runs; it agrees with ``validate.py`` wherever
JSON Schema can express a rule (see docs/topology.md for the few it cannot).
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from rabbitadmin.cli_support import err

SCHEMA_RESOURCE = "schema/topology.schema.json"
PLAN_SCHEMA_RESOURCE = "schema/plan.schema.json"


def schema_text(resource: str = SCHEMA_RESOURCE) -> str:
    """A published schema (the topology's by default), exactly as shipped."""
    return resources.files("rabbitadmin").joinpath(resource).read_text(encoding="utf-8")


def load_schema(resource: str = SCHEMA_RESOURCE) -> dict[str, Any]:
    """A published schema (the topology's by default) as a JSON object."""
    schema: dict[str, Any] = json.loads(schema_text(resource))
    return schema


OUTPUT_FILE_OPTION = typer.Option(
    None, "--output-file", help="Write the schema to this file instead of stdout (e.g. next to your topology)."
)


PLAN_OPTION = typer.Option(
    False, "--plan", help="The schema of the JSON plan (plan -o json, apply -o json) instead of topology files."
)


def schema(output_file: Path | None = OUTPUT_FILE_OPTION, plan: bool = PLAN_OPTION) -> None:
    """Print the JSON Schema of topology files (or, with --plan, of JSON plans), for editors and CI checks.
    Works offline."""
    text = schema_text(PLAN_SCHEMA_RESOURCE if plan else SCHEMA_RESOURCE)
    if output_file is None:
        sys.stdout.write(text)
        return
    output_file.write_text(text, encoding="utf-8")
    err(f"wrote {output_file}")
