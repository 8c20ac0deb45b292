"""Pictures of a topology: exchanges, queues and the edges between them, per vhost.

Edges: bindings (labelled with the routing key, or the header arguments of a headers binding), exchange
-to-exchange bindings, ``alternate-exchange`` arguments (dashed, "alternate") and queues'
``x-dead-letter-exchange`` (dashed, "dead letter"). Built-in exchanges (the default one, ``amq.*``) are
drawn only when something points at them. Exclusive queues belong to one connection (an apply lock, a
consumer's private queue) and are left out. Formats: Mermaid (renders on GitHub), DOT, SVG (Graphviz's
``dot``) and one self-contained HTML page with the SVG inline.
"""

from __future__ import annotations

import html
import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import graphviz
import networkx as nx

from rabbitadmin.errors import GraphError, UsageError
from rabbitadmin.kinds import is_server_owned_exchange
from rabbitadmin.model import Exchange, Queue, Topology
from rabbitadmin.routing.simulate import ALTERNATE_EXCHANGE

DEAD_LETTER_EXCHANGE = "x-dead-letter-exchange"
DEAD_LETTER_ROUTING_KEY = "x-dead-letter-routing-key"
DOT_TIMEOUT = 120.0  # seconds `dot` may take to lay out a large topology
NodeId = tuple[str, str, str]  # (kind, vhost, name)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    html = "html"


@dataclass(frozen=True)
class Edge:
    source: NodeId
    target: NodeId
    label: str
    kind: str  # binding, alternate, dead-letter


def build(topology: Topology, vhosts: Iterable[str] | None = None) -> nx.MultiDiGraph:
    """The topology as a ``networkx.MultiDiGraph``: nodes ``(kind, vhost, name)`` with an ``obj`` attribute
    (the model object, or None for a built-in exchange not listed), edges with ``label`` and ``kind``."""
    # A definitions file's objects in vhosts it only refers to (``Topology.referenced_vhosts``) are drawn too.
    wanted = set(vhosts) if vhosts is not None else {key[0] for key in topology.vhosts} | topology.referenced_vhosts()
    graph = nx.MultiDiGraph()
    for ex in topology.exchanges.values():
        if ex.vhost in wanted and not is_server_owned_exchange(ex.name):
            graph.add_node(("exchange", ex.vhost, ex.name), obj=ex)
    for q in topology.queues.values():
        if q.vhost in wanted and not q.exclusive:
            graph.add_node(("queue", q.vhost, q.name), obj=q)

    def exchange_node(vhost: str, name: str) -> NodeId:
        node = ("exchange", vhost, name)
        if node not in graph:
            graph.add_node(node, obj=topology.exchanges.get((vhost, name)))
        return node

    for b in sorted(topology.bindings.values(), key=lambda b: b.key):
        target = ("queue", b.vhost, b.destination)
        if b.vhost not in wanted or (b.destination_type == "queue" and target not in graph):
            continue
        if b.destination_type == "exchange":
            target = exchange_node(b.vhost, b.destination)
        graph.add_edge(
            exchange_node(b.vhost, b.source), target, label=binding_label(b.routing_key, b.arguments), kind="binding"
        )
    for node, data in list(graph.nodes(data=True)):
        obj = data["obj"]
        if isinstance(obj, Exchange) and isinstance(obj.arguments.get(ALTERNATE_EXCHANGE), str):
            graph.add_edge(
                node, exchange_node(obj.vhost, obj.arguments[ALTERNATE_EXCHANGE]), label="alternate", kind="alternate"
            )
        if isinstance(obj, Queue) and isinstance(obj.arguments.get(DEAD_LETTER_EXCHANGE), str):
            key = obj.arguments.get(DEAD_LETTER_ROUTING_KEY)
            label = "dead letter" + (f": {key}" if isinstance(key, str) else "")
            graph.add_edge(
                node, exchange_node(obj.vhost, obj.arguments[DEAD_LETTER_EXCHANGE]), label=label, kind="dead-letter"
            )
    return graph


def binding_label(routing_key: str, arguments: dict[str, Any]) -> str:
    """A binding's edge label: its key, then its arguments (the match of a headers binding)."""
    parts = [routing_key] if routing_key else []
    if arguments:
        parts.append(", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(arguments.items())))
    return " ".join(parts)


def focus(graph: nx.MultiDiGraph, name: str, depth: int) -> nx.MultiDiGraph:
    """The part of ``graph`` within ``depth`` edges (either direction) of every exchange or queue called
    ``name``. Raises ``UsageError`` when nothing has that name."""
    centres = [node for node in graph if node[2] == name]
    if not centres:
        raise UsageError(f"no exchange or queue named {name!r} in the graph")
    undirected = graph.to_undirected(as_view=True)
    keep: set[NodeId] = set()
    for centre in centres:
        keep |= set(nx.single_source_shortest_path_length(undirected, centre, cutoff=depth))
    return graph.subgraph(keep).copy()


def _sorted_nodes(graph: nx.MultiDiGraph) -> list[NodeId]:
    return sorted(graph.nodes, key=lambda n: (n[1], n[0], n[2]))


def _display(node: NodeId) -> str:
    return node[2] if node[2] else "(default)"


def _edges(graph: nx.MultiDiGraph) -> list[Edge]:
    edges = [Edge(s, t, d["label"], d["kind"]) for s, t, d in graph.edges(data=True)]
    return sorted(edges, key=lambda e: (e.source[1], e.kind, e.source, e.target, e.label))


def _vhosts(graph: nx.MultiDiGraph) -> list[str]:
    return sorted({node[1] for node in graph})


def _exchange_caption(graph: nx.MultiDiGraph, node: NodeId) -> str:
    obj = graph.nodes[node]["obj"]
    type_ = obj.type if isinstance(obj, Exchange) else ("direct" if node[2] in ("", "amq.direct") else "")
    flags = " internal" if isinstance(obj, Exchange) and obj.internal else ""
    return f"{type_}{flags}".strip()


# -- Mermaid -------------------------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    # Mermaid reads entity codes inside quoted labels; quotes and angle brackets must not appear raw.
    return "".join({'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"}.get(c, c) for c in text)


def to_mermaid(graph: nx.MultiDiGraph) -> str:
    """A Mermaid ``flowchart LR``: one subgraph per vhost, exchanges as hexagons, queues as cylinders."""
    ids = {node: f"n{i}" for i, node in enumerate(_sorted_nodes(graph))}
    lines = ["flowchart LR"]
    for v_index, vhost in enumerate(_vhosts(graph)):
        lines.append(f'  subgraph v{v_index}["vhost {_mermaid_text(vhost)}"]')
        for node in (n for n in _sorted_nodes(graph) if n[1] == vhost):
            label = _mermaid_text(_display(node))
            if node[0] == "exchange":
                caption = _mermaid_text(_exchange_caption(graph, node))
                lines.append(f'    {ids[node]}{{{{"{label}<br/><i>{caption}</i>"}}}}')
            else:
                lines.append(f'    {ids[node]}[("{label}")]')
        lines.append("  end")
    for edge in _edges(graph):
        arrow = "-->" if edge.kind == "binding" else "-.->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


# -- Graphviz ------------------------------------------------------------------------------------------------
def to_graphviz(graph: nx.MultiDiGraph) -> graphviz.Digraph:
    """A ``graphviz.Digraph``: one cluster per vhost, exchanges as ellipses, queues as boxes."""
    ids = {node: f"n{i}" for i, node in enumerate(_sorted_nodes(graph))}
    dot = graphviz.Digraph(
        "topology",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    for v_index, vhost in enumerate(_vhosts(graph)):
        with dot.subgraph(name=f"cluster_{v_index}") as sub:
            sub.attr(label=graphviz.escape(f"vhost {vhost}"), style="rounded", color="#999999")
            for node in (n for n in _sorted_nodes(graph) if n[1] == vhost):
                if node[0] == "exchange":
                    caption = _exchange_caption(graph, node)
                    style = "filled,dashed" if "internal" in caption else "filled"
                    sub.node(
                        ids[node],
                        f"{graphviz.escape(_display(node))}\\n{caption}",
                        shape="ellipse",
                        style=style,
                        fillcolor="#dbe9f6",
                        tooltip=graphviz.escape(f"exchange {_display(node)}"),
                    )
                else:
                    sub.node(
                        ids[node],
                        graphviz.escape(_display(node)),
                        shape="box",
                        style="filled",
                        fillcolor="#f9dcdc",
                        tooltip=graphviz.escape(f"queue {node[2]}"),
                    )
    for edge in _edges(graph):
        attrs = {"style": "dashed", "color": "#b35900" if edge.kind == "dead-letter" else "#555555"}
        dot.edge(
            ids[edge.source],
            ids[edge.target],
            label=graphviz.escape(edge.label),
            **(attrs if edge.kind != "binding" else {}),
        )
    return dot


def to_svg(graph: nx.MultiDiGraph) -> str:
    """The picture as SVG text, laid out by Graphviz's ``dot``. Raises ``GraphError`` when ``dot`` is
    missing (Debian's ``graphviz`` package; scripts/setup.sh installs it) or fails."""
    # `dot` runs here rather than through graphviz.pipe, which has no timeout.
    source = str(to_graphviz(graph).source)
    try:
        done = subprocess.run(
            ["dot", "-Tsvg"], input=source, capture_output=True, text=True, timeout=DOT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise GraphError("Graphviz's `dot` is not installed (Debian: apt-get install graphviz)") from None
    except subprocess.TimeoutExpired:
        raise GraphError(f"Graphviz's `dot` did not finish within {DOT_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        raise GraphError(f"Graphviz's `dot` failed: {done.stderr.strip()}")
    return done.stdout


def _inline_svg(svg: str) -> str:
    """The SVG without its XML prologue and DOCTYPE, fit to be placed inside HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


PAGE_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.graph svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
.legend span { margin-right: 1.5em; }
"""


def page(title: str, body: str) -> str:
    """One self-contained HTML page (no external resource: the network may be closed)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def graph_section(graph: nx.MultiDiGraph) -> str:
    """The picture with its legend, as an HTML fragment (``<section id="graph">``)."""
    legend = (
        '<p class="legend"><span>ellipse: exchange</span><span>box: queue</span>'
        "<span>solid arrow: binding (key)</span><span>dashed: alternate exchange, dead letter</span></p>"
    )
    return f'<section id="graph">\n{legend}\n<div class="graph">{_inline_svg(to_svg(graph))}</div>\n</section>'


def render(graph: nx.MultiDiGraph, fmt: GraphFormat, title: str = "RabbitMQ topology") -> str:
    """The graph in ``fmt``."""
    if fmt is GraphFormat.mermaid:
        return to_mermaid(graph)
    if fmt is GraphFormat.dot:
        return str(to_graphviz(graph).source)
    if fmt is GraphFormat.svg:
        return to_svg(graph)
    return page(title, graph_section(graph))
