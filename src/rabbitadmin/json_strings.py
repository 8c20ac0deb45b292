"""JSON strings that YAML parsers read otherwise: rewritten so that libyaml reads what a JSON parser reads.

A definitions file is JSON, parsed here by libyaml (for the lines of its values). Three kinds of JSON
string content are read differently by YAML (1.1, as libyaml and PyYAML read it):

- a character beyond U+FFFF escaped as a UTF-16 surrogate pair (``"\\ud83d\\ude00"``, RFC 8259 section 7;
  Python's ``json.dumps`` writes every such character so by default): YAML has no surrogates and stops at
  the first half ("found invalid Unicode character escape code");
- a character YAML does not allow in a stream at all, written raw (DEL, the C1 controls but NEL, U+FFFE,
  U+FFFF): JSON allows every character but U+0000-U+001F raw in a string;
- NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR written raw: YAML 1.1 reads them as line breaks and folds a
  line break in a double-quoted scalar into a space; JSON (and YAML 1.2) keep them as characters.

RabbitMQ's import reads all three as JSON does (``rabbit_json``). So before a file is parsed, inside each
double-quoted scalar, a surrogate pair becomes YAML's ``\\UXXXXXXXX`` and a raw character of the other two
kinds YAML's ``\\xXX`` or ``\\uXXXX``. Elsewhere (plain and single-quoted scalars, comments) nothing
changes: there ``\\ud83d`` is literal text, and a disallowed character stays for the parser to refuse.
"""

from __future__ import annotations

import re

import yaml

#: A ``\\u`` escape of a UTF-16 surrogate (D800-DFFF), paired or not.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# Characters a JSON string may hold raw that YAML 1.1 refuses in a stream (reader.py's NON_PRINTABLE, less
# what JSON refuses raw too: C0 controls) or reads as a line break (NEL, LS, PS).
_RAW = "\x7f-\x9f\u2028\u2029\ufffe\uffff"
_RAW_CHARACTER = re.compile(f"[{_RAW}]")
_NEEDS_REWRITE = re.compile(rf"\\u[dD][89a-fA-F][0-9a-fA-F]{{2}}|[{_RAW}]")
# One escape or one raw character of a double-quoted scalar, left to right, so that ``\\\\ud83d`` (an escaped
# backslash, then text) is no escape: a high then a low surrogate escape (groups 1 and 2), any other escape
# (kept), or a raw character to escape (group 3).
_ESCAPE = re.compile(rf"\\(?:u([dD][89abAB][0-9a-fA-F]{{2}})\\u([dD][c-fC-F][0-9a-fA-F]{{2}})|.)|([{_RAW}])", re.DOTALL)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def json_strings_for_yaml(text: str) -> str:
    """``text`` with its double-quoted scalars' JSON-only content written as YAML escapes (module docstring).

    Lines are unchanged; columns after a rewritten character on its line move (a pair: two to the left; a
    raw character: three or five to the right). A surrogate escape without its other half is left for the
    parser to refuse (``lone_surrogate`` names it). Where ``text`` is not valid YAML, the double-quoted
    scalars before the fault are rewritten and the rest left as it is: the parser reports the fault. Text
    with nothing to rewrite is returned as it is (about 1 ms a MB; 7 ms when it is not ASCII).
    """
    if not _needs_rewrite(text):
        return text
    spans = _double_quoted_spans(_NEEDS_REWRITE.sub(_stand_in, text))
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        pieces.append(text[done:start])
        pieces.append(_ESCAPE.sub(_as_yaml, text[start:end]))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _needs_rewrite(text: str) -> bool:
    # Two cheap searches first: one alternation over a 1 MB file costs about 27 ms, these 2 ms (and an ASCII
    # text holds no raw character but DEL: ``isascii`` is one flag of the str, ``in`` one C scan).
    if "\\u" in text and SURROGATE_ESCAPE.search(text) is not None:
        return True
    return (not text.isascii() or "\x7f" in text) and _RAW_CHARACTER.search(text) is not None


def lone_surrogate(text: str, index: int) -> str | None:
    """The surrogate escape (``\\uD83D``) whose hex digits start at ``index`` of ``text``, or None.

    libyaml's mark for "found invalid Unicode character escape code" is the first hex digit.
    """
    match = SURROGATE_ESCAPE.match(text, max(index - 2, 0))
    return match.group(0) if match is not None and match.start() == index - 2 else None


def _stand_in(match: re.Match[str]) -> str:
    """Same length, of the same kind of characters where it matters: a valid escape in a double-quoted
    scalar, plain text elsewhere, never a line break; so each token keeps its place while they are found."""
    return "\\u0041" if len(match.group(0)) > 1 else "x"


def _double_quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the double-quoted scalars of ``text``, up to its first YAML fault."""
    spans: list[tuple[int, int]] = []
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, yaml.ScalarToken) and token.style == '"':
                spans.append((token.start_mark.index, token.end_mark.index))
    except yaml.YAMLError:
        pass  # the parse that follows reports it
    return spans


def _as_yaml(match: re.Match[str]) -> str:
    high, low, raw = match.group(1), match.group(2), match.group(3)
    if raw is not None:
        code = ord(raw)
        return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}"
    if high is None:
        return match.group(0)
    code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
    return f"\\U{code:08X}"
