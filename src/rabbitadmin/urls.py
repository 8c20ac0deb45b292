"""Management URLs: credentials taken out of them, and the one function that makes a URL safe to show.

A URL may carry credentials (``http://user:p%2Fw@host:15672``). They are percent-decoded as curl does
(RFC 3986 section 3.2.1: reserved characters in the userinfo are percent-encoded) and then removed: the URL
kept in ``ConnectionSettings`` never has userinfo, and every message, JSON error, progress line or plan
header that names a URL passes it through ``redact_url`` first, so a URL that still holds credentials
(an unparsable one, an AMQP URL, a settings object built by hand) is never printed with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret

ENCODE_HINT = (
    "percent-encode / ? # @ : % and spaces in the user name or password (%2F %3F %23 %40 %3A %25 %20), "
    "or give the password with RABBITADMIN_PASSWORD or --password-file"
)


def redact_url(url: str) -> str:
    """``url`` without its userinfo: ``http://u:pw@h:1/x`` -> ``http://h:1/x``.

    Everything between ``//`` and the *last* ``@`` is dropped, so a password holding an unencoded ``/``,
    ``?``, ``#`` or ``@`` (which a URL parser would split elsewhere) is dropped whole too. A string with
    no ``@`` is returned as it is.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return f"{scheme}://{rest}" if scheme else rest


@dataclass(frozen=True)
class ManagementUrl:
    """A management API URL split into the URL without credentials, and the credentials it held."""

    url: str
    user: str | None = None
    password: Secret | None = None


def parse_management_url(raw: str) -> ManagementUrl:
    """Check a management API URL and take its credentials out (percent-decoded).

    Raises ``UsageError`` (exit 2) for a scheme other than http/https, no host, a port that is not a
    number from 1 to 65535, a query or fragment, or a ``@`` after the host (the sign of a password whose
    ``/ ? #`` was not encoded). The message never quotes the URL: it may hold a password.
    """
    try:
        parts = urlsplit(raw.strip())
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
        host = parts.hostname
    except ValueError:
        raise UsageError(f"the management URL (--url, RABBITADMIN_URL) is malformed; {ENCODE_HINT}") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError("the management URL (--url, RABBITADMIN_URL) must start with http:// or https://")
    if "@" in parts.path or "@" in parts.query or "@" in parts.fragment:
        raise UsageError(f"the management URL (--url, RABBITADMIN_URL) has a '@' after its host; {ENCODE_HINT}")
    if parts.query or parts.fragment or "?" in raw or "#" in raw:
        raise UsageError(
            f"the management URL (--url, RABBITADMIN_URL) cannot have a query or fragment ('?', '#'); {ENCODE_HINT}"
        )
    if not host:
        raise UsageError("the management URL (--url, RABBITADMIN_URL) names no host")
    if port == 0:
        raise UsageError("the management URL (--url, RABBITADMIN_URL) has port 0")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return ManagementUrl(raw.strip())
    user_text, colon, password_text = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, "", ""))
    return ManagementUrl(
        clean,
        user=unquote(user_text) if user_text else None,
        password=Secret(unquote(password_text)) if colon else None,
    )
