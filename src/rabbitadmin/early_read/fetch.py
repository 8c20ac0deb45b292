"""One listing fetched before ``requests`` is loaded, with the standard library's ``http.client``.

Only what a plan's read can use as it is: a 200 answer with a JSON body. Anything else (no connection, a
refusal, a 404, a timeout, a body cut short) leaves no answer, and the read sends the request again
itself, through the client that reports such faults (``backends.http.client``). Nothing is printed or
logged; the password is sent only in the ``Authorization`` header, as ``requests`` sends it. Opening the
connection waits at most ``connection.CONNECT_TIMEOUT`` (as the client does), each read at most the
settings' timeout; the thread blocks SIGINT and SIGTERM, which stay the main thread's (``threads.py``).

TLS as ``requests`` does it: the context is urllib3's own (``create_urllib3_context``: TLS 1.2 at least, no
host name taken from the certificate's CN, ...), verifying against the CA bundle given (``--ca-bundle``),
else the one ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, else ``certifi``'s; nothing under
``--insecure``; the client certificate and key given, if any. A key that needs a passphrase makes the
early read give up (OpenSSL would ask for it on the terminal).
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from rabbitadmin.backends.http.paths import Listing
from rabbitadmin.connection import CONNECT_TIMEOUT, ConnectionSettings
from rabbitadmin.threads import helper_thread


class EarlyAnswer:
    """The answer to one GET of ``listing`` from ``url`` with ``settings``, fetched on a daemon thread
    (``tls``: the context for an https URL, ``tls_context``; an https URL without one is never sent).

    ``start()`` sends it; ``body()`` waits for it until the request's own deadline (its start plus the
    settings' timeout, the most the client would have waited) and gives the JSON body (bytes), or None
    when there is none to use (see the module docstring).
    """

    def __init__(
        self, settings: ConnectionSettings, url: str, listing: Listing, tls: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.url = url
        self.listing = listing
        self.tls = tls
        self._deadline = time.monotonic() + settings.timeout
        self._done = False
        self._body: bytes | None = None
        self._thread = helper_thread(self._run, "rabbitadmin-early-read")

    def start(self) -> None:
        self._deadline = time.monotonic() + self.settings.timeout
        self._thread.start()

    def body(self) -> bytes | None:
        if self._thread.ident is None:  # never started
            return None
        self._thread.join(max(0.0, self._deadline - time.monotonic()))
        return self._body if self._done else None

    def _run(self) -> None:
        try:
            self._body = self._fetch()
        except Exception:  # any fault: the read sends the request itself and reports it
            self._body = None
        finally:
            self._done = True

    def _fetch(self) -> bytes | None:
        split = urlsplit(self.url)
        host, port = split.hostname or "localhost", split.port
        connect_within = min(CONNECT_TIMEOUT, self.settings.timeout)
        connection: http.client.HTTPConnection
        if split.scheme == "https" and self.tls is not None:
            connection = http.client.HTTPSConnection(host, port, timeout=connect_within, context=self.tls)
        elif split.scheme == "http":
            connection = http.client.HTTPConnection(host, port, timeout=connect_within)
        else:
            return None  # never https in the clear
        try:
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(self.settings.timeout)  # each answer, as the client's read timeout
            connection.request("GET", self._target(split.path), headers=self._headers())
            response = connection.getresponse()
            kind = response.getheader("content-type", "")
            if response.status != 200 or "json" not in kind:
                return None
            body = response.read()  # raises IncompleteRead for a body cut short
            return body or None
        finally:
            connection.close()

    def _target(self, base_path: str) -> str:
        query = urlencode(self.listing.params)
        return base_path.rstrip("/") + self.listing.path + (f"?{query}" if query else "")

    def _headers(self) -> dict[str, str]:
        password = self.settings.password.reveal() if self.settings.password is not None else ""
        # latin-1, as requests' HTTPBasicAuth encodes a str user and password
        token = base64.b64encode(f"{self.settings.user}:{password}".encode("latin-1")).decode("ascii")
        # identity: gzip saves nothing on a loopback server and the body is read whole anyway
        return {"Authorization": f"Basic {token}", "Accept": "application/json", "Accept-Encoding": "identity"}


def tls_context(settings: ConnectionSettings, environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context ``requests`` would verify with (see the module docstring): urllib3's, verifying
    against ``--ca-bundle`` (a file or a directory), else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``
    (``requests.Session.merge_environment_settings``), else ``certifi``'s bundle; not verifying under
    ``--insecure``. With ``--client-cert``, the certificate and its key (``--client-key``, or in the same
    file). Raises ``OSError`` or ``ssl.SSLError`` for a bundle or a certificate it cannot load, or a key
    that needs a passphrase."""
    from urllib3.util.ssl_ import create_urllib3_context  # only for https: requests loads it anyway

    if not settings.verify_tls:
        context = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    else:
        context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
        bundle = settings.ca_bundle or environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
        if not bundle:
            import certifi  # what requests' DEFAULT_CA_BUNDLE_PATH names

            bundle = certifi.where()
        if os.path.isdir(bundle):
            context.load_verify_locations(capath=bundle)
        else:
            context.load_verify_locations(cafile=bundle)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key or None, password=_no_passphrase)
    return context


def _no_passphrase() -> str:
    # Only the main client may ask for a passphrase (OpenSSL's own prompt would otherwise ask here).
    raise ssl.SSLError("the client key needs a passphrase")
