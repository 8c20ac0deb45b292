"""Loading and validating topologies: every problem located by file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology, load_topology_text
from rabbitadmin.model import Binding, Exchange, Queue, Topology

REPO = Path(__file__).resolve().parents[2]


def load(text: str, **kwargs: bool) -> Topology:
    return load_topology_text(textwrap.dedent(text), "t.yaml", **kwargs)


def problems_of(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load(text)
    return [str(p) for p in info.value.problems]


# (document, line, field, fragment of the message): the one problem each document has, where it is.
BAD_DOCUMENTS = [
    (
        """\
        vhosts:
        - name: v
          bogus: 1
        """,
        3,
        "vhosts[0].bogus",
        "unknown field 'bogus'",
    ),
    (
        """\
        vhostz: []
        """,
        1,
        "vhostz",
        "unknown field 'vhostz' (did you mean 'vhosts'?)",
    ),
    (
        """\
        vhosts:
        - description: x
        """,
        2,
        "vhosts[0].name",
        "is required",
    ),
    (
        """\
        vhosts:
        - name: ''
        """,
        2,
        "vhosts[0].name",
        "must not be empty",
    ),
    (
        """\
        vhosts:
        - name: v
          default_queue_type: fast
        """,
        3,
        "vhosts[0].default_queue_type",
        "must be one of",
    ),
    (
        """\
        vhosts:
        - name: v
          state: gone
        """,
        3,
        "vhosts[0].state",
        "must be one of present, absent",
    ),
    (
        """\
        vhosts:
        - name: v
          state: absent
          description: x
        """,
        4,
        "vhosts[0].description",
        "an absent object takes only its identity fields",
    ),
    (
        """\
        vhosts:
          name: v
        """,
        1,
        "vhosts",
        "expected a list, got a mapping",
    ),
    (
        """\
        vhosts:
        - v
        """,
        2,
        "vhosts[0]",
        "expected a mapping, got a string",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: e
            type: weird
        """,
        5,
        "vhosts[0].exchanges[0].type",
        "unknown exchange type",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: e
            type: ''
        """,
        5,
        "vhosts[0].exchanges[0].type",
        "unknown exchange type ''",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: amq.topic
        """,
        4,
        "vhosts[0].exchanges[0].name",
        "the default and amq.*",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: e
            durable: maybe
        """,
        5,
        "vhosts[0].exchanges[0].durable",
        "expected true",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: amq.q
        """,
        4,
        "vhosts[0].queues[0].name",
        "queue names starting with amq.",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            type: lazy
        """,
        5,
        "vhosts[0].queues[0].type",
        "must be one of classic",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            type: quorum
            durable: false
        """,
        4,
        "vhosts[0].queues[0]",
        "quorum queues must be durable",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            type: stream
            auto_delete: true
        """,
        4,
        "vhosts[0].queues[0]",
        "stream queues must be durable",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            arguments:
              x-message-ttl: -5
        """,
        6,
        "vhosts[0].queues[0].arguments.x-message-ttl",
        "must be a whole number >= 0",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            arguments:
              x-single-active-consumer: 'yes'
        """,
        6,
        "vhosts[0].queues[0].arguments.x-single-active-consumer",
        "must be true or false",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
            type: classic
            arguments:
              x-queue-type: quorum
        """,
        6,
        "vhosts[0].queues[0]",
        "x-queue-type 'quorum' contradicts type 'classic'",
    ),
    (
        """\
        vhosts:
        - name: v
          queues:
          - name: q
          - name: q
        """,
        5,
        "vhosts[0].queues[1]",
        "queue declared twice (first on line 4)",
    ),
    (
        """\
        vhosts:
        - name: v
          bindings:
          - source: ''
            destination: q
        """,
        4,
        "vhosts[0].bindings[0]",
        "bindings of the default exchange are implicit",
    ),
    (
        """\
        vhosts:
        - name: v
          bindings:
          - source: e
            destination: q
        """,
        4,
        "vhosts[0].bindings[0].source",
        "source exchange 'e' is not declared",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: e
          bindings:
          - source: e
            destination: q
        """,
        7,  # the destination's own line
        "vhosts[0].bindings[0].destination",
        "destination queue 'q' is not declared",
    ),
    (
        """\
        vhosts:
        - name: v
          exchanges:
          - name: e
          bindings:
          - source: e
            destination: e
            destination_type: x
        """,
        8,
        "vhosts[0].bindings[0].destination_type",
        "must be one of queue, exchange",
    ),
    (
        """\
        users:
        - name: u
          password: hunter2
        """,
        3,
        "users[0].password",
        "plain-text passwords are not accepted",
    ),
    (
        """\
        users:
        - name: u
          password:
            env: A
            file: b
        """,
        3,
        "users[0].password",
        "give exactly one of env or file",
    ),
    (
        """\
        users:
        - name: u
          password:
            env: RABBITADMIN_TEST_UNSET_VAR
        """,
        4,
        "users[0].password.env",
        "environment variable RABBITADMIN_TEST_UNSET",
    ),
    (
        """\
        users:
        - name: u
          password:
            file: /nonexistent/pw
        """,
        4,
        "users[0].password.file",
        "cannot read",
    ),
    (
        """\
        users:
        - name: u
          password_hash: nothash
        """,
        3,
        "users[0].password_hash",
        "is not a RabbitMQ",
    ),
    (
        """\
        users:
        - name: u
          hashing_algorithm: rot13
        """,
        3,
        "users[0].hashing_algorithm",
        "must be one of",
    ),
    (
        """\
        users:
        - name: u
          tags:
          - 1
          - 2
        """,
        3,
        "users[0].tags",
        "expected a list of strings",
    ),
    (
        """\
        vhosts:
        - name: v
        users:
        - name: u
        permissions:
        - user: u
          vhost: v
          configure: (
          write: ''
          read: ''
        """,
        8,
        "permissions[0].configure",
        "not a valid regular expression",
    ),
    (
        """\
        vhosts:
        - name: v
        permissions:
        - user: ghost
          vhost: v
          configure: ''
          write: ''
          read: ''
        """,
        4,
        "permissions[0].user",
        "user 'ghost'",
    ),
    (
        """\
        users:
        - name: u
        permissions:
        - user: u
          vhost: nowhere
          configure: ''
          write: ''
          read: ''
        """,
        5,  # the vhost's own line
        "permissions[0].vhost",
        "vhost 'nowhere'",
    ),
    ("users: [{name: u}]\nusers: []", 2, None, "duplicate key 'users' (first given on line 1)"),
    ("vhosts: [{name: v\n", 2, None, "not valid YAML"),
    ("", 1, None, "the topology is empty"),
    ("- just a list", 1, "(top level)", "expected a mapping"),
    ('vhosts: [{name: "a\\x01b"}]', 1, "vhosts[0].name", "contains control characters"),
    (f"vhosts: [{{name: {'x' * 256}}}]", 1, "vhosts[0].name", "is longer than 255 bytes"),
]


@pytest.mark.parametrize(
    ("document", "line", "field", "message"),
    BAD_DOCUMENTS,
    ids=[f"{index}-{field or 'document'}" for index, (_, _, field, _) in enumerate(BAD_DOCUMENTS)],
)
def test_bad_documents_are_reported_with_line_and_field(
    document: str, line: int, field: str | None, message: str
) -> None:
    with pytest.raises(TopologyError) as info:
        load(document)
    located = [(p.file, p.line, p.field) for p in info.value.problems if message in p.message]
    assert located == [("t.yaml", line, field)], [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("tags", "expected"), [("administrator", ("administrator",)), ("b,a", ("a", "b"))])
def test_tags_may_be_a_comma_separated_string(tags: str, expected: tuple[str, ...]) -> None:
    assert load(f"users: [{{name: u, tags: '{tags}'}}]").users[("u",)].tags == expected


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        """\
        vhosts:
          - name: v
            exchanges:
              - {name: e, type: weird}
            queues:
              - {name: q, durable: maybe}
        users:
          - {name: u, password: plain}
        """
    )
    assert len(problems) == 3
    assert [p.split(":")[1] for p in problems] == ["4", "6", "8"]


def test_valid_topology_builds_objects_with_defaults_and_origins() -> None:
    topo = load_topology_text(
        textwrap.dedent(
            """\
            vhosts:
              - name: v
                default_queue_type: quorum
                exchanges:
                  - {name: e, type: topic, arguments: {alternate-exchange: ae}}
                  - {name: ae, type: fanout}
                queues:
                  - {name: q1}
                  - {name: q2, type: classic, durable: false, arguments: {x-message-ttl: 1000}}
                bindings:
                  - {source: e, destination: q1, routing_key: "a.#"}
                  - {source: e, destination: ae, destination_type: exchange}
                  - {source: amq.topic, destination: q2}
            """
        ),
        "t.yaml",
    )
    q1 = topo.queues[("v", "q1")]
    assert isinstance(q1, Queue)
    assert (q1.type, q1.durable, q1.auto_delete) == ("quorum", True, False)  # the vhost's default queue type
    q2 = topo.queues[("v", "q2")]
    assert (q2.type, q2.durable, q2.arguments) == ("classic", False, {"x-message-ttl": 1000})
    exchange = topo.exchanges[("v", "e")]
    assert isinstance(exchange, Exchange) and exchange.type == "topic" and exchange.durable
    assert exchange.origin is not None and exchange.origin.line == 5
    bindings = sorted(topo.bindings.values(), key=lambda b: b.destination)
    assert [(b.destination_type, b.destination) for b in bindings] == [
        ("exchange", "ae"),
        ("queue", "q1"),
        ("queue", "q2"),
    ]
    assert all(isinstance(b, Binding) for b in bindings)


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    monkeypatch.setenv("RA_TEST_PW", "from-env")
    topo_file = tmp_path / "t.yaml"
    topo_file.write_text("users:\n  - {name: a, password: {env: RA_TEST_PW}}\n  - {name: b, password: {file: pw}}\n")
    topo = load_topology(topo_file)
    passwords = {key[0]: user.password.reveal() for key, user in topo.users.items() if user.password}
    assert passwords == {"a": "from-env", "b": "from-file"}  # file paths are relative to the topology file
    assert "from-env" not in repr(topo.users[("a",)])


def test_secrets_can_be_skipped_for_offline_validation() -> None:
    document = "users: [{name: u, password: {env: RABBITADMIN_TEST_UNSET_VAR}}]"
    with pytest.raises(TopologyError):
        load(document)  # resolved: the variable is not set
    assert set(load(document, resolve_secrets=False).users) == {("u",)}


def test_absent_objects_are_recorded() -> None:
    topo = load(
        """\
        vhosts:
          - {name: old, state: absent}
          - name: v
            queues: [{name: gone, state: absent}]
        users: [{name: guest, state: absent}]
        """
    )
    assert set(topo.absent["vhost"]) == {("old",)}
    assert set(topo.absent["queue"]) == {("v", "gone")}
    assert set(topo.absent["user"]) == {("guest",)}
    assert not topo.vhosts.get(("old",)) and not topo.queues.get(("v", "gone")) and not topo.users


def test_repository_topology_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYUSER_PASSWORD", "x")
    topo = load_topology(REPO / "topology.yaml")
    assert ("myproject",) in topo.vhosts
    assert {key[1] for key in topo.queues} == {"hello", "task_queue", "rpc_queue"}
    assert topo.queues[("myproject", "task_queue")].durable
    assert {(k[1], e.type) for k, e in topo.exchanges.items()} == {
        ("logs", "fanout"),
        ("direct_logs", "direct"),
        ("topic_logs", "topic"),
    }
    assert topo.users[("myuser",)].tags == ("management",)
    assert ("guest",) in topo.absent["user"]
    perm = topo.permissions[("myuser", "myproject")]
    assert (perm.configure, perm.write, perm.read) == (".*", ".*", ".*")


def test_missing_file() -> None:
    with pytest.raises(TopologyError, match="no such file"):
        load_topology("/nonexistent/topology.yaml")


@pytest.mark.parametrize("name", ["hello-world", "work-queues", "publish-subscribe", "routing", "topics", "rpc"])
def test_tutorial_presets_agree_with_the_repository_topology(name: str) -> None:
    """Provisioning a preset after applying topology.yaml (or the reverse) must change nothing they share."""
    from rabbitadmin.engine.diff import compute_plan
    from rabbitadmin.tutorials.scenarios import load_preset

    repository = load_topology(REPO / "topology.yaml", resolve_secrets=False)
    preset = load_preset(name, resolve_secrets=False)
    shared = Topology()
    for obj in preset:
        if obj.key in repository.of(obj.kind):
            shared.add(repository.of(obj.kind)[obj.key])
        else:
            raise AssertionError(f"{obj.kind} {obj.key} of preset {name} is missing from topology.yaml")
    plan = compute_plan(preset, shared)
    assert [c.subject for c in plan.changes if c.kind != "user"] == []
