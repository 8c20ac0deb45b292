"""graph: the picture's content (pure), --focus, the formats through the real command, and the tutorial
pictures committed in docs/ being exactly what `graph` draws today."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Queue, Topology
from rabbitadmin.routing.graph import GraphFormat, build, focus, render, to_mermaid

from ..conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]

TOPOLOGY = """\
vhosts:
  - name: shop
    exchanges:
      - {name: orders, type: topic, arguments: {alternate-exchange: unrouted}}
      - {name: unrouted, type: fanout}
      - {name: inner, type: headers, internal: true}
      - {name: far, type: direct}
    queues:
      - {name: orders.eu, arguments: {x-dead-letter-exchange: "", x-dead-letter-routing-key: parked}}
      - {name: parked}
      - {name: lost}
      - {name: far.q}
    bindings:
      - {source: orders, destination: orders.eu, routing_key: 'order."eu".#'}
      - {source: orders, destination: inner, destination_type: exchange, routing_key: "#"}
      - {source: inner, destination: lost, arguments: {x-match: any, kind: 1}}
      - {source: unrouted, destination: lost}
      - {source: far, destination: far.q, routing_key: k}
      - {source: amq.fanout, destination: parked}
  - name: other
    queues: [{name: alone}]
"""


@pytest.fixture
def topology() -> Topology:
    return load_topology_text(TOPOLOGY, "t.yaml", resolve_secrets=False)


def test_nodes_and_edges(topology: Topology) -> None:
    graph = build(topology)
    edges = {(s[2], t[2], d["kind"], d["label"]) for s, t, d in graph.edges(data=True)}
    assert edges == {
        ("orders", "orders.eu", "binding", 'order."eu".#'),
        ("orders", "inner", "binding", "#"),
        ("inner", "lost", "binding", 'kind=1, x-match="any"'),
        ("unrouted", "lost", "binding", ""),
        ("far", "far.q", "binding", "k"),
        ("amq.fanout", "parked", "binding", ""),
        ("orders", "unrouted", "alternate", "alternate"),
        ("orders.eu", "", "dead-letter", "dead letter: parked"),
    }
    # Built-in exchanges only when something points at them.
    assert {n[2] for n in graph if n[0] == "exchange" and n[2].startswith("amq.")} == {"amq.fanout"}
    assert ("queue", "other", "alone") in graph


def test_exclusive_queues_are_left_out(topology: Topology) -> None:
    topology.add(Queue("shop", "apply-lock", exclusive=True))
    assert ("queue", "shop", "apply-lock") not in build(topology)


def test_vhost_filter_and_focus(topology: Topology) -> None:
    assert {n[1] for n in build(topology, ["other"])} == {"other"}
    near = focus(build(topology), "orders", 1)
    assert {n[2] for n in near} == {"orders", "orders.eu", "inner", "unrouted"}
    assert {n[2] for n in focus(build(topology), "orders", 2)} >= {"lost", ""}
    assert {n[2] for n in focus(build(topology), "far", 0)} == {"far"}
    with pytest.raises(Exception, match="no exchange or queue named"):
        focus(build(topology), "nope", 1)


def test_mermaid_escapes_labels(topology: Topology) -> None:
    text = to_mermaid(build(topology))
    assert text.startswith("flowchart LR\n")
    assert '|"order.#quot;eu#quot;.#35;"|' in text  # quotes and # would break Mermaid's parser
    assert 'subgraph v0["vhost other"]' in text and 'subgraph v1["vhost shop"]' in text
    assert "(default)" in text and "internal" in text
    assert text.count("-.->") == 2  # alternate and dead letter are dashed


def test_dot_svg_html(topology: Topology) -> None:
    graph = build(topology)
    dot = render(graph, GraphFormat.dot)
    assert "cluster_0" in dot and 'label="order.\\"eu\\".#"' in dot
    svg = render(graph, GraphFormat.svg)
    assert "<svg" in svg and "orders.eu" in svg
    page = render(graph, GraphFormat.html)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<?xml" not in page


def test_graph_command_formats_and_errors(tmp_path: Path) -> None:
    rabbitadmin = CliRunner({})  # offline: no node needed
    path = tmp_path / "t.yaml"
    path.write_text(TOPOLOGY, encoding="utf-8")
    focused = rabbitadmin("graph", str(path), "--focus", "far", "--depth", "1", check=True).stdout
    assert "far.q" in focused and "orders" not in focused
    out = tmp_path / "g.html"
    rabbitadmin("graph", str(path), "--format", "html", "--output-file", str(out), check=True)
    assert "<svg" in out.read_text(encoding="utf-8")
    bad = rabbitadmin("graph", str(path), "--format", "png")
    assert bad.returncode == 2 and "--format must be" in bad.stderr
    neither = rabbitadmin("graph")
    assert neither.returncode == 2 and "FILE or --live" in neither.stderr


def _pictures_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tutorial_pictures", REPO / "scripts" / "tutorial_pictures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_tutorial_pictures_are_what_graph_draws_today() -> None:
    script = _pictures_script()
    doc = (REPO / "docs" / "tutorial.md").read_text(encoding="utf-8")
    assert len(script.SCENARIOS) == 6
    for name in script.SCENARIOS:
        mermaid = script.graph(name, "mermaid")
        assert "flowchart LR" in mermaid and "myproject" in mermaid
        found = script.block_pattern(name).findall(doc)
        assert found == [script.block(name, mermaid)], (
            f"docs/tutorial.md's {name} picture is stale: run {script.__file__}"
        )
        svg = (REPO / "docs" / "img" / f"tutorial-{name}.svg").read_text(encoding="utf-8")
        assert svg == script.graph(name, "svg"), f"docs/img/tutorial-{name}.svg is stale"
        assert re.search(r"<svg[^>]*>", svg)
