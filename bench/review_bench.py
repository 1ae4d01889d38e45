"""Benchmark `commander review` as a whole cold process, with peers measured in the same run.

Generates a Terraform plan of N changes (with configuration references, a
prior state and a mix of actions) and a topology of M services, then times
whole `commander review` processes (cold start included) and reports the
median, the blast-radius reviewer's own time, and ratios against peers run
on the same machine in the same run:

* `python -c pass`   the floor: an interpreter that does nothing;
* `checkov`          optional (`--checkov PATH`): the widely used scanner on the same plan file.

Usage:
    python bench/review_bench.py --changes 50 --services 1000
    python bench/review_bench.py --changes 10000 --services 1000 --checkov /path/to/venv/bin/checkov
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrator.testing import plan_document, prior_resource, resource_change

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


def generate_plan(n: int, services: int, seed: int = 7) -> dict[str, Any]:
    """A plan of n changes across modules, with references between them."""
    rng = random.Random(seed)
    changes, prior, config_resources = [], [], []
    for i in range(n):
        rtype = TYPES[i % len(TYPES)]
        module = f"module.svc{rng.randrange(services)}"
        address = f"{module}.{rtype}.r{i}"
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
        refs = [f"{TYPES[(i - 1) % len(TYPES)]}.r{i - 1}"] if i else []
        config_resources.append(
            {
                "address": address,
                "mode": "managed",
                "type": rtype,
                "name": f"r{i}",
                "expressions": {"name": {"references": refs}},
            }
        )
    doc = plan_document(changes, prior=prior)
    doc["configuration"] = {"root_module": {"resources": config_resources}}
    return doc


def generate_topology(m: int, seed: int = 11) -> dict[str, Any]:
    """M services: a few hubs everyone depends on, then a sparse random DAG."""
    rng = random.Random(seed)
    crit = ["low", "medium", "high", "critical"]
    services: dict[str, Any] = {}
    hubs = max(1, m // 1000)
    for i in range(m):
        deps = [f"svc{h}" for h in range(min(i, hubs)) if rng.random() < 0.5]
        deps += [f"svc{rng.randrange(i)}" for _ in range(2)] if i > hubs else []
        services[f"svc{i}"] = {
            "criticality": crit[rng.randrange(4)],
            "depends_on": sorted(set(deps)),
            "owns": [f"module.svc{i}.*"],
        }
    return {"services": services}


def time_command(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], str]:
    """Wall seconds of each run and the last run's stdout."""
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
        out = proc.stdout.decode(errors="replace")
        if proc.returncode not in (0, 3, 4) and "commander" in cmd[0]:
            sys.exit(
                f"bench: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[:500]}"
            )
    return times, out


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkov", help="path of a checkov executable to compare with")
    parser.add_argument("--checkov-runs", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="commander-bench-"))
    plan, topo = work / "plan.json", work / "topology.json"
    plan.write_text(json.dumps(generate_plan(args.changes, args.services)), encoding="utf-8")
    topo.write_text(json.dumps(generate_topology(args.services)), encoding="utf-8")
    env = {**os.environ, "COMMANDER_DATABASE_URL": f"sqlite:///{work / 'audit.db'}"}
    commander = shutil.which("commander", path=str(Path(sys.executable).parent)) or "commander"
    cmd = [
        commander,
        "review",
        str(plan),
        "--topology",
        str(topo),
        "--output",
        "json",
        "--source",
        "automation",
        "--environment",
        "production",
    ]

    floor, _ = time_command([sys.executable, "-c", "pass"], args.runs, env)
    review, out = time_command(cmd, args.runs, env)
    decision = json.loads(out)
    reviewer_ms = {v["reviewer"]: v["duration_ms"] for v in decision["verdicts"]}
    med = statistics.median(review)
    print(
        f"machine: {os.cpu_count()} cores; plan {plan.stat().st_size / 1e6:.1f} MB; "
        f"N={args.changes} changes, M={args.services} services, {args.runs} runs"
    )
    print(f"python -c pass         median {statistics.median(floor):7.3f} s")
    print(
        f"commander review       median {med:7.3f} s"
        f"   (min {min(review):.3f}, max {max(review):.3f})"
    )
    for name, ms in sorted(reviewer_ms.items()):
        print(f"  reviewer {name:<14} {ms / 1000:7.3f} s")
    print(
        f"  outcome {decision['outcome']}, tier {decision['risk_tier']}, "
        f"{len(decision['blast_radius']['affected_services'])} services affected"
    )
    print(f"ratio commander / interpreter start: {med / statistics.median(floor):.1f}x")
    if args.checkov:
        ck, _ = time_command(
            [
                args.checkov,
                "-f",
                str(plan),
                "--framework",
                "terraform_plan",
                "--skip-download",
                "--quiet",
                "--compact",
                "-o",
                "json",
            ],
            args.checkov_runs,
            env,
        )
        ck_med = statistics.median(ck)
        print(f"checkov                median {ck_med:7.3f} s")
        print(f"ratio checkov / commander: {ck_med / med:.1f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
