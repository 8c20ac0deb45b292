"""How to reach a server: URL, credentials and TLS settings, from options or the environment.

Environment variables: ``RABBITADMIN_URL``, ``RABBITADMIN_USER``, ``RABBITADMIN_PASSWORD`` or
``RABBITADMIN_PASSWORD_FILE``, ``RABBITADMIN_CA_BUNDLE``, ``RABBITADMIN_AMQP_PORT``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret
from rabbitadmin.urls import parse_management_url, redact_url

DEFAULT_URL = "http://localhost:15672"
DEFAULT_AMQP_PORT = 5672
DEFAULT_USER = "guest"


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to talk to one RabbitMQ node (the password is a ``Secret``).

    ``url`` never keeps credentials: given ``http://user:pw@host``, the object holds ``http://host`` and
    takes the (percent-decoded) password when none is given, and the user when ``user`` is the default.
    A malformed URL raises ``UsageError``.
    """

    url: str = DEFAULT_URL
    user: str = DEFAULT_USER
    password: Secret | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float = 60.0
    amqp_port: int | None = None

    def __post_init__(self) -> None:
        parsed = parse_management_url(self.url)
        # Frozen: the credentials move out of the URL once, here, whoever built the settings.
        object.__setattr__(self, "url", parsed.url)
        if self.password is None and parsed.password is not None:
            object.__setattr__(self, "password", parsed.password)
        if self.user == DEFAULT_USER and parsed.user is not None:
            object.__setattr__(self, "user", parsed.user)

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def shown_url(self) -> str:
        """The URL as messages show it (through ``redact_url``, like every URL in a message)."""
        return redact_url(self.base_url)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def verify(self) -> bool | str:
        """The value for ``requests``' ``verify``: a CA bundle path, or a boolean."""
        if not self.verify_tls:
            return False
        return self.ca_bundle or True

    def with_password(self, password: str) -> ConnectionSettings:
        return replace(self, password=Secret(password))


def read_password_file(path: str) -> Secret:
    """Read a password from a file (first line, surrounding whitespace dropped).

    Only a regular file of at most ``input_files.MAX_PASSWORD_FILE_BYTES`` is read, as for a topology's
    ``password: {file: ...}`` (``/dev/zero`` or a FIFO would otherwise exhaust memory or hang).
    Raises ``UsageError`` naming the path and why, never the content.
    """
    from rabbitadmin.errors import InputFileError
    from rabbitadmin.input_files import MAX_PASSWORD_FILE_BYTES, read_bounded

    try:
        text = read_bounded(path, MAX_PASSWORD_FILE_BYTES, allow_pipes=False)
    except InputFileError as exc:
        raise UsageError(f"cannot read the password file {path}: {exc}") from None
    lines = text.splitlines()
    return Secret(lines[0].strip() if lines else "")


def resolve_settings(
    *,
    url: str | None = None,
    user: str | None = None,
    password: str | None = None,
    password_file: str | None = None,
    ca_bundle: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    insecure: bool = False,
    timeout: float | None = None,
    amqp_port: int | None = None,
    environ: dict[str, str] | None = None,
) -> ConnectionSettings:
    """Merge explicit options over environment variables over defaults."""
    env = os.environ if environ is None else environ
    raw_url = url or env.get("RABBITADMIN_URL") or DEFAULT_URL
    parsed = parse_management_url(raw_url)
    url_password = parsed.password
    secret: Secret | None
    if password is not None:
        secret = Secret(password)
    elif password_file:
        secret = read_password_file(password_file)
    elif "RABBITADMIN_PASSWORD" in env:
        secret = Secret(env["RABBITADMIN_PASSWORD"])
    elif env.get("RABBITADMIN_PASSWORD_FILE"):
        secret = read_password_file(env["RABBITADMIN_PASSWORD_FILE"])
    else:
        secret = url_password
    port_text = env.get("RABBITADMIN_AMQP_PORT")
    if amqp_port is None and port_text:
        try:
            amqp_port = int(port_text)
        except ValueError:
            raise UsageError(f"RABBITADMIN_AMQP_PORT must be a port number, got {port_text!r}") from None
    return ConnectionSettings(
        url=parsed.url,
        user=user or env.get("RABBITADMIN_USER") or parsed.user or DEFAULT_USER,
        password=secret,
        verify_tls=not insecure,
        ca_bundle=ca_bundle or env.get("RABBITADMIN_CA_BUNDLE"),
        client_cert=client_cert or env.get("RABBITADMIN_CLIENT_CERT"),
        client_key=client_key or env.get("RABBITADMIN_CLIENT_KEY"),
        timeout=timeout if timeout is not None else 60.0,
        amqp_port=amqp_port,
    )
