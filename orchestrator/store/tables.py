"""The audit store's tables: SQLAlchemy rows, kept apart from the pydantic domain models.

    proposals ◀── decisions ◀── verdicts ◀── findings
                     ▲    ▲
    finding_resources    audit_chain (one row per decision or event) ── chain_head

The decision JSON is the record; the other decision columns and tables are
projections of it for queries, and `verify_chain` checks that they still agree.
Migrations create these tables (migrations/versions); a test keeps the two in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orchestrator.models import DESTRUCTIVE_ACTIONS, INERT_ACTIONS, Action, Decision

DIGEST = String(71)  # "sha256:" + 64 hex digits
HEX64 = String(64)


class Base(DeclarativeBase):
    """Declarative base of every audit table."""


class ProposalRow(Base):
    """One reviewed proposal, stored once per content digest."""

    __tablename__ = "proposals"

    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200), index=True)
    intent: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(20))
    input_name: Mapped[str] = mapped_column(Text)
    change_count: Mapped[int] = mapped_column(Integer)
    destructive_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    proposal_json: Mapped[str] = mapped_column(Text)
    # zlib of the canonical JSON of the masked raw input: plans reach hundreds of MB.
    raw_zlib: Mapped[bytes | None] = mapped_column(LargeBinary)


class DecisionRow(Base):
    """One decision; `decision_json` is authoritative, the other columns serve queries."""

    __tablename__ = "decisions"

    decision_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    proposal_digest: Mapped[str] = mapped_column(DIGEST, ForeignKey("proposals.digest"), index=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    risk_tier: Mapped[str] = mapped_column(String(20), index=True)
    dissent: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[str] = mapped_column(String(200))
    # UTC without zone, so SQLite and PostgreSQL compare and sort alike.
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    decision_json: Mapped[str] = mapped_column(Text)


class VerdictRow(Base):
    """One reviewer's verdict within a decision, in the decision's order."""

    __tablename__ = "verdicts"
    __table_args__ = (Index("ix_verdicts_reviewer_stance", "reviewer", "stance"),)

    decision_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("decisions.decision_id"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reviewer: Mapped[str] = mapped_column(String(200))
    stance: Mapped[str] = mapped_column(String(20))
    risk_tier: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)


class FindingRow(Base):
    """One finding of one verdict."""

    __tablename__ = "findings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["decision_id", "verdict_ordinal"], ["verdicts.decision_id", "verdicts.ordinal"]
        ),
        Index("ix_findings_rule", "rule"),
    )

    decision_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    verdict_ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(20))
    hard: Mapped[bool] = mapped_column()
    resources: Mapped[Any] = mapped_column(JSON, nullable=False)
    evidence: Mapped[Any] = mapped_column(JSON, nullable=False)


class FindingResourceRow(Base):
    """An address some finding of a decision named: "which decisions touched X"."""

    __tablename__ = "finding_resources"

    decision_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("decisions.decision_id"), primary_key=True
    )
    address: Mapped[str] = mapped_column(Text, primary_key=True, index=True)


class ChainRow(Base):
    """One link of the audit hash chain: a decision or an audit event."""

    __tablename__ = "audit_chain"
    __table_args__ = (Index("ix_audit_chain_kind_ref", "kind", "ref_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(50))
    ref_id: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200), index=True)
    # Events keep their payload here; a decision's payload is its decision row.
    payload: Mapped[Any | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    payload_digest: Mapped[str] = mapped_column(HEX64)
    prev_hash: Mapped[str] = mapped_column(HEX64)
    hash: Mapped[str] = mapped_column(HEX64, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ChainHeadRow(Base):
    """The single row every append locks, so concurrent writers take turns."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(HEX64)


def table_of(row_class: type[Base]) -> Table:
    """The Core table behind a row class, for bulk statements and plain-row reads."""
    return cast(Table, row_class.__table__)


def verdict_rows(decision: Decision) -> list[dict[str, Any]]:
    """The verdicts table's rows for one decision."""
    return [
        {
            "decision_id": decision.decision_id,
            "ordinal": i,
            "reviewer": v.reviewer,
            "stance": v.stance,
            "risk_tier": v.risk_tier.value,
            "confidence": v.confidence,
            "error": v.error,
            "duration_ms": v.duration_ms,
            "rationale": v.rationale,
        }
        for i, v in enumerate(decision.verdicts)
    ]


def finding_rows(decision: Decision) -> list[dict[str, Any]]:
    """The findings table's rows for one decision."""
    return [
        {
            "decision_id": decision.decision_id,
            "verdict_ordinal": i,
            "ordinal": j,
            "rule": f.rule,
            "message": f.message,
            "severity": f.severity.value,
            "hard": f.hard,
            "resources": list(f.resources),
            "evidence": f.model_dump(mode="json")["evidence"],
        }
        for i, v in enumerate(decision.verdicts)
        for j, f in enumerate(v.findings)
    ]


def resource_rows(decision: Decision) -> list[dict[str, Any]]:
    """The finding_resources rows: each address any finding named, once."""
    addresses = {a for v in decision.verdicts for f in v.findings for a in f.resources}
    return [{"decision_id": decision.decision_id, "address": a} for a in sorted(addresses)]


def proposal_columns(doc: dict[str, Any]) -> dict[str, Any]:
    """The proposals table's query columns, read from the proposal's JSON document."""
    actions = [Action(c["action"]) for c in doc["changes"]]
    return {
        "kind": doc["kind"],
        "source": doc["source"],
        "actor": doc["actor"],
        "intent": doc["intent"],
        "environment": doc["environment"],
        "input_name": doc["input_name"],
        "change_count": sum(1 for a in actions if a not in INERT_ACTIONS),
        "destructive_count": sum(1 for a in actions if a in DESTRUCTIVE_ACTIONS),
    }


# Every table shares Base.metadata: importing tables.py must bring them all in.
from orchestrator.store import tables_governance as _governance  # noqa: E402, F401
