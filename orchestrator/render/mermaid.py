"""A Mermaid flowchart of the changed resources and the services they reach.

The blast-radius reviewer records the edges it walked in its
`blast-radius.reach` finding (`evidence.edges`, already capped, plus
`edges_omitted`); without that finding the diagram shows just the changed
resources. Either way the diagram stops at `MAX_NODES` nodes and says how
much it left out, so a 4,000-resource plan still renders on GitHub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import JsonValue

from orchestrator.models import Decision, Proposal, ResourceChange

MAX_NODES = 40
BLAST_REVIEWER = "blast-radius"
REACH_RULE = "blast-radius.reach"
_ID_UNSAFE = re.compile(r"[^0-9A-Za-z_]")
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


def reach_evidence(decision: Decision) -> Mapping[str, JsonValue] | None:
    """The evidence of the blast-radius reviewer's reach finding, if it made one."""
    for verdict in decision.verdicts:
        if verdict.reviewer != BLAST_REVIEWER:
            continue
        for finding in verdict.findings:
            if finding.rule == REACH_RULE:
                return finding.evidence
    return None


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


def _edges(evidence: Mapping[str, JsonValue] | None) -> tuple[list[tuple[str, str]], int]:
    """The well-formed edges of the evidence and how many were omitted or unreadable."""
    if evidence is None:
        return [], 0
    raw_omitted = evidence.get("edges_omitted", 0)
    omitted = raw_omitted if isinstance(raw_omitted, int) and raw_omitted > 0 else 0
    raw = evidence.get("edges")
    edges: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(e, str) for e in item):
            edges.append((str(item[0]), str(item[1])))
        else:
            omitted += 1
    return edges, omitted


def _criticality(evidence: Mapping[str, JsonValue] | None, service: str) -> str | None:
    dependents = evidence.get("dependents") if evidence is not None else None
    info = dependents.get(service) if isinstance(dependents, dict) else None
    crit = info.get("criticality") if isinstance(info, dict) else None
    return crit if isinstance(crit, str) else None


def _select(
    edges: list[tuple[str, str]], changed: list[str], max_nodes: int
) -> tuple[list[str], list[tuple[str, str]], int, int]:
    """Pick the nodes and edges to draw: edges in the reviewer's order, then lone resources.

    Returns the nodes, the edges, how many nodes were left out and how many
    edges were left out.
    """
    included: list[str] = []
    seen: set[str] = set()
    drawn: list[tuple[str, str]] = []
    skipped_edges = 0
    for source, target in edges:
        missing = [n for n in dict.fromkeys((source, target)) if n not in seen]
        if len(included) + len(missing) > max_nodes:
            skipped_edges += 1
            continue
        included.extend(missing)
        seen.update(missing)
        drawn.append((source, target))
    for address in changed:
        if address not in seen and len(included) < max_nodes:
            included.append(address)
            seen.add(address)
    everything = {n for edge in edges for n in edge} | set(changed)
    return included, drawn, len(everything) - len(included), skipped_edges


def render_mermaid(decision: Decision, proposal: Proposal, *, max_nodes: int = MAX_NODES) -> str:
    """Mermaid flowchart source (no fences) of what the change touches and reaches."""
    evidence = reach_evidence(decision)
    edges, omitted_edges = _edges(evidence)
    changes: dict[str, ResourceChange] = {}
    for change in proposal.changes:
        changes.setdefault(change.address, change)
    # reads and no-ops are drawn only when an edge names them or nothing else changes
    lone = [c.address for c in proposal.effective_changes or proposal.changes]
    included, drawn, hidden, skipped = _select(edges, list(dict.fromkeys(lone)), max_nodes)

    ids = _Ids()
    lines = ["flowchart LR"]
    destructive: list[str] = []
    critical: list[str] = []
    for name in included:
        resource = changes.get(name)
        if resource is not None:
            node_id = ids(name, "r")
            label = escape_label(f"{name} ({resource.action.value})")
            lines.append(f'  {node_id}["{label}"]')
            if resource.is_destructive:
                destructive.append(node_id)
            continue
        node_id = ids(name, "s")
        crit = _criticality(evidence, name)
        label = escape_label(f"{name} ({crit})" if crit else name)
        lines.append(f'  {node_id}("{label}")')
        if crit in ("high", "critical"):
            critical.append(node_id)
    # every drawn endpoint was named above, so these lookups never mint new ids
    lines.extend(f"  {ids(s, 'r')} --> {ids(t, 's')}" for s, t in drawn)

    note = _note(hidden, omitted_edges + skipped, empty=not included)
    if note:
        lines.append(f'  more["{escape_label(note)}"]')
        lines.append("  class more note")
    lines.append("  classDef destructive fill:#fde2e1,stroke:#c62828,color:#000")
    lines.append("  classDef critical fill:#fff4e5,stroke:#e65100,stroke-width:2px,color:#000")
    lines.append("  classDef note fill:#f5f5f5,stroke:#9e9e9e,stroke-dasharray:3 3,color:#000")
    if destructive:
        lines.append(f"  class {','.join(destructive)} destructive")
    if critical:
        lines.append(f"  class {','.join(critical)} critical")
    return "\n".join(lines) + "\n"


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
