"""CPU per submission of the service's review path, in one process: no HTTP, no clients.

Builds the service's state as `commander serve` does (policy, a generated
topology, the store), then submits --count of the load's plans one after
another through `ServiceState.submit` and prints the CPU time (user +
system) per submission, as the median and minimum of batches of 25, with the
statements each ran. On a shared machine this is far steadier than
bench/service_load.py's server CPU: run the base commit's copy at the same
time to compare.

    python bench/service_cpu.py [--count 400] [--topology 1000] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import yaml
from load_server import TOKEN
from review_bench import generate_topology
from service_load import plan

from orchestrator.adapters.base import Submission
from orchestrator.commands.serve import service_options
from orchestrator.models import Source
from orchestrator.service.auth import hash_token
from orchestrator.service.state import Meta, ServiceState

BATCH = 25


def meta(n: int) -> Meta:
    """The load's metadata for plan `n`, as bench/service_load.py sends it."""
    submission = Submission(source=Source.AUTOMATION, actor="load-ci", environment="dev")
    return Meta(kind="auto", submission=submission, name=f"p{n}.json", change_id=None, delete=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--topology", type=int, default=1000, metavar="M")
    parser.add_argument("--db", help="a store URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokens = folder / "tokens.yaml"
        entry = {"name": "load", "roles": ["ci"], "token_sha256": hash_token(TOKEN)}
        tokens.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
        serve = {"tokens": str(tokens), "db": args.db or f"sqlite:///{folder / 'service.db'}"}
        if args.topology:
            topology = folder / "topology.json"
            topology.write_text(json.dumps(generate_topology(args.topology)), encoding="utf-8")
            serve["topology"] = str(topology)
        state = ServiceState(service_options(serve))
        statements = 0

        def counted(*_: object) -> None:
            nonlocal statements
            statements += 1

        try:
            for n in range(30):  # warm-up: lazy imports, statement caches
                state.submit(plan(n, args.topology), meta(n), "load")
            bodies = [plan(n, args.topology) for n in range(1000, 1000 + args.count)]
            sa.event.listen(state.store._engine, "before_cursor_execute", counted)
            batches = []
            for start in range(0, args.count, BATCH):
                done = range(start, min(start + BATCH, args.count))
                began = time.process_time()
                for i in done:
                    state.submit(bodies[i], meta(1000 + i), "load")
                batches.append((time.process_time() - began) / len(done))
        finally:
            state.close()
    print(
        f"CPU per submission: median {statistics.median(batches) * 1000:.2f} ms, "
        f"min {min(batches) * 1000:.2f} ms (batches of {BATCH}); "
        f"statements per submission: {statements / args.count:.1f}"
    )


if __name__ == "__main__":
    main()
