"""Indexes that keep the per-submission reads flat as the store grows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

* audit_chain (actor, kind, created_at, ref_id): an actor's history, newest
  first, is a backward range scan of this index that stops after the limit,
  instead of every decision of the actor sorted in a temporary B-tree;
* budget_usage (actor, counted_at, deletes, changed_resources, blast_radius):
  a budget window's sums read the index alone (the old index held only
  actor and counted_at, so each row in the window was a table lookup too).
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_USAGE = ["actor", "counted_at", "deletes", "changed_resources", "blast_radius"]


def upgrade() -> None:
    """Add the history index and widen the budget index to cover its sums."""
    op.create_index(
        "ix_audit_chain_actor_history", "audit_chain", ["actor", "kind", "created_at", "ref_id"]
    )
    op.drop_index("ix_budget_usage_actor", table_name="budget_usage")
    op.create_index("ix_budget_usage_actor", "budget_usage", _USAGE)


def downgrade() -> None:
    """Back to revision 0005's indexes."""
    op.drop_index("ix_budget_usage_actor", table_name="budget_usage")
    op.create_index("ix_budget_usage_actor", "budget_usage", ["actor", "counted_at"])
    op.drop_index("ix_audit_chain_actor_history", table_name="audit_chain")
