"""A thin, thread-safe client for the RabbitMQ management HTTP API.

Every path segment is percent-encoded with nothing left safe, so vhost ``/`` becomes ``%2F`` and names
with spaces, ``#``, ``%`` or non-ASCII characters reach the server intact. Each thread gets its own
keep-alive ``requests.Session``. Errors carry the server's reason, the method and the path, never the
request body (which may hold a password hash).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import requests

from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import ConnectionFailed, ServerError, UnaddressableName

JSON = Any


DOT_SEGMENTS = frozenset({".", ".."})


def api_path(*segments: str) -> str:
    """``api_path("queues", "/", "a b")`` gives ``/api/queues/%2F/a%20b``.

    Raises ``UnaddressableName`` for a ``.`` or ``..`` segment: no encoding gets one to the server intact.
    """
    for segment in segments:
        if segment in DOT_SEGMENTS:
            raise UnaddressableName(segment)
    return "/api/" + "/".join(quote(segment, safe="") for segment in segments)


class HttpClient:
    """Sends requests to one node; see the module docstring."""

    def __init__(self, settings: ConnectionSettings, pool_size: int = 32) -> None:
        self.settings = settings
        self._local = threading.local()
        self._pool_size = pool_size
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def _cert(self) -> str | tuple[str, str] | None:
        if not self.settings.client_cert:
            return None
        if self.settings.client_key:
            return (self.settings.client_cert, self.settings.client_key)
        return self.settings.client_cert

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            password = self.settings.password.reveal() if self.settings.password else ""
            session.auth = (self.settings.user, password)
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=self._pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["content-type"] = "application/json"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: JSON = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send one request; raise ``ServerError`` unless it succeeded or its status is in ``ok_statuses``."""
        url = self.settings.base_url + path
        try:
            # verify and cert go on each request: requests lets REQUESTS_CA_BUNDLE override session-level values.
            response = self._session().request(
                method,
                url,
                params=params,
                json=body,
                timeout=self.settings.timeout,
                verify=self.settings.verify,
                cert=self._cert,
                stream=True,
            )
            # The whole body in one read. requests' default reads 10 KB at a time, and each read must win the
            # GIL back: while another thread is busy (validating the file the plan reads this for), every
            # one of them waits, and a 2 MB listing took twice as long.
            response._content = b"".join(response.iter_content(chunk_size=None))
        except requests.exceptions.SSLError as exc:
            raise ConnectionFailed(
                f"TLS handshake with {self.settings.base_url} failed ({_tls_reason(exc)}); check the CA bundle "
                "(--ca-bundle) and client certificate (--client-cert, --client-key), or --insecure to skip verification"
            ) from None
        except requests.exceptions.Timeout:
            raise ConnectionFailed(
                f"{method} {path}: no answer from {self.settings.base_url} within {self.settings.timeout:.0f}s"
            ) from None
        except requests.exceptions.ConnectionError:
            raise ConnectionFailed(
                f"cannot connect to {self.settings.base_url} (is the management plugin enabled and the URL right?)"
            ) from None
        if response.status_code == 401:
            raise ConnectionFailed(
                f"the server refused the credentials of user {self.settings.user!r} ({method} {path})"
            )
        if response.status_code >= 400 and response.status_code not in ok_statuses:
            raise ServerError(method, path, response.status_code, _reason(response))
        return response

    def get(self, path: str, params: dict[str, str] | None = None) -> JSON:
        return self.request("GET", path, params=params).json()

    def get_or_none(self, path: str, params: dict[str, str] | None = None) -> JSON:
        response = self.request("GET", path, params=params, ok_statuses=(404,))
        return None if response.status_code == 404 else response.json()

    def put(self, path: str, body: JSON) -> None:
        self.request("PUT", path, body=body)

    def post(self, path: str, body: JSON) -> requests.Response:
        return self.request("POST", path, body=body)

    def delete(self, path: str, params: dict[str, str] | None = None) -> bool:
        """Delete; False when it was already gone (404), which reaches the desired state too."""
        response = self.request("DELETE", path, params=params, ok_statuses=(404,))
        return response.status_code != 404


def _tls_reason(exc: Exception) -> str:
    """The innermost SSL error's own words (certificate problems say what is wrong), without the URL."""
    text = str(exc)
    marker = text.rfind("SSLError(")
    if marker >= 0:
        text = text[marker + len("SSLError(") :]
    return text.strip("()'\" ")[:200] or type(exc).__name__


def _reason(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason or "no reason given"
    if isinstance(payload, dict):
        reason = payload.get("reason") or payload.get("error")
        if reason:
            return str(reason)
    return str(payload)[:300]
