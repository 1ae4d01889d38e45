"""The service graph of a topology file as plain data, for the topology cache.

Building the graph of a 100,000-service topology (parse, check, edges, owner
index) costs about 0.4 s a review; loading its arrays back from the cache
(`topology_cache`) costs 0.06 s. Only a graph built from a topology file
alone is cached: all its edge tags then come from that file, so the file's
path is not stored and the same content read from another path is one entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator.graph.build import EdgeTag, GraphParts
from orchestrator.graph.owners import OwnerIndex

if TYPE_CHECKING:
    from orchestrator.graph.dependency import DependencyGraph

G = TypeVar("G", bound="DependencyGraph")


def graph_state(graph: DependencyGraph) -> object:
    """A topology graph's arrays, its populations and its owner index, as plain data."""
    parts = graph.parts
    return (
        parts.names,
        bytes(parts.resource),
        bytes(parts.rank),
        parts.succ,
        parts.tags,
        [tag.kind for tag in parts.tag_table],
        parts.services,
        graph.populations,
        graph.owner_index.state(),
        graph.environments,
    )


def graph_from_state(cls: type[G], state: Any, origin: str) -> G | None:
    """The graph `graph_state` described, read from `origin`; None for a form not ours."""
    if type(state) is not tuple or len(state) != 10:
        return None
    names, resource, rank, succ, tags, kinds, services, populations, owners, environments = state
    if not (
        type(names) is list
        and type(resource) is bytes
        and type(rank) is bytes
        and type(succ) is list
        and len(names) == len(resource) == len(rank) == len(succ)
        and type(tags) is dict
        and type(kinds) is list
        and type(services) is dict
        and type(populations) is dict
        and type(environments) is dict
        and type(owners) is tuple
        and len(owners) == 3
    ):
        return None
    graph = object.__new__(cls)
    graph.origin = origin
    graph.populations = populations
    graph.environments = environments
    graph.service_count = len(names)
    graph.owner_index = OwnerIndex.from_state(owners)
    graph._bind(
        GraphParts(
            names=names,
            resource=bytearray(resource),
            rank=bytearray(rank),
            succ=succ,
            tags=tags,
            tag_table=[EdgeTag(kind, origin) for kind in kinds],
            services=services,
            resources={},
        )
    )
    return graph
