"""The audit store's query and post-incident tables, on the same METADATA as tables.py.

    decisions ◀── decision_resources   every address the proposal changes
              ◀── decision_services    every service its blast radius reaches
              ◀── decision_dissenters  every reviewer in the minority
              ◀── incidents            "this change caused that incident" (+ a chain event)

The first three are projections, written by `Store.record` in the decision's
own transaction and checked by `audit verify`; an incident row mirrors the
payload of the `incident.link` chain event written with it. store.py imports
this module, so the tables are on `METADATA` whenever the store is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from orchestrator.models import INERT_ACTIONS, Decision, Stance, Verdict
from orchestrator.store.tables import DECISION_ID, METADATA

INCIDENT_EVENT = "incident.link"
Projection = tuple[Table, list[dict[str, Any]]]
# Ties go to the stricter stance, as commander.minority_opinion breaks them.
_STANCE_SCORE: dict[Stance, float] = {"approve": 0.0, "concern": 0.5, "block": 1.0}
_MIN_WEIGHT = 1e-6
_INERT = frozenset(a.value for a in INERT_ACTIONS)  # plain strings: plans hold 10,000s of changes

# An address a decision's proposal changes: "which decisions touched X".
DECISION_RESOURCES = Table(
    "decision_resources",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("address", Text, primary_key=True),
    # Covering (address, decision_id): a lookup never visits the table. On PostgreSQL
    # migration 0003 adds text_pattern_ops (LIKE 'prefix%' uses the index whatever the
    # collation); it lives only there, since naming a postgresql_* option here would
    # import the PostgreSQL dialect into every SQLite review (~25 ms of start-up).
    Index("ix_decision_resources_address", "address", "decision_id"),
    # A 10,000-change plan writes 10,000 rows on the review path: on SQLite the
    # primary key is the table itself, one b-tree fewer to insert into.
    sqlite_with_rowid=False,
)

# A service a decision's blast radius reached.
DECISION_SERVICES = Table(
    "decision_services",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("service", String(200), primary_key=True, index=True),
)

# A reviewer whose stance stood apart from the weighted majority of a decision.
DECISION_DISSENTERS = Table(
    "decision_dissenters",
    METADATA,
    Column("decision_id", DECISION_ID, ForeignKey("decisions.decision_id"), primary_key=True),
    Column("reviewer", String(200), primary_key=True, index=True),
    Column("stance", String(20), nullable=False),
)

# A recorded finding that a decided change caused an incident.
INCIDENTS = Table(
    "incidents",
    METADATA,
    Column("incident_id", String(200), primary_key=True),
    Column(
        "decision_id",
        DECISION_ID,
        ForeignKey("decisions.decision_id"),
        primary_key=True,
        index=True,
    ),
    Column("linked_by", String(200)),
    Column("note", Text, nullable=False),
    Column("linked_at", DateTime, nullable=False),
    # The chain link that records this row; `audit verify` compares the two.
    Column("chain_seq", Integer, nullable=False, unique=True),
)


# The projection tables, in the order `audit_rows` returns them.
PROJECTIONS: tuple[Table, ...] = (DECISION_RESOURCES, DECISION_SERVICES, DECISION_DISSENTERS)


def changed_addresses(doc: dict[str, Any]) -> list[str]:
    """Every address a proposal document changes, moves or imports, sorted, once each."""
    found: set[str] = set()
    for change in doc["changes"]:
        moved = change.get("previous_address")
        if change["action"] in _INERT and not moved and not change.get("importing"):
            continue
        found.add(change["address"])
        if moved:
            found.add(moved)
    return sorted(found)


def dissenting(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts whose stance differs from the confidence-weighted majority."""
    voting = [v for v in verdicts if v.error is None]
    weight: dict[Stance, float] = {}
    for v in voting:
        weight[v.stance] = weight.get(v.stance, 0.0) + max(v.confidence, _MIN_WEIGHT)
    if len(weight) < 2:
        return []
    majority = max(weight, key=lambda s: (weight[s], _STANCE_SCORE[s]))
    return [v for v in voting if v.stance != majority]


def decision_resource_rows(decision_id: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The decision_resources rows of one decision, from its proposal's document."""
    return [{"decision_id": decision_id, "address": a} for a in changed_addresses(doc)]


def decision_service_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision_services rows of one decision."""
    services = sorted(set(decision.blast_radius.affected_services))
    return [{"decision_id": decision.decision_id, "service": s} for s in services]


def decision_dissenter_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision_dissenters rows of one decision (one per reviewer name)."""
    stances: dict[str, str] = {}
    for verdict in dissenting(decision.verdicts):
        stances.setdefault(verdict.reviewer, verdict.stance)
    return [
        {"decision_id": decision.decision_id, "reviewer": r, "stance": s}
        for r, s in sorted(stances.items())
    ]


def audit_rows(decision: Decision, doc: dict[str, Any]) -> tuple[Projection, ...]:
    """Every projection of this module for one decision: (table, rows) pairs."""
    return (
        (DECISION_RESOURCES, decision_resource_rows(decision.decision_id, doc)),
        (DECISION_SERVICES, decision_service_rows(decision)),
        (DECISION_DISSENTERS, decision_dissenter_rows(decision)),
    )
