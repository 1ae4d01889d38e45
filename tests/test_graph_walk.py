"""The graph walks against networkx: reach with free ownership edges, dominators, cycles."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.graph.dominators import dominators
from orchestrator.graph.walk import strongly_connected, walk

ROOT = -1


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[list[int]], bytearray, list[int]]:
    """A random digraph (acyclic or not) with some free (resource) nodes and some sources."""
    n = draw(st.integers(min_value=1, max_value=16))
    acyclic = draw(st.booleans())
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=45))
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b in pairs:
        if not acyclic or a < b:
            succ[a].append(b)
    free = bytearray(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    sources = sorted(set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))))
    return succ, free, sources


def twin(succ: list[list[int]], free: bytearray | None = None) -> nx.DiGraph[int]:
    """The networkx graph; an edge from a free node into a non-free one weighs 0."""
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(len(succ)))
    for u, targets in enumerate(succ):
        for v in targets:
            weight = 0 if free is not None and free[u] and not free[v] else 1
            graph.add_edge(u, v, weight=weight)
    return graph


@settings(deadline=None, max_examples=200)
@given(graphs())
def test_walk_finds_shortest_distances_and_consistent_attribution(
    case: tuple[list[list[int]], bytearray, list[int]],
) -> None:
    """One walk reaches every descendant at its Dijkstra distance; parents and sources agree."""
    succ, free, sources = case
    graph = twin(succ, free)
    walked = walk(succ, free, sources)
    expected = nx.multi_source_dijkstra_path_length(graph, set(sources), weight="weight")
    assert {n: walked.dist[n] for n in walked.order} == expected
    assert [walked.dist[n] for n in walked.order] == sorted(walked.dist[n] for n in walked.order)
    assert walked.indegree == [
        sum(1 for u in walked.order for v in succ[u] if v == n) for n in range(len(succ))
    ]
    for node in walked.order:
        parent = walked.parent[node]
        if parent == -1:
            assert node in sources
            assert walked.via[node] == node
        else:
            assert walked.dist[parent] + graph[parent][node]["weight"] == walked.dist[node]
            assert walked.via[node] == walked.via[parent]


@settings(deadline=None, max_examples=200)
@given(graphs())
def test_dominators_match_networkx(case: tuple[list[list[int]], bytearray, list[int]]) -> None:
    """The dominator tree above all sources equals networkx's from a virtual root."""
    succ, free, sources = case
    walked = walk(succ, free, sources)
    reached = walked.order
    marked = sources[:1]
    found = dominators(succ, sources, walked, marked)
    graph = twin(succ)
    graph.add_edges_from((ROOT, s) for s in sources)
    expected = nx.immediate_dominators(graph, ROOT)
    got = {
        node: found.nodes[found.idom[i]] if found.idom[i] >= 0 else ROOT
        for i, node in enumerate(found.nodes)
    }
    assert got == {n: d for n, d in expected.items() if n != ROOT}
    assert found.acyclic == nx.is_directed_acyclic_graph(graph.subgraph(reached))
    if found.marked_from is not None:  # the marked sources' reach, read off the same pass
        came = found.marked_from
        expected_marked = set(marked).union(*(nx.descendants(graph, m) for m in marked))
        assert {n for n in range(len(succ)) if came[n] >= 0} == expected_marked - {ROOT}
        for node in expected_marked - {ROOT} - set(marked):
            assert graph.has_edge(came[node], node)
            assert came[came[node]] >= 0


@settings(deadline=None, max_examples=200)
@given(graphs())
def test_cycles_match_strongly_connected_components(
    case: tuple[list[list[int]], bytearray, list[int]],
) -> None:
    """Every group of two or more that reach each other, and every self-loop, is reported once."""
    succ, _, _ = case
    graph = twin(succ)
    expected = {
        frozenset(c)
        for c in nx.strongly_connected_components(graph)
        if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))
    }
    found = strongly_connected(succ, range(len(succ)), len(succ))
    assert {frozenset(g) for g in found} == expected
    assert len(found) == len(expected)


def test_a_long_chain_does_not_overflow_the_stack() -> None:
    """Walks, dominators and cycles are iterative: a 50,000-node chain is fine."""
    n = 50_000
    succ = [[i + 1] for i in range(n - 1)] + [[0]]
    walked = walk(succ, bytearray(n), [0])
    assert walked.dist[n - 1] == n - 1
    assert len(strongly_connected(succ, walked.order, n)[0]) == n
    found = dominators(succ, [0], walked)
    assert not found.acyclic
    assert found.idom[found.nodes.index(n - 1)] == found.nodes.index(n - 2)
