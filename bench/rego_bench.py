"""Benchmark the Rego path of `commander review` on a large plan, against a review without it.

Generates a plan of N changes (bench/review_bench.py's generator, with the
`planned_values` Terraform writes, so policies reading them have work to
do) and a config holding real policy shapes: the published AI-DevOps scope
policy (old syntax, planned_values), the `some i` idiom over
resource_changes (conftest's input) and a TACO policy on `input.tfplan` (so
the plan is also passed under that key). Each round runs, interleaved, one
whole `commander review` process with the Rego config and one with an
empty config (the peer: everything but Rego), and, with `--baseline SRC`,
the same Rego review by another checkout of commander (PYTHONPATH=SRC), so
before and after share the machine's load. Reports medians of wall time,
each process's own peak RSS, the policy reviewer's recorded time, and the
Rego path's cost as the difference to the peer.

Usage:
    python bench/rego_bench.py --changes 10000 --runs 5 [--baseline /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.review_bench import generate_plan

POLICIES = {
    "some_i.rego": """package staging.guard
deny[msg] {
  some i
  startswith(input.resource_changes[i].type, "aws_iam")
  msg := sprintf("IAM change: %s", [input.resource_changes[i].address])
}
""",
    "tfplan.rego": """package terraform
import rego.v1
import input.tfplan as tfplan
deny contains msg if {
  some r in tfplan.resource_changes
  r.type == "aws_s3_bucket_policy"
  "delete" in r.change.actions
  msg := sprintf("bucket policy deleted: %s", [r.address])
}
""",
}


def with_planned_values(doc: dict[str, Any]) -> dict[str, Any]:
    """The plan with planned_values listing what exists after it, as Terraform writes it."""
    doc["planned_values"] = {
        "root_module": {
            "resources": [
                {"address": c["address"], "type": c["type"], "values": c["change"]["after"]}
                for c in doc["resource_changes"]
                if c["change"]["after"] is not None
            ]
        }
    }
    return doc


def _measured(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, float, dict[str, Any]]:
    """Run a process, reaping it with wait4 to read its own peak RSS."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # cwd: `python -m` puts it first on sys.path; a checkout there would shadow PYTHONPATH
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 3, 4):
            sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}): {err.read()[:500]!r}")
        return wall, usage.ru_maxrss / 1024, json.loads(out.read())


def main() -> None:
    """Run the interleaved rounds and print medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", help="another commander checkout, run with PYTHONPATH")
    parser.add_argument(
        "--shared-policy",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "policies"),
        help="folder of the published AI-DevOps scope policy",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="commander-rego-bench-"))
    plan = work / "plan.json"
    plan.write_text(json.dumps(with_planned_values(generate_plan(args.changes, 1000))))
    rego, empty = work / "rego" / "policies", work / "empty"
    rego.mkdir(parents=True)
    empty.mkdir()
    for name, text in POLICIES.items():
        (rego / name).write_text(text, encoding="utf-8")
    shared = Path(args.shared_policy) / "ai_devops_scope.rego"
    if shared.is_file():
        shutil.copy(shared, rego / shared.name)
    env = {**os.environ, "COMMANDER_DATABASE_URL": f"sqlite:///{work / 'audit.db'}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    review = [sys.executable, "-m", "orchestrator", "review", str(plan), "--output", "json"]
    review += ["--source", "ai-agent", "--actor", "bench", "--environment", "staging"]
    variants = {
        "rego": ([*review, "--config", str(rego.parent)], env),
        "peer (no Rego)": ([*review, "--config", str(empty)], env),
    }
    if args.baseline:
        base_env = {**env, "PYTHONPATH": args.baseline}
        variants["baseline rego"] = ([*review, "--config", str(rego.parent)], base_env)
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in variants}
    for cmd, run_env in variants.values():  # warm-up: creates the store, fills caches
        _measured(cmd, run_env, work)
    for _ in range(args.runs):
        for name, (cmd, run_env) in variants.items():
            wall, rss, decision = _measured(cmd, run_env, work)
            policy_ms = next(
                v["duration_ms"] for v in decision["verdicts"] if v["reviewer"] == "policy"
            )
            results[name].append((wall, rss, policy_ms / 1000))
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; plan "
        f"{plan.stat().st_size / 1e6:.1f} MB, {args.changes:,} changes; policies "
        f"{', '.join(sorted(p.name for p in rego.iterdir()))}; {args.runs} interleaved rounds"
    )
    for name, rows in results.items():
        walls, rsses, policy = zip(*rows, strict=True)
        print(
            f"{name:<16} wall median {statistics.median(walls):6.2f} s "
            f"(min {min(walls):.2f}, max {max(walls):.2f}); peak RSS median "
            f"{statistics.median(rsses):6.0f} MiB; "
            f"policy reviewer {statistics.median(policy):.2f} s"
        )
    peer = statistics.median(r[0] for r in results["peer (no Rego)"])
    for name, rows in results.items():
        if name != "peer (no Rego)":
            cost = statistics.median(r[0] for r in rows) - peer
            print(f"Rego path ({name}): {cost:+.2f} s over the peer")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
