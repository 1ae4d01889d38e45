"""The part of the dependency graph a decision recorded, for the Mermaid and DOT pictures.

The blast-radius reviewer records, in its `blast-radius.reach` finding, the
shortest-path tree from the change to the services it lists (`edges`, each
`[source, target, kind]`; decisions recorded before edge kinds were kept
have `[source, target]`), which drawn nodes are resources, the dependents'
criticality, the choke points and the cycles. Both pictures read it here, so
they show the same subgraph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import JsonValue

from orchestrator.models import Decision, Proposal, ResourceChange

BLAST_REVIEWER = "blast-radius"
REACH_RULE = "blast-radius.reach"
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


def reach_evidence(decision: Decision) -> Mapping[str, JsonValue] | None:
    """The evidence of the blast-radius reviewer's reach finding, if it made one."""
    for verdict in decision.verdicts:
        if verdict.reviewer != BLAST_REVIEWER:
            continue
        for finding in verdict.findings:
            if finding.rule == REACH_RULE:
                return finding.evidence
    return None


def subgraph(decision: Decision, proposal: Proposal) -> Subgraph:
    """Read the recorded subgraph; malformed parts are counted as omitted, never fatal."""
    evidence = reach_evidence(decision) or {}
    raw_omitted = evidence.get("edges_omitted", 0)
    omitted = raw_omitted if isinstance(raw_omitted, int) and raw_omitted > 0 else 0
    edges: list[tuple[str, str, str]] = []
    raw = evidence.get("edges")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list) and len(item) in (2, 3) and all(isinstance(e, str) for e in item):
            edges.append((str(item[0]), str(item[1]), str(item[2]) if len(item) == 3 else ""))
        else:
            omitted += 1
    changes: dict[str, ResourceChange] = {}
    for change in proposal.changes:
        changes.setdefault(change.address, change)
    return Subgraph(
        edges=edges,
        omitted_edges=omitted,
        changes=changes,
        resources=set(_strings(evidence.get("resources"))),
        criticality=_criticality(evidence.get("dependents")),
        choke_points=_chokes(evidence.get("choke_points")),
        cycles=[list(_strings(c)) for c in _list(evidence.get("cycles"))],
        reached_total=total
        if isinstance(total := evidence.get("affected_services_total"), int)
        else 0,
    )


def _list(value: JsonValue | None) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _strings(value: JsonValue | None) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


def _criticality(dependents: JsonValue | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, info in (dependents if isinstance(dependents, dict) else {}).items():
        crit = info.get("criticality") if isinstance(info, dict) else None
        if isinstance(crit, str):
            found[name] = crit
    return found


def _chokes(value: JsonValue | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in _list(value):
        if isinstance(item, dict):
            node, services = item.get("node"), item.get("services")
            if isinstance(node, str) and isinstance(services, int):
                found[node] = services
    return found
