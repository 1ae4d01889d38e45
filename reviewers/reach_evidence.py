"""The evidence of the blast-radius summary finding, capped for huge plans.

Renderers draw the Mermaid diagram and `explain --graph` from `edges`;
the decision's `blast_radius` block reads the summary figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import JsonValue

from orchestrator.graph import DependencyGraph, Reached
from orchestrator.models import Proposal, ResourceChange
from reviewers.populations import PopulationShare


def reach_evidence(
    *,
    proposal: Proposal,
    changes: tuple[ResourceChange, ...],
    owners: Mapping[str, list[str]],
    reached: Mapping[str, Reached],
    graph: DependencyGraph,
    score: int,
    fleet: float,
    touched: float,
    shares: list[PopulationShare],
    cap: int,
) -> dict[str, JsonValue]:
    """Summary figures, who owns what, who depends on it, and the edges to draw."""
    services = sorted(reached)
    dependents: dict[str, JsonValue] = {}
    for service in sorted(reached, key=lambda s: (reached[s].distance, s))[:cap]:
        hit = reached[service]
        dependents[service] = {
            "distance": hit.distance,
            "criticality": graph.criticality(service).value,
            "via": hit.via,
        }
    edges: list[JsonValue] = []
    total_edges = 0
    for address in sorted(owners):
        for service in owners[address]:
            total_edges += 1
            if len(edges) < cap:
                edges.append([address, service])
    succ = graph.graph._succ
    for service in services:
        for dependent in sorted(succ.get(service, ())):
            if (
                dependent in reached
                and reached[dependent].distance == reached[service].distance + 1
            ):
                total_edges += 1
                if len(edges) < cap:
                    edges.append([service, dependent])
    return {
        "score": score,
        "changed_resources": len(changes),
        "affected_services": list(services[:1000]),
        "affected_services_total": len(services),
        "fleet_fraction": round(fleet, 4),
        "touched_fraction": round(touched, 4),
        "owners": {a: list(s) for a, s in list(owners.items())[:cap]},
        "dependents": dependents,
        "edges": edges,
        "edges_omitted": total_edges - len(edges),
        "populations": [s.evidence() for s in shares[:cap]],
        "topology_services": len(graph),
        "plan_references": len(proposal.relations),
    }
