"""The governance tables: the human gate, freezes, budgets and elevations.

    decisions ◀── change_submissions   which change each decision was a submission of
              ◀── escalations ◀── escalation_approvals
              ◀── budget_usage         what an approved change counts against budgets
    freezes                            who is frozen now
    elevations                         time-bound grants, revoked or not

These rows hold the gate's current state; every change to them is also an
event in the audit chain holding what it wrote (change.submitted, approvals,
denials, cancellations, freezes, grants), in the same transaction, so `audit
verify` rebuilds them from the chain (gate_state.py). Migrations 0002,
0004, 0006 and 0007 create them; a test keeps the two in step.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from orchestrator.store.tables import DECISION_ID, DIGEST, METADATA

NAME = String(200)

# A decision as one submission of a change: the latest one is what may be approved.
CHANGE_SUBMISSIONS = Table(
    "change_submissions",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("change_id", String(500), nullable=False),
    Column("proposal_digest", DIGEST, nullable=False),
    Column("submitter", NAME),
    Column("created_at", DateTime, nullable=False),
    # The seq of its change.submitted event: the latest submission is the last recorded.
    Column("chain_seq", Integer, nullable=False, unique=True),
    Index("ix_change_submissions_change", "change_id", "chain_seq"),
)

# An escalated decision waiting for (or done with) human sign-off.
ESCALATIONS = Table(
    "escalations",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("change_id", String(500), nullable=False),
    Column("proposal_digest", DIGEST, nullable=False),
    Column("actor", NAME, nullable=False),
    Column("source", String(20), nullable=False),
    Column("submitter", NAME),
    Column("risk_tier", String(20), nullable=False),
    Column("required_roles", JSON, nullable=False),
    # pending, approved-by-humans, denied or cancelled; "expired" is pending past expires_at.
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("closed_by", NAME),
    Column("reason", Text),
    Index("ix_escalations_status", "status", "created_at"),
    Index("ix_escalations_actor", "actor", "status"),
    # A change's open escalations, oldest first (what a new submission supersedes): a seek.
    Index("ix_escalations_change", "change_id", "status", "created_at", "decision_id"),
)

# One signature: a person in a role. One per role, and one role per person.
ESCALATION_APPROVALS = Table(
    "escalation_approvals",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("escalations.decision_id"), primary_key=True),
    Column("role", String(100), primary_key=True),
    Column("name", NAME, nullable=False),
    # The name as compared: "Alice" and "alice " are one person.
    Column("name_key", NAME, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("decision_id", "name_key", name="uq_approval_person"),
)

# A freeze in force: one actor, or every AI agent (target "*all-ai-agents*").
FREEZES = Table(
    "freezes",
    METADATA,
    Column("target", NAME, primary_key=True),
    Column("frozen_by", NAME, nullable=False),
    Column("reason", Text, nullable=False),
    Column("frozen_at", DateTime, nullable=False),
)

# What one approved change counts against its actor's budgets, from `counted_at`.
BUDGET_USAGE = Table(
    "budget_usage",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("actor", NAME, nullable=False),
    Column("counted_at", DateTime, nullable=False),
    Column("deletes", Integer, nullable=False),
    Column("changed_resources", Integer, nullable=False),
    Column("blast_radius", Integer, nullable=False),
    # Covers a window's sums: they read the index alone (budgets.budget_windows).
    Index(
        "ix_budget_usage_actor",
        "actor",
        "counted_at",
        "deletes",
        "changed_resources",
        "blast_radius",
    ),
)

# A time-bound grant widening what one actor may touch, with who granted it.
ELEVATIONS = Table(
    "elevations",
    METADATA,
    Column("elevation_id", String(100), primary_key=True),
    Column("actor", NAME, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("environments", JSON, nullable=False),
    Column("until", DateTime, nullable=False),
    Column("granted_by", NAME, nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("revoked_by", NAME),
    Column("revoke_reason", Text),
    Index("ix_elevations_actor", "actor", "until"),
)
