"""A Mermaid flowchart of the changed resources and the services they reach.

It draws the subgraph the blast-radius reviewer recorded (`subgraph`: the
shortest-path tree from the change to the services it lists, most critical
first); without that finding the diagram shows just the changed resources.
Either way the diagram stops at `MAX_NODES` nodes and says how much it left
out, so a 4,000-resource plan still renders on GitHub.

Every arrow reads in the direction of impact: a → b means a change to a
affects b, and its label says how ("needed by", "owned by", "referenced
by"). Nodes are grouped by their distance from the change (one box per hop),
stacked top-down while each hop is narrow enough for a PR comment
(`NARROW`), left to right when one hop is wide. A legend node says what the
shapes, colours and arrows mean; choke points have a thick border.
"""

from __future__ import annotations

import re

from orchestrator.models import Decision, Proposal
from orchestrator.render.subgraph import Subgraph, impact_label, subgraph

__all__ = ["MAX_NODES", "escape_label", "render_mermaid"]

MAX_NODES = 40
# At most this many nodes side by side in one hop: wider, the chart runs left to right.
NARROW = 4
LEGEND = "<br/>".join(
    (
        "a → b: a change to a affects b",
        "box: resource, rounded: service",
        "red: deleted or replaced",
        "orange: high or critical",
        "thick border: choke point",
    )
)
_ID_UNSAFE = re.compile(r"[^0-9A-Za-z_]")
_KIND_UNSAFE = re.compile(r"[^0-9A-Za-z_. -]")
_ID_MAX = 40
# Mermaid entity codes: quotes, angle brackets and backticks would otherwise end
# the label, open HTML or turn the label into a markdown string.
_LABEL_ESCAPES = (
    ("#", "#35;"),
    ('"', "#quot;"),
    ("<", "#lt;"),
    (">", "#gt;"),
    ("`", "#96;"),
    ("&", "#amp;"),
)


def escape_label(text: str) -> str:
    """Make `text` safe inside a double-quoted Mermaid label."""
    text = " ".join(text.split())
    for raw, code in _LABEL_ESCAPES:
        text = text.replace(raw, code)
    return text


class _Ids:
    """Hands out readable, unique, Mermaid-safe node ids."""

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self._taken: set[str] = set()

    def __call__(self, name: str, prefix: str) -> str:
        known = self._by_name.get(name)
        if known is not None:
            return known
        base = f"{prefix}_{_ID_UNSAFE.sub('_', name)[:_ID_MAX]}"
        node_id, n = base, 1
        while node_id in self._taken:
            n += 1
            node_id = f"{base}_{n}"
        self._taken.add(node_id)
        self._by_name[name] = node_id
        return node_id


def _select(
    edges: list[tuple[str, str, str]], changed: list[str], max_nodes: int
) -> tuple[list[str], list[tuple[str, str, str]], int, int]:
    """Pick the nodes and edges to draw: edges in the reviewer's order, then lone resources.

    Returns the nodes, the edges, how many nodes were left out and how many
    edges were left out.
    """
    included: list[str] = []
    seen: set[str] = set()
    drawn: list[tuple[str, str, str]] = []
    skipped_edges = 0
    for edge in edges:
        missing = [n for n in dict.fromkeys(edge[:2]) if n not in seen]
        if len(included) + len(missing) > max_nodes:
            skipped_edges += 1
            continue
        included.extend(missing)
        seen.update(missing)
        drawn.append(edge)
    for address in changed:
        if address not in seen and len(included) < max_nodes:
            included.append(address)
            seen.add(address)
    everything = {n for edge in edges for n in edge[:2]} | set(changed)
    return included, drawn, len(everything) - len(included), skipped_edges


def render_mermaid(decision: Decision, proposal: Proposal, *, max_nodes: int = MAX_NODES) -> str:
    """Mermaid flowchart source (no fences) of what the change touches and reaches."""
    graph = subgraph(decision, proposal)
    # reads and no-ops are drawn only when an edge names them or nothing else changes
    lone = [c.address for c in proposal.effective_changes or proposal.changes]
    included, drawn, hidden, skipped = _select(graph.edges, list(dict.fromkeys(lone)), max_nodes)

    ids = _Ids()
    distance = graph.distances(included, drawn)
    hops: dict[int, list[str]] = {}
    for name in included:
        hops.setdefault(distance[name], []).append(name)
    narrow = max((len(members) for members in hops.values()), default=0) <= NARROW
    lines = [f"flowchart {'TD' if narrow else 'LR'}"]
    classes: dict[str, list[str]] = {"destructive": [], "critical": [], "choke": []}
    for hop, members in sorted(hops.items()):
        if len(hops) > 1:
            title = "changed" if hop == 0 else f"{hop} hop{'s' * (hop != 1)} away"
            lines.append(f'  subgraph d{hop}["{title}"]')
            lines.append(f"    direction {'LR' if narrow else 'TB'}")
        for name in members:
            lines.append("  " + _node(name, graph, ids, classes))
        if len(hops) > 1:
            lines.append("  end")
    # every drawn endpoint was named above, so these lookups never mint new ids
    for source, target, kind in drawn:
        label = _KIND_UNSAFE.sub("_", impact_label(kind))[:30]
        arrow = f" -->|{label}| " if label else " --> "
        lines.append(f"  {ids(source, 'r')}{arrow}{ids(target, 's')}")
    if drawn:
        lines.append(f'  legend["{LEGEND}"]')
        lines.append("  class legend note")

    note = _note(hidden, graph.omitted_edges + skipped, empty=not included)
    services = sum(1 for name in included if not graph.is_resource(name))
    if note and graph.reached_total > services:
        note += f"; {graph.reached_total:,} services reached in all"
    if note:
        lines.append(f'  more["{escape_label(note)}"]')
        lines.append("  class more note")
    lines.append("  classDef destructive fill:#fde2e1,stroke:#c62828,color:#000")
    lines.append("  classDef critical fill:#fff4e5,stroke:#e65100,stroke-width:2px,color:#000")
    lines.append("  classDef choke stroke-width:4px")
    lines.append("  classDef note fill:#f5f5f5,stroke:#9e9e9e,stroke-dasharray:3 3,color:#000")
    lines.extend(f"  class {','.join(nodes)} {name}" for name, nodes in classes.items() if nodes)
    return "\n".join(lines) + "\n"


def _node(name: str, graph: Subgraph, ids: _Ids, classes: dict[str, list[str]]) -> str:
    """One node's declaration; its classes are noted in `classes`."""
    if graph.is_resource(name):
        node_id = ids(name, "r")
        resource = graph.changes.get(name)
        label = f"{name} ({resource.action.value})" if resource is not None else name
        if resource is not None and resource.is_destructive:
            classes["destructive"].append(node_id)
        text = f'{node_id}["{escape_label(label)}"]'
    else:
        node_id = ids(name, "s")
        crit = graph.criticality.get(name)
        if crit in ("high", "critical"):
            classes["critical"].append(node_id)
        text = f'{node_id}("{escape_label(f"{name} ({crit})" if crit else name)}")'
    if name in graph.choke_points:
        classes["choke"].append(node_id)
    return text


def _note(hidden: int, omitted_edges: int, *, empty: bool) -> str:
    """The text of the note node that says what the diagram left out."""
    if empty and not hidden:
        return "no changed resources"
    if hidden and omitted_edges:
        return f"… and {hidden} more ({omitted_edges} more edges not drawn)"
    if hidden:
        return f"… and {hidden} more"
    if omitted_edges:
        return f"… and {omitted_edges} more edges not drawn"
    return ""
