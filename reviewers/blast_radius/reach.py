"""What one proposal reaches through the dependency graph: one walk, then its analyses.

The proposal's resources join the graph (`DependencyGraph.with_plan`); one
multi-source walk from every changed resource finds each reached service with
its distance and the change it is attributed to (the nearest). The analyses
all reuse that walk: choke points from the dominator tree, cycles from
strongly connected groups, and, seeded only by irreversible changes, a
second walk that tells which critical services an irreversible change can
break. Each is O(V + E) of the reached part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import compress

from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.graph.build import RANK, TIERS
from orchestrator.graph.dominators import Dominance, dominators
from orchestrator.graph.walk import Walk, strongly_connected
from orchestrator.models import Proposal, ResourceChange, RiskTier

STATEFUL = "stateful"
_FLIP = bytes([1, 0]) + bytes(254)  # translate table: 0 -> 1, 1 -> 0
_CRITICAL = RANK[RiskTier.CRITICAL]


@dataclass(frozen=True, slots=True)
class ChokePoint:
    """A node every path from the change to `services` reached services passes through."""

    node: int
    services: int


@dataclass(frozen=True)
class Reach:
    """One proposal's walk through the graph and what was read off it."""

    graph: DependencyGraph  # the topology plus this proposal's resources
    changes: tuple[ResourceChange, ...]
    sources: list[int]
    walk: Walk
    services: list[int]  # reached service nodes, in walk order
    resources: list[int]  # reached resource nodes, in walk order
    choke_points: list[ChokePoint]
    cycles: list[list[int]]
    irreversible: list[str]  # addresses of destructive changes to stateful types
    irreversible_critical: list[int]  # critical services an irreversible change can reach
    # per node, the previous node on a path from an irreversible change (the change
    # itself for a change; -1 when none reaches the node)
    irreversible_from: list[int]

    def name(self, node: int) -> str:
        """The service name or resource address of a node."""
        return self.graph.names[node]

    @cached_property
    def dependents(self) -> list[int]:
        """Reached services that do not own a changed or referencing resource."""
        dist = self.walk.dist
        return [s for s in self.services if dist[s] > 0]

    @cached_property
    def service_ranks(self) -> bytes:
        """The criticality rank of each reached service, in walk order."""
        return bytes(map(self.graph.rank.__getitem__, self.services))

    @cached_property
    def rank_counts(self) -> list[int]:
        """How many reached services have each criticality rank (low first)."""
        return [self.service_ranks.count(r) for r in range(len(TIERS))]

    @cached_property
    def sorted_names(self) -> list[str]:
        """The names of the reached services, sorted."""
        return sorted(map(self.graph.names.__getitem__, self.services))

    @property
    def tier(self) -> RiskTier:
        """The criticality of the most critical service reached (low when none is)."""
        counts = self.rank_counts
        return TIERS[max((r for r in range(4) if counts[r]), default=0)]

    @cached_property
    def owners(self) -> dict[str, list[str]]:
        """Each reached resource's owning services, by address."""
        names, succ, resource = self.graph.names, self.graph.succ, self.graph.resource
        found = {}
        for node in self.resources:
            # with_plan adds a resource's owners once each, sorted
            services = [names[t] for t in succ[node] if not resource[t]]
            if services:
                found[names[node]] = services
        return found

    def path(self, node: int) -> list[int]:
        """The nodes of a shortest path from the change to `node`."""
        parent, path = self.walk.parent, [node]
        while parent[path[-1]] != -1:
            path.append(parent[path[-1]])
        return path[::-1]

    def irreversible_path(self, node: int) -> list[int]:
        """The nodes of a path from an irreversible change to `node` (empty when none)."""
        came = self.irreversible_from
        if came[node] < 0:
            return []
        path = [node]
        while came[path[-1]] != path[-1]:
            path.append(came[path[-1]])
        return path[::-1]


def analyse(
    proposal: Proposal,
    graph: DependencyGraph,
    catalog: ResourceCatalog,
    *,
    choke_min_services: int = 2,
    choke_limit: int = 5,
) -> Reach:
    """Walk the graph from every changed resource and read the analyses off the walk."""
    changes = proposal.effective_changes
    addresses = [c.address for c in changes]
    plan = graph.with_plan(addresses, proposal.relations, proposal.input_name)
    sources = sorted({plan.resources[a] for a in addresses})
    walk = plan.walk(sources)
    services, resources = _split(walk.order, plan.resource)
    irreversible = sorted(
        c.address for c in changes if c.is_destructive and STATEFUL in catalog.traits(c.type)
    )
    marked = [plan.resources[a] for a in irreversible]
    dom = dominators(plan.succ, sources, walk, marked) if services else None
    came = dom.marked_from if dom is not None else None
    if came is None:
        # A second walk from the irreversible changes alone: the first one
        # attributes a service to its nearest change, which may be harmless.
        second = plan.walk(marked)
        came = [p if p >= 0 else n for n, p in enumerate(second.parent)]
        for node in range(len(came)):
            if second.dist[node] < 0:
                came[node] = -1
    rank = plan.rank
    hits = [s for s in services if rank[s] == _CRITICAL and came[s] >= 0] if marked else []
    return Reach(
        graph=plan,
        changes=changes,
        sources=sources,
        walk=walk,
        services=services,
        resources=resources,
        choke_points=_choke_points(plan, dom, choke_min_services, choke_limit),
        cycles=[]
        if dom is None or dom.acyclic
        else strongly_connected(plan.succ, walk.order, len(plan.names)),
        irreversible=irreversible,
        irreversible_critical=hits,
        irreversible_from=came,
    )


def _split(order: list[int], resource: bytearray) -> tuple[list[int], list[int]]:
    """Services and resources of a walk's order, each in that order."""
    marks = bytes(map(resource.__getitem__, order))
    services = list(compress(order, marks.translate(_FLIP)))
    return services, list(compress(order, marks))


def _choke_points(
    plan: DependencyGraph, dom: Dominance | None, min_services: int, limit: int
) -> list[ChokePoint]:
    """The nodes that dominate the most reached services (at least `min_services`)."""
    if dom is None:
        return []
    # Dominator-subtree sizes, counting services: every idom sits earlier in the order.
    resource, idom = plan.resource, dom.idom
    below = [0 if resource[node] else 1 for node in dom.nodes]
    for i in range(len(below) - 1, 0, -1):
        if idom[i] >= 0:
            below[idom[i]] += below[i]
    ranked = []
    for i, node in enumerate(dom.nodes):
        dominated = below[i] - (0 if resource[node] else 1)
        if dominated >= min_services:
            ranked.append((-dominated, plan.names[node], node, dominated))
    ranked.sort()
    return [ChokePoint(node, dominated) for _, _, node, dominated in ranked[:limit]]
