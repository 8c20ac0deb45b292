"""``model.new_queue`` and ``model.new_origin``: the fast makers give exactly what the dataclasses give."""

from __future__ import annotations

import dataclasses

import pytest

from rabbitadmin.model import _ORIGIN_FIELDS, _QUEUE_FIELDS, Origin, Queue, new_origin, new_queue


def test_the_makers_name_every_field_of_their_class() -> None:
    """A field added to Queue or Origin and not to its maker would be left unset (AttributeError on read)."""
    assert tuple(f.name for f in dataclasses.fields(Queue)) == _QUEUE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(Origin)) == _ORIGIN_FIELDS


@pytest.mark.parametrize(
    "args",
    [
        ("v", "q", "classic", True, False, {}),
        ("", "q.é", "quorum", True, False, {"x-max-length": 5}),
        ("v", "tmp", "classic", False, True, {}),
    ],
)
def test_new_queue_is_the_queue_the_dataclass_makes(args: tuple[object, ...]) -> None:
    origin = new_origin("t.yaml", 12)
    made = new_queue(*args, origin)
    expected = Queue(*args, origin=Origin("t.yaml", 12))  # type: ignore[arg-type]
    assert made == expected
    # Every field, those left out of comparisons too (messages, exclusive, origin).
    assert [getattr(made, f.name) for f in dataclasses.fields(Queue)] == [
        getattr(expected, f.name) for f in dataclasses.fields(Queue)
    ]
    assert str(made.origin) == "t.yaml:12" and made.key == (args[0], args[1])


def test_made_objects_stay_frozen() -> None:
    queue = new_queue("v", "q", "classic", True, False, {}, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        queue.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        new_origin("f", 1).line = 2  # type: ignore[misc]
    assert dataclasses.replace(queue, name="r").name == "r"
