"""The ctl backend's declares pipelined on the node (``eval._DECLARE_PRELUDE``): each worker sends its
declares in chunks (``eval.PIPELINE_CHUNK``), all but the last of a chunk with ``nowait``, and waits only for
the last one's answer. A refusal in the middle of a chunk still names exactly the object refused (the chunk is
replayed one declare at a time on a fresh channel): what was created before it is reported done, nothing after
it in that chunk was carried out, and a rerun converges.
"""

from __future__ import annotations

import pytest

from rabbitadmin.backends.amqp_eligibility import CreateWith
from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import PartialApply
from rabbitadmin.loader import load_topology_text
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..integration.test_amqp_create import check_refused_part_way, declare_transient, reapply_converges, text, topology
from .test_ctl_declare import ctl_backend

#: Queues enough for every one of the 32 workers to send several chunks.
QUEUES = 3000


def test_a_refusal_inside_a_pipelined_chunk_names_that_object_and_a_rerun_converges(
    sandbox: Sandbox, node: SandboxInfo, settings: ConnectionSettings, admin_client: HttpClient, vhost: str
) -> None:
    assert QUEUES // 32 > 2 * ctl_eval.PIPELINE_CHUNK  # the refused queue is sent amid a chunk, not alone
    admin_client.put(api_path("vhosts", vhost), {})
    document = topology(vhost, plain_queues=QUEUES)
    engine = ctl_backend(sandbox, node, CreateWith.amqp)
    plan = make_plan(load_topology_text(text(document)), engine)
    refused = "plain.1500"
    # Another client declares a planned queue as transient between plan and apply: the durable declare of it
    # (sent with nowait, in the middle of its worker's chunk) is refused with PRECONDITION_FAILED.
    declare_transient(settings, vhost, refused)
    with pytest.raises(PartialApply) as caught:
        execute_plan(plan, engine)
    engine.close()
    check_refused_part_way(caught.value, plan, engine.declared_over_amqp, admin_client, vhost, refused)
    result = caught.value.result
    # Told exactly: the one refusal, no outcome left unknown (the chunk was replayed, not read back).
    assert "1 refused, 0 sent without an answer" in result.failed[0][1], result.failed[0][1]
    # What was done is what is there: the declares after the refused one in its chunk were not carried out,
    # and every chunk answered before it was (other workers' included) is reported.
    done = {change.key[1] for change in result.done if change.kind == "queue"}
    listed = admin_client.get(api_path("queues", vhost), {"columns": "name"})
    shown = {q["name"] for q in listed if not q["name"].startswith("rabbitadmin.")}  # no apply lock here
    assert shown - {refused} == done
    assert len([name for name in done if name.startswith("plain.")]) > ctl_eval.PIPELINE_CHUNK
    reapply_converges(ctl_backend(sandbox, node, CreateWith.amqp), document)
