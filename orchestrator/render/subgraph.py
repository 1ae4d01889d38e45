"""The part of the dependency graph a decision recorded, for the Mermaid and DOT pictures.

The blast-radius reviewer records, in its summary (`orchestrator/reach.py`), the
shortest-path tree from the change to the services it lists (`edges`, each
`[source, target, kind]`; decisions recorded before edge kinds were kept
have `[source, target]`), which drawn nodes are resources, the dependents'
criticality, the choke points and the cycles. Both pictures read it here, so
they show the same subgraph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.models import Decision, Proposal, ResourceChange
from orchestrator.reach import ReachSummary, reach_summary

# Each recorded edge a → b means "a change to a can break b"; these words make its
# label read that way ("web needed by shop", not "web depends_on shop").
IMPACT_LABELS = {
    "depends_on": "needed by",
    "dependsOn": "needed by",
    "dependencyOf": "needed by",
    "owns": "owned by",
    "reference": "referenced by",
    "config": "configures",
    "mounts": "mounted by",
    "selects": "selects",
    "isolates": "isolates",
    "routes": "routed by",
    "providesApis": "provides",
    "consumesApis": "consumed by",
    "subcomponentOf": "part of",
    "system": "part of",
}


def impact_label(kind: str) -> str:
    """The label of an edge of `kind`, read in the direction of impact."""
    return IMPACT_LABELS.get(kind, kind)


@dataclass(frozen=True)
class Subgraph:
    """Nodes and edges to draw, with what is known about each node."""

    edges: list[tuple[str, str, str]]
    omitted_edges: int  # edges the reviewer left out, or that did not parse
    changes: dict[str, ResourceChange]
    resources: set[str]
    criticality: dict[str, str]
    choke_points: dict[str, int] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    reached_total: int = 0  # every service the change reaches, drawn or not

    def is_resource(self, name: str) -> bool:
        """Whether a node is a resource (a changed one or one the reviewer marked)."""
        return name in self.changes or name in self.resources

    def distances(self, nodes: list[str], edges: list[tuple[str, str, str]]) -> dict[str, int]:
        """Hops from the change to each of `nodes` along `edges` (changed resources are 0)."""
        found = {n: 0 for n in nodes if n in self.changes}
        frontier = list(found)
        out: dict[str, list[str]] = {}
        for source, target, _ in edges:
            out.setdefault(source, []).append(target)
        while frontier:
            following = []
            for node in frontier:
                for target in out.get(node, ()):
                    if target not in found:
                        found[target] = found[node] + 1
                        following.append(target)
            frontier = following
        # a node no drawn path reaches (an old record's orphan) sits with the change
        return {n: found.get(n, 0) for n in nodes}


def subgraph(decision: Decision, proposal: Proposal) -> Subgraph:
    """Read the recorded subgraph; malformed parts are counted as omitted, never fatal."""
    summary = reach_summary(decision.verdicts) or ReachSummary()
    changes: dict[str, ResourceChange] = {}
    for change in proposal.changes:
        changes.setdefault(change.address, change)
    return Subgraph(
        edges=list(summary.edges),
        omitted_edges=summary.edges_omitted,
        changes=changes,
        resources=set(summary.resources),
        criticality=dict(summary.criticality),
        choke_points=dict(summary.choke_points),
        cycles=[list(c) for c in summary.cycles],
        reached_total=summary.affected_services_total,
    )
