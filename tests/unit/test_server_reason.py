"""The server's refusals as one line of text (``rabbitadmin.server_reason``), from answers captured on
RabbitMQ 3.10.8 and 4.0 (management API and rabbitmqctl)."""

from __future__ import annotations

import pytest

from rabbitadmin.server_reason import readable_reason


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
        (
            "PRECONDITION_FAILED - inequivalent arg 'durable'\n for queue 'q'",
            "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q'",
        ),
    ],
)
def test_a_refusal_reads_as_one_line_of_text(reason: str, readable: str) -> None:
    assert readable_reason(reason) == readable
