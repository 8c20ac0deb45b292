"""A refusal in the server's own words, as one line of plain text.

RabbitMQ words a refused value for the management UI: HTML-escaped ("Validation failed\\n\\n&lt;&lt;\\"nope\\"&gt;&gt;
is not a valid maximum length", ``rabbit_runtime_parameters``/``rabbit_policy`` through the management API and
``rabbitmqctl`` alike), and a refused definitions import (``POST /api/definitions``, RabbitMQ 4.0's
``rabbitmqctl import_definitions``) prints it as an Erlang binary: ``<<"Validation failed\\n\\n...">>``
(measured on 3.10.8 and 4.0). Both backends show it as ``Validation failed <<"nope">> is not a valid maximum
length (//bad)``.

A reason can also be an Erlang term the management API encoded as JSON, where an Erlang string is a list of
character codes: RabbitMQ 3.10.8 refuses an import over a vhost's ``max-queues`` with ``["vhost_limit_exceeded",
[65,100,100,...]]`` (``rabbit_vhost_limit``, measured). ``json_reason`` reads those lists as the text they are.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from typing import Any

VALIDATION_FAILED = "Validation failed"
#: A whole line that is one Erlang binary: no unescaped quote inside (``<<"a">> is not <<"b">>`` is not one).
_ERLANG_BINARY = re.compile(r'^<<"((?:[^"\\]|\\.)*)">>$')
#: An Elixir-printed ``{:atom, 'charlist'}`` or ``{:atom, "string"}`` (RabbitMQ 3.10.8's rabbitmqctl prints an
#: import over a vhost limit so: ``{:vhost_limit_exceeded, 'Adding 1 queue(s) ...\n\nImport aborted!'}``).
_ELIXIR_ERROR_TUPLE = re.compile(
    r"""^\{:(?P<atom>[a-z_][A-Za-z0-9_]*), (?:'(?P<single>(?:[^'\\]|\\.)*)'|"(?P<double>(?:[^"\\]|\\.)*)")\}$"""
)
_ERLANG_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)")
_ERLANG_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "\\": b"\\", "'": b"'"}


def erlang_text(escaped: str) -> str | None:
    """The text of an Erlang string literal's inside: ``\\n``, ``\\"``, ``\\\\`` and octal bytes (``\\303\\251``,
    UTF-8) decoded; None if it holds an escape this does not know (then the caller keeps what it had)."""
    out = bytearray()
    end = 0
    for escape in _ERLANG_ESCAPE.finditer(escaped):
        out += escaped[end : escape.start()].encode()
        code = escape.group(1)
        if code[0] in "01234567":
            out.append(int(code, 8) & 0xFF)
        elif code in _ERLANG_ESCAPES:
            out += _ERLANG_ESCAPES[code]
        else:
            return None
        end = escape.end()
    out += escaped[end:].encode()
    return out.decode("utf-8", errors="replace")


def readable_line(line: str) -> str:
    """``line`` itself, or the text it holds when it is one Erlang binary (which may hold several lines) or
    one error tuple as rabbitmqctl prints it (``{:vhost_limit_exceeded, 'Adding ...'}``: ``vhost_limit_exceeded:
    Adding ...``)."""
    stripped = line.strip()
    binary = _ERLANG_BINARY.match(stripped)
    if binary is not None:
        text = erlang_text(binary.group(1))
        return line if text is None else text
    error = _ELIXIR_ERROR_TUPLE.match(stripped)
    if error is not None:
        text = erlang_text(error.group("single") if error.group("single") is not None else error.group("double"))
        return line if text is None else f"{error.group('atom')}: {text}"
    return line


def without_html_escapes(reason: str) -> str:
    """A validation refusal without its HTML escapes; any other text as it is (names are quoted unescaped)."""
    return html.unescape(reason) if reason.startswith(VALIDATION_FAILED) else reason


def readable_reason(text: str) -> str:
    """``text`` (the server's reason) as one line: Erlang binaries read, lines joined, validation unescaped."""
    lines = [line.strip() for line in "\n".join(map(readable_line, text.splitlines())).splitlines()]
    return without_html_escapes(" ".join(line for line in lines if line))


def _printable(code: int) -> bool:
    """A character code that text holds: printable (no C0 or C1 control, no surrogate), or tab, newline, return."""
    return 32 <= code < 127 or 160 <= code < 0xD800 or 0xE000 <= code < 0x110000 or code in (9, 10, 13)


def _flat(items: list[Any]) -> list[int] | None:
    """An Erlang iolist's codes in order (a string may come as nested lists), or None if it holds anything else."""
    codes: list[int] = []
    for item in items:
        if isinstance(item, list):
            inner = _flat(item)
            if inner is None:
                return None
            codes.extend(inner)
        elif type(item) is int:
            codes.append(item)
        else:
            return None
    return codes


def _char_list_text(items: list[Any]) -> str | None:
    """The text of an Erlang string sent as a list of character codes (nested lists flattened), or None if
    ``items`` is not one: the text must be printable (tab, newline and return allowed). A list of counts or
    ports is no text when it holds a control code; one of printable codes cannot be told from text, and is
    read as text. Codes all under 256 are read as UTF-8 bytes when they decode so (Erlang keeps UTF-8 text in
    lists of bytes as often as code points; their continuation bytes are C1 codes as code points)."""
    codes = _flat(items)
    if not codes or min(codes) < 0 or max(codes) >= 0x110000:
        return None
    text = None
    if max(codes) < 256:
        with contextlib.suppress(UnicodeDecodeError):  # not UTF-8: code points, below
            text = bytes(codes).decode("utf-8")
    if text is None:
        text = "".join(map(chr, codes))
    return text if all(_printable(ord(char)) for char in text) else None


def json_reason(reason: Any) -> str:
    """A reason from the management API's JSON as text: a string as it is; an Erlang term (a list, which
    may hold strings as lists of character codes) as its parts joined by ": "; anything else as JSON."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, list):
        text = _char_list_text(reason)
        if text is not None:
            return text
        return ": ".join(text for text in map(json_reason, reason) if text)
    return json.dumps(reason, ensure_ascii=False)
