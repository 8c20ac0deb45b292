"""The HTML report: one self-contained page with the topology picture, the access matrix as a heat map
(users x resources, configure/write/read) and the audit findings.

Reuses ``rabbitadmin.audit``: ``access_matrix`` for the rights (the server's pattern matching and fixed
refusals) and ``audit`` for the findings. No script, no external resource: the page works offline.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from rabbitadmin.audit.access import PERMS, Access, access_matrix, with_builtin_exchanges
from rabbitadmin.audit.rules import Finding, audit
from rabbitadmin.model import Topology
from rabbitadmin.routing.graph import build, graph_section, page

REPORT_STYLE = """
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: left; vertical-align: top; }
th.resource { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-weight: normal; }
td.heat { text-align: center; font-family: monospace; min-width: 2.2em; }
td.r0 { background: #ffffff; color: #bbb; } td.r1 { background: #fde0c5; }
td.r2 { background: #f9a66c; } td.r3 { background: #e4572e; color: #fff; }
.sev-critical, .sev-high { color: #b00020; font-weight: bold; } .sev-medium { color: #b35900; }
"""


def _cell(access: Access | None) -> str:
    if access is None:
        return '<td class="heat r0" title="no permission in this vhost">·</td>'
    letters = "".join(p[0].upper() if access.allows(p) else "-" for p in PERMS)
    allowed = [p for p in PERMS if access.allows(p)]
    title = f"{access.user} may {', '.join(allowed) or 'do nothing'} on {access.kind} {access.name or '(default)'}"
    return f'<td class="heat r{len(allowed)}" title="{escape(title)}">{letters}</td>'


def access_section(topology: Topology) -> str:
    """``<section id="access">``: per vhost, a table of users (rows) by exchanges and queues (columns)."""
    rows = access_matrix(topology)
    by_vhost: dict[str, list[Access]] = defaultdict(list)
    for row in rows:
        by_vhost[row.vhost].append(row)
    parts = [
        '<section id="access">',
        "<h2>Access matrix</h2>",
        "<p>C = configure, W = write, R = read; the darker the cell, the more rights.</p>",
    ]
    if not by_vhost:
        parts.append("<p>No permissions.</p>")
    for vhost in sorted(by_vhost):
        entries = by_vhost[vhost]
        resources = list(dict.fromkeys((r.kind, r.name) for r in entries))
        users = sorted({r.user for r in entries})
        cells = {(r.user, r.kind, r.name): r for r in entries}
        head = "".join(
            f'<th class="resource" title="{kind}">{escape(kind[0])}: {escape(name or "(default)")}</th>'
            for kind, name in resources
        )
        parts.append(f'<h3>vhost {escape(vhost)}</h3>\n<table class="access-matrix" data-vhost="{escape(vhost)}">')
        parts.append(f"<tr><th>user</th>{head}</tr>")
        for user in users:
            line = "".join(_cell(cells.get((user, kind, name))) for kind, name in resources)
            parts.append(f'<tr><th class="user">{escape(user)}</th>{line}</tr>')
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def findings_section(findings: list[Finding]) -> str:
    """``<section id="findings">``: the audit findings, worst first."""
    parts = ['<section id="findings">', f"<h2>Audit findings ({len(findings)})</h2>"]
    if not findings:
        parts.append("<p>No findings.</p>")
    else:
        parts.append(
            '<table class="findings"><tr><th>rule</th><th>severity</th><th>finding</th>'
            "<th>objects</th><th>advice</th></tr>"
        )
        for f in findings:
            parts.append(
                f'<tr><td>{escape(f.rule)}</td><td class="sev-{f.severity.name}">{f.severity.name}</td>'
                f"<td>{escape(f.message)}</td><td>{'<br>'.join(escape(o) for o in f.objects)}</td>"
                f"<td>{escape(f.advice)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def render_report(topology: Topology, title: str, findings: list[Finding] | None = None) -> str:
    """The whole report page for ``topology`` (the server's state or a file's).

    ``findings``: what ``rabbitadmin audit`` found (``audit.cli.run_audit``); None audits ``topology`` alone.
    """
    with_builtin_exchanges(topology)
    if findings is None:
        findings = audit(topology).findings
    graph = build(topology)
    body = "\n".join(
        [
            f"<p>{len(topology.vhosts)} vhost(s), {len(topology.exchanges)} exchange(s), "
            f"{sum(1 for q in topology.queues.values() if not q.exclusive)} queue(s), "
            f"{len(topology.bindings)} binding(s), {len(topology.users)} user(s).</p>",
            "<h2>Topology</h2>",
            graph_section(graph),
            access_section(topology),
            findings_section(findings),
        ]
    )
    return page(title, body).replace("</style>", REPORT_STYLE + "</style>", 1)
