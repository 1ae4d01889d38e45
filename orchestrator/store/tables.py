"""The audit store's tables: SQLAlchemy Core tables, kept apart from the pydantic domain models.

    proposals ◀── decisions ◀── verdicts ◀── findings
                     ▲    ▲
    finding_resources    audit_chain (one row per decision or event) ── chain_head

The decision JSON is the record; the other decision columns and tables are
projections of it for queries, and `verify_chain` (verify.py) checks that they
still agree. A decision's chain link also covers its proposal's raw input.
Migrations create these tables (migrations/versions); a test keeps the two in step.

Core `Table`s rather than ORM classes: the store reads and writes rows, never
objects, and a review process would otherwise pay ~50 ms to import the ORM
and map every class. A column is `DECISIONS.c.outcome`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from orchestrator.models import DESTRUCTIVE_ACTIONS, INERT_ACTIONS, Decision

# Plain strings, as the JSON document holds them: plans hold 10,000s of changes.
_INERT = frozenset(a.value for a in INERT_ACTIONS)
_DESTRUCTIVE = frozenset(a.value for a in DESTRUCTIVE_ACTIONS)

DIGEST = String(71)  # "sha256:" + 64 hex digits
HEX64 = String(64)
DECISION_ID = String(100)

# Every audit table: tables_governance (imported below) and tables_audit add theirs.
METADATA = MetaData()

# One reviewed proposal, stored once per content digest.
PROPOSALS = Table(
    "proposals",
    METADATA,
    Column("digest", DIGEST, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("source", String(20), nullable=False),
    Column("actor", String(200), nullable=False, index=True),
    Column("intent", Text, nullable=False),
    Column("environment", String(20), nullable=False),
    Column("input_name", Text, nullable=False),
    Column("change_count", Integer, nullable=False),
    Column("destructive_count", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("proposal_json", Text, nullable=False),
    # zlib of the JSON of the masked raw input (any key order): plans reach hundreds of MB.
    Column("raw_zlib", LargeBinary),
    # sha256 of raw_zlib's bytes; each decision's chain link covers it (verify.py).
    Column("raw_sha256", HEX64),
)

# One decision; `decision_json` is authoritative, the other columns serve queries.
DECISIONS = Table(
    "decisions",
    METADATA,
    Column("decision_id", DECISION_ID, primary_key=True),
    Column("proposal_digest", DIGEST, ForeignKey("proposals.digest"), nullable=False, index=True),
    Column("outcome", String(20), nullable=False, index=True),
    Column("risk_tier", String(20), nullable=False, index=True),
    Column("dissent", Float, nullable=False),
    Column("policy_version", String(200), nullable=False),
    # UTC without zone, so SQLite and PostgreSQL compare and sort alike.
    Column("created_at", DateTime, nullable=False, index=True),
    Column("decision_json", Text, nullable=False),
)

# One reviewer's verdict within a decision, in the decision's order.
VERDICTS = Table(
    "verdicts",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("reviewer", String(200), nullable=False),
    Column("stance", String(20), nullable=False),
    Column("risk_tier", String(20), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Column("rationale", Text, nullable=False),
    Index("ix_verdicts_reviewer_stance", "reviewer", "stance"),
)

# One finding of one verdict.
FINDINGS = Table(
    "findings",
    METADATA,
    Column("decision_id", DECISION_ID, primary_key=True),
    Column("verdict_ordinal", Integer, primary_key=True, autoincrement=False),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("rule", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("severity", String(20), nullable=False),
    Column("hard", Boolean, nullable=False),
    Column("resources", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    ForeignKeyConstraint(
        ["decision_id", "verdict_ordinal"], ["verdicts.decision_id", "verdicts.ordinal"]
    ),
    Index("ix_findings_rule", "rule"),
)

# An address some finding of a decision named: "which decisions touched X".
FINDING_RESOURCES = Table(
    "finding_resources",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("address", Text, primary_key=True, index=True),
)

# One link of the audit hash chain: a decision or an audit event.
AUDIT_CHAIN = Table(
    "audit_chain",
    METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(50), nullable=False),
    Column("ref_id", String(200)),
    Column("actor", String(200), index=True),
    # Events keep their payload here; a decision's holds the digest of its raw input.
    Column("payload", JSON(none_as_null=True), nullable=True),
    Column("payload_digest", HEX64, nullable=False),
    Column("prev_hash", HEX64, nullable=False),
    Column("hash", HEX64, nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False, index=True),
    # HMAC of `hash` under the chain key, when the store is opened with one (keyed.py).
    Column("mac", HEX64),
    Index("ix_audit_chain_kind_ref", "kind", "ref_id"),
    # An actor's history, newest first, read off the index without a sort (Store.history).
    Index("ix_audit_chain_actor_history", "actor", "kind", "created_at", "ref_id"),
)

# The single row every append locks, so concurrent writers take turns.
CHAIN_HEAD = Table(
    "chain_head",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", HEX64, nullable=False),
    # HMAC of (seq, hash) under the chain key: moving the head back needs the key.
    Column("mac", HEX64),
)


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
    actions = [c["action"] for c in doc["changes"]]
    return {
        "kind": doc["kind"],
        "source": doc["source"],
        "actor": doc["actor"],
        "intent": doc["intent"],
        "environment": doc["environment"],
        "input_name": doc["input_name"],
        "change_count": sum(1 for a in actions if a not in _INERT),
        "destructive_count": sum(1 for a in actions if a in _DESTRUCTIVE),
    }


# Every table shares METADATA: importing tables.py must bring them all in.
from orchestrator.store import tables_deliveries as _deliveries  # noqa: E402, F401
from orchestrator.store import tables_governance as _governance  # noqa: E402, F401
