"""``--backend ctl apply --prune`` keeps the permissions of the user the HTTP settings name (session-20 breaker,
3.10.8). The HTTP transport never prunes the user it connects as; rabbitmqctl acts as no user, so it deleted
that user's permission on the vhost, and every later HTTP apply (its lock is an AMQP connection as that user)
and `queues purge` failed: the operator of `sandbox env`, who has both settings, was locked out by a prune."""

from __future__ import annotations

import secrets
from pathlib import Path

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner


def test_a_ctl_prune_keeps_the_http_users_permissions_and_says_so(
    rabbitadmin: CliRunner, cli_env: dict[str, str], admin_client: HttpClient, node: SandboxInfo, tmp_path: Path
) -> None:
    vhost = f"pp-{secrets.token_hex(3)}"
    topology = tmp_path / "pp.yaml"
    topology.write_text(f"vhosts:\n  - name: {vhost}\n    queues:\n      - {{name: q}}\n")
    permission = api_path("permissions", vhost, node.user)
    try:
        applied = rabbitadmin("apply", str(topology), "--yes")
        assert applied.returncode == 0, applied.stderr
        assert admin_client.get_or_none(permission) is not None  # the management API granted its creator

        pruned = rabbitadmin("--backend", "ctl", "apply", str(topology), "--prune", "--yes")
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
        assert f"kept permission of {node.user!r} on vhost {vhost!r}" in pruned.stdout + pruned.stderr
        assert admin_client.get_or_none(permission) is not None
        again = rabbitadmin("apply", str(topology), "--yes")  # over HTTP, with its lock, as before the prune
        assert again.returncode == 0, again.stdout + again.stderr

        # Without an HTTP user named, rabbitmqctl's prune has no one to keep: the file is the whole truth.
        only_ctl = CliRunner({k: v for k, v in cli_env.items() if k != "RABBITADMIN_USER"})
        bare = only_ctl("--backend", "ctl", "apply", str(topology), "--prune", "--yes")
        assert bare.returncode == 0, bare.stdout + bare.stderr
        assert admin_client.get_or_none(permission) is None
    finally:
        admin_client.delete(api_path("vhosts", vhost))
