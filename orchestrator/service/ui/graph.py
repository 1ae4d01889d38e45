"""The blast-radius graph as inline SVG: Graphviz when installed, a plain drawing otherwise.

Both read the subgraph the decision recorded (render/subgraph.py), as the DOT
file of `commander explain --graph` does. Graphviz draws the same DOT, with
every changed resource filled blue (destructive ones stay red); its SVG
escapes the labels itself. Without `dot` on PATH, or for a graph too large
to lay out within a page's time, the plain drawing puts each node in the
column of its distance from the change, edges pointing in the direction of
impact. A decision never changes, so each picture is drawn once per process.
"""

from __future__ import annotations

import shutil
import subprocess
from html import escape

from markupsafe import Markup

from orchestrator.models import Decision, Proposal
from orchestrator.render.dot import quote, render_dot
from orchestrator.render.subgraph import Subgraph, impact_label, subgraph

MAX_DOT_NODES = 120  # past this Graphviz may take seconds: the plain drawing instead
_DOT_TIMEOUT_SECONDS = 10
_COLUMN, _ROW, _BOX_W, _BOX_H = 260, 46, 220, 30
_MAX_PLAIN_ROWS = 60


_drawings: dict[str, Markup] = {}
_KEPT = 256


def graph_svg(decision: Decision, proposal: Proposal) -> Markup:
    """The decision's blast-radius graph as an <svg> element."""
    ident = decision.decision_id
    if ident not in _drawings:
        if len(_drawings) >= _KEPT:
            del _drawings[next(iter(_drawings))]
        _drawings[ident] = _draw(decision, proposal)
    return _drawings[ident]


def _draw(decision: Decision, proposal: Proposal) -> Markup:
    graph = subgraph(decision, proposal)
    nodes = _nodes(graph, proposal)
    dot = shutil.which("dot")
    if dot is not None and 0 < len(nodes) <= MAX_DOT_NODES:
        drawn = _graphviz(dot, decision, proposal, graph)
        if drawn is not None:
            return drawn
    return plain_svg(graph, nodes)


def _nodes(graph: Subgraph, proposal: Proposal) -> list[str]:
    names = list(dict.fromkeys(n for edge in graph.edges for n in edge[:2]))
    names += list(dict.fromkeys(c.address for c in proposal.effective_changes))
    return list(dict.fromkeys(names))


def _graphviz(dot: str, decision: Decision, proposal: Proposal, graph: Subgraph) -> Markup | None:
    source = render_dot(decision, proposal).rstrip().removesuffix("}")
    changed = [
        f'  {quote(a)} [style="filled,bold", fillcolor="#e3f2fd", color="#1565c0"];'
        for a, c in graph.changes.items()
        if not c.is_destructive and c.action.value != "no-op"
    ]
    source += "\n".join(changed) + "\n}\n"
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program on PATH, our own DOT on stdin
            [dot, "-Tsvg"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=_DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.decode("utf-8", errors="replace")
    start = text.find("<svg")
    if done.returncode != 0 or start < 0:
        return None
    return Markup(text[start:])  # noqa: S704 - Graphviz escapes every label it writes


def plain_svg(graph: Subgraph, nodes: list[str]) -> Markup:
    """A simple layered drawing: one column per hop from the change."""
    if not nodes:
        return Markup('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    hops = graph.distances(nodes, graph.edges)
    columns: dict[int, list[str]] = {}
    for name in nodes:
        column = columns.setdefault(hops[name], [])
        if len(column) < _MAX_PLAIN_ROWS:
            column.append(name)
    where = {
        n: (c * _COLUMN + 10, r * _ROW + 10) for c, ns in columns.items() for r, n in enumerate(ns)
    }
    width = (max(columns) + 1) * _COLUMN
    height = max(len(ns) for ns in columns.values()) * _ROW + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plain-graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#666"/></marker></defs>',
    ]
    for source, target, kind in graph.edges:
        if source in where and target in where:
            (x1, y1), (x2, y2) = where[source], where[target]
            parts.append(
                f'<line x1="{x1 + _BOX_W}" y1="{y1 + _BOX_H // 2}" x2="{x2}" '
                f'y2="{y2 + _BOX_H // 2}" stroke="#666" marker-end="url(#arrow)">'
                f"<title>{escape(impact_label(kind))}</title></line>"
            )
    for name, (x, y) in where.items():
        parts.append(_box(graph, name, x, y))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above passed through escape()


def _box(graph: Subgraph, name: str, x: int, y: int) -> str:
    change = graph.changes.get(name)
    fill, stroke = "#ffffff", "#999999"
    if change is not None:
        fill, stroke = ("#fde2e1", "#c62828") if change.is_destructive else ("#e3f2fd", "#1565c0")
    elif graph.criticality.get(name) in ("high", "critical"):
        fill, stroke = "#fff4e5", "#e65100"
    shape = "4" if graph.is_resource(name) else "14"
    label = name if len(name) <= 34 else name[:33] + "…"
    return (
        f'<g><rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="{shape}" '
        f'fill="{fill}" stroke="{stroke}"/><text x="{x + 8}" y="{y + 19}" font-size="11" '
        f'font-family="sans-serif">{escape(label)}</text><title>{escape(name)}</title></g>'
    )
