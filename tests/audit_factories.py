"""Factories and fixtures shared by the audit, incident, replay and trailer tests.

`db_url` and `store` are the store suite's fixtures (a SQLite file, and a fresh
PostgreSQL schema when COMMANDER_TEST_POSTGRES_URL is set), re-exported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.models import (
    BlastRadius,
    Decision,
    Finding,
    Outcome,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Stance,
    Verdict,
)
from orchestrator.store import Store
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.test_store import count, db_url, store

__all__ = [
    "DIALECTS",
    "count",
    "db_url",
    "fresh_database",
    "make",
    "record",
    "run_sql",
    "seq_of",
    "store",
]


def ident(seed: str) -> str:
    """A deterministic decision id."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def make(
    seed: str,
    *,
    actor: str = "agent-7",
    addresses: Sequence[str] = ("aws_s3_bucket.logs",),
    services: Sequence[str] = (),
    stances: Mapping[str, Stance] | None = None,
    outcome: Outcome = "escalate",
    tier: RiskTier = RiskTier.HIGH,
    created_at: str = "2026-05-01T10:00:00Z",
    errors: Sequence[str] = (),
) -> tuple[Proposal, Decision]:
    """One proposal and its decision, with exactly the facets the audit filters read."""
    changes = tuple(
        ResourceChange(address=a, type=a.split(".")[-2] if "." in a else "file", action="update")
        for a in addresses
    )
    proposal = Proposal(
        kind="terraform",
        source="ai-agent",
        actor=actor,
        intent=f"change for {seed}",
        environment="production",
        environment_name="production",
        changes=changes,
        input_name=f"{seed}.json",
        raw={"seed": seed},
    )
    verdicts = tuple(
        Verdict.failed(name, "timed out")
        if name in errors
        else Verdict(
            reviewer=name,
            stance=stance,
            risk_tier=tier,
            confidence=0.8,
            findings=(Finding(rule=f"{name}.seen", message="seen", resources=tuple(addresses)),)
            if stance != "approve"
            else (),
            rationale=f"{name} says {stance}",
        )
        for name, stance in sorted((stances or {"scope": "approve"}).items())
    )
    decision = Decision(
        decision_id=ident(seed),
        proposal_digest=proposal.digest(),
        outcome=outcome,
        risk_tier=tier,
        required_approvals=(RequiredApproval(role="senior-engineer"),)
        if outcome == "escalate"
        else (),
        dissent=0.0,
        blast_radius=BlastRadius(changed_resources=len(changes), affected_services=tuple(services)),
        verdicts=verdicts,
        rationale=("seeded",),
        policy_version="test",
        created_at=created_at,
    )
    return proposal, decision


def record(store: Store, seed: str, **facets: Any) -> Decision:
    """Record one decision with exactly the facets the audit filters read; return it."""
    proposal, decision = make(seed, **facets)
    store.record(proposal, decision)
    return decision


def seq_of(url: str, decision_id: str) -> int:
    """The chain seq of a decision's link."""
    rows = run_sql(
        url, "SELECT seq FROM audit_chain WHERE kind = 'decision' AND ref_id = :id", id=decision_id
    )
    return int(rows[0][0])
