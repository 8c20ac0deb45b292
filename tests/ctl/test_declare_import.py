"""The first import of a ctl create (vhosts, users, permissions, policies) run inside the declares' eval
(``CtlBackend._declare``, ``first``) on real nodes: one rabbitmqctl VM fewer, the same server state as with the
import apart; an import refused there is settled as a separate import's failure with nothing declared, and a
rerun converges; a node without the AMQP client keeps what the eval imported and imports the rest once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.ctl import backend as ctl_backend_module
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import ExitCode, PartialApply
from rabbitadmin.loader import load_topology_text
from rabbitadmin.passwords import hash_password
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import delete_vhost
from ..integration.test_amqp_create import server_view, text, topology
from .test_ctl_backend import count_calls
from .test_ctl_declare import apply_with, ctl_backend, eligible_count

HASH = hash_password("first in declares")


def with_first(document: dict[str, Any], vhost: str, user: str) -> dict[str, Any]:
    """``document`` with a user (a password hash: a secret), its permission and a policy in ``vhost``."""
    document["vhosts"][0]["policies"] = [{"name": "cap", "pattern": "^plain", "definition": {"max-length": 1000}}]
    document["users"] = [{"name": user, "tags": ["monitoring"], "password_hash": HASH}]
    document["permissions"] = [{"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}]
    return document


@pytest.fixture
def names(admin_client: HttpClient) -> Iterator[list[str]]:
    """Two fresh vhost names and two user names, deleted afterwards."""
    token = secrets.token_hex(3)
    vhosts, users = [f"ctl first {token}/é{n}" for n in range(2)], [f"first-{token}-{n}" for n in range(2)]
    yield [*vhosts, *users]
    for vhost in vhosts:
        delete_vhost(admin_client, vhost)
    for user in users:
        admin_client.delete(api_path("users", user))


def applied(engine: CtlBackend, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Plan and apply ``document`` (it must succeed and the next plan be empty); the rabbitmqctl commands run."""
    calls, _ = count_calls(engine, monkeypatch)
    apply_with(engine, document)
    return list(calls)


def test_the_first_import_in_the_declares_eval_saves_a_vm_and_leaves_the_same_state(
    sandbox: Sandbox, node: SandboxInfo, admin_client: HttpClient, names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    merged_vhost, apart_vhost, merged_user, apart_user = names
    merged = ctl_backend(sandbox, node, CreateWith.amqp)
    merged_calls = applied(merged, with_first(topology(merged_vhost), merged_vhost, merged_user), monkeypatch)
    assert merged.declared_over_amqp == eligible_count(topology(merged_vhost))

    monkeypatch.setattr(ctl_backend_module, "INLINE_IMPORT_LIMIT", 0)  # the import apart, as before
    apart = ctl_backend(sandbox, node, CreateWith.amqp)
    apart_calls = applied(apart, with_first(topology(apart_vhost), apart_vhost, apart_user), monkeypatch)
    assert apart.declared_over_amqp == merged.declared_over_amqp
    assert apart_calls.count("import_definitions") == 1 and "import_definitions" not in merged_calls
    assert apart_calls.count("eval") == merged_calls.count("eval")
    assert len(merged_calls) == len(apart_calls) - 1

    assert server_view(admin_client, merged_vhost) == server_view(admin_client, apart_vhost)
    for vhost, user in ((merged_vhost, merged_user), (apart_vhost, apart_user)):
        assert admin_client.get(api_path("users", user))["password_hash"] == HASH
        assert admin_client.get(api_path("permissions", vhost, user))["write"] == ".*"
        assert admin_client.get(api_path("policies", vhost, "cap"))["definition"] == {"max-length": 1000}


def test_an_import_refused_in_the_declares_eval_declares_nothing_and_a_rerun_converges(
    sandbox: Sandbox, node: SandboxInfo, admin_client: HttpClient, names: list[str]
) -> None:
    """The permission's user is deleted between plan and apply: the import in the declares' eval is refused
    (no such user), so nothing is declared; the read-back reports the vhost done, the permission and the
    policy (imported after permissions) failed, the declares not attempted, and no password hash in any
    message. A rerun creates the user and converges."""
    vhost, _, user, _ = names
    document = with_first(topology(vhost, plain_queues=10), vhost, user)
    admin_client.put(api_path("users", user), {"password_hash": HASH, "tags": "monitoring"})
    engine = ctl_backend(sandbox, node, CreateWith.amqp)
    plan = make_plan(load_topology_text(text(document)), engine)
    assert all(change.kind != "user" for change in plan.changes)  # the user is there as asked
    admin_client.delete(api_path("users", user))
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, engine)
    engine.close()
    result = caught.value.result
    assert caught.value.exit_code == ExitCode.PARTIAL and engine.declared_over_amqp == 0
    # The server imports permissions before policies and stops at the first refusal.
    assert sorted(change.kind for change, _ in result.failed) == ["permission", "policy"]
    assert all("definitions import" in error and HASH not in error for _, error in result.failed)
    assert [change.kind for change in result.done] == ["vhost"]
    assert {change.kind for change in result.not_attempted} == {"exchange", "queue", "binding"}
    assert admin_client.get(api_path("queues", vhost), {"columns": "name"}) == []

    again = ctl_backend(sandbox, node, CreateWith.amqp)
    try:
        assert execute_plan(make_plan(load_topology_text(text(document)), again), again).ok
        assert make_plan(load_topology_text(text(document)), again).is_empty
    finally:
        again.close()
    assert again.declared_over_amqp == eligible_count(document)


def test_a_node_without_the_amqp_client_keeps_the_evals_import_and_imports_the_rest_once(
    bare_sandbox: Sandbox, bare_node: SandboxInfo, bare_backend: CtlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``amqp_client`` on the node without management: the eval imports the first objects, declares
    nothing; the rest goes by one import, the first objects not again."""
    token = secrets.token_hex(3)
    vhost, user = f"bare first {token}", f"bare-first-{token}"
    engine = ctl_backend(bare_sandbox, bare_node, CreateWith.amqp)
    imports: list[str] = []
    original = engine._import

    def recording_import(objects: Any) -> None:
        imports.extend(obj.kind for obj in objects)
        original(objects)

    monkeypatch.setattr(engine, "_import", recording_import)
    try:
        calls = applied(engine, with_first(topology(vhost, plain_queues=10), vhost, user), monkeypatch)
        assert engine.declared_over_amqp == 0 and calls.count("import_definitions") == 1
        assert sorted(set(imports)) == ["binding", "exchange", "queue"]  # no vhost, user, permission, policy
        state = bare_backend.read_state([vhost])
        assert (user,) in state.users and (vhost, "cap") in state.policies and len(state.queues) == 15
    finally:
        bare_backend.ctl.run(["delete_vhost", "--", vhost])
        bare_backend.ctl.run(["delete_user", "--", user])
