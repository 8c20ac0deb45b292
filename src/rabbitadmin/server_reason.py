"""A refusal in the server's own words, as one line of plain text.

RabbitMQ words a refused value for the management UI: HTML-escaped ("Validation failed\\n\\n&lt;&lt;\\"nope\\"&gt;&gt;
is not a valid maximum length", ``rabbit_runtime_parameters``/``rabbit_policy`` through the management API and
``rabbitmqctl`` alike), and a refused definitions import (``POST /api/definitions``, RabbitMQ 4.0's
``rabbitmqctl import_definitions``) prints it as an Erlang binary: ``<<"Validation failed\\n\\n...">>``
(measured on 3.10.8 and 4.0). Both backends show it as ``Validation failed <<"nope">> is not a valid maximum
length (//bad)``.
"""

from __future__ import annotations

import html
import re

VALIDATION_FAILED = "Validation failed"
#: A whole line that is one Erlang binary: no unescaped quote inside (``<<"a">> is not <<"b">>`` is not one).
_ERLANG_BINARY = re.compile(r'^<<"((?:[^"\\]|\\.)*)">>$')
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
    """``line`` itself, or the text of the Erlang binary it is (which may hold several lines)."""
    binary = _ERLANG_BINARY.match(line.strip())
    text = None if binary is None else erlang_text(binary.group(1))
    return line if text is None else text


def without_html_escapes(reason: str) -> str:
    """A validation refusal without its HTML escapes; any other text as it is (names are quoted unescaped)."""
    return html.unescape(reason) if reason.startswith(VALIDATION_FAILED) else reason


def readable_reason(text: str) -> str:
    """``text`` (the server's reason) as one line: Erlang binaries read, lines joined, validation unescaped."""
    lines = [line.strip() for line in "\n".join(map(readable_line, text.splitlines())).splitlines()]
    return without_html_escapes(" ".join(line for line in lines if line))
