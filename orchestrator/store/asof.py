"""What the store knew about an actor when a decision was made: for replays.

A replay must show reviewers and the commander the facts of the decision's
own time, not today's, so that only the policy differs: the actor's earlier
decisions (in `Store.history`'s order), the elevations then in force, and the
budget use counted before it. Each reader takes the decision's chain seq as
"before", which is exactly what was recorded when the decision was.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ScalarSelect, or_, select

from orchestrator.agents import Elevation
from orchestrator.models import Frozen
from orchestrator.reviewer import HistoryEntry
from orchestrator.store import chain
from orchestrator.store.gate_common import person_key
from orchestrator.store.store import Store, history_entries
from orchestrator.store.tables import ChainRow, DecisionRow, ProposalRow
from orchestrator.store.tables_governance import BudgetUsageRow, ElevationRow


class UsageEvent(Frozen):
    """One approved change counted against an actor's budgets."""

    counted_at: str  # ISO 8601 UTC
    deletes: int
    changed_resources: int
    blast_radius: int


def _own_seq(decision_id: str) -> ScalarSelect[int]:
    return (
        select(ChainRow.seq)
        .where(ChainRow.kind == chain.DECISION_KIND, ChainRow.ref_id == decision_id)
        .scalar_subquery()
    )


def history_before(
    store: Store, actor: str, decision_id: str, *, limit: int = 100
) -> tuple[HistoryEntry, ...]:
    """The actor's history as reviewers saw it when `decision_id` was reviewed."""
    query = (
        select(
            DecisionRow.decision_id,
            DecisionRow.outcome,
            DecisionRow.risk_tier,
            DecisionRow.created_at,
            ProposalRow.change_count,
            ProposalRow.destructive_count,
        )
        .join(ProposalRow, ProposalRow.digest == DecisionRow.proposal_digest)
        .join(ChainRow, ChainRow.ref_id == DecisionRow.decision_id)
        .where(ChainRow.kind == chain.DECISION_KIND, ChainRow.seq < _own_seq(decision_id))
        .where(ProposalRow.actor == actor)
        .order_by(DecisionRow.created_at.desc(), DecisionRow.decision_id.desc())
        .limit(limit)
    )
    with store.reading("read an actor's history") as conn:
        rows = conn.execute(query).all()
    return history_entries(rows)


def elevations_at(store: Store, actor: str, at: datetime) -> tuple[Elevation, ...]:
    """The grants in force for `actor` at `at` (naive UTC): granted, not expired, not revoked."""
    query = (
        select(ElevationRow)
        .where(ElevationRow.actor == actor.strip())
        .where(ElevationRow.granted_at <= at, ElevationRow.until > at)
        .where(or_(ElevationRow.revoked_at.is_(None), ElevationRow.revoked_at > at))
        .order_by(ElevationRow.granted_at, ElevationRow.elevation_id)
    )
    with store.reading("read an actor's elevations") as conn:
        rows = conn.execute(query).mappings().all()
    return tuple(
        Elevation(
            elevation_id=r["elevation_id"],
            actor=r["actor"],
            categories=tuple(r["categories"]),
            environments=tuple(r["environments"]),
            until=chain.iso_utc(r["until"]),
            granted_by=r["granted_by"],
            reason=r["reason"],
            granted_at=chain.iso_utc(r["granted_at"]),
        )
        for r in rows
    )


def usage_before(
    store: Store, actor: str, decision_id: str, at: datetime, lookback: timedelta
) -> tuple[UsageEvent, ...]:
    """Budget use of the actor counted in (at - lookback, at] for decisions chained before it."""
    query = (
        select(BudgetUsageRow)
        .join(ChainRow, ChainRow.ref_id == BudgetUsageRow.decision_id)
        .where(ChainRow.kind == chain.DECISION_KIND, ChainRow.seq < _own_seq(decision_id))
        .where(BudgetUsageRow.actor == person_key(actor))
        .where(BudgetUsageRow.counted_at > at - lookback, BudgetUsageRow.counted_at <= at)
        .order_by(BudgetUsageRow.counted_at)
    )
    with store.reading("read an actor's budget use") as conn:
        rows = conn.execute(query).mappings().all()
    return tuple(
        UsageEvent(
            counted_at=chain.iso_utc(r["counted_at"]),
            deletes=r["deletes"],
            changed_resources=r["changed_resources"],
            blast_radius=r["blast_radius"],
        )
        for r in rows
    )
