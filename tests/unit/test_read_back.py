"""Reading a failed bulk create back (``backends.read_back``) against the in-memory backend."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pytest

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.backends.read_back import split_by_read_back
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.definitions import to_definitions
from rabbitadmin.errors import AnswerLost, BatchFailed, ExitCode, ServerError
from rabbitadmin.model import Parameter, Policy, Queue, Topology, TopologyObject, User, Vhost

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


def test_an_object_there_with_other_properties_is_not_this_batchs() -> None:
    # A queue someone declared meanwhile with other arguments: there by name, not as the batch asked.
    backend = MemoryBackend(user="admin")
    backend.create([Vhost("v"), Queue("v", "q", arguments={"x-max-length": 5}), Queue("v", "same")])
    asked = Queue("v", "q", arguments={"x-max-length": 10})
    same = Queue("v", "same")
    assert split_by_read_back([asked, same], backend.read_state) == ([same], [asked])


# -- ``HttpBackend._settle_batch``: a failed definitions import read back, the server played by the in-memory
# backend (on real nodes: tests/faults/test_transport_faults.py) ---------------------------
class _Node:
    """Stands in for the HTTP client: import ``n`` runs ``imports[n]`` with the definitions document sent (it
    may change ``server``, and raises what the import failed with); ``failovers`` as ``HttpClient``'s."""

    def __init__(self, imports: list[Callable[[Any], None]]) -> None:
        self.imports = imports
        self.sent: list[Any] = []
        self.failovers = 0

    def post(self, path: str, body: Any = None, wait: float | None = None) -> None:
        assert path == api_path("definitions")
        self.sent.append(body)
        self.imports[len(self.sent) - 1](body)


def _http_over(server: MemoryBackend, *imports: Callable[[Any], None]) -> tuple[HttpBackend, _Node]:
    """An ``HttpBackend`` that sends every create as one import through ``_Node(imports)`` and reads ``server``."""
    node = _Node(list(imports))
    backend = HttpBackend(
        ConnectionSettings(url="http://node-1:15672"),
        bulk_threshold=1,
        client=node,  # type: ignore[arg-type]
        create_with=CreateWith.import_,
    )
    backend.read_state = server.read_state  # type: ignore[method-assign]
    return backend, node


def _server(*objects: TopologyObject) -> MemoryBackend:
    """The server: vhost ``v`` holding ``objects``."""
    server = MemoryBackend(user="admin")
    server.create([Vhost("v"), *objects])
    return server


def _refused(server: MemoryBackend, *created: TopologyObject) -> Callable[[Any], None]:
    """An import ``server`` refuses (a policy's invalid definition) after creating ``created``."""

    def run(_body: Any) -> None:
        server.create(list(created))
        raise ServerError("POST", "/api/definitions", 400, 'Validation failed <<"nope">> is not a valid maximum length')

    return run


def test_http_a_refused_import_fails_an_object_there_with_other_properties() -> None:
    # The server imports users first and stops at the policy it refuses; the queue was declared meanwhile by
    # someone else with other arguments: there by name, but not this batch's.
    server = _server(Queue("v", "q", arguments={"x-max-length": 5}))
    user = User("u", (), password_hash="h")
    refused = Policy("v", "refused", ".*", {"max-length": "nope"}, 0, "queues")
    asked = Queue("v", "q", arguments={"x-max-length": 10})
    backend, node = _http_over(server, _refused(server, user))
    done: list[TopologyObject] = []
    with pytest.raises(BatchFailed) as caught:
        backend.create([user, refused, asked], progress=done.extend)
    assert done == [user] and sorted(map(repr, caught.value.failed)) == sorted(map(repr, [refused, asked]))
    assert (
        "read back from the server: 1 of them were created, 1 were not, 1 is there with other properties"
        in str(caught.value)
    )
    assert "is not a valid maximum length" in str(caught.value) and len(node.sent) == 1


def test_http_a_refused_import_whose_objects_are_all_there_as_asked_is_done() -> None:
    # Refused as a whole (e.g. a body over the server's limit) while every object is there as asked.
    objects: list[TopologyObject] = [
        Queue("v", "q", arguments={"x-max-length": 5}),
        Policy("v", "p", ".*", {"max-length": 3}),
    ]
    server = _server(*objects)
    backend, _node = _http_over(server, _refused(server))
    done: list[TopologyObject] = []
    backend.create(objects, progress=done.extend)
    assert sorted(map(repr, done)) == sorted(map(repr, objects))


def test_http_a_lost_import_answer_leaves_the_objects_not_shown_unknown() -> None:
    created, late = Queue("v", "created"), Queue("v", "late")

    server = _server()

    def lost(_body: Any) -> None:
        server.create([created])
        raise AnswerLost("POST /api/definitions: no answer within 60 s", ExitCode.TIMEOUT)

    backend, _node = _http_over(server, lost)
    done: list[TopologyObject] = []
    with pytest.raises(BatchFailed) as caught:
        backend.create([created, late], progress=done.extend)
    assert done == [created] and caught.value.failed == [late] and caught.value.exit_code == ExitCode.TIMEOUT
    assert (
        "read back from the server: 1 of them were created, 1 not shown yet (outcome unknown: the node may still "
        "carry them out)" in str(caught.value)
    )


def test_http_after_a_failover_only_the_absent_objects_are_imported_again_and_the_rest_fails() -> None:
    # The node that took the import died with its answer (the client moved on): it had created ``first``;
    # ``absent`` is imported once more through the node in use; ``other``, declared meanwhile with other
    # arguments, is not sent again (an import leaves an existing queue as it is) and ends failed.
    first, absent = Queue("v", "first"), Queue("v", "absent")
    other = Queue("v", "other", arguments={"x-max-length": 10})
    server = _server(Queue("v", "other", arguments={"x-max-length": 5}))

    def lost_with_its_node(_body: Any) -> None:
        server.create([first])
        node.failovers += 1
        raise AnswerLost("POST /api/definitions: connection reset: it may have been carried out")

    def imported(body: Any) -> None:
        assert body == to_definitions([absent])
        server.create([absent])

    backend, node = _http_over(server, lost_with_its_node, imported)
    done: list[TopologyObject] = []
    with pytest.raises(BatchFailed) as caught:
        backend.create([first, absent, other], progress=done.extend)
    assert len(node.sent) == 2 and done == [first, absent] and caught.value.failed == [other]
    # The node in use answered the re-import: nothing is "not shown yet"; ``other`` is there, as someone left it.
    assert "read back from the server: 2 of them were created, 1 is there with other properties" in str(caught.value)
    assert "not shown yet" not in str(caught.value)


def test_http_an_import_sent_again_after_a_failover_and_answered_is_done_without_reading_again() -> None:
    # The re-import's answer says what happened: no second read, which could only fail or repeat the first.
    first, absent = Queue("v", "first"), Queue("v", "absent")
    server = _server()
    reads: list[object] = []

    def lost_with_its_node(_body: Any) -> None:
        server.create([first])
        node.failovers += 1
        raise AnswerLost("POST /api/definitions: connection reset: it may have been carried out")

    def imported(_body: Any) -> None:
        server.create([absent])

    def read_once(vhosts: Any) -> Any:
        reads.append(vhosts)
        if len(reads) > 1:
            raise AnswerLost("GET /api/queues/v: connection reset")
        return server.read_state(vhosts)

    backend, node = _http_over(server, lost_with_its_node, imported)
    backend.read_state = read_once  # type: ignore[method-assign]
    done: list[TopologyObject] = []
    backend.create([first, absent], progress=done.extend)
    assert len(node.sent) == 2 and done == [first, absent] and len(reads) == 1


def test_http_after_a_failover_nothing_is_sent_again_when_nothing_is_absent() -> None:
    other = Queue("v", "other", arguments={"x-max-length": 10})
    server = _server(Queue("v", "other", arguments={"x-max-length": 5}))

    def lost_with_its_node(_body: Any) -> None:
        node.failovers += 1
        raise AnswerLost("POST /api/definitions: connection reset: it may have been carried out")

    backend, node = _http_over(server, lost_with_its_node)
    with pytest.raises(BatchFailed) as caught:
        backend.create([other])
    assert len(node.sent) == 1 and caught.value.failed == [other]


def test_http_an_import_sent_again_after_a_failover_is_not_sent_a_third_time() -> None:
    first, absent = Queue("v", "first"), Queue("v", "absent")
    server = _server()

    def lost_with_its_node(_body: Any) -> None:
        server.create([first])
        node.failovers += 1
        raise AnswerLost("POST /api/definitions: connection reset: it may have been carried out")

    def lost_again(_body: Any) -> None:
        node.failovers += 1
        raise AnswerLost("POST /api/definitions: reset again: it may have been carried out")

    backend, node = _http_over(server, lost_with_its_node, lost_again)
    done: list[TopologyObject] = []
    with pytest.raises(BatchFailed) as caught:
        backend.create([first, absent], progress=done.extend)
    assert len(node.sent) == 2 and done == [first] and caught.value.failed == [absent]
    assert "reset again" in str(caught.value) and "1 not shown yet (outcome unknown" in str(caught.value)
