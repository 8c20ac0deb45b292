"""Connection settings from options, environment and URL; secrets stay hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbitadmin.connection import read_password_file, resolve_settings
from rabbitadmin.errors import UsageError


def test_options_beat_environment(tmp_path: Path) -> None:
    env = {"RABBITADMIN_URL": "http://env:1", "RABBITADMIN_USER": "envuser", "RABBITADMIN_PASSWORD": "envpw"}
    settings = resolve_settings(url="https://opt:2", user="optuser", environ=env)
    assert (settings.url, settings.user) == ("https://opt:2", "optuser")
    assert settings.password is not None and settings.password.reveal() == "envpw"


def test_password_file_and_credentials_in_url(tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("filepw\nignored\n")
    settings = resolve_settings(environ={"RABBITADMIN_PASSWORD_FILE": str(secret_file)})
    assert settings.password is not None and settings.password.reveal() == "filepw"
    settings = resolve_settings(url="http://bob:urlpw@host:15672/", environ={})
    assert settings.url == "http://host:15672/" and settings.user == "bob"
    assert settings.password is not None and settings.password.reveal() == "urlpw"
    assert "urlpw" not in repr(settings)


def test_tls_options() -> None:
    assert resolve_settings(environ={}).verify is True
    assert resolve_settings(ca_bundle="/ca.pem", environ={}).verify == "/ca.pem"
    assert resolve_settings(insecure=True, environ={}).verify is False


@pytest.mark.parametrize("url", ["ftp://x", "localhost:15672"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(UsageError):
        resolve_settings(url=url, environ={})


def test_unreadable_password_file() -> None:
    with pytest.raises(UsageError, match="cannot read the password file"):
        resolve_settings(password_file="/nonexistent/pw", environ={})


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/"], ids=["device-zero", "device-null", "directory"])
def test_password_file_is_a_bounded_regular_file(path: str) -> None:
    # The same kind as a topology's password: {file: ...}: a device or directory is refused before it is read.
    with pytest.raises(UsageError, match="not a regular file"):
        read_password_file(path)


def test_password_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(UsageError, match=str(big)):
        read_password_file(str(big))
