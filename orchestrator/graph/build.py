"""The storage of the dependency graph, and how the topology and a Backstage catalog fill it.

Nodes are numbers; `succ[u]` lists the nodes a change to `u` can break.
Every edge has a tag (its kind and origin); tag 0 is the topology's
`depends_on`, and only nodes with an edge of another tag keep a tag list,
so the 100,000-service topology costs one list append per edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.models import RiskTier

if TYPE_CHECKING:
    from orchestrator.graph.backstage import Entity
    from orchestrator.graph.topology import Topology

TIERS = (RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL)
RANK = {tier: rank for rank, tier in enumerate(TIERS)}
MEDIUM = RANK[RiskTier.MEDIUM]

# One topology service: name, criticality rank, depends_on, owns.
Service = tuple[str, int, Sequence[str], Sequence[str]]


@dataclass(frozen=True, slots=True)
class EdgeTag:
    """What an edge means and which file or input declared it."""

    kind: str
    origin: str


@dataclass(slots=True)
class GraphParts:
    """The arrays of a graph. Nodes below `shared` have edge lists another graph shares."""

    names: list[str]
    resource: bytearray  # 1 for a resource node, 0 for a service
    rank: bytearray  # a service's criticality, as an index into TIERS
    succ: list[list[int]]
    tags: dict[int, list[int]]  # per node whose edges are not all tag 0; parallel to succ
    tag_table: list[EdgeTag]
    services: dict[str, int]
    resources: dict[str, int]
    shared: int = 0
    teams: dict[str, str] = field(default_factory=dict)  # service -> owning team (Backstage)

    def extension(self) -> GraphParts:
        """A copy to add nodes to; the existing nodes' edge lists are shared, not copied."""
        return GraphParts(
            names=list(self.names),
            resource=self.resource[:],
            rank=self.rank[:],
            succ=list(self.succ),
            tags=dict(self.tags),
            tag_table=list(self.tag_table),
            services=self.services,  # an extension adds resources, never services
            resources=dict(self.resources),
            shared=len(self.names),
            teams=self.teams,  # like services: an extension adds none
        )

    def node(self, name: str, *, resource: bool) -> int:
        """Add a node (medium criticality) and return its number."""
        self.names.append(name)
        self.resource.append(resource)
        self.rank.append(MEDIUM)
        self.succ.append([])
        return len(self.names) - 1

    def service(self, name: str) -> int:
        """The node of a service, added at medium criticality when it is new."""
        node = self.services.get(name)
        if node is None:
            node = self.services[name] = self.node(name, resource=False)
        return node

    def resource_node(self, address: str) -> int:
        """The node of a resource address, added when it is new."""
        node = self.resources.get(address)
        if node is None:
            node = self.resources[address] = self.node(address, resource=True)
        return node

    def tag(self, kind: str, origin: str) -> int:
        """The number of an edge tag, added when it is new."""
        tag = EdgeTag(kind, origin)
        if tag not in self.tag_table:  # a handful of tags: a list scan is enough
            self.tag_table.append(tag)
        return self.tag_table.index(tag)

    def edge(self, source: int, target: int, tag: int) -> None:
        """Add an edge out of a node this graph does not share."""
        if source < self.shared:
            raise ValueError("an extension adds edges out of its own nodes only")
        self.succ[source].append(target)
        tags = self.tags.get(source)
        if tags is None and tag != 0:
            tags = self.tags[source] = [0] * (len(self.succ[source]) - 1)
        if tags is not None:
            tags.append(tag)

    def edge_tags(self, source: int) -> dict[int, EdgeTag]:
        """The tag of each edge out of `source` (the first, when one is declared twice)."""
        targets = self.succ[source]
        tags = self.tags.get(source) or [0] * len(targets)
        found: dict[int, EdgeTag] = {}
        for target, tag in zip(targets, tags, strict=True):
            found.setdefault(target, self.tag_table[tag])
        return found


def from_topology(topology: Topology) -> list[Service]:
    """The services of a validated topology."""
    return [
        (name, RANK[spec.criticality], spec.depends_on, spec.owns)
        for name, spec in topology.services.items()
    ]


def build(
    specs: Sequence[Service], origin: str, catalog: Sequence[Entity]
) -> tuple[GraphParts, list[tuple[str, Sequence[str]]]]:
    """The service graph of topology services and a catalog, and each service's owner globs."""
    names = [spec[0] for spec in specs]
    services = dict(zip(names, range(len(names)), strict=True))
    parts = GraphParts(
        names=names,
        resource=bytearray(len(names)),
        rank=bytearray(spec[1] for spec in specs),
        succ=[[] for _ in names],
        tags={},
        tag_table=[EdgeTag("depends_on", origin)],
        services=services,
        resources={},
    )
    # (service, globs) pairs, read once by the owner index: no copy of 100,000 lists
    owns: list[tuple[str, Sequence[str]]] = [(spec[0], spec[3]) for spec in specs if spec[3]]
    succ = parts.succ
    for node, (_, _, depends_on, _) in enumerate(specs):
        for dependency in depends_on:
            source = services.get(dependency)
            if source is None:
                # An undeclared dependency still carries the edge, at medium criticality.
                source = parts.service(dependency)
            succ[source].append(node)  # tag 0: the hot loop appends nothing else
    for entity in catalog:
        node = parts.service(entity.name)
        if entity.criticality is not None:
            # declared in both files: the stricter criticality holds
            parts.rank[node] = max(parts.rank[node], RANK[entity.criticality])
        if entity.owns:
            owns.append((entity.name, entity.owns))
    for entity in catalog:
        _relate(parts, services[entity.name], entity)
    return parts, owns


def _relate(parts: GraphParts, node: int, entity: Entity) -> None:
    """The entity's relations as edges in the direction of impact (see backstage.py)."""

    def tag(kind: str) -> int:
        return parts.tag(kind, entity.origin)

    for name in entity.depends_on:
        parts.edge(parts.service(name), node, tag("dependsOn"))
    for name in entity.dependency_of:
        parts.edge(node, parts.service(name), tag("dependencyOf"))
    for api in entity.provides_apis:
        parts.edge(node, parts.service(api), tag("providesApis"))
    for api in entity.consumes_apis:
        parts.edge(parts.service(api), node, tag("consumesApis"))
    for whole in entity.part_of:
        parts.edge(node, parts.service(whole), tag("subcomponentOf"))
    if entity.system is not None:
        parts.edge(node, parts.service(entity.system), tag("system"))
    if entity.owner is not None:
        parts.teams[entity.name] = entity.owner
