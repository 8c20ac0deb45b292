"""Percent-encoding of management API path segments (``backends.http.paths.api_path``)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import UnaddressableName


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (("vhosts", "/"), "/api/vhosts/%2F"),
        (("queues", "/", "a b"), "/api/queues/%2F/a%20b"),
        (("queues", "v", "100%"), "/api/queues/v/100%25"),
        (("queues", "v", "%2F"), "/api/queues/v/%252F"),  # an encoded-looking name is encoded again
        (("exchanges", "v", "#hash"), "/api/exchanges/v/%23hash"),
        (("exchanges", "v", "what?x=1"), "/api/exchanges/v/what%3Fx%3D1"),
        (("queues", "a/b", "c/d"), "/api/queues/a%2Fb/c%2Fd"),
        (("queues", "v", "ünï"), "/api/queues/v/%C3%BCn%C3%AF"),
        (("queues", "v", "日本"), "/api/queues/v/%E6%97%A5%E6%9C%AC"),
        (("queues", "v", "a+b&c;d"), "/api/queues/v/a%2Bb%26c%3Bd"),
        (("bindings", "v", "e", "", "q", "q", "~"), "/api/bindings/v/e//q/q/~"),  # the default exchange is ""
        (("queues", "v", "..."), "/api/queues/v/..."),
    ],
)
def test_segments_are_percent_encoded(segments: tuple[str, ...], expected: str) -> None:
    assert api_path(*segments) == expected


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_segments_are_refused(name: str) -> None:
    with pytest.raises(UnaddressableName):
        api_path("queues", "v", name)


@given(st.lists(st.text(min_size=0, max_size=20).filter(lambda s: s not in (".", "..")), min_size=1, max_size=4))
def test_any_segments_survive_the_round_trip(segments: list[str]) -> None:
    path = api_path(*segments)
    assert path.isascii() and not set(path) & set(" #?&+")
    assert [unquote(part) for part in path.split("/")[2:]] == segments
