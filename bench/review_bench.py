"""Benchmark `commander review` as a whole cold process, with peers measured in the same run.

Generates a Terraform plan of N changes and a topology of M services, then
times whole `commander review` processes (cold start included) and reports
the median, the blast-radius reviewer's own time, the peak resident memory,
and ratios against peers run on the same machine in the same run:

* `python -c pass`   the floor: an interpreter that does nothing;
* `checkov`          optional (`--checkov PATH`): the widely used scanner on the same plan file.

The plan has what real plans have: modules (one per owning service), a mix
of actions with a prior state, and `configuration` references: each
resource reads the one before it in its module, and one module in ten reads
a shared IAM policy through a module input (the 47-services pattern at
scale). The topology has a few hubs everyone leans on and a sparse random
web of dependencies below them.

Usage:
    python bench/review_bench.py --changes 50 --services 1000
    python bench/review_bench.py --changes 50 --services 1000 --topology-format yaml
    python bench/review_bench.py --changes 10000 --services 100000 --checkov /path/to/checkov
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrator.testing import (
    ModuleConfiguration,
    plan_document,
    prior_resource,
    resource_change,
)

TYPES = [
    "aws_instance",
    "aws_security_group_rule",
    "aws_iam_role_policy",
    "aws_s3_bucket_policy",
    "aws_lambda_function",
    "aws_sqs_queue",
    "aws_route53_record",
    "aws_ecs_service",
]
SHARED = "aws_iam_policy.shared_boundary"
HUBS = 5


def generate_plan(n: int, services: int, seed: int = 7) -> dict[str, Any]:
    """A plan of n changes across modules, with references between them."""
    rng = random.Random(seed)
    changes = [resource_change(SHARED, ["update"], before={"v": 1}, after={"v": 2})]
    prior = [prior_resource(SHARED, {"v": 1})]
    configuration = ModuleConfiguration(SHARED)
    for i in range(1, n):
        rtype = TYPES[i % len(TYPES)]
        module = f"svc{rng.randrange(services)}"
        address = f"module.{module}.{rtype}.r{i}"
        before = {"name": f"r{i}", "tags": {"team": "platform"}, "size": rng.randrange(1, 8)}
        roll = rng.random()
        if roll < 0.7:
            actions, after = ["update"], {**before, "size": before["size"] + 1}
        elif roll < 0.85:
            actions, after = ["create"], before
        elif roll < 0.95:
            actions, after = ["no-op"], before
        else:
            actions, after = ["delete", "create"], before
        changes.append(
            resource_change(
                address, actions, before=None if actions == ["create"] else before, after=after
            )
        )
        if actions != ["create"]:
            prior.append(prior_resource(address, before))
        configuration.add(module, rtype, f"r{i}", rng)
    doc = plan_document(changes, prior=prior)
    shared = {
        "address": SHARED,
        "mode": "managed",
        "type": "aws_iam_policy",
        "name": "shared_boundary",
    }
    doc["configuration"] = {
        "root_module": {"resources": [shared], "module_calls": configuration.module_calls()}
    }
    return doc


def generate_topology(m: int, seed: int = 11) -> dict[str, Any]:
    """M services: a few hubs many lean on, then a sparse random web of dependencies."""
    rng = random.Random(seed)
    tiers = ["low"] * 30 + ["medium"] * 50 + ["high"] * 15 + ["critical"] * 5
    services: dict[str, Any] = {}
    hubs = min(HUBS, m)
    for i in range(m):
        deps: set[str] = set()
        if i >= hubs:
            deps.update(f"svc{rng.randrange(hubs, i)}" for _ in range(2) if i > hubs)
            if rng.random() < 0.2:
                deps.add(f"svc{rng.randrange(hubs)}")
        services[f"svc{i}"] = {
            "criticality": "critical" if i < hubs else rng.choice(tiers),
            "depends_on": sorted(deps),
            "owns": [f"module.svc{i}.*"] + ([SHARED] if i == 0 else []),
        }
    return {"services": services}


def time_command(
    cmd: list[str], runs: int, env: dict[str, str], cpu: list[float] | None = None
) -> tuple[list[float], str]:
    """Wall seconds of each run and the last run's stdout; CPU seconds appended to `cpu`."""
    times, out = [], ""
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out = proc.stdout.decode(errors="replace")
        if proc.returncode not in (0, 3, 4) and "commander" in cmd[0]:
            sys.exit(
                f"bench: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[:500]}"
            )
    return times, out


def reviewer_alone(
    plan: Path, topology: Path, runs: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The blast-radius reviewer's own time, in this process: loading the graph, and assessing.

    The recorded `duration_ms` is wall time on a thread shared with the other
    reviewers; this is the reviewer alone, as one core sees it, with the cycle
    collector paused as `run_review` pauses it. The first run is what a
    review process pays (no cache is warm yet); later ones show the noise.
    """
    from orchestrator.adapters.base import Submission, load_proposal
    from orchestrator.catalog import ResourceCatalog
    from orchestrator.gc_control import paused_gc
    from orchestrator.graph import DependencyGraph
    from orchestrator.models import Source
    from orchestrator.reviewer import ReviewContext
    from reviewers.blast_radius import BlastRadiusSettings, assess

    submission = Submission(source=Source.AUTOMATION, actor="bench", environment="production")
    proposal = load_proposal(plan.read_bytes(), str(plan), submission)
    catalog = ResourceCatalog.load_default()
    loads, reviews = [], []  # (wall, CPU) seconds
    for _ in range(runs):
        with paused_gc():
            start, cpu = time.perf_counter(), time.thread_time()
            graph = DependencyGraph.load(topology)
            loads.append((time.perf_counter() - start, time.thread_time() - cpu))
            context = ReviewContext(graph=graph, catalog=catalog)
            start, cpu = time.perf_counter(), time.thread_time()
            assess(proposal, context, BlastRadiusSettings())
            reviews.append((time.perf_counter() - start, time.thread_time() - cpu))
        del graph, context
    return loads, reviews


def compare(cmd: list[str], env: dict[str, str], work: Path, other: Path, runs: int) -> None:
    """Time this tree's review and `other`'s in turns, each with its own store and cache."""
    trees = {"this tree": Path(__file__).resolve().parent.parent, "--against": other.resolve()}
    envs = {
        label: {
            **env,
            "PYTHONPATH": str(tree),
            "COMMANDER_DATABASE_URL": f"sqlite:///{work / f'compare-{i}.db'}",
            "COMMANDER_CACHE_DIR": str(work / f"compare-cache-{i}"),
        }
        for i, (label, tree) in enumerate(trees.items())
    }
    for label in trees:
        time_command(cmd, 1, envs[label])  # creates the store and fills the caches
    wall: dict[str, list[float]] = {label: [] for label in trees}
    cpu: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(runs):
        for label in trees:  # in turns: a busy spell on a shared machine hits both
            times, _ = time_command(cmd, 1, envs[label], cpu[label])
            wall[label] += times
    for label, tree in trees.items():
        print(
            f"{label:<10} median {statistics.median(wall[label]):7.3f} s, CPU median "
            f"{statistics.median(cpu[label]):7.3f} s   ({tree})"
        )


def write_inputs(work: Path, changes: int, services: int, form: str) -> tuple[Path, Path]:
    """The plan and topology files the reviews read."""
    plan, topo = work / "plan.json", work / f"topology.{form}"
    plan.write_text(json.dumps(generate_plan(changes, services)), encoding="utf-8")
    topology = generate_topology(services)
    if form == "yaml":
        import yaml

        topo.write_text(yaml.safe_dump(topology), encoding="utf-8")
    else:
        topo.write_text(json.dumps(topology), encoding="utf-8")
    return plan, topo


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--topology-format",
        choices=["json", "yaml"],
        default="json",
        help="write the topology as JSON (default) or YAML, as many teams keep it",
    )
    parser.add_argument(
        "--against",
        metavar="SRC",
        help="another source tree of commander (a checkout of an older commit): its review is "
        "timed in the same run, interleaved with this one's, on the same plan and topology",
    )
    parser.add_argument("--checkov", help="path of a checkov executable to compare with")
    parser.add_argument("--checkov-runs", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="commander-bench-"))
    plan, topo = write_inputs(work, args.changes, args.services, args.topology_format)
    # The warm-up run fills this topology cache, as a user's first review of a topology does.
    os.environ.setdefault("COMMANDER_CACHE_DIR", str(work / "cache"))
    env = {**os.environ, "COMMANDER_DATABASE_URL": f"sqlite:///{work / 'audit.db'}"}
    # Measure commander as installed: pip writes bytecode at install time, so a
    # setting that forbids it would charge every run for compiling the sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commander = shutil.which("commander", path=str(Path(sys.executable).parent)) or "commander"
    cmd = [commander, "review", str(plan), "--topology", str(topo), "--output", "json"]
    cmd += ["--source", "automation", "--environment", "production"]

    floor, _ = time_command([sys.executable, "-c", "pass"], args.runs, env)
    # Creates the audit database and the topology cache entry: not part of a review's cost.
    cold, _ = time_command(cmd, 1, env)
    cpu: list[float] = []
    review, out = time_command(cmd, args.runs, env, cpu)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    decision = json.loads(out)
    reviewer_ms = {v["reviewer"]: v["duration_ms"] for v in decision["verdicts"]}
    med = statistics.median(review)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"plan {plan.stat().st_size / 1e6:.1f} MB, topology {topo.stat().st_size / 1e6:.1f} MB; "
        f"N={args.changes:,} changes, M={args.services:,} services, {args.runs} runs"
    )
    print(f"python -c pass         median {statistics.median(floor):7.3f} s")
    print(
        f"commander review       median {med:7.3f} s"
        f"   (min {min(review):.3f}, max {max(review):.3f}); peak RSS {peak_mib:,.0f} MiB"
    )
    print(f"  first review (new audit store, topology not yet cached) {cold[0]:.3f} s")
    cpu_med = statistics.median(cpu)
    print(f"  CPU, user+sys         median {cpu_med:7.3f} s   (steadier on a busy machine)")
    print(f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("  recorded reviewer times (wall; reviewer threads share the GIL):")
    for name, ms in sorted(reviewer_ms.items()):
        print(f"  reviewer {name:<14} {ms / 1000:7.3f} s")
    reach = next(
        f["evidence"]
        for v in decision["verdicts"]
        if v["reviewer"] == "blast-radius"
        for f in v["findings"]
        if f["rule"] == "blast-radius.reach"
    )
    print(
        f"  outcome {decision['outcome']}, tier {decision['risk_tier']}, score "
        f"{reach['score']}; {reach['affected_services_total']:,} services reached, "
        f"{reach['plan_references']:,} plan references"
    )
    loads, reviews = reviewer_alone(plan, topo, args.runs)
    for label, times in (("blast-radius alone", reviews), ("topology load", loads)):
        (wall, cpu), best = times[0], min(times)
        print(
            f"{label:<22} first  {wall:7.3f} s   (CPU {cpu:.3f} s);"
            f" best {best[0]:.3f} s (CPU {best[1]:.3f} s)"
        )
    print(f"ratio commander / interpreter start: {med / statistics.median(floor):.1f}x")
    if args.against:
        compare(cmd, env, work, Path(args.against), args.runs)
    if args.checkov:
        checkov = [args.checkov, "-f", str(plan), "--framework", "terraform_plan"]
        ck, _ = time_command(
            [*checkov, "--skip-download", "--quiet", "--compact", "-o", "json"],
            args.checkov_runs,
            env,
        )
        ck_med = statistics.median(ck)
        print(f"checkov                median {ck_med:7.3f} s")
        print(f"ratio checkov / commander: {ck_med / med:.1f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
