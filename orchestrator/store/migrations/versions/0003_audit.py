"""Post-incident tables: every changed address, reached service and dissenter; incidents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-16

Decisions recorded before this revision get their projection rows here, derived
the same way Store.record derives them, so queries and `audit verify` see the
whole history.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from orchestrator.models import Decision
from orchestrator.store.tables_audit import audit_rows

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_BATCH = 500


def upgrade() -> None:
    """Create the tables and indexes, then fill the projections of existing decisions."""
    op.create_table(
        "decision_resources",
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("address", sa.Text(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_decision_resources_address",
        "decision_resources",
        ["address", "decision_id"],
        postgresql_ops={"address": "text_pattern_ops"},
    )
    op.create_table(
        "decision_services",
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("service", sa.String(200), primary_key=True),
    )
    op.create_index("ix_decision_services_service", "decision_services", ["service"])
    op.create_table(
        "decision_dissenters",
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("stance", sa.String(20), nullable=False),
    )
    op.create_index("ix_decision_dissenters_reviewer", "decision_dissenters", ["reviewer"])
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(200), primary_key=True),
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("linked_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=False, unique=True),
    )
    op.create_index("ix_incidents_decision_id", "incidents", ["decision_id"])
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    query = sa.text(
        "SELECT d.decision_id, d.decision_json, p.proposal_json FROM decisions d "
        "JOIN proposals p ON p.digest = d.proposal_digest "
        "WHERE d.decision_id > :after ORDER BY d.decision_id LIMIT :n"
    )
    after = ""
    while rows := conn.execute(query, {"after": after, "n": _BATCH}).all():
        for row in rows:
            try:
                decision = Decision.model_validate_json(row.decision_json)
                doc = json.loads(row.proposal_json)
            except ValueError:
                # A record that no longer loads is for `audit verify` to report, not to block.
                continue
            for table, projected in audit_rows(decision, doc):
                if projected:
                    conn.execute(sa.insert(table), projected)
        after = rows[-1].decision_id


def downgrade() -> None:
    """The audit store is append-only: revisions are not undone."""
    raise NotImplementedError("the audit store does not downgrade")
