"""Governance: change submissions, escalations and approvals, freezes, budgets, elevations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

DIGEST = sa.String(71)
NAME = sa.String(200)
DECISION_ID = sa.String(100)


def _decision_key() -> sa.Column[str]:
    return sa.Column(
        "decision_id", DECISION_ID, sa.ForeignKey("decisions.decision_id"), primary_key=True
    )


def upgrade() -> None:
    """Create the human gate's and the kill switch's tables."""
    op.create_table(
        "change_submissions",
        _decision_key(),
        sa.Column("change_id", sa.String(500), nullable=False),
        sa.Column("proposal_digest", DIGEST, nullable=False),
        sa.Column("submitter", NAME, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_change_submissions_change", "change_submissions", ["change_id", "created_at"]
    )

    op.create_table(
        "escalations",
        _decision_key(),
        sa.Column("change_id", sa.String(500), nullable=False),
        sa.Column("proposal_digest", DIGEST, nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("submitter", NAME, nullable=True),
        sa.Column("risk_tier", sa.String(20), nullable=False),
        sa.Column("required_roles", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", NAME, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_escalations_status", "escalations", ["status", "created_at"])
    op.create_index("ix_escalations_actor", "escalations", ["actor", "status"])
    op.create_index("ix_escalations_change_id", "escalations", ["change_id"])

    op.create_table(
        "escalation_approvals",
        sa.Column(
            "decision_id",
            DECISION_ID,
            sa.ForeignKey("escalations.decision_id"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(100), primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("name_key", NAME, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("decision_id", "name_key", name="uq_approval_person"),
    )

    op.create_table(
        "freezes",
        sa.Column("target", NAME, primary_key=True),
        sa.Column("frozen_by", NAME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "budget_usage",
        _decision_key(),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=False),
        sa.Column("deletes", sa.Integer(), nullable=False),
        sa.Column("changed_resources", sa.Integer(), nullable=False),
        sa.Column("blast_radius", sa.Integer(), nullable=False),
    )
    op.create_index("ix_budget_usage_actor", "budget_usage", ["actor", "counted_at"])

    op.create_table(
        "elevations",
        sa.Column("elevation_id", sa.String(100), primary_key=True),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("environments", sa.JSON(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("granted_by", NAME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", NAME, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_elevations_actor", "elevations", ["actor", "until"])


def downgrade() -> None:
    """The audit store is append-only: revisions are not undone."""
    raise NotImplementedError("the audit store does not downgrade")
