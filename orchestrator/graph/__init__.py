"""The dependency graph: where a change's damage travels.

    topology.py, backstage.py ─▶ build.py ─▶ dependency.py (DependencyGraph)
                                              ├─ walk.py        reach, cycles
                                              ├─ dominators.py  choke points
                                              └─ owners.py      address -> service
    topology_cache.py, cache.py: a parsed topology and its graph, cached by content
"""

from orchestrator.graph.dependency import DependencyGraph

__all__ = ["DependencyGraph"]
