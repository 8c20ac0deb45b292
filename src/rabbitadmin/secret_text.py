"""Secrets taken out of text: URI passwords and values under secret-named keys (``masking`` does it for JSON
values). Kept apart from ``masking``, which knows the model, so that ``errors`` can use it without a cycle."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_plus

MASK = "***"

# Keys whose values are secrets wherever they appear (case-insensitive, as a part of the key).
_SECRET_KEY = re.compile(
    r"^pass$|password|passwd|passphrase|secret|token|credential|private[-_]?key|cookie", re.IGNORECASE
)
# scheme://user:password@ : the password is everything after the first ':' up to the *last* '@' before a blank
# or a quote, as urls.redact_url reads it (an unencoded '@' or '/' in a password stays inside the mask), unless
# digits and then '/', '?' or '#' follow the ':' (``host:5672/path@x``: a port, no user part).
_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s\"']*:)(?!\d+[/?#])(?P<password>[^\s\"']*)@")
# A URI up to the first blank or quote, and one ``name=value`` of its query: AMQP URIs take secrets there too
# (``?password=`` is the TLS key's password in the Erlang client's URI, ``amqp_uri``).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*")
_QUERY_PAIR = re.compile(r"(?P<head>[?&;](?P<key>[^=&;#\s\"']+)=)(?P<value>[^&;#\s\"']*)")


def _secret_query_key(key: str) -> bool:
    return is_secret_key(unquote_plus(key))


def _mask_query(uri: str) -> str:
    query = uri.find("?")
    if query < 0:
        return uri

    def pair(found: re.Match[str]) -> str:
        return f"{found['head']}{MASK}" if found["value"] and _secret_query_key(found["key"]) else found[0]

    return uri[:query] + _QUERY_PAIR.sub(pair, uri[query:])


def mask_uri(text: str) -> str:
    """``text`` with the secrets of every URI in it replaced by ``MASK``: the password of its user part (the
    user name stays) and the value of each query parameter under a secret-named key (``?password=``).

    ``amqp://app:s3cret@host/vh`` -> ``amqp://app:***@host/vh``; ``amqps://h?cacertfile=/c&password=k`` ->
    ``amqps://h?cacertfile=/c&password=***``. A URI with no password, or an empty one (``amqp://app:@host``:
    nothing secret), is unchanged.
    """
    if "://" not in text:
        return text
    if "?" in text:
        text = _URI.sub(lambda m: _mask_query(m[0]), text)
    if "@" not in text:
        return text
    return _URI_PASSWORD.sub(lambda m: f"{m['head']}{MASK if m['password'] else ''}@", text)


def uri_has_secret(text: str) -> bool:
    """Whether ``text`` holds a URI with a password or a secret-named query parameter that is not empty."""
    return "://" in text and mask_uri(text) != text


def uri_holds_mask(text: str) -> bool:
    """Whether a URI in ``text`` holds ``MASK`` where ``mask_uri`` puts it (an export's mask read back)."""
    if "://" not in text or MASK not in text:
        return False
    if f":{MASK}@" in text:
        return True
    return any(
        found["value"] == MASK and _secret_query_key(found["key"])
        for uri in _URI.findall(text)
        if "?" in uri
        for found in _QUERY_PAIR.finditer(uri[uri.index("?") :])
    )


# A quoted key and its quoted value in text a server or rabbitmqctl wrote: JSON (``"password":"x"``), Elixir
# (``"password" => "x"``) and Erlang (``{<<"password">>,<<"x">>}``) spellings.
_QUOTED_PAIR = re.compile(
    r'(?P<head>"(?P<key>[^"\\]*)"\s*(?::|=>)\s*")(?P<value>(?:[^"\\]|\\.)*)"'
    r'|(?P<ehead><<"(?P<ekey>[^"\\]*)"(?:/utf8)?>>\s*,\s*<<")(?P<evalue>(?:[^"\\]|\\.)*)"'
)


def mask_text(text: str) -> str:
    """``text`` (a server's or rabbitmqctl's error, which may quote what it refused) with every URI password and
    every quoted value under a secret-named key (JSON, Elixir or Erlang spelling) replaced by ``MASK``."""

    def pair(found: re.Match[str]) -> str:
        if found["head"] is not None:
            return f'{found["head"]}{MASK}"' if is_secret_key(found["key"]) and found["value"] else found[0]
        return f'{found["ehead"]}{MASK}"' if is_secret_key(found["ekey"]) and found["evalue"] else found[0]

    return mask_uri(_QUOTED_PAIR.sub(pair, text) if '"' in text else text)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``client-secret``, ``token``...)."""
    return bool(_SECRET_KEY.search(key))
