"""The evidence of the blast-radius summary finding, capped for huge plans.

Renderers draw the Mermaid diagram and `explain --graph` from `edges`
(`[source, target, kind]`, the shortest-path tree from the change to the
listed services, most critical first) and `resources` (which drawn nodes are
resources); the decision's `blast_radius` block reads the summary figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from pydantic import JsonValue

from orchestrator.graph.build import RANK, TIERS
from orchestrator.models import Proposal, RiskTier
from reviewers.blast_radius.reach import Reach
from reviewers.populations import PopulationShare

AFFECTED_CAP = 1000
CRITICAL = RANK[RiskTier.CRITICAL]


def reach_evidence(
    reach: Reach,
    *,
    proposal: Proposal,
    score: int,
    parts: dict[str, float],
    fleet: float,
    touched: float,
    shares: list[PopulationShare],
    cap: int,
) -> dict[str, JsonValue]:
    """Summary figures, who owns what, who depends on it, choke points, cycles, edges to draw."""
    graph, names = reach.graph, reach.graph.names
    dist, via = reach.walk.dist, reach.walk.via
    services = reach.services
    listed = _most_critical(reach, cap)
    dependents: dict[str, JsonValue] = {
        names[s]: {"distance": dist[s], "criticality": graph.tier(s).value, "via": names[via[s]]}
        for s in sorted(listed, key=lambda s: (-graph.rank[s], dist[s], names[s]))
    }
    distances = list(map(dist.__getitem__, services))
    by_distance = Counter(distances)
    by_tier = {TIERS[r].value: n for r, n in enumerate(reach.rank_counts) if n}
    references = [r for r in reach.resources if dist[r] > 0]
    # the pictures show how the change reaches the listed services, then the resources
    edges, drawn_resources = _tree_edges(reach, listed + references, cap)
    affected = _sorted(reach.sorted_names[:AFFECTED_CAP])
    owners: dict[str, JsonValue] = {a: _sorted(s) for a, s in list(reach.owners.items())[:cap]}
    critical = _sorted(map(names.__getitem__, _of_rank(reach, CRITICAL)))[:cap]
    cycles: list[JsonValue] = [_sorted(names[n] for n in group)[:20] for group in reach.cycles[:10]]
    return {
        "score": score,
        "score_parts": dict(parts),
        "changed_resources": len(reach.changes),
        "affected_services": affected,
        "affected_services_total": len(services),
        "dependents_total": len(services) - by_distance[0],
        "fleet_fraction": round(fleet, 4),
        "touched_fraction": round(touched, 4),
        "owners": owners,
        "dependents": dependents,
        "by_distance": {str(d): by_distance[d] for d in sorted(by_distance)},
        "by_criticality": dict(reversed(by_tier.items())),
        "critical_services": critical,
        "references": {names[r]: dist[r] for r in references[:cap]},
        "references_total": len(references),
        "choke_points": [
            {
                "node": names[c.node],
                "kind": graph.node_kind(c.node),
                "services": c.services,
                "share": round(c.services / len(services), 4),
            }
            for c in reach.choke_points
        ],
        "cycles": cycles,
        "cycles_total": len(reach.cycles),
        "edges": edges,
        "edges_omitted": len(reach.walk.order) - len(reach.sources) - len(edges),
        "resources": drawn_resources,
        "populations": [s.evidence() for s in shares[:cap]],
        "topology_services": len(graph),
        "plan_references": len(proposal.relations),
        "sources": graph.origin,
    }


def _most_critical(reach: Reach, cap: int) -> list[int]:
    """Up to `cap` reached services, most critical first, then nearest (walk order)."""
    listed: list[int] = []
    for rank in range(len(TIERS) - 1, -1, -1):
        listed.extend(_of_rank(reach, rank, cap - len(listed)))
    return listed


def _of_rank(reach: Reach, rank: int, cap: int | None = None) -> list[int]:
    """Reached services of one criticality rank, in walk order (the first `cap`)."""
    ranks, services = reach.service_ranks, reach.services
    found: list[int] = []
    at = ranks.find(rank)
    while at >= 0 and (cap is None or len(found) < cap):
        found.append(services[at])
        at = ranks.find(rank, at + 1)
    return found


def _tree_edges(
    reach: Reach, targets: list[int], cap: int
) -> tuple[list[JsonValue], list[JsonValue]]:
    """Up to `cap` shortest-path tree edges from the change to each target, targets in order.

    Also returns the resources among the drawn nodes, so a renderer can tell
    them from services.
    """
    graph, names = reach.graph, reach.graph.names
    tags: dict[int, dict[int, str]] = {}
    entered: set[int] = set()  # a tree edge is the one edge entering its target
    edges: list[JsonValue] = []
    drawn: set[int] = set()
    for target in targets:
        path = reach.path(target)
        for a, b in pairwise(path):
            if b in entered:
                continue
            if len(edges) >= cap:
                break
            entered.add(b)
            if a not in tags:
                tags[a] = {t: tag.kind for t, tag in graph.edge_tags(a).items()}
            edges.append([names[a], names[b], tags[a].get(b, "")])
            drawn.update((a, b))
    resources = _sorted(names[n] for n in drawn if graph.resource[n])
    return edges, resources


def _sorted(items: Iterable[str]) -> list[JsonValue]:
    """Sorted names, typed as JSON (a list of str is not a list of JsonValue to mypy)."""
    listed: list[JsonValue] = []
    listed.extend(sorted(items))
    return listed
