"""The state read's requests written out in ``backends.http.paths`` (where the early read builds them before
``kinds`` is loaded) are the ones the facts table asks for."""

from __future__ import annotations

from rabbitadmin.backends.http.paths import LIMITS_AND_POLICIES, VHOST_COLUMNS, server_listings
from rabbitadmin.kinds import KINDS


def test_the_vhost_columns_are_the_vhosts_fields_and_its_plain_ones() -> None:
    plain = [f.key for f in KINDS["vhost"].plain_fields]
    assert VHOST_COLUMNS.split(",") == ["name", "description", "tags", "default_queue_type", "metadata", *plain]


def test_the_server_listings_are_one_get_each_without_a_query_but_the_vhosts() -> None:
    listings = server_listings()
    assert [listing.path for listing in listings][:4] == [
        "/api/vhosts", "/api/users", "/api/permissions", "/api/topic-permissions"
    ]  # fmt: skip
    assert [listing.path for listing in listings][4:] == [f"/api/{segment}" for segment in LIMITS_AND_POLICIES]
    assert listings[0].params == {"columns": VHOST_COLUMNS}
    assert all(listing.params == {} for listing in listings[1:])
    assert len({listing.path for listing in listings}) == len(listings)


def test_every_kind_the_read_lists_for_the_whole_server_has_its_listing() -> None:
    # A kind read from the whole server (no vhost listing of its own) is in one of these GETs.
    paths = {listing.path for listing in server_listings()}
    assert {"/api/policies", "/api/operator-policies", "/api/parameters", "/api/global-parameters"} <= paths
    assert {"/api/vhost-limits", "/api/user-limits"} <= paths
