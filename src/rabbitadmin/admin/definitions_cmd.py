"""``rabbitadmin definitions export|import``: the server's own definitions format, as plain commands.

``export`` prints what ``GET /api/definitions`` (or ``/api/definitions/{vhost}``; under ``--backend ctl`` the
same document read on the node, ``backends.ctl.definitions_read``) returns. Users' password hashes are taken out unless
``--include-password-hashes`` (they are secrets too); a file written with them is made private (0600).

``import`` never posts the file to the server in one go: it goes through the engine like ``apply`` (the
loader reads the file as definitions JSON, whatever its keys, where ``apply`` would read users or vhosts alone
as a topology): the plan is shown first, then carried out with confirmation or ``--yes``,
with the same safety rules (no message lost without ``--allow-data-loss``, the apply lock). It only adds
and updates, as the server's own import does: nothing absent from the file is deleted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from rabbitadmin.admin.cli_common import admin_session
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, err, error_boundary
from rabbitadmin.definitions_input import reading_as_definitions
from rabbitadmin.errors import InputFileError, UsageError
from rabbitadmin.export import masked_definitions
from rabbitadmin.input_files import MAX_TOPOLOGY_BYTES, read_bounded
from rabbitadmin.masking import MASK

app = typer.Typer(help="The server's definitions format: export, import (with a plan).", no_args_is_help=True)


@app.command("export")
def export_definitions(
    ctx: typer.Context,
    vhost: str | None = typer.Option(None, "--vhost", "-p", help="Only this vhost (the server's per-vhost shape)."),
    include_password_hashes: bool = typer.Option(
        False, "--include-password-hashes", help="Keep users' password hashes (secrets: keep the file private)."
    ),
    include_secrets: bool = typer.Option(
        False,
        "--include-secrets",
        "--include-uri-passwords",
        help="Keep the secrets of parameters and policies (URI passwords, password/secret/token... keys); only "
        "with --output-file.",
    ),
    output_file: Path | None = typer.Option(None, "--output-file", help="Write here (mode 0600) instead of stdout."),
    output: OutputFormat = typer.Option(
        OutputFormat.text, "--output", "-o", help="The document is JSON either way; json: errors as JSON too."
    ),
) -> None:
    """Print the server's definitions (JSON), as the management UI's export gives them; password hashes left
    out and the secrets of parameters and policies (URI passwords, secret-named keys: what a plan masks) masked
    unless asked for, and then only into a file."""
    with error_boundary(output):
        if include_secrets and output_file is None:
            raise UsageError("--include-secrets writes secrets: only to a file (--output-file), never to stdout")
    with admin_session(ctx) as ops:
        document = ops.export_definitions(vhost)
    if not include_password_hashes:
        document = _without_hashes(document)
    if not include_secrets:
        # The server returns parameters' values with their secrets (3.10.8 and 4.0.5): never on a terminal.
        masked_out: list[str] = []
        document = masked_definitions(document, masked_out)
        for line in masked_out:
            err(f"warning: masked as {MASK}: {line} (--include-secrets --output-file FILE keeps them)")
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output_file is None:
        sys.stdout.write(text)
        return
    with error_boundary(output):
        try:
            fd = os.open(output_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise UsageError(f"cannot write {output_file}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    err(f"wrote {output_file}")


def _without_hashes(document: dict[str, Any]) -> dict[str, Any]:
    users = document.get("users")
    if not isinstance(users, list):
        return document
    return {**document, "users": [{k: v for k, v in u.items() if k != "password_hash"} for u in users]}


@app.command("import")
def import_definitions(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A definitions JSON file (a server export)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
    allow_data_loss: bool = typer.Option(False, "--allow-data-loss", help="Allow replacing queues that hold messages."),
    vhost: str | None = typer.Option(
        None, "--vhost", "-p", help="FILE is one vhost's export (`definitions export --vhost`): import it there."
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Show the plan for a definitions file, then apply it (asks first). Deletes nothing the file omits.

    With ``--vhost``, FILE is one vhost's export (``GET /api/definitions/{vhost}``), imported into that vhost
    as the server's ``POST /api/definitions/{vhost}`` does; the vhost's description and tags stay as they are.
    """
    with error_boundary(output):
        _require_definitions(file)
    root: Any = ctx.find_root().command
    command = root.get_command(ctx, "apply")
    # The same command as `rabbitadmin apply FILE` (plan shown, confirmation, lock, progress), never --prune.
    flags = [flag for flag, given in (("--yes", yes), ("--allow-data-loss", allow_data_loss)) if given]
    args = [str(file), "-o", output.value, *flags, *(["--definitions-vhost", vhost] if vhost is not None else [])]
    # FILE is definitions, whatever its keys: users or vhosts alone, which `apply` reads as a topology, are read
    # as the server's import reads them (definitions_input.reading_as_definitions).
    with reading_as_definitions(), command.make_context("apply", args, parent=ctx) as apply_ctx:
        command.invoke(apply_ctx)


def _require_definitions(file: Path) -> None:
    """``UsageError`` when ``file`` is not a definitions document: anything but a JSON object (the server's
    import reads JSON only; a YAML topology goes to ``apply``). Any JSON object is one, whatever its keys, as the
    server's ``POST /api/definitions`` takes any (``rabbit_definitions:apply_defs/5``, v3.10.8 and v4.0.5): what
    it refuses inside is refused by the loader, with line and field (a topology's lists nested in a vhost too).

    A file that starts like JSON but does not parse is left to the loader, which says where it breaks.
    """
    try:
        text = read_bounded(file, MAX_TOPOLOGY_BYTES, allow_pipes=False)
    except InputFileError as exc:
        raise UsageError(f"{file}: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("{"):
            return
        document = None
    if not isinstance(document, dict):
        raise UsageError(
            f"{file} is not a definitions document (a JSON object, as the server exports and imports): for a "
            "topology file use `rabbitadmin apply`"
        )
