"""How to reach a server: URL, credentials and TLS settings, from options or the environment.

Environment variables: ``RABBITADMIN_URL``, ``RABBITADMIN_URLS`` (a cluster's nodes, comma-separated),
``RABBITADMIN_USER``, ``RABBITADMIN_PASSWORD`` or
``RABBITADMIN_PASSWORD_FILE``, ``RABBITADMIN_CA_BUNDLE``, ``RABBITADMIN_AMQP_PORT``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from rabbitadmin.errors import UsageError
from rabbitadmin.model import Secret
from rabbitadmin.urls import parse_management_url, redact_url

DEFAULT_URL = "http://localhost:15672"
DEFAULT_AMQP_PORT = 5672
DEFAULT_USER = "guest"
#: Opening a TCP connection waits at most this long (``timeout`` bounds the wait for each answer).
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to talk to one RabbitMQ node (the password is a ``Secret``).

    ``url`` never keeps credentials: given ``http://user:pw@host``, the object holds ``http://host`` and
    takes the (percent-decoded) password when none is given, and the user when ``user`` is the default.
    A malformed URL raises ``UsageError``.

    ``other_urls``: further management URLs of the same cluster, tried in turn when the node in use cannot
    be reached (docs/clusters.md, "Failover"); their credentials are dropped (one user for the cluster).
    ``on_failover(from_url, to_url, reason)`` is told each time the HTTP client moves to another node.
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
    other_urls: tuple[str, ...] = ()
    on_failover: Callable[[str, str, str], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        others = tuple(parse_management_url(other).url for other in self.other_urls)
        object.__setattr__(self, "other_urls", others)
        parsed = parse_management_url(self.url)
        # Frozen: the credentials move out of the URL once, here, whoever built the settings.
        object.__setattr__(self, "url", parsed.url)
        if self.password is None and parsed.password is not None:
            object.__setattr__(self, "password", parsed.password)
        if self.user == DEFAULT_USER and parsed.user is not None:
            object.__setattr__(self, "user", parsed.user)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every node's URL, the first one to try first, each once."""
        return tuple(dict.fromkeys((self.url, *self.other_urls)))

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
    url: str | Sequence[str] | None = None,
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
    """Merge explicit options over environment variables over defaults.

    ``url``: one URL, or a cluster's nodes (``--url`` repeated, a target's ``url`` list), first tried first.
    Without it, ``RABBITADMIN_URL``; ``RABBITADMIN_URLS`` (comma-separated) adds its other nodes as
    fallbacks when it lists ``RABBITADMIN_URL`` or when that is unset (a URL of another server never gets
    fallbacks it does not belong with).
    """
    env = os.environ if environ is None else environ
    given = [url] if isinstance(url, str) else [u for u in url or () if u]
    raw_urls = given or cluster_urls(env)
    raw_url = raw_urls[0] if raw_urls else DEFAULT_URL
    parsed = parse_management_url(raw_url)
    others = tuple(parse_management_url(u).url for u in raw_urls[1:])
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
        other_urls=others,
    )


def cluster_urls(env: Mapping[str, str]) -> list[str]:
    """The URLs the environment names, first to try first: ``RABBITADMIN_URL`` then the other nodes of
    ``RABBITADMIN_URLS`` when they belong together (see ``resolve_settings``); [] when neither is set."""
    single = env.get("RABBITADMIN_URL", "").strip()
    listed = [u.strip() for u in env.get("RABBITADMIN_URLS", "").split(",") if u.strip()]
    if not single:
        return listed
    if single.rstrip("/") not in [u.rstrip("/") for u in listed]:
        return [single]
    return [single, *(u for u in listed if u.rstrip("/") != single.rstrip("/"))]
