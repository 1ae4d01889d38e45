"""Choke points on a large reach: the hand-written dominators against networkx's.

Builds the plan and topology of `review_bench.py` (N changes, M services),
runs the blast-radius walk once, then times, on the same reach, the
dominator pass the reviewer uses (orchestrator/graph/dominators.py) and
networkx's `immediate_dominators` (with the DiGraph it needs built from the
reach), checks that both give the same tree, and prints CPU seconds. The
review keeps the faster; tests/test_graph_walk.py checks both agree on
random graphs (Hypothesis).

Usage:
    python bench/dominators_bench.py --changes 10000 --services 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from review_bench import generate_plan, generate_topology

ROOT = -1


def main() -> None:
    """Time both dominator computations on one reach and compare their answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=100_000)
    args = parser.parse_args()

    import networkx as nx

    from orchestrator.adapters.base import Submission, load_proposal
    from orchestrator.catalog import ResourceCatalog
    from orchestrator.graph import DependencyGraph
    from orchestrator.models import Source
    from orchestrator.reviewer import ReviewContext
    from reviewers.blast_radius import BlastRadiusSettings, assess, reach

    work = Path(tempfile.mkdtemp(prefix="commander-dominators-"))
    plan, topo = work / "plan.json", work / "topology.json"
    plan.write_text(json.dumps(generate_plan(args.changes, args.services)), encoding="utf-8")
    topo.write_text(json.dumps(generate_topology(args.services)), encoding="utf-8")
    submission = Submission(source=Source.AUTOMATION, actor="bench", environment="production")
    proposal = load_proposal(plan.read_bytes(), str(plan), submission)
    context = ReviewContext(
        graph=DependencyGraph.load(topo), catalog=ResourceCatalog.load_default()
    )

    seen: dict[str, Any] = {}
    hand_written = reach.dominators

    def capture(*call: Any) -> Any:
        seen["call"] = call
        return hand_written(*call)

    reach.dominators = capture
    assess(proposal, context, BlastRadiusSettings())
    reach.dominators = hand_written
    succ, sources, walked, marked = seen["call"]

    gc.disable()
    start = time.process_time()
    found = hand_written(succ, sources, walked, marked)
    ours = time.process_time() - start

    start = time.process_time()
    graph: Any = nx.DiGraph()
    graph.add_edges_from((ROOT, s) for s in sources)
    graph.add_edges_from((u, v) for u in walked.order for v in succ[u])
    built = time.process_time() - start
    start = time.process_time()
    expected = nx.immediate_dominators(graph, ROOT)
    theirs = time.process_time() - start
    gc.enable()

    got = {
        node: found.nodes[found.idom[i]] if found.idom[i] >= 0 else ROOT
        for i, node in enumerate(found.nodes)
    }
    same = got == {n: d for n, d in expected.items() if n != ROOT}
    print(
        f"reach {len(walked.order):,} nodes from {len(sources):,} changed resources "
        f"(N={args.changes:,}, M={args.services:,})"
    )
    print(f"hand-written (fused with Kahn's sort)  CPU {ours:7.3f} s")
    print(
        f"networkx immediate_dominators          CPU {theirs:7.3f} s"
        f" (+ {built:.3f} s to build its DiGraph)"
    )
    print(f"same dominator tree: {same}; networkx / hand-written: {(theirs + built) / ours:.1f}x")


if __name__ == "__main__":
    main()
