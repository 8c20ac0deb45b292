"""The early read of a ``plan --prune`` command line: it is told apart, and its vhosts' queue counts follow their
queue listings on the same connection (``early_read._vhost_batch``)."""

from __future__ import annotations

from rabbitadmin.backends.http.paths import QUEUE_DEPTH_PARAMS, api_path, queue_depth_listing, vhost_listing
from rabbitadmin.early_read import _vhost_batch
from rabbitadmin.early_read.command_line import plan_command_line


def test_prune_is_read_from_the_plan_command_line() -> None:
    pruned = plan_command_line(["plan", "--prune", "t.yaml"], {})
    assert pruned is not None and pruned.prune and pruned.file == "t.yaml"
    after_file = plan_command_line(["--url", "http://h:15672", "plan", "t.yaml", "--prune", "-o", "json"], {})
    assert after_file is not None and after_file.prune
    plain = plan_command_line(["plan", "--detailed-exitcode", "t.yaml"], {})
    assert plain is not None and not plain.prune
    assert plan_command_line(["--prune", "plan", "t.yaml"], {}) is None  # not a root option: typer's to refuse


def test_a_prune_plan_sends_the_counts_after_the_queue_listing_only() -> None:
    assert _vhost_batch("queue", "v", prune=True) == [vhost_listing("queue", "v"), queue_depth_listing("v")]
    assert _vhost_batch("binding", "v", prune=True) == [vhost_listing("binding", "v")]
    assert _vhost_batch("queue", "v", prune=False) == [vhost_listing("queue", "v")]
    counts = queue_depth_listing("a/b")
    assert counts.path == api_path("queues", "a/b") == "/api/queues/a%2Fb"
    assert counts.params == QUEUE_DEPTH_PARAMS and counts.params is not QUEUE_DEPTH_PARAMS  # a copy per request
