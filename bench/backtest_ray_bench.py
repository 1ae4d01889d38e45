"""Benchmark `commander backtest` in this process against the same backtest on a 2-node Ray cluster.

Records a store of decisions through the real review path (the IAM-boundary
plan, no-op plans and a SQL migration, by three actors), starts a local Ray
cluster of two nodes (`ray.cluster_utils.Cluster`), then times the backtest
of a stricter candidate policy over the whole store: in-process (`backtest`)
and as Ray tasks (`backtest_on_ray`), checking that both reports are equal.
Whole `commander backtest` processes are timed too, since a CLI run on Ray
also pays for joining the cluster. Prints medians and the ratio.

Usage:
    python bench/backtest_ray_bench.py                    # 200 decisions, 2 nodes of 2 CPUs
    python bench/backtest_ray_bench.py --decisions 1000 --cpus-per-node 4 --runs 5
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.adapters.base import Submission, read_input
from orchestrator.backtest import BacktestReport, backtest, backtest_on_ray
from orchestrator.config import shipped_config_dir
from orchestrator.models import Source
from orchestrator.replay import PolicySpec
from orchestrator.review import ReviewRequest, adapt, prepare, review_proposal
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.testing import plan_document, prior_resource, resource_change

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "iam-boundary"
TOPOLOGY = EXAMPLE / "topology.yaml"
MB = 1024 * 1024


def write_inputs(folder: Path) -> list[Path]:
    """The inputs the decisions judge: an escalation, approvals and a rejection."""
    values = {"bucket": "logs"}
    noop = folder / "noop.json"
    noop.write_text(
        json.dumps(
            plan_document(
                [resource_change("aws_s3_bucket.logs", ["no-op"], before=values, after=values)],
                prior=[prior_resource("aws_s3_bucket.logs", values)],
            )
        ),
        encoding="utf-8",
    )
    sql = folder / "drop.sql"
    shutil.copy(REPO / "tests" / "fixtures" / "sql" / "destructive.sql", sql)
    return [EXAMPLE / "plan.json", noop, noop, sql]


def record_decisions(db: str, count: int, folder: Path) -> None:
    """Record `count` decisions through the real review path, policy and graph loaded once."""
    settings = Settings(database_url=db, config_dir=None, topology=TOPOLOGY)
    setup = prepare(settings)
    inputs = write_inputs(folder)
    actors = ("refactor-bot", "coding-agent", "alice")
    with Store.open(db) as store:
        for i in range(count):
            path = inputs[i % len(inputs)]
            request = ReviewRequest(
                path=str(path),
                submission=Submission(
                    source=Source.AI_AGENT, actor=actors[i % len(actors)], environment="prod"
                ),
                settings=settings,
                change_id=f"bench-{i}",
            )
            data, origin = read_input(str(path), max_bytes=1 << 30)
            review_proposal(setup, store, request, adapt(setup.config, request, data, origin))


def candidate(folder: Path) -> Path:
    """A stricter policy: AI agents' critical changes are rejected, low ones escalate."""
    target = folder / "candidate"
    target.mkdir()
    text = (shipped_config_dir() / "commander.yaml").read_text(encoding="utf-8")
    stricter = {
        "ai_agent_critical: escalate": "ai_agent_critical: reject",
        "low:\n    outcome: approve": "low:\n    outcome: escalate\n    approvals: [team-lead]",
    }
    for old, new in stricter.items():
        assert old in text, old
        text = text.replace(old, new)
    (target / "commander.yaml").write_text(text, encoding="utf-8")
    return target


def timed(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    """The median wall time of `runs` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def cli(db: str, config: Path, *extra: str) -> str:
    """One whole `commander backtest --output json` process; its report."""
    command = [sys.executable, "-m", "orchestrator", "backtest", "--config", str(config)]
    command += ["--topology", str(TOPOLOGY), "--db", db, "--output", "json", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"commander backtest failed: {proc.stderr.strip()}")
    return proc.stdout


def main() -> None:
    """Build the store, start the cluster, time both backtests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--cpus-per-node", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import ray  # the benchmark starts its own cluster, as the Ray tests do
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder / 'audit.db'}"
        started = time.perf_counter()
        record_decisions(db, args.decisions, folder)
        print(f"recorded {args.decisions} decisions in {time.perf_counter() - started:.1f} s")
        spec = PolicySpec(candidate(folder), TOPOLOGY)

        node = {"num_cpus": args.cpus_per_node, "object_store_memory": 200 * MB}
        cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
        try:
            cluster.add_node(**node)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
            with Store.open(db) as store:
                local_s, local = timed(args.runs, lambda: backtest(store, spec))

                def on_ray() -> BacktestReport:
                    return backtest_on_ray(store, spec, address=cluster.address)

                on_ray()  # warm: start the workers once, as a long-lived cluster has them
                ray_s, remote = timed(args.runs, on_ray)
            assert remote == local, "the Ray backtest's report differs from the local one"
            config = spec.config_dir or folder
            on_cluster = ("--executor", "ray", "--ray-address", cluster.address)
            cli_local_s, cli_local = timed(1, lambda: cli(db, config))
            cli_ray_s, cli_ray = timed(1, lambda: cli(db, config, *on_cluster))
            assert cli_ray == cli_local, "the CLI's Ray report differs from the local one"
        finally:
            ray.shutdown()
            cluster.shutdown()  # type: ignore[no-untyped-call]

    assert isinstance(local, BacktestReport)
    print(
        f"backtest of {local.replayed} decisions ({len(local.flips)} flip), "
        f"2 nodes x {args.cpus_per_node} CPUs, {os.cpu_count()} cores on this machine"
    )
    rows = [
        ("in-process, local", local_s, f"{local_s / local.replayed * 1000:.1f} ms a decision"),
        ("in-process, on Ray", ray_s, f"local / Ray = {local_s / ray_s:.2f}x"),
        ("CLI process, local", cli_local_s, ""),
        ("CLI process, on Ray", cli_ray_s, f"local / Ray = {cli_local_s / cli_ray_s:.2f}x"),
    ]
    for label, seconds, note in rows:
        print(f"  {label:<20} {seconds:6.2f} s  {note}".rstrip())


if __name__ == "__main__":
    main()
