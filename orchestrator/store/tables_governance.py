"""The governance tables: the human gate, freezes, budgets and elevations.

    decisions ◀── change_submissions   which change each decision was a submission of
              ◀── escalations ◀── escalation_approvals
              ◀── budget_usage         what an approved change counts against budgets
    freezes                            who is frozen now
    elevations                         time-bound grants, revoked or not

These rows hold the gate's current state; every change to them is also an
event in the audit chain (approvals, denials, freezes, grants), written in the
same transaction. Migration 0002 creates them; a test keeps the two in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.store.tables import DIGEST, Base

NAME = String(200)
DECISION_ID = String(100)


class SubmissionRow(Base):
    """A decision as one submission of a change: the latest one is what may be approved."""

    __tablename__ = "change_submissions"
    __table_args__ = (Index("ix_change_submissions_change", "change_id", "created_at"),)

    decision_id: Mapped[str] = mapped_column(
        DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True
    )
    change_id: Mapped[str] = mapped_column(String(500))
    proposal_digest: Mapped[str] = mapped_column(DIGEST)
    submitter: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class EscalationRow(Base):
    """An escalated decision waiting for (or done with) human sign-off."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_status", "status", "created_at"),
        Index("ix_escalations_actor", "actor", "status"),
        Index("ix_escalations_change_id", "change_id"),
    )

    decision_id: Mapped[str] = mapped_column(
        DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True
    )
    change_id: Mapped[str] = mapped_column(String(500))
    proposal_digest: Mapped[str] = mapped_column(DIGEST)
    actor: Mapped[str] = mapped_column(NAME)
    source: Mapped[str] = mapped_column(String(20))
    submitter: Mapped[str | None] = mapped_column(NAME)
    risk_tier: Mapped[str] = mapped_column(String(20))
    required_roles: Mapped[Any] = mapped_column(JSON, nullable=False)
    # pending, approved-by-humans, denied or cancelled; "expired" is pending past expires_at.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(NAME)
    reason: Mapped[str | None] = mapped_column(Text)


class ApprovalRow(Base):
    """One signature: a person in a role. One per role, and one role per person."""

    __tablename__ = "escalation_approvals"
    __table_args__ = (UniqueConstraint("decision_id", "name_key", name="uq_approval_person"),)

    decision_id: Mapped[str] = mapped_column(
        DECISION_ID, ForeignKey("escalations.decision_id"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    # The name as compared: "Alice" and "alice " are one person.
    name_key: Mapped[str] = mapped_column(NAME)
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FreezeRow(Base):
    """A freeze in force: one actor, or every AI agent (target "*all-ai-agents*")."""

    __tablename__ = "freezes"

    target: Mapped[str] = mapped_column(NAME, primary_key=True)
    frozen_by: Mapped[str] = mapped_column(NAME)
    reason: Mapped[str] = mapped_column(Text)
    frozen_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetUsageRow(Base):
    """What one approved change counts against its actor's budgets, from `counted_at`."""

    __tablename__ = "budget_usage"
    __table_args__ = (Index("ix_budget_usage_actor", "actor", "counted_at"),)

    decision_id: Mapped[str] = mapped_column(
        DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True
    )
    actor: Mapped[str] = mapped_column(NAME)
    counted_at: Mapped[datetime] = mapped_column(DateTime)
    deletes: Mapped[int] = mapped_column(Integer)
    changed_resources: Mapped[int] = mapped_column(Integer)
    blast_radius: Mapped[int] = mapped_column(Integer)


class ElevationRow(Base):
    """A time-bound grant widening what one actor may touch, with who granted it."""

    __tablename__ = "elevations"
    __table_args__ = (Index("ix_elevations_actor", "actor", "until"),)

    elevation_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    actor: Mapped[str] = mapped_column(NAME)
    categories: Mapped[Any] = mapped_column(JSON, nullable=False)
    environments: Mapped[Any] = mapped_column(JSON, nullable=False)
    until: Mapped[datetime] = mapped_column(DateTime)
    granted_by: Mapped[str] = mapped_column(NAME)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(NAME)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
