"""RabbitMQ's salted password hashes, computed and checked locally.

The internal auth backend stores ``base64(salt + H(salt + utf8(password)))`` with a 4-byte random salt and
H = SHA-256 by default (SHA-512 or MD5 depending on ``hashing_algorithm``). Re-hashing a desired password
with the stored salt tells whether it changed, without resetting it and without a login attempt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from rabbitadmin.errors import UnknownHashingAlgorithm

SALT_BYTES = 4
ALGORITHMS: dict[str, str] = {
    "rabbit_password_hashing_sha256": "sha256",
    "rabbit_password_hashing_sha512": "sha512",
    "rabbit_password_hashing_md5": "md5",
}
DEFAULT_ALGORITHM = "rabbit_password_hashing_sha256"
MD5 = "rabbit_password_hashing_md5"
#: What ``users authenticate`` answers, and why a blank password is refused everywhere else.
BLANK_PASSWORD_REFUSAL = "blank passwords are prohibited by the server"  # noqa: S105 - a message


def is_blank(password: str) -> bool:
    """True for a password the server refuses at every login: the empty string only.

    ``rabbit_auth_backend_internal:user_login_authentication/2`` refuses ``<<"">>`` before looking at the
    stored hash (HTTP 401, AMQP 403 ACCESS_REFUSED, "blank password ... prohibited" in its log); a password
    of spaces is an ordinary password (measured on 3.10.8: HTTP 200, AMQP login accepted).
    """
    return password == ""


def _digest(algorithm: str, data: bytes) -> bytes:
    try:
        name = ALGORITHMS[algorithm]
    except KeyError:
        raise UnknownHashingAlgorithm(f"unknown password hashing algorithm {algorithm!r}") from None
    return hashlib.new(name, data, usedforsecurity=name != "md5").digest()


def hash_password(password: str, algorithm: str = DEFAULT_ALGORITHM, salt: bytes | None = None) -> str:
    """The value RabbitMQ stores as ``password_hash`` for ``password`` (a fresh salt unless given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a RabbitMQ password salt is {SALT_BYTES} bytes")
    return base64.b64encode(salt + _digest(algorithm, salt + password.encode("utf-8"))).decode("ascii")


def split_hash(password_hash: str) -> tuple[bytes, bytes] | None:
    """(salt, digest) of a stored hash, or None if it is empty or not a RabbitMQ hash."""
    try:
        raw = base64.b64decode(password_hash, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != password_hash:
        return None  # only the canonical encoding, as the server writes it (no stray padding)
    if len(raw) <= SALT_BYTES:
        return None
    return raw[:SALT_BYTES], raw[SALT_BYTES:]


def check_password(password: str, password_hash: str, algorithm: str = DEFAULT_ALGORITHM) -> bool:
    """True if ``password`` hashes to ``password_hash`` under its own salt."""
    parts = split_hash(password_hash)
    if parts is None:
        return False
    salt, _ = parts
    expected = hash_password(password, algorithm, salt)
    return hmac.compare_digest(expected, password_hash)


def is_valid_hash(password_hash: str, algorithm: str = DEFAULT_ALGORITHM) -> bool:
    """True if ``password_hash`` has the shape the algorithm produces (salt plus a full digest)."""
    parts = split_hash(password_hash)
    if parts is None or algorithm not in ALGORITHMS:
        return False
    return len(parts[1]) == hashlib.new(ALGORITHMS[algorithm], usedforsecurity=False).digest_size
