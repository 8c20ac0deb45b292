"""How to reach a server: URL, credentials and TLS settings, from options or the environment.

Environment variables: ``RABBITADMIN_URL``, ``RABBITADMIN_USER``, ``RABBITADMIN_PASSWORD`` or
``RABBITADMIN_PASSWORD_FILE``, ``RABBITADMIN_CA_BUNDLE``, ``RABBITADMIN_AMQP_PORT``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret

DEFAULT_URL = "http://localhost:15672"
DEFAULT_AMQP_PORT = 5672


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to talk to one RabbitMQ node (the password is a ``Secret``)."""

    url: str = DEFAULT_URL
    user: str = "guest"
    password: Secret | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float = 60.0
    amqp_port: int | None = None

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

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
    """Read a password from a file (first line, surrounding whitespace dropped)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the password file {path}: {exc.strerror}") from None
    lines = text.splitlines()
    return Secret(lines[0].strip() if lines else "")


def strip_userinfo(url: str) -> tuple[str, str | None, Secret | None]:
    """Split ``http://user:pass@host`` into a URL without credentials, the user and the password."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"the management URL must start with http:// or https://, got {parts.scheme!r}")
    if parts.username is None and parts.password is None:
        return url, None, None
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, parts.username, Secret(parts.password) if parts.password is not None else None


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
    clean_url, url_user, url_password = strip_userinfo(raw_url)
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
        url=clean_url,
        user=user or env.get("RABBITADMIN_USER") or url_user or "guest",
        password=secret,
        verify_tls=not insecure,
        ca_bundle=ca_bundle or env.get("RABBITADMIN_CA_BUNDLE"),
        client_cert=client_cert or env.get("RABBITADMIN_CLIENT_CERT"),
        client_key=client_key or env.get("RABBITADMIN_CLIENT_KEY"),
        timeout=timeout if timeout is not None else 60.0,
        amqp_port=amqp_port,
    )
