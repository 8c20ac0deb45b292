"""A vhost field added to the facts table as data (``tracing``) works end to end on a real node, through
both backends: apply, re-plan clean, export round trip, update in place, and a file that leaves it out
leaves the server's value alone."""

from __future__ import annotations

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.plan import Action
from rabbitadmin.export import export_document
from rabbitadmin.loader import load_topology_text


def tracing(admin_client: HttpClient, vhost: str) -> bool:
    return bool(admin_client.get(api_path("vhosts", vhost), {"columns": "name,tracing"})["tracing"])


def test_vhost_tracing_is_applied_updated_and_exported(backend: Backend, admin_client: HttpClient, vhost: str) -> None:
    def topology(extra: str) -> str:
        return f"vhosts: [{{name: {vhost!r}{extra}}}]"

    execute_plan(make_plan(load_topology_text(topology(", tracing: true")), backend), backend)
    assert tracing(admin_client, vhost) is True
    assert make_plan(load_topology_text(topology(", tracing: true")), backend).is_empty

    (exported,) = export_document(backend.read_state({vhost}), [vhost])["vhosts"]
    exported.pop("default_queue_type", None)  # 4.0 reports classic where 3.10 reports none
    assert exported == {"name": vhost, "tracing": True}
    assert make_plan(load_topology_text(topology("")), backend).is_empty  # left out: not managed

    plan = make_plan(load_topology_text(topology(", tracing: false")), backend)
    assert [(c.action, [f.name for f in c.fields]) for c in plan.changes] == [(Action.UPDATE, ["tracing"])]
    execute_plan(plan, backend)
    assert tracing(admin_client, vhost) is False
    assert "tracing" not in export_document(backend.read_state({vhost}), [vhost])["vhosts"][0]
