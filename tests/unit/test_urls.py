"""Credentials in management URLs: percent-decoded as curl does, never kept in the URL, never in a message."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.connection import ConnectionSettings, resolve_settings
from rabbitadmin.errors import UsageError
from rabbitadmin.urls import parse_management_url, redact_url

# Every character that has a meaning in a URL, and a space.
PASSWORDS = ["p/w", "p#w", "p?w", "p@w", "p:w", "p%w", "p w", "a/#?@:% b", "%2F", "ünï/cødé", "@@", ":"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_encoded_password_is_decoded_and_taken_out(password: str) -> None:
    url = f"http://bob:{quote(password, safe='')}@rabbit.example:15672"
    parsed = parse_management_url(url)
    assert parsed.url == "http://rabbit.example:15672"
    assert parsed.user == "bob"
    assert parsed.password is not None and parsed.password.reveal() == password
    settings = resolve_settings(url=url, environ={})
    assert settings.url == "http://rabbit.example:15672" and settings.user == "bob"
    assert settings.password is not None and settings.password.reveal() == password
    if len(password) > 2:  # a one-character password is in any text
        assert password not in repr(settings) and quote(password, safe="") not in repr(settings)


def test_encoded_user_name_and_ipv6_host() -> None:
    parsed = parse_management_url("https://a%40b:pw@[::1]:15671/prefix")
    assert (parsed.url, parsed.user) == ("https://[::1]:15671/prefix", "a@b")


def test_unencoded_at_sign_in_password_is_the_last_at() -> None:
    # curl and urllib agree: the host starts after the last '@' of the authority.
    parsed = parse_management_url("http://bob:p@ss@host:15672")
    assert parsed.url == "http://host:15672" and parsed.password is not None
    assert parsed.password.reveal() == "p@ss"


@pytest.mark.parametrize(
    "url",
    [
        "http://bob:p/w@host:15672",  # '/' ends the authority: the port would read as "p"
        "http://bob:p?w@host:15672",
        "http://bob:p#w@host:15672",
        "http://bob:s3cr3t@host:notaport",
        "http://bob:s3cr3t@host:99999",
        "http://bob:s3cr3t@host:0",
        "http://bob:s3cr3t@:15672",
        "http://host:15672/?x=s3cr3t",
        "ftp://bob:s3cr3t@host",
        "bob:s3cr3t@host:15672",
    ],
)
def test_malformed_urls_are_usage_errors_that_quote_no_part_of_them(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_settings(url=url, environ={})
    message = str(caught.value)
    for fragment in ("s3cr3t", "p/w", "p?w", "p#w", "w@host", "bob"):
        assert fragment not in message
    assert "--url" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@h:1/x", "http://h:1/x"),
        ("http://u:p/w@h:1", "http://h:1"),
        ("http://u:p?w#@h:1", "http://h:1"),
        ("https://u@h", "https://h"),
        ("amqp://u:a@b@h:5672/%2F", "amqp://h:5672/%2F"),
        ("u:pw@h:1", "h:1"),
        ("http://h:1", "http://h:1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_settings_built_by_hand_never_keep_credentials() -> None:
    # The Ansible module and tests build ConnectionSettings directly: the URL is cleaned there too.
    settings = ConnectionSettings(url="http://admin:s%2F3cret@host:15672")
    assert settings.url == "http://host:15672" and settings.user == "admin"
    assert settings.password is not None and settings.password.reveal() == "s/3cret"
    assert "s/3cret" not in settings.shown_url and "3cret" not in HttpClient(settings).settings.base_url


def test_explicit_password_and_user_win_over_the_url() -> None:
    env = {"RABBITADMIN_PASSWORD": "from-env", "RABBITADMIN_USER": "envuser"}
    settings = resolve_settings(url="http://bob:from-url@host:15672", environ=env)
    assert settings.user == "envuser"
    assert settings.password is not None and settings.password.reveal() == "from-env"
