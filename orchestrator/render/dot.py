"""The blast-radius subgraph of a decision as Graphviz DOT, and as SVG when Graphviz is installed.

`commander explain ID --graph FILE` writes what the Mermaid diagram shows,
without its 40-node cap, for post-incident readers: the changed resources
(boxes; red when deleted or replaced), the services they reach (ellipses;
orange when high or critical), choke points (thick border) and each edge's
kind. The SVG comes from Graphviz's `dot` (Debian package `graphviz`) when
it is on PATH; without it the DOT file alone is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from orchestrator.errors import ReviewRunError, UserError
from orchestrator.models import Decision, Proposal
from orchestrator.render.subgraph import Subgraph, impact_label, subgraph

MAX_LONE = 500  # changed resources drawn without an edge, before a note counts the rest
_SUFFIXES = (".dot", ".gv", ".svg")
_DOT_TIMEOUT_SECONDS = 120
LEFT = "\\l"
NOTE_ID = '"__commander_note__"'


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, one line."""
    return _lines([text], "")


def _lines(lines: list[str], end: str = "\\n") -> str:
    """A DOT label of several lines; `end` is the line break (`\\l` left-aligns)."""
    escaped = [" ".join(t.split()).replace("\\", "\\\\").replace('"', '\\"') for t in lines]
    text = end.join(escaped)
    # `\\l` ends a line rather than separating two: the last needs one too
    return '"' + text + (end if end == LEFT else "") + '"'


def render_dot(decision: Decision, proposal: Proposal) -> str:
    """DOT source of the changed resources and what they reach, as the decision recorded it."""
    graph = subgraph(decision, proposal)
    lines = [
        "digraph blast_radius {",
        f"  graph [rankdir=LR, labelloc=t, fontname=Helvetica, label={quote(_title(decision))}];",
        "  node [fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=9, color=gray40];",
    ]
    names = list(dict.fromkeys(n for edge in graph.edges for n in edge[:2]))
    drawn = set(names)
    lone = [
        a for a in dict.fromkeys(c.address for c in proposal.effective_changes) if a not in drawn
    ]
    names += lone[:MAX_LONE]
    for name in names:
        lines.append(f"  {quote(name)} [{_attributes(graph, name)}];")
    for source, target, kind in graph.edges:
        label = f" [label={quote(impact_label(kind))}]" if kind else ""
        lines.append(f"  {quote(source)} -> {quote(target)}{label};")
    notes = []
    if graph.omitted_edges:
        notes.append(f"{graph.omitted_edges:,} more edges not drawn")
    if len(lone) > MAX_LONE:
        notes.append(f"{len(lone) - MAX_LONE:,} more changed resources not drawn")
    if graph.reached_total:
        notes.append(f"{graph.reached_total:,} services reached in all")
    notes += [f"cycle among: {', '.join(cycle)}" for cycle in graph.cycles]
    if notes:
        note = _lines(notes, LEFT)
        lines.append(f"  {NOTE_ID} [shape=note, style=dashed, color=gray50, label={note}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title(decision: Decision) -> str:
    return (
        f"decision {decision.decision_id}: {decision.outcome} ({decision.risk_tier.value}), "
        f"blast-radius score {decision.blast_radius.score}"
    )


def _attributes(graph: Subgraph, name: str) -> str:
    attrs: dict[str, str] = {}
    label = [name]
    if graph.is_resource(name):
        change = graph.changes.get(name)
        attrs["shape"] = "box"
        if change is not None:
            label.append(f"({change.action.value})")
            if change.is_destructive:
                attrs |= {"style": "filled", "fillcolor": "#fde2e1", "color": "#c62828"}
    else:
        crit = graph.criticality.get(name)
        attrs["shape"] = "ellipse"
        if crit:
            label.append(f"({crit})")
        if crit in ("high", "critical"):
            attrs |= {"style": "filled", "fillcolor": "#fff4e5", "color": "#e65100"}
    if name in graph.choke_points:
        attrs["penwidth"] = "3"
        label.append(f"choke point: {graph.choke_points[name]:,} services")
    return ", ".join([*(f"{k}={quote(v)}" for k, v in attrs.items()), f"label={_lines(label)}"])


def write_graph(decision: Decision, proposal: Proposal, target: Path) -> list[Path]:
    """Write `<stem>.dot`, and `<stem>.svg` when Graphviz `dot` is on PATH; the files written.

    `target` may name either file or neither (`incident-42` writes
    `incident-42.dot` and `incident-42.svg`). Each file appears whole or not at all.
    """
    stem = str(target)[: -len(target.suffix)] if target.suffix in _SUFFIXES else str(target)
    dot_path, svg_path = Path(stem + ".dot"), Path(stem + ".svg")
    write_atomically(dot_path, render_dot(decision, proposal).encode("utf-8"))
    graphviz = shutil.which("dot")
    if graphviz is None:
        return [dot_path]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program on PATH and our own file
            [graphviz, "-Tsvg", str(dot_path)],
            capture_output=True,
            timeout=_DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReviewRunError(f"Graphviz dot could not draw {dot_path}: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise ReviewRunError(f"Graphviz dot could not draw {dot_path}: {' '.join(reason)}")
    write_atomically(svg_path, done.stdout)
    return [dot_path, svg_path]


def write_atomically(path: Path, data: bytes) -> None:
    folder = path.parent if str(path.parent) else Path()
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
