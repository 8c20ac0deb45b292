"""RabbitMQ password hashes computed locally."""

from __future__ import annotations

import base64
import hashlib

import pytest

from rabbitadmin.passwords import check_password, hash_password, is_valid_hash, split_hash

# Taken from a RabbitMQ 3.10 node: user created with password "s3cret".
SERVER_HASH = "taIB2mBa97adSTyuwj7CdBEPNUjoqztH3uf3lrZpWHd/N+6f"


def test_matches_a_hash_made_by_the_server() -> None:
    assert check_password("s3cret", SERVER_HASH)
    assert not check_password("s3cret ", SERVER_HASH)
    salt, _ = split_hash(SERVER_HASH) or (b"", b"")
    assert hash_password("s3cret", salt=salt) == SERVER_HASH


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("rabbit_password_hashing_sha256", hashlib.sha256),
        ("rabbit_password_hashing_sha512", hashlib.sha512),
        ("rabbit_password_hashing_md5", hashlib.md5),
    ],
)
def test_layout_is_salt_then_digest_of_salt_and_password(algorithm: str, digest: object) -> None:
    salt = b"\x01\x02\x03\x04"
    expected = base64.b64encode(salt + digest(salt + "pässwörd".encode()).digest()).decode()  # type: ignore[operator]
    assert hash_password("pässwörd", algorithm, salt) == expected
    assert check_password("pässwörd", expected, algorithm)
    assert is_valid_hash(expected, algorithm)


def test_fresh_salt_each_time() -> None:
    first, second = hash_password("x"), hash_password("x")
    assert first != second and check_password("x", first) and check_password("x", second)


@pytest.mark.parametrize("bad", ["", "not base64!", base64.b64encode(b"abc").decode()])
def test_malformed_hashes_never_match(bad: str) -> None:
    assert not check_password("", bad)
    assert not is_valid_hash(bad)


def test_wrong_salt_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        hash_password("x", salt=b"12")
