"""The server's refusals as one line of text (``rabbitadmin.server_reason``), from answers captured on
RabbitMQ 3.10.8 and 4.0 (management API and rabbitmqctl)."""

from __future__ import annotations

import pytest

from rabbitadmin.server_reason import json_reason, readable_reason


@pytest.mark.parametrize(
    ("reason", "readable"),
    [
        # PUT /api/policies/%2F/bad with {"max-length": "nope"}
        (
            'Validation failed\n\n&lt;&lt;"nope"&gt;&gt; is not a valid maximum length\n',
            'Validation failed <<"nope">> is not a valid maximum length',
        ),
        # POST /api/definitions with the same policy: an Erlang binary
        (
            '<<"Validation failed\\n\\n&lt;&lt;\\"nope\\"&gt;&gt; is not a valid maximum length\\n (//bad)">>',
            'Validation failed <<"nope">> is not a valid maximum length (//bad)',
        ),
        # Not a validation: left as the server wrote it, escapes and all
        ('Object Not Found', "Object Not Found"),
        ("vhost 'a&amp;b' not found", "vhost 'a&amp;b' not found"),
        ('<<"a \\\\ backslash">>', "a \\ backslash"),
        # Two binaries on one line are not one binary; octal escapes are UTF-8 bytes; an unknown escape: kept
        ('<<"a">> is not one of <<"b">>', '<<"a">> is not one of <<"b">>'),
        ('<<"caf\\303\\251 \\"q\\"">>', 'café "q"'),
        ('<<"odd \\x escape">>', '<<"odd \\x escape">>'),
        # rabbitmqctl 3.10.8 import_definitions over a vhost's max-queues: an Elixir tuple holding a charlist
        (
            "{:vhost_limit_exceeded, 'Adding 1 queue(s) to virtual host \"lim\" would exceed the limit of 0 "
            "queue(s).\\n\\nImport aborted!'}",
            'vhost_limit_exceeded: Adding 1 queue(s) to virtual host "lim" would exceed the limit of 0 queue(s). '
            "Import aborted!",
        ),
        ('{:some_error, "it \\"quoted\\""}', 'some_error: it "quoted"'),
        ("{:a, 'x'} and more", "{:a, 'x'} and more"),  # not one tuple: as written
        ("{:a, 'odd \\x'}", "{:a, 'odd \\x'}"),  # an escape it does not know: as written
        (
            "PRECONDITION_FAILED - inequivalent arg 'durable'\n for queue 'q'",
            "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q'",
        ),
    ],
)
def test_a_refusal_reads_as_one_line_of_text(reason: str, readable: str) -> None:
    assert readable_reason(reason) == readable


_LIMIT_TEXT = 'Adding 1 queue(s) to virtual host "lim" would exceed the limit of 0 queue(s).\n\nImport aborted!'


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        # POST /api/definitions over a vhost's max-queues on 3.10.8: {vhost_limit_exceeded, "Adding ..."}
        (["vhost_limit_exceeded", [ord(c) for c in _LIMIT_TEXT]], f"vhost_limit_exceeded: {_LIMIT_TEXT}"),
        ("Object Not Found", "Object Not Found"),
        ([99, 97, 102, 195, 169], "café"),  # UTF-8 bytes in a list
        ([99, 97, 102, 233], "café"),  # Latin-1 / code points
        ([0x1F407, 32, 113], "\U0001f407 q"),  # code points above 255
        ([1, 2, 3], "1: 2: 3"),  # not text (control codes): the parts as they are
        ([], ""),
        ({"a": [1]}, '{"a": [1]}'),
        (["a", ["b", [104, 105]]], "a: b: hi"),
        (["error", [[72, 105], [32, 116, 104, 101, 114, 101]]], "error: Hi there"),  # an iolist: nested lists
        ([226, 128, 148, 32, 120], "\u2014 x"),  # UTF-8 bytes whose continuation bytes are C1 codes
        ([127, 128, 159], "127: 128: 159"),  # DEL and C1 controls: no text
        (["error", [0xD800, 0xDC00]], "error: 55296: 56320"),  # surrogates: no text (not encodable)
        (["error", []], "error"),  # an empty part adds nothing
    ],
)
def test_a_reason_sent_as_an_erlang_term_reads_as_text(reason: object, text: str) -> None:
    assert json_reason(reason) == text


def test_the_limit_refusal_reads_as_one_line() -> None:
    reason = ["vhost_limit_exceeded", [ord(c) for c in _LIMIT_TEXT]]
    assert readable_reason(json_reason(reason)) == (
        'vhost_limit_exceeded: Adding 1 queue(s) to virtual host "lim" would exceed the limit of 0 queue(s). '
        "Import aborted!"
    )
