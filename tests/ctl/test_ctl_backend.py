"""The rabbitmqctl backend plans and applies on a node whose management plugin is disabled."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pika
import pytest

from rabbitadmin.backends.ctl import backend as ctl_backend_module
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.engine import check_safety, execute_plan, make_plan
from rabbitadmin.errors import ConnectionFailed, CtlError, PartialApply, Refused
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Exchange, Queue
from rabbitadmin.passwords import check_password, hash_password
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import ctl_backend_options

HASH = hash_password("chunks")


@pytest.fixture
def bare_vhost(bare_backend: CtlBackend) -> Iterator[str]:
    name = f"bare {secrets.token_hex(3)}/é#"
    yield name
    if name in vhost_names(bare_backend):
        bare_backend.ctl.run(["delete_vhost", "--", name])


def vhost_names(backend: CtlBackend) -> set[str]:
    return {entry["name"] for entry in backend.export_definitions()["vhosts"]}


def topology(vhost: str, user: str, *, version: int) -> str:
    """Version 1, then version 2 changing one thing of each kind."""
    description, tags, write = ("first", "[management]", ".*") if version == 1 else ("second", "[monitoring]", "^w")
    exchange_type = "fanout" if version == 1 else "topic"
    header_value = 5 if version == 1 else 6
    return f"""
vhosts:
  - name: "{vhost}"
    description: {description}
    exchanges:
      - {{name: logs, type: {exchange_type}}}
      - {{name: "h x", type: headers, arguments: {{alternate-exchange: logs}}}}
    queues:
      - {{name: "q 1"}}
      - {{name: qq, type: quorum, arguments: {{x-delivery-limit: 5}}}}
    bindings:
      - {{source: logs, destination: "q 1", routing_key: "#"}}
      - {{source: "h x", destination: qq, arguments: {{x-match: any, n: {header_value}}}}}
      - {{source: logs, destination: "h x", destination_type: exchange, routing_key: rk}}
users:
  - name: "{user}"
    tags: {tags}
    password: {{env: BARE_PASSWORD_{version}}}
permissions:
  - {{user: "{user}", vhost: "{vhost}", configure: ".*", write: "{write}", read: ".*"}}
topic_permissions:
  - {{user: "{user}", vhost: "{vhost}", exchange: amq.topic, write: "{write}", read: ".*"}}
"""


def apply(backend: CtlBackend, text: str, *, prune: bool = False) -> Any:
    plan = make_plan(load_topology_text(text), backend, prune=prune)
    assert not plan.refusals, plan.refusals
    execute_plan(plan, backend, allow_data_loss=True)
    return plan


def count_calls(backend: CtlBackend, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Any]:
    """From now on, the rabbitmqctl command of every call ``backend`` makes goes in the list; and the real ``run``."""
    calls: list[str] = []
    original = backend.ctl.run

    def counting_run(args: Any, *, stdin: str | None = None, wait: float | None = None) -> str:
        calls.append(args[0])
        return original(args, stdin=stdin, wait=wait)

    monkeypatch.setattr(backend.ctl, "run", counting_run)
    return calls, original


def publish(node: SandboxInfo, backend: CtlBackend, vhost: str, queue: str, count: int) -> None:
    """``count`` confirmed messages to ``queue`` of ``vhost``, as the node's user (given every permission there)."""
    backend.ctl.run(["set_permissions", f"--vhost={vhost}", "--", node.user, ".*", ".*", ".*"])
    credentials = pika.PlainCredentials(node.user, node.password())
    params = pika.ConnectionParameters("127.0.0.1", node.amqp_port, vhost, credentials)
    with pika.BlockingConnection(params) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for i in range(count):
            channel.basic_publish("", queue, f"m{i}".encode())


def in_vhost(definitions: dict[str, Any], section: str, vhost: str) -> list[dict[str, Any]]:
    return [entry for entry in definitions[section] if entry.get("vhost") == vhost]


def test_plan_and_apply_without_management(
    bare_backend: CtlBackend, bare_node: SandboxInfo, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(OSError):  # no management listener at all on this node
        socket.create_connection(("127.0.0.1", bare_node.http_port), timeout=2).close()
    user = f"bare-user-{secrets.token_hex(3)}"
    monkeypatch.setenv("BARE_PASSWORD_1", "first secret")
    monkeypatch.setenv("BARE_PASSWORD_2", "second secret")

    first = apply(bare_backend, topology(bare_vhost, user, version=1))
    assert first.summary()["create"] == 11
    defs = bare_backend.export_definitions()
    assert {q["name"] for q in in_vhost(defs, "queues", bare_vhost)} == {"q 1", "qq"}
    assert {e["name"]: e["type"] for e in in_vhost(defs, "exchanges", bare_vhost)} == {
        "logs": "fanout",
        "h x": "headers",
    }
    assert len(in_vhost(defs, "bindings", bare_vhost)) == 3
    stored = next(u for u in defs["users"] if u["name"] == user)
    assert stored["tags"] == ["management"] and check_password("first secret", stored["password_hash"])
    assert make_plan(load_topology_text(topology(bare_vhost, user, version=1)), bare_backend).is_empty

    second = apply(bare_backend, topology(bare_vhost, user, version=2), prune=True)
    assert {c.action.value for c in second.changes} >= {"update", "replace", "create", "delete"}
    defs = bare_backend.export_definitions()
    vhost_entry = next(v for v in defs["vhosts"] if v["name"] == bare_vhost)
    assert vhost_entry["metadata"]["description"] == "second"
    stored = next(u for u in defs["users"] if u["name"] == user)
    assert stored["tags"] == ["monitoring"] and check_password("second secret", stored["password_hash"])
    assert {e["name"]: e["type"] for e in in_vhost(defs, "exchanges", bare_vhost)}["logs"] == "topic"
    header_bindings = [b for b in in_vhost(defs, "bindings", bare_vhost) if b["source"] == "h x"]
    assert [b["arguments"]["n"] for b in header_bindings] == [6], "the old binding was deleted, the new one made"
    assert len(in_vhost(defs, "bindings", bare_vhost)) == 3, "bindings of the replaced exchange re-created"
    assert next(p for p in defs["permissions"] if p["user"] == user)["write"] == "^w"
    assert make_plan(load_topology_text(topology(bare_vhost, user, version=2)), bare_backend, prune=True).is_empty

    emptied = f'vhosts:\n  - name: "{bare_vhost}"\nusers:\n  - {{name: "{user}", state: absent}}\n'
    apply(bare_backend, emptied, prune=True)
    defs = bare_backend.export_definitions()
    for section in ("queues", "exchanges", "bindings"):
        assert in_vhost(defs, section, bare_vhost) == []
    assert user not in {u["name"] for u in defs["users"]}
    assert [p for p in defs["permissions"] if p["user"] == user] == []

    apply(bare_backend, f'vhosts:\n  - {{name: "{bare_vhost}", state: absent}}\n')
    assert bare_vhost not in vhost_names(bare_backend)


def test_exact_message_counts_guard_data(bare_backend: CtlBackend, bare_node: SandboxInfo, bare_vhost: str) -> None:
    apply(bare_backend, f'vhosts:\n  - name: "{bare_vhost}"\n    queues:\n      - {{name: held}}\n')
    publish(bare_node, bare_backend, bare_vhost, "held", 3)
    state = bare_backend.read_state([bare_vhost])
    assert state.queues[(bare_vhost, "held")].messages == 3

    changed = f'vhosts:\n  - name: "{bare_vhost}"\n    queues:\n      - {{name: held, durable: false}}\n'
    plan = make_plan(load_topology_text(changed), bare_backend)
    with pytest.raises(Refused, match="3 message"):
        check_safety(plan, allow_data_loss=False)


def test_binding_declared_by_a_client_is_deleted(
    bare_backend: CtlBackend, bare_node: SandboxInfo, bare_vhost: str
) -> None:
    apply(bare_backend, f'vhosts:\n  - name: "{bare_vhost}"\n    exchanges:\n      - {{name: hx, type: headers}}\n'
          "    queues:\n      - {name: q}\n")  # fmt: skip
    bare_backend.ctl.run(["set_permissions", f"--vhost={bare_vhost}", "--", bare_node.user, ".*", ".*", ".*"])
    credentials = pika.PlainCredentials(bare_node.user, bare_node.password())
    params = pika.ConnectionParameters("127.0.0.1", bare_node.amqp_port, bare_vhost, credentials)
    with pika.BlockingConnection(params) as connection:
        # pika sends small integers as 32-bit signed, where an import would store a 64-bit long.
        connection.channel().queue_bind("q", "hx", "", arguments={"x-match": "all", "n": 7, "s": "x"})
    state = bare_backend.read_state([bare_vhost])
    [binding] = [b for b in state.bindings.values() if b.source == "hx"]
    bare_backend.delete(binding)
    bare_backend.delete(binding)  # already gone counts as done
    assert [b for b in bare_backend.read_state([bare_vhost]).bindings.values() if b.source == "hx"] == []


def test_eval_guard_reports_missing_functions(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = Exchange(vhost="/", name="x")
    assert bare_backend.unsupported(exchange, "delete") is None
    assert bare_backend.unsupported(exchange, "create") is None
    text = f'vhosts:\n  - name: "{bare_vhost}"\n    exchanges:\n      - {{name: inner, type: topic, internal: true}}\n'
    apply(bare_backend, text)
    expected = bare_backend.read_state([bare_vhost])
    assert (bare_vhost, "inner") in expected.exchanges

    # A server without these functions: plan time says so, and reading falls back to public listings.
    monkeypatch.setitem(ctl_eval.REQUIRED, "exchange_delete", (("rabbit_exchange", "delete_gone", 9),))
    monkeypatch.setitem(ctl_eval.REQUIRED, "read_extras", (("rabbit_exchange", "list_gone", 9),))
    fresh = CtlBackend(node=bare_backend.ctl.node, rabbitmqctl=bare_backend.ctl.executable, env=bare_backend.ctl.env)
    reason = fresh.unsupported(exchange, "delete")
    assert reason is not None and "delete_gone" in reason
    fallback = fresh.read_state([bare_vhost])
    assert "list_gone" in (fresh.unsupported_reason(("read_extras",)) or "")
    assert fallback.exchanges == expected.exchanges and fallback.queues == expected.queues

    # Queue deletes fall back to `rabbitmqctl delete_queue` rather than being refused.
    monkeypatch.setitem(ctl_eval.REQUIRED, "queue_delete", (("rabbit_amqqueue", "delete_gone", 9),))
    apply(fresh, f'vhosts:\n  - name: "{bare_vhost}"\n    queues:\n      - {{name: doomed}}\n')
    doomed = Queue(vhost=bare_vhost, name="doomed")
    assert fresh.unsupported(doomed, "delete") is None
    fresh.delete(doomed)
    assert "delete_gone" in (fresh.unsupported_reason(("queue_delete",)) or "")
    assert (bare_vhost, "doomed") not in fresh.read_state([bare_vhost]).queues


def test_imports_in_chunks_and_the_export_eval_reads_what_export_definitions_prints(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks so that a few objects span several imports: each must find what it needs already there.
    monkeypatch.setattr(ctl_backend_module, "IMPORT_CHUNK", 3)
    calls, original = count_calls(bare_backend, monkeypatch)
    user = f"chunk-user-é-{secrets.token_hex(2)}"
    text = f"""
vhosts:
  - name: "{bare_vhost}"
    description: "dépôt"
    exchanges:
      - {{name: "ex é", type: topic}}
      - {{name: ex2, type: fanout}}
    queues:
      - {{name: "q é", arguments: {{x-max-length: 10}}}}
      - {{name: q2, type: quorum}}
      - {{name: q3}}
    bindings:
      - {{source: "ex é", destination: "q é", routing_key: "a.#"}}
      - {{source: ex2, destination: q2}}
      - {{source: "ex é", destination: ex2, destination_type: exchange, routing_key: b}}
users:
  - {{name: "{user}", tags: [monitoring], password_hash: "{HASH}"}}
permissions:
  - {{user: "{user}", vhost: "{bare_vhost}", configure: ".*", write: ".*", read: ".*"}}
"""
    try:
        assert apply(bare_backend, text).summary()["create"] == 11
        assert calls.count("import_definitions") == 4  # 11 objects, 3 an import
        assert make_plan(load_topology_text(text), bare_backend).is_empty

        calls.clear()
        exported = bare_backend.export_definitions()
        assert calls == ["eval"]
        assert exported == json.loads(original(["export_definitions", "-", "--format=json"]))
        assert {q["name"] for q in in_vhost(exported, "queues", bare_vhost)} == {"q é", "q2", "q3"}

        # A server without the functions the eval uses: the command itself, same document.
        monkeypatch.setitem(ctl_eval.REQUIRED, "export", (("rabbit_definitions", "all_gone", 0),))
        fresh = CtlBackend(ctl=bare_backend.ctl)  # the same runner, still counting
        calls.clear()
        assert fresh.export_definitions() == exported
        assert fresh.export_definitions() == exported
        assert calls == ["eval", "export_definitions", "export_definitions"]  # the check is made once
    finally:
        original(["delete_user", "--", user])


def test_over_a_remote_prefix_the_definitions_eval_goes_on_the_argument_list_not_stdin(
    bare_backend: CtlBackend, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ssh or docker an eval's expression cannot be a local file, and stdin is never read by 4.0.5's
    rabbitmqctl (upstream issue 13157): the read's expression, which carries no data, goes on the argument
    list (not ``export_definitions``, which crashes on 3.10.8 on a list-valued parameter)."""
    fake_ssh = tmp_path / "ssh"
    fake_ssh.write_text('#!/bin/sh\nshift\nexec sh -c "$*"\n')  # drops the host, runs the command here
    fake_ssh.chmod(0o700)
    remote = CtlBackend(ctl=replace(bare_backend.ctl, prefix=(str(fake_ssh), "mq1", *bare_backend.ctl.prefix)))
    try:
        assert not remote.ctl.shares_files
        given: list[tuple[str, int, str | None]] = []
        original = remote.ctl.run

        def recording_run(args: Any, *, stdin: str | None = None, wait: float | None = None) -> str:
            given.append((args[0], len(args), stdin))
            return original(args, stdin=stdin, wait=wait)

        monkeypatch.setattr(remote.ctl, "run", recording_run)
        exported = remote.export_definitions()
        assert given == [("eval", 2, None)]
        assert exported == bare_backend.export_definitions()
    finally:
        remote.close()


def test_a_failed_import_chunk_fails_its_objects_and_leaves_the_later_chunks_not_attempted(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates go in several imports: when one fails (injected into the second import, the node is real), the
    earlier imports are done, its objects are read back and failed (none is there), and the later ones were
    never sent."""
    monkeypatch.setattr(ctl_backend_module, "IMPORT_CHUNK", 3)
    original = bare_backend.ctl.run
    imports: list[int] = []

    def failing_second_import(args: Any, *, stdin: str | None = None, wait: float | None = None) -> str:
        if args[0] == "import_definitions":
            imports.append(1)
            if len(imports) == 2:
                raise CtlError("import_definitions", 65, "injected failure")
        return original(args, stdin=stdin, wait=wait)

    apply(bare_backend, f'vhosts:\n  - name: "{bare_vhost}"\n')
    queues = "\n".join(f"      - {{name: q{i}}}" for i in range(9))
    text = f'vhosts:\n  - name: "{bare_vhost}"\n    queues:\n{queues}\n'
    plan = make_plan(load_topology_text(text), bare_backend)
    monkeypatch.setattr(bare_backend.ctl, "run", failing_second_import)
    with pytest.raises(PartialApply) as stopped:
        execute_plan(plan, bare_backend)
    result = stopped.value.result
    assert len(imports) == 2  # the third import was never sent
    assert [c.key[1] for c in result.done] == ["q0", "q1", "q2"]
    assert sorted(c.key[1] for c, _why in result.failed) == ["q3", "q4", "q5"]
    assert all(
        "injected failure" in why and "read back from the server: 0 of them were created, 3 were not" in why
        for _c, why in result.failed
    )
    assert sorted(c.key[1] for c in result.not_attempted) == ["q6", "q7", "q8"]
    monkeypatch.setattr(bare_backend.ctl, "run", original)
    assert {q.name for q in bare_backend.read_state([bare_vhost]).queues.values()} == {"q0", "q1", "q2"}


def test_each_import_is_given_the_ctl_timeout_plus_its_allowance_and_other_calls_are_not(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rabbitmqctl import_definitions ends when all of it is in; its time grows with the objects it carries.
    Each import the apply sends is allowed --ctl-timeout plus 60 ms an object (the runner honouring ``wait``
    is tested in test_timeouts.py with a rabbitmqctl that sleeps); every other call keeps the base timeout."""
    monkeypatch.setattr(ctl_backend_module, "IMPORT_CHUNK", 300)
    apply(bare_backend, f'vhosts:\n  - name: "{bare_vhost}"\n')
    queues = "\n".join(f"      - {{name: q{i}, type: {'quorum' if i < 5 else 'classic'}}}" for i in range(400))
    exchanges = "    exchanges:\n      - {name: e, type: fanout}\n"
    text = f'vhosts:\n  - name: "{bare_vhost}"\n{exchanges}    queues:\n{queues}\n'
    plan = make_plan(load_topology_text(text), bare_backend)
    assert plan.summary()["create"] == 401
    original = bare_backend.ctl.run
    waits: list[tuple[str, float | None]] = []

    def recording_run(args: Any, *, stdin: str | None = None, wait: float | None = None) -> str:
        waits.append((args[0], wait))
        return original(args, stdin=stdin, wait=wait)

    monkeypatch.setattr(bare_backend.ctl, "run", recording_run)
    result = execute_plan(plan, bare_backend)
    monkeypatch.setattr(bare_backend.ctl, "run", original)
    assert result.ok and len(result.done) == 401
    base = bare_backend.ctl.timeout
    imports = [wait for command, wait in waits if command == "import_definitions"]
    # Two imports (300 objects, then 101); the allowances add up to 60 ms for each of the exchange and 395
    # classic queues, and ten times that for each of the 5 quorum queues.
    assert len(imports) == 2 and all(wait is not None and wait > base for wait in imports)
    assert sum(wait - base for wait in imports if wait is not None) == pytest.approx(0.06 * (1 + 395 + 5 * 10))
    assert all(wait is None for command, wait in waits if command != "import_definitions")
    assert make_plan(load_topology_text(text), bare_backend).is_empty


def test_unreachable_node_is_a_connection_error(bare_sandbox: Any, bare_node: SandboxInfo) -> None:
    options = {**ctl_backend_options(bare_sandbox, bare_node), "node": f"nobody-{secrets.token_hex(2)}@localhost"}
    backend = CtlBackend(**options)  # type: ignore[arg-type]
    with pytest.raises(ConnectionFailed, match="cannot reach"):
        backend.read_state(None)


def test_cookie_file_gives_access(bare_sandbox: Any, bare_node: SandboxInfo, tmp_path: Any) -> None:
    env = {**bare_sandbox.server_env(bare_node), "HOME": str(tmp_path)}  # no cookie in this HOME
    cookie = f"{bare_node.directory}/.erlang.cookie"
    options = {**ctl_backend_options(bare_sandbox, bare_node), "env": env, "cookie_file": cookie}
    backend = CtlBackend(**options)  # type: ignore[arg-type]
    try:
        assert "/" in {v.name for v in backend.read_state(None).vhosts.values()}
    finally:
        backend.close()


def test_many_deletes_and_updates_are_batched(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queues = "".join(f'      - {{name: "q{i}"}}\n' for i in range(40))
    exchanges = "".join(f'      - {{name: "x{i}", type: topic}}\n' for i in range(10))
    bindings = "".join(
        f'      - {{source: "x{i % 10}", destination: "q{i}", routing_key: "k.{i}"}}\n' for i in range(40)
    )
    users = "".join(f'  - {{name: "{bare_vhost}-u{i}", password_hash: "", tags: [a]}}\n' for i in range(10))
    full = (
        f'vhosts:\n  - name: "{bare_vhost}"\n    exchanges:\n{exchanges}    queues:\n{queues}'
        f"    bindings:\n{bindings}users:\n{users}"
    )
    apply(bare_backend, full)
    calls, _ = count_calls(bare_backend, monkeypatch)
    retagged = full.replace("tags: [a]", "tags: [b]")
    emptied = f'vhosts:\n  - name: "{bare_vhost}"\nusers:\n{users.replace("tags: [a]", "tags: [b]")}'
    plan = apply(bare_backend, retagged)
    assert plan.summary()["update"] == 10
    plan = apply(bare_backend, emptied, prune=True)
    assert plan.summary()["delete"] == 50  # the bindings go with their queues and exchanges
    deletes_and_updates = [c for c in calls if c in ("eval", "import_definitions")]
    assert len(deletes_and_updates) <= 12, calls  # 10 updates and 50 deletes in a handful of calls
    state = bare_backend.read_state([bare_vhost])
    assert [q for q in state.queues if q[0] == bare_vhost] == []
    assert [x for x in state.exchanges.values() if x.vhost == bare_vhost and x.name and x.name[:4] != "amq."] == []
    assert all(state.users[(f"{bare_vhost}-u{i}",)].tags == ("b",) for i in range(10))


def test_command_prefix_runs_rabbitmqctl_through_another_command(
    bare_sandbox: Any, bare_node: SandboxInfo, bare_vhost: str, tmp_path: Any
) -> None:
    # `env HOME=...` stands in for `docker exec c` or `sudo -u rabbitmq`: the prefix supplies the cookie.
    env = {**bare_sandbox.server_env(bare_node), "HOME": str(tmp_path)}
    options = ctl_backend_options(bare_sandbox, bare_node)
    prefix = [*options["prefix"], "env", f"HOME={bare_node.directory}"]  # type: ignore[misc]
    backend = CtlBackend(**{**options, "prefix": prefix, "env": env})  # type: ignore[arg-type]
    apply(backend, f'vhosts:\n  - name: "{bare_vhost}"\n    queues:\n      - {{name: "via prefix"}}\n')
    assert (bare_vhost, "via prefix") in backend.read_state([bare_vhost]).queues


def test_import_errors_do_not_show_password_hashes(bare_backend: CtlBackend, rabbitmq_version: str) -> None:
    from rabbitadmin.errors import BatchFailed
    from rabbitadmin.model import Queue, User
    from rabbitadmin.passwords import hash_password

    secret_hash = hash_password("hidden")
    user = User(name=f"hash-{secrets.token_hex(3)}", tags=(), password_hash=secret_hash)
    # A queue in a vhost that does not exist makes the import fail, naming the reason; the user, imported
    # first, is there all the same (read back).
    orphan = Queue(vhost=f"missing-{secrets.token_hex(3)}", name="q")
    created: list[object] = []
    with pytest.raises(BatchFailed) as caught:
        bare_backend.create([user, orphan], progress=created.extend)
    assert caught.value.failed == [orphan] and created == [user]
    # 3.10: "... does not exist"; 4.0: 'Please create virtual host "..." prior to importing definitions.'
    expected = "does not exist" if rabbitmq_version == "3.10" else "Please create virtual host"
    assert expected in str(caught.value) and secret_hash not in str(caught.value)
    assert "1 of them were created, 1 were not" in str(caught.value)
    bare_backend.delete(user)


@pytest.mark.parametrize("vhost_name", ["ascii", "non-ascii"])
def test_a_refused_import_reports_what_the_server_created_before_refusing(
    bare_backend: CtlBackend, vhost_name: str, rabbitmq_version: str
) -> None:
    """The server imports users before policies and stops at the policy it refuses: the user is reported done,
    the policy failed with the server's reason as text (4.0 prints it as an Erlang binary). In a vhost named
    with non-ASCII characters rabbitmqctl 4.0 crashes printing the reason: what it shows of it is said."""
    from rabbitadmin.errors import BatchFailed
    from rabbitadmin.model import Policy, User

    vhost = f"partial-{secrets.token_hex(3)}" + ("" if vhost_name == "ascii" else " é")
    apply(bare_backend, f'vhosts:\n  - name: "{vhost}"\n')
    user = User(name=f"partial-{secrets.token_hex(3)}", tags=(), password_hash=hash_password("x"))
    refused = Policy(vhost, "refused", ".*", {"max-length": "nope"}, 0, "queues")
    created: list[object] = []
    try:
        with pytest.raises(BatchFailed) as caught:
            bare_backend.create([user, refused], progress=created.extend)
        assert caught.value.failed == [refused] and created == [user]
        message = str(caught.value)
        assert "1 of them were created, 1 were not" in message
        if vhost_name == "non-ascii" and rabbitmq_version == "4.0":
            assert "could not print the server's answer" in message and "Validation failed" in message
        else:
            assert "is not a valid maximum length" in message
        assert "&lt;" not in message and "\\n" not in message and "ArgumentError" not in message
        state = bare_backend.read_state([vhost])
        assert (user.name,) in state.users and (vhost, "refused") not in state.policies
    finally:
        bare_backend.delete(user)
        bare_backend.ctl.run(["delete_vhost", "--", vhost])


def test_an_import_over_a_vhost_limit_reads_as_text(bare_backend: CtlBackend) -> None:
    """rabbitmqctl 3.10 prints this refusal as an Elixir tuple holding a charlist with escaped newlines; 4.0 as
    plain text. Either way the reason reads as one line of text and nothing is created."""
    from rabbitadmin.errors import BatchFailed
    from rabbitadmin.model import Queue, VhostLimit

    vhost = f"limited-{secrets.token_hex(3)}"
    apply(bare_backend, f"vhosts:\n  - name: {vhost}\n")
    try:
        bare_backend.update(VhostLimit(vhost, "max-queues", 0))
        queues = [Queue(vhost, f"q{i}") for i in range(2)]
        with pytest.raises(BatchFailed) as caught:
            bare_backend.create(queues)
        message = str(caught.value)
        assert f'to virtual host "{vhost}" would exceed the limit of 0 queue(s).' in message, message
        assert "\\n" not in message and "{:" not in message, message
        assert "0 of them were created, 2 were not" in message
        assert bare_backend.read_state([vhost]).queues == {}
    finally:
        bare_backend.ctl.run(["delete_vhost", "--", vhost])
