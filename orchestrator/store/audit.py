"""Audit queries: find decisions by actor, resource, service, outcome, tier, dissent, time.

The web view (orchestrator/service/ui) adds source, environment, gate state
and a keyset cursor (`older_than`: the last row of the previous page), so a
page deep in a long record costs what the first one does.

Every filter is answered from an index: the actor from proposals, outcome, tier
and time from decisions, and resource addresses, services and dissenters from
the projection tables of tables_audit.py. An address glob (`*` any run of
characters, `?` one character, everything else literal, as in topology `owns`)
becomes GLOB on SQLite and LIKE on PostgreSQL, both case-sensitive, so its
literal prefix narrows an index range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    SQLColumnExpression,
    String,
    and_,
    exists,
    func,
    or_,
    select,
    type_coerce,
)

from orchestrator.models import Frozen, Outcome, RiskTier, Source
from orchestrator.store.escalations import EscalationStatus, status_filter
from orchestrator.store.store import SUMMARY_COLUMNS, DecisionSummary, Store, summary_of
from orchestrator.store.tables import DECISIONS, PROPOSALS
from orchestrator.store.tables_audit import (
    DECISION_DISSENTERS,
    DECISION_RESOURCES,
    DECISION_SERVICES,
)
from orchestrator.store.tables_governance import ESCALATIONS

DEFAULT_LIMIT = 100
# Up to this many proposals an actor's own index beats walking every decision by time.
ACTOR_INDEX_MAX = 5_000
_WILDCARDS = frozenset("*?")
_JOIN = PROPOSALS.c.digest == DECISIONS.c.proposal_digest


class AuditFilter(Frozen):
    """What `commander audit query` asks for; every given filter must hold."""

    actor: str | None = None
    resource: str | None = None  # an address or an address glob
    service: str | None = None
    outcome: Outcome | None = None
    tier: RiskTier | None = None
    dissenter: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive
    limit: int = Field(default=DEFAULT_LIMIT, ge=1)
    source: Source | None = None
    environment: str | None = None  # the environment class: production, staging, …
    gate_state: EscalationStatus | None = None  # escalated decisions in this state at `now`
    now: datetime | None = None  # naive UTC: when "pending" ends and "expired" begins
    # Keyset paging: only decisions older than this (created_at, decision_id).
    older_than: tuple[datetime, str] | None = None


def query_decisions(store: Store, wanted: AuditFilter) -> list[DecisionSummary]:
    """The decisions matching every filter, newest first, at most `wanted.limit`."""
    with store.reading("query the audit record") as conn:
        rows = conn.execute(build_query(conn, wanted)).mappings().all()
    return [summary_of(r) for r in rows]


def build_query(conn: Connection, wanted: AuditFilter) -> Select[*tuple[Any, ...]]:
    """The SELECT behind `query_decisions`, for this connection's dialect."""
    query: Select[*tuple[Any, ...]] = (
        select(*SUMMARY_COLUMNS)
        .join(PROPOSALS, _JOIN)
        .order_by(DECISIONS.c.created_at.desc(), DECISIONS.c.decision_id.desc())
        .limit(wanted.limit)
    )
    # SQLite keeps no statistics, so the plan is chosen here: walk decisions newest
    # first and stop at the limit. An address (selective by nature) and an actor with
    # few proposals drive the search from their own index instead; a busy actor, a
    # tier or an outcome matches a large share of decisions, and fetching and sorting
    # all of them costs more than the walk. PostgreSQL's planner has statistics.
    plain = conn.dialect.name != "sqlite"
    if wanted.actor is not None:
        few = select(func.count()).where(PROPOSALS.c.actor == wanted.actor)
        by_index = plain or (conn.execute(few).scalar() or 0) <= ACTOR_INDEX_MAX
        actor = PROPOSALS.c.actor if by_index else _unindexed(PROPOSALS.c.actor)
        query = query.where(actor == wanted.actor)
    if wanted.outcome is not None:
        outcome = DECISIONS.c.outcome if plain else _unindexed(DECISIONS.c.outcome)
        query = query.where(outcome == wanted.outcome)
    if wanted.tier is not None:
        tier = DECISIONS.c.risk_tier if plain else _unindexed(DECISIONS.c.risk_tier)
        query = query.where(tier == wanted.tier.value)
    if wanted.since is not None:
        query = query.where(DECISIONS.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(DECISIONS.c.created_at < wanted.until)
    if wanted.older_than is not None:
        at, ident = wanted.older_than
        query = query.where(
            or_(
                DECISIONS.c.created_at < at,
                and_(DECISIONS.c.created_at == at, DECISIONS.c.decision_id < ident),
            )
        )
    query = _gate_filters(conn, query, wanted)
    if wanted.resource is not None and wanted.resource.strip("*"):
        matches = address_matches(conn.dialect.name, wanted.resource)
        ids = select(DECISION_RESOURCES.c.decision_id).where(matches)
        query = query.where(DECISIONS.c.decision_id.in_(ids))
    if wanted.service is not None:
        query = query.where(
            exists().where(
                DECISION_SERVICES.c.decision_id == DECISIONS.c.decision_id,
                DECISION_SERVICES.c.service == wanted.service,
            )
        )
    if wanted.dissenter is not None:
        query = query.where(
            exists().where(
                DECISION_DISSENTERS.c.decision_id == DECISIONS.c.decision_id,
                DECISION_DISSENTERS.c.reviewer == wanted.dissenter,
            )
        )
    return query


def _gate_filters(
    conn: Connection, query: Select[*tuple[Any, ...]], wanted: AuditFilter
) -> Select[*tuple[Any, ...]]:
    """Source and environment, read on the walk; the gate state, from the escalations' index.

    Pending escalations are few by nature (they expire within hours), so on
    SQLite their ids drive the search and the few decisions are sorted; so do
    those of a rare ending. A common ending (most expire) is met soon on the
    walk newest first.
    """
    if wanted.source is not None:
        query = query.where(PROPOSALS.c.source == wanted.source.value)
    if wanted.environment is not None:
        query = query.where(PROPOSALS.c.environment == wanted.environment)
    at = wanted.now or datetime.now(UTC).replace(tzinfo=None)
    state = status_filter(wanted.gate_state, at)
    if state is None:
        return query
    ids = select(ESCALATIONS.c.decision_id).where(state)
    if conn.dialect.name != "sqlite":
        return query.where(DECISIONS.c.decision_id.in_(ids))
    few = wanted.gate_state == "pending"
    if wanted.gate_state != "expired" and not few:
        ending = select(func.count()).where(ESCALATIONS.c.status == wanted.gate_state)
        few = (conn.execute(ending).scalar() or 0) <= ACTOR_INDEX_MAX
    if not few:
        return query.where(
            exists().where(ESCALATIONS.c.decision_id == DECISIONS.c.decision_id, state)
        )
    # Sorted after the lookups: an ORDER BY no index serves keeps the planner off the walk.
    return (
        query.where(DECISIONS.c.decision_id.in_(ids))
        .order_by(None)
        .order_by(
            _unindexed(type_coerce(DECISIONS.c.created_at, String)).desc(),
            DECISIONS.c.decision_id.desc(),
        )
    )


def _unindexed(column: SQLColumnExpression[str]) -> ColumnElement[str]:
    """The column in an expression no index serves: `column || ''`."""
    return column.concat("")


def address_matches(dialect: str, pattern: str) -> ColumnElement[bool]:
    """The condition "address matches this glob", using the address index."""
    column = DECISION_RESOURCES.c.address
    if not _WILDCARDS & set(pattern):
        return column == pattern
    if dialect == "sqlite":
        # GLOB: * and ? as ours; a bracket opens a class there, so "[[]" is a literal one.
        return column.op("GLOB")(pattern.replace("[", "[[]"))
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped.replace("*", "%").replace("?", "_"), escape="\\")


def decision_ids(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> list[str]:
    """The ids of every decision recorded in [since, until), oldest first."""
    query = select(DECISIONS.c.decision_id).order_by(
        DECISIONS.c.created_at, DECISIONS.c.decision_id
    )
    if since is not None:
        query = query.where(DECISIONS.c.created_at >= since)
    if until is not None:
        query = query.where(DECISIONS.c.created_at < until)
    with store.reading("list decisions in a window") as conn:
        return list(conn.execute(query).scalars())
