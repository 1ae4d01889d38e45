"""The dependency graph: services and resources, and the edges along which damage travels.

One graph from every source, each edge tagged with its kind and the file it
came from: the topology file (`depends_on`, criticality, `owns`), a Backstage
catalog (`dependsOn`, `dependencyOf`), and, per review, the proposal's own
relations (Terraform references and `depends_on`, Kubernetes selectors and
config references, whatever their kind) plus an `owns` edge from every
resource to each service owning it. Edges point the way damage travels: for
`A depends_on B` the graph holds B -> A.

Nodes are services or resources, numbered; adjacency is a list of integer
lists (`build`). Services come from files loaded once; `with_plan` adds
one review's resources to a copy that shares the service lists, so a review
never copies a 100,000-service graph. Walks live in `walk`.
`to_networkx` gives the same graph, or part of it, as a networkx DiGraph for
analysis and export; the review path builds none, because filling
networkx's dicts for 100,000 services costs about a second and importing it
70 ms, against a half-second budget for a whole ordinary review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from orchestrator.graph.build import TIERS, EdgeTag, GraphParts, Service, build, from_topology
from orchestrator.graph.cache import graph_from_state, graph_state
from orchestrator.graph.owners import OwnerIndex
from orchestrator.graph.topology import (
    Environments,
    ServiceSpec,
    Topology,
    TopologyData,
    parse_topology,
    read_topology,
    topology_bytes,
)
from orchestrator.graph.topology_cache import cached
from orchestrator.graph.walk import Walk, strongly_connected, walk
from orchestrator.models import Relation, RiskTier

if TYPE_CHECKING:
    import networkx as nx

    from orchestrator.graph.backstage import Entity

__all__ = ["DependencyGraph", "EdgeTag", "OwnerIndex", "Reached", "ServiceSpec", "Topology"]

SERVICE = "service"
RESOURCE = "resource"
OWNS = "owns"


@dataclass(frozen=True, slots=True)
class Reached:
    """A service reached from a change: how far, from which source."""

    distance: int
    via: str


class DependencyGraph:
    """Services and resources, who owns what, and who depends on whom (read-only)."""

    def __init__(
        self,
        topology: Topology | None = None,
        *,
        origin: str = "<topology>",
        catalog: Sequence[Entity] = (),
    ) -> None:
        topology = topology or Topology()
        self._setup(
            from_topology(topology),
            dict(topology.populations),
            origin,
            catalog,
            topology.environment_ranks(),
        )

    def _setup(
        self,
        services: Sequence[Service],
        populations: dict[str, int],
        origin: str,
        catalog: Sequence[Entity],
        environments: Environments | None = None,
    ) -> None:
        self.origin = origin
        self.populations = populations
        self.environments: Environments = environments or {}
        parts, owns = build(services, origin, catalog)
        self.service_count = len(parts.names)
        self.owner_index = OwnerIndex(owns)
        self._bind(parts)

    @property
    def topology(self) -> Topology:
        """The topology file's populations; its services live in the graph itself.

        Kept for reviewers written when the graph held the validated file.
        """
        return Topology(populations=self.populations)

    def _bind(self, parts: GraphParts) -> None:
        self.parts = parts
        # The walks read these lists directly: attribute lookups in a loop over
        # a million edges are what makes a graph walk slow in Python.
        self.names, self.succ, self.rank = parts.names, parts.succ, parts.rank
        self.resource, self.services, self.resources = (
            parts.resource,
            parts.services,
            parts.resources,
        )

    @classmethod
    def empty(cls) -> DependencyGraph:
        """A graph with no services: every change reaches only itself."""
        return cls(origin="<none>")

    @classmethod
    def load(
        cls,
        path: Path | None,
        *,
        catalog: Path | None = None,
        cache: Path | None = None,
        owns_by_name: tuple[str, ...] = (),
    ) -> DependencyGraph:
        """Load a topology file and, optionally, a Backstage catalog file.

        With `cache` (a directory, see settings.cache_dir), a topology's
        built graph is kept there and reused while the file's content is the same.
        `owns_by_name` is the catalog's naming convention (configs/commander.yaml
        `backstage.owns`) for entities without an owns annotation.
        """
        if path is not None and catalog is None:
            # The common case, and the one whose whole graph the cache can hold.
            data, origin = topology_bytes(path), str(path)
            return cached(
                data,
                cache,
                "graph",
                lambda: cls._built(parse_topology(data, origin), origin),
                encode=graph_state,
                decode=lambda state: graph_from_state(cls, state, origin),
            )
        services, populations, environments = (
            read_topology(path, cache=cache) if path is not None else ([], {}, {})
        )
        entities: list[Entity] = []
        if catalog is not None:
            from orchestrator.graph.backstage import load_catalog  # noqa: PLC0415 - rarely used

            entities = load_catalog(catalog, owns_by_name=owns_by_name)
        origins = [str(p) for p in (path, catalog) if p is not None]
        graph = object.__new__(cls)
        graph._setup(services, populations, " + ".join(origins) or "<none>", entities, environments)
        return graph

    @classmethod
    def _built(cls, topology: TopologyData, origin: str) -> Self:
        services, populations, environments = topology
        graph = object.__new__(cls)
        graph._setup(services, populations, origin, (), environments)
        return graph

    def team(self, service: str) -> str | None:
        """The team that owns a service, as its Backstage `spec.owner` names it."""
        return self.parts.teams.get(service)

    def with_plan(
        self, addresses: Iterable[str], relations: Iterable[Relation], origin: str
    ) -> DependencyGraph:
        """This graph plus one proposal's resources, relations and ownership edges.

        The copy shares every service's edge list (a resource only adds edges
        out of itself), so it costs the proposal's size, not the topology's.
        """
        parts = self.parts.extension()
        by_source: dict[str, list[Relation]] = {}
        for rel in relations:
            by_source.setdefault(rel.source, []).append(rel)
            parts.resource_node(rel.source)
            parts.resource_node(rel.target)
        for address in addresses:
            parts.resource_node(address)
        owned = parts.tag(OWNS, self.origin)
        kinds: dict[str, int] = {}
        for address, node in parts.resources.items():
            for rel in by_source.get(address, ()):
                kind = kinds.get(rel.kind)
                if kind is None:
                    kind = kinds[rel.kind] = parts.tag(rel.kind, origin)
                parts.edge(node, parts.resources[rel.target], kind)
            for service in sorted(self.owner_index.owners(address)):
                parts.edge(node, self.services[service], owned)
        plan = object.__new__(DependencyGraph)
        plan.__dict__.update(self.__dict__)
        plan._bind(parts)
        return plan

    def __len__(self) -> int:
        """The number of services (a graph without a topology has none)."""
        return self.service_count

    def node_kind(self, node: int) -> str:
        """`service` or `resource`."""
        return RESOURCE if self.resource[node] else SERVICE

    def tier(self, node: int) -> RiskTier:
        """A service node's criticality."""
        return TIERS[self.rank[node]]

    def criticality(self, service: str) -> RiskTier:
        """A service's declared criticality (medium when undeclared)."""
        return self.tier(self.services[service])

    def ranks_in(self, environment: str, floor: int) -> Callable[[int], int]:
        """The criticality rank of a service node in an environment other than production.

        The topology's `environments` entry names it, or gives a default; else
        the environment's `floor` (production's criticality is production's).
        """
        default, named = self.environments.get(environment, (None, {}))
        fallback = floor if default is None else default
        names = self.names
        return lambda node: named.get(names[node], fallback)

    def owners(self, address: str) -> set[str]:
        """The services that own a resource address."""
        return self.owner_index.owners(address)

    def edge_tags(self, source: int) -> dict[int, EdgeTag]:
        """The tag of each edge out of `source` (the first, when one is declared twice)."""
        return self.parts.edge_tags(source)

    def walk(self, sources: Iterable[int]) -> Walk:
        """One multi-source walk; see `walk.walk` (ownership edges cost nothing)."""
        return walk(self.succ, self.resource, sorted(set(sources)))

    def reach(self, sources: Iterable[str]) -> dict[str, Reached]:
        """Every service reachable from the named services, each with its nearest source."""
        nodes = [self.services[s] for s in set(sources) if s in self.services]
        # sorted by name: attribution must not depend on set order
        result = walk(self.succ, self.resource, sorted(nodes, key=self.names.__getitem__))
        names = self.names
        return {
            names[node]: Reached(result.dist[node], names[result.via[node]])
            for node in result.order
            if not self.resource[node]
        }

    def cycles(self, limit: int = 5) -> list[list[str]]:
        """Up to `limit` groups of services that depend on each other in a circle, sorted."""
        groups = strongly_connected(self.succ, range(len(self.names)), len(self.names))
        named = sorted(sorted(self.names[n] for n in group) for group in groups)
        return named[:limit]

    def to_networkx(self, nodes: Iterable[int] | None = None) -> nx.DiGraph[str]:
        """The graph, or the part spanned by `nodes`, as a networkx DiGraph.

        Nodes are named by service name or resource address and carry `kind`
        and (services) `criticality`; edges carry `kind` and `origin`. A
        service named like a resource address would share its node here.
        """
        import networkx as nx  # noqa: PLC0415 - 70 ms the review path does not need

        keep = range(len(self.names)) if nodes is None else sorted(set(nodes))
        inside = set(keep)
        graph: nx.DiGraph[str] = nx.DiGraph()
        for node in keep:
            attrs: dict[str, Any] = {"kind": self.node_kind(node)}
            if not self.resource[node]:
                attrs["criticality"] = self.tier(node).value
            graph.add_node(self.names[node], **attrs)
        for node in keep:
            for target, tag in self.edge_tags(node).items():
                if target in inside:
                    graph.add_edge(
                        self.names[node], self.names[target], kind=tag.kind, origin=tag.origin
                    )
        return graph
