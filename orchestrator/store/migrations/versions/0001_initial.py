"""The initial audit schema: proposals, decisions and their projections, the hash chain.

Revision ID: 0001
Revises:
Create Date: 2026-05-09

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

DIGEST = sa.String(71)
HEX64 = sa.String(64)


def upgrade() -> None:
    """Create every table and index, and the chain's genesis head."""
    op.create_table(
        "proposals",
        sa.Column("digest", DIGEST, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("intent", sa.Text(), nullable=False),
        sa.Column("environment", sa.String(20), nullable=False),
        sa.Column("input_name", sa.Text(), nullable=False),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.Column("destructive_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("proposal_json", sa.Text(), nullable=False),
        sa.Column("raw_zlib", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_proposals_actor", "proposals", ["actor"])

    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(100), primary_key=True),
        sa.Column(
            "proposal_digest", DIGEST, sa.ForeignKey("proposals.digest"), nullable=False
        ),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("risk_tier", sa.String(20), nullable=False),
        sa.Column("dissent", sa.Float(), nullable=False),
        sa.Column("policy_version", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decision_json", sa.Text(), nullable=False),
    )
    for column in ("proposal_digest", "outcome", "risk_tier", "created_at"):
        op.create_index(f"ix_decisions_{column}", "decisions", [column])

    op.create_table(
        "verdicts",
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("ordinal", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("stance", sa.String(20), nullable=False),
        sa.Column("risk_tier", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
    )
    op.create_index("ix_verdicts_reviewer_stance", "verdicts", ["reviewer", "stance"])

    op.create_table(
        "findings",
        sa.Column("decision_id", sa.String(100), primary_key=True),
        sa.Column("verdict_ordinal", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ordinal", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id", "verdict_ordinal"], ["verdicts.decision_id", "verdicts.ordinal"]
        ),
    )
    op.create_index("ix_findings_rule", "findings", ["rule"])

    op.create_table(
        "finding_resources",
        sa.Column(
            "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("address", sa.Text(), primary_key=True),
    )
    op.create_index("ix_finding_resources_address", "finding_resources", ["address"])

    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("ref_id", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("payload_digest", HEX64, nullable=False),
        sa.Column("prev_hash", HEX64, nullable=False),
        sa.Column("hash", HEX64, nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_audit_chain_kind_ref", "audit_chain", ["kind", "ref_id"])
    op.create_index("ix_audit_chain_actor", "audit_chain", ["actor"])
    op.create_index("ix_audit_chain_created_at", "audit_chain", ["created_at"])

    chain_head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", HEX64, nullable=False),
    )
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    """The audit store is append-only: revisions are not undone."""
    raise NotImplementedError("the audit store does not downgrade")
