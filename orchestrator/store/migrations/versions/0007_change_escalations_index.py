"""A change's open escalations read off one index, not every pending escalation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

* escalations (change_id, status, created_at, decision_id) replaces the index
  on change_id alone: what a new submission supersedes (the change's pending
  escalations, oldest first) was read through ix_escalations_status, every
  pending escalation of every change in the store, on each review; it is now
  a seek on the change's own rows, already in order. It still serves every
  lookup by change_id alone.
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Widen the change_id index to a change's escalations by status and age."""
    op.drop_index("ix_escalations_change_id", table_name="escalations")
    op.create_index(
        "ix_escalations_change",
        "escalations",
        ["change_id", "status", "created_at", "decision_id"],
    )


def downgrade() -> None:
    """Back to revision 0006's index."""
    op.drop_index("ix_escalations_change", table_name="escalations")
    op.create_index("ix_escalations_change_id", "escalations", ["change_id"])
