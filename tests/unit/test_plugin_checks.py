"""A plan refuses, before any write, what needs a plugin the server does not run: a parameter's component, a
policy's plugin key (federation), and says so even while a node just started does not list its plugins yet."""

from __future__ import annotations

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.engine.planner import PLUGIN_WAIT
from rabbitadmin.errors import ServerError
from rabbitadmin.kinds import BUILTIN_EXCHANGE_TYPES
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import OperatorPolicy, Origin, Topology

NO_FEDERATION = ("rabbitmq_management", "rabbitmq_shovel")
NO_PLUGINS = ("rabbitmq_management",)


def federated(kind: str = "policies") -> Topology:
    return load_topology_text(
        "vhosts:\n"
        "  - name: fedv\n"
        "    queues: [{name: q1}]\n"
        f"    {kind}:\n"
        "      - name: fed\n"
        "        pattern: '^q'\n"
        "        definition: {federation-upstream-set: all}\n",
        "fed.yaml",
    )


def shovelled() -> Topology:
    return load_topology_text(
        "vhosts:\n"
        "  - name: sv\n"
        "    queues: [{name: src}]\n"
        "    parameters:\n"
        "      - component: shovel\n"
        "        name: move\n"
        "        value: {src-uri: 'amqp://', src-queue: src, dest-uri: 'amqp://', dest-queue: dst}\n",
        "shovel.yaml",
    )


@pytest.mark.parametrize("version", ["3.10.8", "4.0.5"])
def test_a_federation_policy_key_without_the_plugin_is_refused_with_file_and_line(version: str) -> None:
    backend = MemoryBackend(version=version, plugins=NO_FEDERATION)
    plan = make_plan(federated(), backend)
    assert len(plan.refusals) == 1, plan.refusals
    refusal = plan.refusals[0]
    assert refusal.startswith("fed.yaml:") and "policy key 'federation-upstream-set' needs" in refusal, refusal
    assert "rabbitmq-plugins enable rabbitmq_federation" in refusal
    assert backend.calls == []


@pytest.mark.parametrize("version", ["3.10.8", "4.0.5"])
def test_the_server_refuses_what_the_plan_would_have_let_through(version: str) -> None:
    # The model refuses the key as the server does ("not recognised policy settings"): without the plan's
    # refusal the apply stops part-way, after the vhost and the queue.
    backend = MemoryBackend(version=version, plugins=NO_FEDERATION)
    plan = make_plan(federated(), backend)
    plan.refusals.clear()
    with pytest.raises(Exception) as raised:
        execute_plan(plan, backend)
    assert "not recognised policy settings" in str(raised.value) or isinstance(raised.value, ServerError)


def test_a_federation_policy_key_with_the_plugin_passes() -> None:
    backend = MemoryBackend()
    plan = make_plan(federated(), backend)
    assert plan.refusals == []
    execute_plan(plan, backend)
    assert make_plan(federated(), backend).changes == []


def test_an_operator_policy_never_takes_a_plugin_key() -> None:
    # Validation refuses it in a topology file; a definitions file's operator policy reaches the plan as is.
    desired = load_topology_text("vhosts: [{name: fedv}]")
    desired.add(OperatorPolicy("fedv", "fed", "^q", {"federation-upstream-set": "all"}, origin=Origin("d.json", 9)))
    plan = make_plan(desired, MemoryBackend())  # the plugin runs: still refused
    assert len(plan.refusals) == 1 and "in an operator policy" in plan.refusals[0], plan.refusals
    assert plan.refusals[0].startswith("d.json:9: "), plan.refusals


def test_a_node_just_started_is_told_from_its_exchange_types_without_waiting() -> None:
    # Its nodes list no plugins yet; the federation plugin's exchange type is listed from the first moment.
    backend = MemoryBackend(plugins=NO_FEDERATION, plugins_unlisted=10**6)
    plan = make_plan(federated(), backend)
    assert len(plan.refusals) == 1 and "not enabled" in plan.refusals[0], plan.refusals
    assert backend.plugin_reads == 1
    # rabbitmq_federation registers its type at boot (the model lists what it is given).
    running = MemoryBackend(plugins_unlisted=10**6, exchange_types=(*BUILTIN_EXCHANGE_TYPES, "x-federation-upstream"))
    assert make_plan(federated(), running).refusals == [] and running.plugin_reads == 1


def test_a_node_just_started_is_waited_for_when_the_plan_needs_a_plugin() -> None:
    backend = MemoryBackend(plugins=NO_PLUGINS, plugins_unlisted=4)  # listed at the fifth read (2 s)
    plan = make_plan(shovelled(), backend)
    assert len(plan.refusals) == 1, plan.refusals
    assert "component 'shovel' needs the rabbitmq_shovel plugin, which is not enabled" in plan.refusals[0]
    assert plan.refusals[0].startswith("shovel.yaml:")
    assert backend.plugin_reads == 5
    running = MemoryBackend(plugins_unlisted=4)
    assert make_plan(shovelled(), running).refusals == []


def test_plugins_still_unlisted_after_the_wait_are_refused_with_what_to_do() -> None:
    backend = MemoryBackend(plugins_unlisted=10**6)
    plan = make_plan(shovelled(), backend)
    assert len(plan.refusals) == 1, plan.refusals
    assert f"still list no plugins after {PLUGIN_WAIT:g} s" in plan.refusals[0]
    assert "run the plan again in a few seconds" in plan.refusals[0]
    assert backend.plugin_reads == 1 + 1 + int(PLUGIN_WAIT / 0.5)  # bounded: one read, then the wait


def test_a_server_without_statistics_is_not_waited_for_and_the_server_decides() -> None:
    backend = MemoryBackend(statistics_disabled=True)
    plan = make_plan(shovelled(), backend)
    assert plan.refusals == []
    warned = [w for w in plan.warnings if "keeps no management statistics" in w and "rabbitmq_shovel" in w]
    assert len(warned) == 1 and warned[0].startswith("shovel.yaml:5: "), plan.warnings
    assert backend.plugin_reads == 2  # no wait: it never lists them
    # Federation is still told from the exchange types.
    plan = make_plan(federated(), MemoryBackend(statistics_disabled=True, plugins=NO_FEDERATION))
    assert len(plan.refusals) == 1 and "not enabled" in plan.refusals[0]


def test_a_file_that_needs_no_plugin_never_reads_them() -> None:
    for backend in (MemoryBackend(plugins_unlisted=10**6), MemoryBackend(statistics_disabled=True)):
        plan = make_plan(load_topology_text("vhosts: [{name: v, queues: [{name: q}]}]"), backend)
        assert plan.refusals == [] and plan.warnings == []
        assert backend.plugin_reads == 0
