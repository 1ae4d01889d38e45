"""Benchmark `commander audit query` on a store of 100,000 decisions.

Builds the store once (rows exactly as `Store.record` writes them, chained,
1,000 decisions per transaction so the build takes a minute, not an hour),
then times whole `commander audit query` processes (cold start included) and
the in-process query alone, for lookups by exact address, address glob,
service, actor and dissenter, against the one-second budget of issue 6.
Finally it times `commander audit verify` over the whole chain.

Usage:
    python bench/audit_bench.py                       # 100,000 decisions, SQLite in a temp dir
    python bench/audit_bench.py --decisions 20000
    python bench/audit_bench.py --db sqlite:////tmp/audit100k.db   # built once, reused after
    python bench/audit_bench.py --db postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.guards import change_figures
from orchestrator.models import (
    BlastRadius,
    Decision,
    Finding,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.store import Store
from orchestrator.store.audit import AuditFilter, query_decisions
from orchestrator.store.audit_verify import verify_audit

# Private on purpose: the bench writes exactly the rows a review writes, in bulk.
from orchestrator.store.store import _Rows, write_decision
from orchestrator.store.submissions import record_submission

BUDGET_SECONDS = 1.0
RESOURCES = 20_000
SERVICES = 300
ACTORS = 50
START = datetime(2026, 1, 1, tzinfo=UTC)
STANCES = ("approve", "approve", "approve", "concern", "block")


def make(i: int, rng: random.Random) -> tuple[Proposal, Decision]:
    """Decision number i: a few changed addresses, some services, four verdicts."""
    addresses = sorted(
        {f"module.svc{r % SERVICES}.aws_instance.r{r}" for r in rng.sample(range(RESOURCES), 4)}
    )
    changes = tuple(
        ResourceChange(address=a, type="aws_instance", action="update") for a in addresses
    )
    proposal = Proposal(
        kind="terraform",
        source="ai-agent",
        actor=f"agent-{i % ACTORS}",
        intent=f"change {i}",
        environment="production",
        environment_name="production",
        changes=changes,
        input_name=f"plan-{i}.json",
    )
    verdicts = tuple(
        Verdict(
            reviewer=name,
            stance=(stance := rng.choice(STANCES)),
            risk_tier=RiskTier.MEDIUM,
            confidence=0.8,
            findings=()
            if stance == "approve"
            else (Finding(rule=f"{name}.x", message="x", resources=tuple(addresses[:1])),),
        )
        for name in ("blast-radius", "contrarian", "reversibility", "scope")
    )
    services = tuple(sorted({f"svc{rng.randrange(SERVICES)}" for _ in range(3)}))
    objected = any(v.stance != "approve" for v in verdicts)
    decision = Decision(
        decision_id=f"{i:08d}-bench",
        proposal_digest=proposal.digest(),
        outcome="escalate" if objected else "approve",
        required_approvals=(RequiredApproval(role="senior-engineer"),) if objected else (),
        risk_tier=RiskTier.MEDIUM,
        dissent=0.0,
        blast_radius=BlastRadius(changed_resources=len(changes), affected_services=services),
        verdicts=verdicts,
        rationale=("bench",),
        policy_version="bench",
        created_at=(START + timedelta(seconds=30 * i)).isoformat().replace("+00:00", "Z"),
    )
    return proposal, decision


def build(store: Store, n: int, batch: int = 1000) -> None:
    """Record n decisions, `batch` to a transaction, each with its gate side as a review has.

    Every decision is a submission of a change of its own: an escalation
    opens, or the approved change counts against its actor's budgets, with
    its change.submitted event: what `audit verify` replays and cross-checks.
    """
    rng = random.Random(6)
    started = time.perf_counter()
    for first in range(0, n, batch):
        items = [make(i, rng) for i in range(first, min(n, first + batch))]
        with store.writing("bench build") as conn:
            for proposal, decision in items:
                write_decision(conn, _Rows.of(proposal, decision), proposal.actor)
                record_submission(
                    conn,
                    proposal,
                    decision,
                    change_id=f"bench-change-{decision.decision_id}",
                    submitter="ci",
                    kind=Source.AI_AGENT,
                    expiry=timedelta(hours=24),
                    figures=change_figures(proposal, decision.blast_radius),
                )
        done = first + len(items)
        if done % 10_000 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  built {done:,} decisions ({rate:,.0f}/s)", file=sys.stderr)


def cli_seconds(url: str, args: list[str], runs: int) -> tuple[float, int]:
    """Median wall time of whole `commander audit query` processes, and rows printed."""
    command = [str(Path(sys.executable).parent / "commander"), "audit", "query", "--db", url, *args]
    times, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
        rows = len(done.stdout.splitlines())
    return statistics.median(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument(
        "--db", help="database URL (default: a temp SQLite file); one holding decisions is reused"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'audit.db'}"
        with Store.open(url) as store:
            if store.recent(limit=1):
                print(f"reusing the decisions already in {store.url}", file=sys.stderr)
            else:
                print(f"building {args.decisions:,} decisions in {store.url} …", file=sys.stderr)
                started = time.perf_counter()
                build(store, args.decisions)
                print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            address = "module.svc7.aws_instance.r7"
            queries = {
                "exact address": ["--resource", address],
                "address glob, literal prefix": ["--resource", "module.svc7.aws_instance.*"],
                "address glob, leading *": ["--resource", "*.r7007"],
                "service": ["--service", "svc42"],
                "actor + tier + time": [
                    "--actor",
                    "agent-3",
                    "--tier",
                    "medium",
                    "--since",
                    "2026-01-10",
                ],
                "dissenter": ["--dissenter", "contrarian", "--limit", "50"],
            }
            print(f"\n{'query':32} {'in-process':>11} {'CLI (cold)':>11} {'rows':>5} {'vs 1 s':>7}")
            for label, flags in queries.items():
                wanted = _filter(flags)
                t0 = time.perf_counter()
                found = query_decisions(store, wanted)
                inproc = time.perf_counter() - t0
                cold, _ = cli_seconds(url, [*flags, "--output", "jsonl"], args.runs)
                print(
                    f"{label:32} {inproc * 1000:9.1f}ms {cold * 1000:9.1f}ms {len(found):5d} "
                    f"{BUDGET_SECONDS / cold:6.1f}x"
                )
            floor = statistics.median(
                _timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)
            )
            print(f"{'python -c pass (floor)':32} {'':>11} {floor * 1000:9.1f}ms")
            if not args.skip_verify:
                t0 = time.perf_counter()
                report = verify_audit(store)
                print(f"\naudit verify: {report.message} in {time.perf_counter() - t0:.1f} s")


def _filter(flags: list[str]) -> AuditFilter:
    pairs = dict(zip(flags[::2], flags[1::2], strict=True))
    since = pairs.pop("--since", None)
    data = {k.removeprefix("--"): v for k, v in pairs.items()}
    if since:
        data["since"] = datetime.fromisoformat(since)  # type: ignore[assignment]
    return AuditFilter.model_validate(data)


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
