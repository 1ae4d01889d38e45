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
from orchestrator.store.gate_common import stored_as
from orchestrator.store.store import Store, history_entries, history_query
from orchestrator.store.tables import AUDIT_CHAIN
from orchestrator.store.tables_governance import BUDGET_USAGE, ELEVATIONS


class UsageEvent(Frozen):
    """One approved change counted against an actor's budgets."""

    counted_at: str  # ISO 8601 UTC
    deletes: int
    changed_resources: int
    blast_radius: int


def _own_seq(decision_id: str) -> ScalarSelect[int]:
    return (
        select(AUDIT_CHAIN.c.seq)
        .where(AUDIT_CHAIN.c.kind == chain.DECISION_KIND, AUDIT_CHAIN.c.ref_id == decision_id)
        .scalar_subquery()
    )


def history_before(
    store: Store, actor: str, decision_id: str, *, limit: int = 100
) -> tuple[HistoryEntry, ...]:
    """The actor's history as reviewers saw it when `decision_id` was reviewed."""
    query = history_query(actor).where(AUDIT_CHAIN.c.seq < _own_seq(decision_id)).limit(limit)
    with store.reading("read an actor's history") as conn:
        rows = conn.execute(query).all()
    return history_entries(rows)


def elevations_at(store: Store, actor: str, at: datetime) -> tuple[Elevation, ...]:
    """The grants in force for `actor` at `at` (naive UTC): granted, not expired, not revoked."""
    query = (
        select(ELEVATIONS)
        .where(ELEVATIONS.c.actor == actor.strip())
        .where(ELEVATIONS.c.granted_at <= at, ELEVATIONS.c.until > at)
        .where(or_(ELEVATIONS.c.revoked_at.is_(None), ELEVATIONS.c.revoked_at > at))
        .order_by(ELEVATIONS.c.granted_at, ELEVATIONS.c.elevation_id)
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
        select(BUDGET_USAGE)
        .join(AUDIT_CHAIN, AUDIT_CHAIN.c.ref_id == BUDGET_USAGE.c.decision_id)
        .where(AUDIT_CHAIN.c.kind == chain.DECISION_KIND, AUDIT_CHAIN.c.seq < _own_seq(decision_id))
        .where(BUDGET_USAGE.c.counted_at > at - lookback, BUDGET_USAGE.c.counted_at <= at)
        .order_by(BUDGET_USAGE.c.counted_at)
    )
    with store.reading("read an actor's budget use") as conn:
        keys = stored_as(conn, BUDGET_USAGE.c.actor, actor)
        rows = conn.execute(query.where(BUDGET_USAGE.c.actor.in_(keys))).mappings().all()
    return tuple(
        UsageEvent(
            counted_at=chain.iso_utc(r["counted_at"]),
            deletes=r["deletes"],
            changed_resources=r["changed_resources"],
            blast_radius=r["blast_radius"],
        )
        for r in rows
    )
