"""One listing fetched before ``requests`` is loaded, with the standard library's ``http.client``.

Only what a plan's read can use as it is: a 200 answer with a JSON body. Anything else (no connection, a
refusal, a 404, a timeout, a body cut short) leaves no answer, and the read sends the request again
itself, through the client that reports such faults (``backends.http.client``). Nothing is printed or
logged; the password is sent only in the ``Authorization`` header, as ``requests`` sends it.

TLS as ``requests`` does it (urllib3 2): the certificate and the host name verified against the CA bundle
given (``--ca-bundle``), else the one ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, else ``certifi``'s;
not at all under ``--insecure``; the client certificate and key given, if any. A
key that needs a passphrase makes the early read give up (OpenSSL would ask for it on the terminal).
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import threading
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from rabbitadmin.backends.http.paths import Listing
from rabbitadmin.connection import ConnectionSettings


class EarlyAnswer:
    """The answer to one GET of ``listing`` from ``url`` with ``settings``, fetched on a daemon thread
    (``tls``: the context for an https URL, ``tls_context``).

    ``start()`` sends it; ``body(timeout)`` waits at most ``timeout`` seconds for it and gives the JSON
    body (bytes), or None when there is none to use (see the module docstring).
    """

    def __init__(
        self, settings: ConnectionSettings, url: str, listing: Listing, tls: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.tls = tls
        self.url = url
        self.listing = listing
        self._done = threading.Event()
        self._body: bytes | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name="rabbitadmin-early-read", daemon=True).start()

    def body(self, timeout: float) -> bytes | None:
        self._done.wait(timeout)
        return self._body

    def _run(self) -> None:
        try:
            self._body = self._fetch()
        except Exception:  # any fault: the read sends the request itself and reports it
            self._body = None
        finally:
            self._done.set()

    def _fetch(self) -> bytes | None:
        split = urlsplit(self.url)
        host, port, timeout = split.hostname or "localhost", split.port, self.settings.timeout
        connection = (
            http.client.HTTPSConnection(host, port, timeout=timeout, context=self.tls)
            if split.scheme == "https" and self.tls is not None
            else http.client.HTTPConnection(host, port, timeout=timeout)
        )
        try:
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
    """The TLS context ``requests`` would verify with: ``--insecure`` none, else ``--ca-bundle`` (a file or a
    directory), else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (``requests.Session``'s
    ``merge_environment_settings``), else ``certifi``'s bundle, the host name checked. Python's default
    context carries the verification flags urllib3 2 sets (none before Python 3.13, partial chain and
    strict from it). With ``--client-cert``, the certificate and its key (``--client-key``, or in the same
    file). Raises ``OSError`` or ``ssl.SSLError`` for a bundle or a certificate it cannot load, or a key
    that needs a passphrase."""
    if not settings.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        bundle = settings.ca_bundle or environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
        if not bundle:
            import certifi  # only for https: what requests' DEFAULT_CA_BUNDLE_PATH names

            bundle = certifi.where()
        if os.path.isdir(bundle):
            context = ssl.create_default_context(capath=bundle)
        else:
            context = ssl.create_default_context(cafile=bundle)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key or None, password=_no_passphrase)
    return context


def _no_passphrase() -> str:
    # Only the main client may ask for a passphrase (OpenSSL's own prompt would otherwise ask here).
    raise ssl.SSLError("the client key needs a passphrase")
