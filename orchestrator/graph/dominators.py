"""Choke points: the dominator tree of what a change reaches.

A node dominates another when every path from the change to it passes
through the node; whatever it dominates breaks with it. The tree is rooted at
a virtual node joined to every changed resource. Cooper, Harvey and
Kennedy's algorithm ("A Simple, Fast Dominance Algorithm", 2001): in a
topological order one pass is exact, and that pass is fused with Kahn's
topological sort, so an acyclic reach (the usual case) costs one count of
in-degrees and one walk over the edges. A reach with cycles falls back to
iterating over reverse postorder until nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.graph.walk import Adjacency, Walk, postorder


@dataclass(frozen=True, slots=True)
class Dominance:
    """The dominator tree of what a walk reached, rooted above all its sources."""

    nodes: list[int]  # reached nodes, each after its immediate dominator; the root left out
    idom: list[int]  # per position in `nodes`: the position of its immediate dominator, -1 root
    acyclic: bool
    # With `marked` sources and no cycle: per node, the previous node on a path from a
    # marked source (the source itself for a source, -1 when none reaches it).
    marked_from: list[int] | None = None


def dominators(
    succ: Adjacency, sources: Sequence[int], walked: Walk, marked: Sequence[int] = ()
) -> Dominance:
    """Immediate dominators of what one walk from `sources` reached.

    Without a cycle, the same pass also finds what the `marked` sources (a
    subset) reach, so that needs no second walk.
    """
    found = _acyclic(succ, sources, walked, marked)
    return found if found is not None else _cyclic(succ, sources, walked.order)


def _acyclic(
    succ: Adjacency, sources: Sequence[int], walked: Walk, marked: Sequence[int]
) -> Dominance | None:
    """Kahn's sort with the dominator of each node settled as it leaves; None on a cycle."""
    n = len(succ)
    pending = walked.indegree[:]  # counted down as predecessors leave
    came = [-1] * n  # see Dominance.marked_from
    for source in marked:
        came[source] = source
    # the dominator (a position + 1) common to the node's predecessors that have left so far
    candidate = [-1] * n
    for source in sources:
        candidate[source] = 0  # the virtual root: nothing else can dominate a source
    idom = [0]  # by position + 1; position 0 is the virtual root
    queue = [s for s in dict.fromkeys(sources) if not pending[s]]
    push = queue.append
    for b, u in enumerate(queue, 1):  # the queue grows while it is read: Kahn's order
        idom.append(candidate[u])
        reached_by_marked = came[u] >= 0
        for v in succ[u]:
            if reached_by_marked and came[v] < 0:
                came[v] = u
            c = candidate[v]
            if c < 0:
                candidate[v] = b
            elif c:
                a = b
                while a != c:  # climb to the nearest common dominator of the two
                    while a > c:
                        a = idom[a]
                    while c > a:
                        c = idom[c]
                candidate[v] = a
            left = pending[v] - 1
            pending[v] = left
            if not left:
                push(v)
    nodes = queue
    if len(nodes) != len(walked.order):
        return None
    return Dominance(nodes, [d - 1 for d in idom[1:]], acyclic=True, marked_from=came)


def _cyclic(succ: Adjacency, sources: Sequence[int], reached: Sequence[int]) -> Dominance:
    """The iterative algorithm over reverse postorder, for a reach with cycles."""
    n = len(succ)
    preds: dict[int, list[int]] = {node: [] for node in reached}
    for u in reached:
        for v in succ[u]:
            preds[v].append(u)
    nodes = postorder(succ, sources, n)[::-1]
    number = {node: i for i, node in enumerate(nodes, 1)}  # 0 is the virtual root
    rooted = set(sources)
    idom = [-1] * (len(nodes) + 1)
    idom[0] = 0
    changed = True
    while changed:
        changed = False
        for b, node in enumerate(nodes, 1):
            new = 0 if node in rooted else -1  # a source's only dominator is the root
            for p in preds[node] if new else ():
                a = number[p]
                if idom[a] == -1:
                    continue  # not reached by this pass yet
                if new == -1:
                    new = a
                    continue
                while a != new:
                    while a > new:
                        a = idom[a]
                    while new > a:
                        new = idom[new]
            if idom[b] != new:
                idom[b] = new
                changed = True
    return Dominance(nodes, [d - 1 for d in idom[1:]], acyclic=False)
