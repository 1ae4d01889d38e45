"""What platforms sent: webhook deliveries and run-task requests, recorded once each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

* platform_deliveries: one row per GitHub delivery or HCP Terraform task
  result, so a redelivery acts once; deployments waiting for the gate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the table and its index."""
    op.create_table(
        "platform_deliveries",
        sa.Column("delivery_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decision_id", sa.String(100)),
        sa.Column("callback", sa.JSON()),
        sa.Column("answer", sa.Text()),
        sa.Column("answered_at", sa.DateTime()),
    )
    op.create_index("ix_platform_deliveries_status", "platform_deliveries", ["status", "kind"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("platform_deliveries")
