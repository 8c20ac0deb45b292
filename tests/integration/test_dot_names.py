"""Names the management HTTP API cannot address (``.`` and ``..``): refused up front over HTTP, handled by ctl.

RabbitMQ stores such queues, exchanges, users and binding keys, but no URL reaches them: ``.`` and ``..``
are relative path segments, percent-encoded or not, and the server answers 405. Over HTTP the plan refuses
them (exit 4) before anything is written and the admin commands say so instead of "does not exist";
``--backend ctl`` creates, reads, purges and deletes them on the same node.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import UnaddressableName
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner, without_released_lock
from ..ctl.test_ctl_cli import run as ctl  # the real command with --backend ctl on a given node

REFUSAL = "cannot be addressed over the management HTTP API"


@pytest.mark.parametrize(
    "segments",
    [
        ("queues", "v", "."),
        ("queues", "v", ".."),
        ("users", ".."),
        ("vhosts", "."),
        ("bindings", "v", "e", "x", "q", "y", "."),
    ],
)
def test_api_path_refuses_dot_segments(segments: tuple[str, ...]) -> None:
    with pytest.raises(UnaddressableName, match="use --backend ctl"):
        api_path(*segments)
    assert api_path("queues", "v", ".x", "..y", "a.b") == "/api/queues/v/.x/..y/a.b"


@pytest.fixture
def dotted(tmp_path: Path, node: SandboxInfo, admin_client: HttpClient) -> Iterator[tuple[str, str, Path]]:
    """A topology (the case 02-dot-names-over-http, plus bindings keyed '.' and '..'), its vhost and user."""
    vhost = f"dots-{secrets.token_hex(3)}"
    user = ".."
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        f"""vhosts:
  - name: {vhost}
    exchanges:
      - {{name: ".", type: fanout}}
      - {{name: plain}}
    queues:
      - {{name: "."}}
      - {{name: ".."}}
      - {{name: plain}}
    bindings:
      - {{source: ".", destination: "."}}
      - {{source: ".", destination: "..", routing_key: ".."}}
      - {{source: plain, destination: plain, routing_key: "."}}
users:
  - {{name: "{user}", password_hash: ""}}
permissions:
  - {{user: "{user}", vhost: {vhost}, configure: "", write: "", read: ""}}
"""
    )
    yield vhost, user, topology
    admin_client.delete(api_path("vhosts", vhost))
    ctl(node, "users", "delete", "--yes", user)


def test_http_refuses_at_plan_time_and_ctl_does_the_work(
    rabbitadmin: CliRunner, node: SandboxInfo, admin_client: HttpClient, dotted: tuple[str, str, Path]
) -> None:
    vhost, user, topology = dotted
    # Over HTTP: a refusal naming every object and pointing at ctl, exit 4, and nothing written.
    refused = rabbitadmin("apply", "--yes", str(topology))
    assert refused.returncode == 4, refused.stdout + refused.stderr
    for subject in ("user '..'", "queue '.' in", "queue '..' in", "exchange '.' in", "permission of '..'"):
        assert f"cannot create {subject}" in refused.stdout, subject
    assert REFUSAL in refused.stdout and "--backend ctl" in refused.stdout
    assert admin_client.get_or_none(api_path("vhosts", vhost)) is None
    assert rabbitadmin("plan", str(topology)).returncode == 4

    # With ctl the same file applies, and HTTP then reads the result as matching (listings need no name).
    applied = ctl(node, "apply", "--yes", str(topology))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    names = set(without_released_lock(lambda: [q["name"] for q in admin_client.get(api_path("queues", vhost))]))
    assert names == {".", "..", "plain"}
    assert rabbitadmin("plan", "--detailed-exitcode", str(topology)).returncode == 0

    # A prune over HTTP would have to delete them: refused at plan time too, naming the delete.
    emptied = topology.parent / "emptied.yaml"
    emptied.write_text(f"vhosts:\n  - name: {vhost}\n    exchanges: [{{name: plain}}]\n    queues: [{{name: plain}}]\n")
    prune = rabbitadmin("plan", "--prune", str(emptied))
    assert prune.returncode == 4 and "cannot delete queue '..'" in prune.stdout, prune.stdout + prune.stderr
    # Plain names, key '.': the binding's handle (properties_key) is the key itself, a path segment.
    assert "cannot delete binding 'plain' -> queue 'plain' key '.'" in prune.stdout, prune.stdout

    # Admin commands over HTTP say why and what to use, instead of "does not exist" or a 405.
    for args in (
        ("queues", "purge", "--yes", "--vhost", vhost, "."),
        ("queues", "delete", "--yes", "--vhost", vhost, ".."),
        ("users", "delete", "--yes", user),
    ):
        result = rabbitadmin(*args)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert REFUSAL in result.stderr and "--backend ctl" in result.stderr
        assert "does not exist" not in result.stderr and "no queue" not in result.stderr

    # The same commands through ctl work.
    purged = ctl(node, "queues", "purge", "--yes", "--vhost", vhost, ".")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    pruned = ctl(node, "apply", "--yes", "--prune", str(emptied))
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert without_released_lock(lambda: [q["name"] for q in admin_client.get(api_path("queues", vhost))]) == ["plain"]
    assert "." not in {e["name"] for e in admin_client.get(api_path("exchanges", vhost), {"columns": "name"})}
    bindings = admin_client.get(api_path("bindings", vhost), {"columns": "source,routing_key"})
    assert [b for b in bindings if b["source"] != ""] == []
    deleted = ctl(node, "users", "delete", "--yes", user)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert user not in {u["name"] for u in admin_client.get(api_path("users"))}
