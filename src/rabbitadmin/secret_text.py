"""Secrets taken out of text: URI passwords and values under secret-named keys (``masking`` does it for JSON
values). Kept apart from ``masking``, which knows the model, so that ``errors`` can use it without a cycle."""

from __future__ import annotations

import functools
import re

MASK = "***"

# Keys whose values are secrets wherever they appear (case-insensitive, as a part of the key).
_SECRET_KEY = re.compile(
    r"^pass$|password|passwd|passphrase|secret|token|credential|private[-_]?key|cookie", re.IGNORECASE
)
# scheme://user:password@ : the password is everything after the first ':' up to the *last* '@' of the
# authority, as urls.redact_url reads it (an unencoded '@' or '/' in a password stays inside the mask).
_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:)(?P<password>[^\s]*)@")


def mask_uri(text: str) -> str:
    """``text`` with the password of every URI in it replaced by ``MASK`` (the user name stays).

    ``amqp://app:s3cret@host/vh`` -> ``amqp://app:***@host/vh``. A URI with no password, or an empty one
    (``amqp://app:@host``: nothing secret), is unchanged.
    """
    if "://" not in text or "@" not in text:
        return text
    return _URI_PASSWORD.sub(lambda m: f"{m['head']}{MASK if m['password'] else ''}@", text)


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
