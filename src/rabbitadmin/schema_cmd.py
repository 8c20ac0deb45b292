"""``rabbitadmin schema``: print the JSON Schema (draft 2020-12) of the topology format.

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


def schema_text() -> str:
    """The published schema, exactly as shipped."""
    return resources.files("rabbitadmin").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The published schema as a JSON object."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


OUTPUT_FILE_OPTION = typer.Option(
    None, "--output-file", help="Write the schema to this file instead of stdout (e.g. next to your topology)."
)


def schema(output_file: Path | None = OUTPUT_FILE_OPTION) -> None:
    """Print the JSON Schema of topology files, for editors and CI checks. Works offline."""
    text = schema_text()
    if output_file is None:
        sys.stdout.write(text)
        return
    output_file.write_text(text, encoding="utf-8")
    err(f"wrote {output_file}")
