"""``rabbitadmin passwords hash``: RabbitMQ's salted password hash, computed locally.

The value a definitions file or ``PUT /api/users/{name}`` takes as ``password_hash`` (with its
``hashing_algorithm``): ``base64(salt + H(salt + utf8(password)))``, a 4-byte random salt (``passwords.py``;
``rabbit_password_hashing_sha256`` is the server's default). The password comes from a hidden prompt (asked
twice), ``--password-file`` or ``--password-env``, never from the command line, where ``ps`` would show it.
"""

from __future__ import annotations

import sys

import typer

from rabbitadmin.admin.cli_common import PASSWORD_ENV_OPTION, PASSWORD_FILE_OPTION, read_password
from rabbitadmin.cli_support import OUTPUT_OPTION, OutputFormat, emit_json, error_boundary
from rabbitadmin.errors import UsageError
from rabbitadmin.passwords import ALGORITHMS, BLANK_PASSWORD_REFUSAL, hash_password, is_blank
from rabbitadmin.suggest import unknown_value

app = typer.Typer(help="Passwords: hash (RabbitMQ's salted hash, for definitions files).", no_args_is_help=True)
#: Short names accepted for ``--algorithm`` (the server's full names are accepted too).
SHORT_NAMES = {value: key for key, value in ALGORITHMS.items()}


def algorithm_name(given: str) -> str:
    """The server's algorithm name for ``sha256``/``sha512``/``md5`` or a full ``rabbit_password_hashing_*``
    name; ``UsageError`` (exit 2) for anything else."""
    if given in ALGORITHMS:
        return given
    if given.lower() in SHORT_NAMES:
        return SHORT_NAMES[given.lower()]
    raise UsageError(unknown_value("hashing algorithm", given, [*SHORT_NAMES, *ALGORITHMS]))


@app.command("hash")
def hash_command(
    algorithm: str = typer.Option(
        "sha256", "--algorithm", "-a", help="sha256 (the server's default), sha512 or md5 (old servers)."
    ),
    password_file: str | None = PASSWORD_FILE_OPTION,
    password_env: str | None = PASSWORD_ENV_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Print the salted hash of a password (prompt, --password-file or --password-env), for password_hash."""
    with error_boundary(output):
        chosen = algorithm_name(algorithm)
        password = read_password(password_file, password_env, confirm=True)
        if is_blank(password.reveal()):
            raise UsageError(f"the password is empty: {BLANK_PASSWORD_REFUSAL}")
        value = hash_password(password.reveal(), chosen)
    if output is OutputFormat.json:
        emit_json({"password_hash": value, "hashing_algorithm": chosen})
    else:
        sys.stdout.write(value + "\n")



