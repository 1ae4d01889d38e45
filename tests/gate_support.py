"""Shared builders for the gate, freeze, budget and elevation tests.

Databases are real: a SQLite file, and when COMMANDER_TEST_POSTGRES_URL is set
a fresh PostgreSQL schema per test, dropped afterwards.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from orchestrator.clock import iso_micros, utc_now
from orchestrator.gate.settle import GateTerms, Unsettled, settle, superseded
from orchestrator.guards import BudgetRule, GateFacts
from orchestrator.models import (
    BlastRadius,
    Decision,
    Outcome,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.store import Store
from orchestrator.store.chain import parse_utc
from orchestrator.store.governance import Identities
from tests.databases import DIALECTS, fresh_database, run_sql

REPO = Path(__file__).resolve().parents[1]
DATABASES = DIALECTS
T0 = "2026-05-01T10:00:00Z"
HIGH_ROLES = ("senior-engineer", "team-lead")


def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database of `kind`, removing it afterwards."""
    with fresh_database(kind, tmp_path) as url:
        yield url


def chain_kinds(url: str) -> list[tuple[str, str | None]]:
    """The audit chain as (kind, ref_id), oldest first."""
    rows = run_sql(url, "SELECT kind, ref_id FROM audit_chain ORDER BY seq")
    return [(r[0], r[1]) for r in rows]


def make_proposal(
    actor: str = "refactor-bot",
    *,
    tag: str = "v1",
    creates: int = 1,
    deletes: int = 0,
    source: Source = Source.AI_AGENT,
    input_name: str = "plan.json",
) -> Proposal:
    """A Terraform proposal; `tag` changes its content (and so its digest)."""
    changes = [
        ResourceChange(
            address=f'aws_s3_object.doc["{i}"]',
            type="aws_s3_object",
            action="create",
            after={"key": f"{tag}-{i}"},
        )
        for i in range(creates)
    ] + [
        ResourceChange(
            address=f'aws_s3_object.old["{i}"]',
            type="aws_s3_object",
            action="delete",
            before={"key": f"{tag}-{i}"},
        )
        for i in range(deletes)
    ]
    return Proposal(
        kind="terraform",
        source=source,
        actor=actor,
        intent=f"change {tag}",
        environment="production",
        environment_name="prod",
        changes=tuple(changes),
        input_name=input_name,
    )


def make_decision(
    proposal: Proposal,
    *,
    outcome: Outcome = "escalate",
    roles: tuple[str, ...] = HIGH_ROLES,
    created_at: str = T0,
    score: int = 0,
) -> Decision:
    """A decision on `proposal` with a unique id."""
    seed = f"{proposal.digest()}{uuid.uuid4()}"
    return Decision(
        decision_id=hashlib.sha256(seed.encode()).hexdigest()[:32],
        proposal_digest=proposal.digest(),
        outcome=outcome,
        risk_tier=RiskTier.HIGH,
        required_approvals=tuple(RequiredApproval(role=r) for r in roles)
        if outcome == "escalate"
        else (),
        dissent=0.0,
        blast_radius=BlastRadius(score=score, changed_resources=len(proposal.changes)),
        verdicts=(
            Verdict(reviewer="scope", stance="concern", risk_tier=RiskTier.HIGH, confidence=0.9),
        ),
        rationale=("test",),
        policy_version="test",
        created_at=created_at,
    )


def record(
    store: Store,
    proposal: Proposal,
    decision: Decision,
    *,
    change_id: str = "change-1",
    submitter: str | None = "ci-runner",
    expiry: timedelta = timedelta(hours=24),
    rules: tuple[BudgetRule, ...] = (),
    facts: GateFacts | None = None,
) -> Decision:
    """Record a decision the way `run_review` does: with the gate's side in one transaction.

    Like the gate session, the decision names the escalations it supersedes,
    and is recorded again when another writer changed them meanwhile.
    """
    with store.reading("look up what the change supersedes") as conn:
        replaced = superseded(
            conn, change_id, decision.proposal_digest, at=parse_utc(decision.created_at)
        )
    for _ in range(50):
        decision = decision.model_copy(update={"supersedes": replaced})
        terms = GateTerms(
            change_id=change_id,
            submitter=submitter,
            expiry=expiry,
            budget_rules=rules,
            kind=proposal.source,
            facts=facts or GateFacts(),
        )
        try:
            store.record(
                proposal,
                decision,
                within=partial(settle, proposal=proposal, decision=decision, terms=terms),
            )
        except Unsettled as changed:
            if changed.facts != terms.facts:
                raise
            replaced = changed.supersedes
            continue
        return decision
    raise AssertionError(f"decision {decision.decision_id}: its supersessions kept changing")


def people(
    kinds: dict[str, Source] | None = None, approvers: dict[str, tuple[str, ...]] | None = None
) -> Identities:
    """Identities as the CLI builds them from agents.yaml and commander.yaml."""
    default = {"refactor-bot": Source.AI_AGENT, "deploy-pipeline": Source.AUTOMATION}
    return Identities.of(default if kinds is None else kinds, approvers or {})


def write_config(folder: Path, *, agents: dict[str, Any] | None = None, **sections: Any) -> Path:
    """A config directory overriding commander.yaml sections (and agents.yaml, if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    shipped = yaml.safe_load((REPO / "configs" / "commander.yaml").read_text(encoding="utf-8"))
    shipped.update(sections)
    (folder / "commander.yaml").write_text(yaml.safe_dump(shipped), encoding="utf-8")
    if agents is not None:
        (folder / "agents.yaml").write_text(yaml.safe_dump(agents), encoding="utf-8")
    return folder


def wall() -> str:
    """The real clock as the gate's `now`, for tests whose records are made now."""
    return iso_micros(utc_now())
