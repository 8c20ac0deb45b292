"""Listings' table cells (``admin.output.cell``): what a cell shows can be read back as the value it shows."""

from __future__ import annotations

import json

import pytest

from rabbitadmin.admin.output import cell


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (["administrator", "monitoring"], "administrator,monitoring"),
        ((), ""),
        # One tag holding a comma (kept whole by the server's import): not two tags, so not an administrator.
        (["administrator,management"], '["administrator,management"]'),
        (["a,b", "monitoring"], '["a,b","monitoring"]'),
        (["", "x"], '["","x"]'),
        ([" padded"], '[" padded"]'),
        (["été"], "été"),
        (None, "-"),
        (True, "true"),
        ({"x-max-length": 5}, '{"x-max-length":5}'),
    ],
)
def test_a_cell_shows_a_value_that_reads_back_as_itself(value: object, shown: str) -> None:
    assert cell(value) == shown
    if isinstance(value, list) and shown.startswith("["):
        assert json.loads(shown) == value
    elif isinstance(value, list):
        assert shown.split(",") == value
