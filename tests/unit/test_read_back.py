"""Reading a failed bulk create back (``backends.read_back``) against the in-memory backend."""

from __future__ import annotations

from collections.abc import Collection

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.backends.read_back import split_by_read_back
from rabbitadmin.model import Parameter, Policy, Queue, Topology, User, Vhost

SHOVEL = {"src-uri": "amqp://", "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b"}


def test_the_objects_created_are_told_from_the_missing_ones_whatever_their_kind() -> None:
    backend = MemoryBackend(user="admin")
    shovel = Parameter("v", "shovel", "s", SHOVEL)
    created = [Vhost("v"), User("u", ()), Queue("v", "q"), shovel, Policy("v", "p", ".*")]
    backend.create(created)
    missing = [Queue("v", "absent"), Parameter("v", "shovel", "absent", SHOVEL), Policy("v", "absent", ".*")]
    asked: list[list[str]] = []

    def read_state(vhosts: Collection[str]) -> Topology:
        asked.append(list(vhosts))
        return backend.read_state(vhosts)

    batch = [created[1], missing[0], created[2], created[3], missing[1], created[4], missing[2]]
    there, not_there = split_by_read_back(batch, read_state)
    assert there == [created[1], created[2], created[3], created[4]]  # in batch order
    assert not_there == missing
    assert asked == [["v"]]  # one read, of the vhost the queues and parameters live in


def test_a_batch_of_parameters_alone_reads_their_vhosts() -> None:
    # A read limits runtime parameters to the vhosts it is given, as it does queues: a parameters-only batch
    # (the ctl backend imports parameters on their own) must still read its vhost.
    backend = MemoryBackend(user="admin")
    shovel = Parameter("v", "shovel", "s", SHOVEL)
    backend.create([Vhost("v"), shovel])
    assert split_by_read_back([shovel], backend.read_state) == ([shovel], [])


def test_as_asked_an_object_there_with_other_properties_is_not_this_batchs() -> None:
    # A queue someone declared meanwhile with other arguments: there by name, not as the batch asked.
    backend = MemoryBackend(user="admin")
    backend.create([Vhost("v"), Queue("v", "q", arguments={"x-max-length": 5}), Queue("v", "same")])
    asked = Queue("v", "q", arguments={"x-max-length": 10})
    same = Queue("v", "same")
    assert split_by_read_back([asked, same], backend.read_state) == ([asked, same], [])
    assert split_by_read_back([asked, same], backend.read_state, as_asked=True) == ([same], [asked])
