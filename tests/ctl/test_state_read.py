"""The ctl state read on a real node: one rabbitmqctl call (``definitions_read.read_with_state``) reads what the
three calls apart read (definitions, exact message counts, internal exchanges, tracing), and the calls apart
still serve a server lacking a function of the single eval."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from rabbitadmin.backends.ctl import eval as ctl_eval
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.engine import make_plan
from rabbitadmin.errors import CtlError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.sandbox import SandboxInfo

from .test_ctl_backend import apply, count_calls, publish


@pytest.fixture
def bare_vhost(bare_backend: CtlBackend) -> Iterator[str]:
    name = f"read {secrets.token_hex(3)}/é"
    yield name
    with contextlib.suppress(CtlError):
        bare_backend.ctl.run(["delete_vhost", "--", name])


def topology_text(vhost: str) -> str:
    return f"""
vhosts:
  - name: "{vhost}"
    tracing: true
    exchanges:
      - {{name: inner, type: topic, internal: true}}
      - {{name: outer, type: fanout}}
    queues:
      - {{name: held}}
    bindings:
      - {{source: outer, destination: inner, destination_type: exchange}}
"""


def test_the_state_read_is_one_call_and_reads_what_the_calls_apart_read(
    bare_backend: CtlBackend, bare_node: SandboxInfo, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = topology_text(bare_vhost)
    apply(bare_backend, text)
    publish(bare_node, bare_backend, bare_vhost, "held", 2)
    calls, _ = count_calls(bare_backend, monkeypatch)

    one = bare_backend.read_state([bare_vhost])
    assert calls == ["eval"]
    assert one.vhosts[(bare_vhost,)].tracing is True
    assert one.exchanges[(bare_vhost, "inner")].internal is True
    assert one.queues[(bare_vhost, "held")].messages == 2
    calls.clear()
    everything = bare_backend.read_state(None)
    assert calls == ["eval"] and everything.vhosts[(bare_vhost,)].tracing is True
    assert everything.queues[(bare_vhost, "held")].messages == 2
    calls.clear()
    assert make_plan(load_topology_text(text), bare_backend).is_empty
    assert calls == ["eval"]  # a whole plan reads in one rabbitmqctl VM

    # The calls apart (what a server lacking a function of the single eval gets) read the same state.
    apart = CtlBackend(ctl=bare_backend.ctl)
    apart._definitions.state_eval_unsupported = "as if missing"
    calls.clear()
    assert apart.read_state([bare_vhost]) == one
    assert sorted(calls) == ["eval", "eval", "list_vhosts"]


def test_a_server_lacking_a_function_of_the_single_eval_reads_apart_and_asks_once(
    bare_backend: CtlBackend, bare_vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(bare_backend, topology_text(bare_vhost))
    expected = bare_backend.read_state([bare_vhost])
    calls, _ = count_calls(bare_backend, monkeypatch)
    monkeypatch.setitem(ctl_eval.REQUIRED, "vhost_fields", (("rabbit_vhost", "info_gone", 1),))
    fresh = CtlBackend(ctl=bare_backend.ctl)
    assert fresh.read_state([bare_vhost]) == expected
    assert "info_gone" in (fresh._definitions.state_eval_unsupported or "")
    assert sorted(calls) == ["eval", "eval", "eval", "list_vhosts"]  # the single eval, then the three apart
    calls.clear()
    assert fresh.read_state([bare_vhost]) == expected
    assert sorted(calls) == ["eval", "eval", "list_vhosts"]  # not asked again

    # A server lacking the extras' functions too: public listings, as before the single eval.
    monkeypatch.setitem(ctl_eval.REQUIRED, "read_extras", (("rabbit_exchange", "list_gone", 9),))
    older = CtlBackend(ctl=bare_backend.ctl)
    calls.clear()
    assert older.read_state([bare_vhost]) == expected
    assert calls.count("list_queues") == 1 and calls.count("list_exchanges") == 1
