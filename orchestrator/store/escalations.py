"""Escalations as the gate sees them: the models, reading them, opening and cancelling them.

An escalation opens in the same transaction as the escalated decision and is
bound to that proposal's digest. It ends approved-by-humans (every required
role signed), denied (any deny), cancelled (its actor was frozen, or a changed
plan was submitted for the same change) or expired (nobody finished signing
in time; computed from `expires_at` against the caller's clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, insert, select, update

from orchestrator.errors import AmbiguousDecisionId, DecisionNotFound
from orchestrator.models import Decision, Frozen, Proposal, Source
from orchestrator.store.gate_common import chain_event, iso, moment
from orchestrator.store.store import MIN_PREFIX, Store, ambiguous, matching_ids
from orchestrator.store.tables import DECISIONS
from orchestrator.store.tables_governance import ESCALATION_APPROVALS, ESCALATIONS

EscalationStatus = Literal["pending", "approved-by-humans", "denied", "expired", "cancelled"]
ESCALATION_STATUSES: tuple[EscalationStatus, ...] = (
    "pending",
    "approved-by-humans",
    "denied",
    "expired",
    "cancelled",
)


class Approval(Frozen):
    """One signature on an escalation: who, in which role, when, and what they said."""

    decision_id: str
    name: str
    role: str
    comment: str
    created_at: str


class Denial(Frozen):
    """The deny that ended an escalation."""

    decision_id: str
    name: str
    reason: str
    created_at: str


class Escalation(Frozen):
    """An escalated decision's sign-off: required roles, signatures, and how it ended."""

    decision_id: str
    status: EscalationStatus
    required_roles: tuple[str, ...]
    approvals: tuple[Approval, ...]
    denial: Denial | None
    actor: str
    submitter: str | None
    created_at: str
    expires_at: str
    closed_at: str | None
    reason: str | None  # why it was cancelled, denied or expired
    change_id: str
    proposal_digest: str
    risk_tier: str
    source: str  # the actor's kind as judged at review time: ai-agent, automation or human

    @property
    def missing_roles(self) -> tuple[str, ...]:
        """Required roles nobody has signed yet."""
        signed = {a.role for a in self.approvals}
        return tuple(r for r in self.required_roles if r not in signed)


def get_escalation(store: Store, decision_id: str, *, now: str | None = None) -> Escalation | None:
    """The escalation of exactly this decision, None when it was not escalated."""
    at = moment(now)
    with store.reading("read an escalation") as conn:
        found = load(conn, ESCALATIONS.c.decision_id == decision_id, at)
    return found[0] if found else None


def list_escalations(
    store: Store, *, status: EscalationStatus | None = None, now: str | None = None
) -> list[Escalation]:
    """Escalations, oldest first, optionally only those in one status at `now`."""
    at = moment(now)
    with store.reading("list escalations") as conn:
        return load(conn, status_filter(status, at), at)


def find_escalation(store: Store, ident: str, *, now: str | None = None) -> Escalation:
    """The escalation whose decision id is `ident`, or the only one starting or ending with it."""
    ident = ident.strip()
    at = moment(now)
    with store.reading("look up an escalation") as conn:
        exact = load(conn, ESCALATIONS.c.decision_id == ident, at)
        if exact:
            return exact[0]
        if len(ident) < MIN_PREFIX:
            raise DecisionNotFound(
                f"no escalation {ident!r}; give at least {MIN_PREFIX} characters of its id"
            )
        matches = matching_ids(conn, ESCALATIONS.c.decision_id, ident)
        if len(matches) > 1:
            raise AmbiguousDecisionId(ambiguous(ident, matches, "escalations"))
        if not matches:
            raise DecisionNotFound(_not_escalated(conn, ident))
        return load(conn, ESCALATIONS.c.decision_id == matches[0], at)[0]


def _not_escalated(conn: Connection, ident: str) -> str:
    """Why `ident` names no escalation: no such decision, or one that was not escalated."""
    ids = matching_ids(conn, DECISIONS.c.decision_id, ident, limit=1)
    if not ids:
        return f"no escalated decision id starts or ends with {ident!r}"
    outcome = conn.execute(
        select(DECISIONS.c.outcome).where(DECISIONS.c.decision_id == ids[0])
    ).scalar_one()
    return f"decision {ids[0]} was not escalated ({outcome}): nothing to sign"


def status_filter(status: EscalationStatus | None, at: datetime) -> ColumnElement[bool] | None:
    """The WHERE clause picking escalations in one status at `at` (expiry is computed)."""
    row = ESCALATIONS.c
    if status is None:
        return None
    if status == "pending":
        return and_(row.status == "pending", row.expires_at > at)
    if status == "expired":
        return and_(row.status == "pending", row.expires_at <= at)
    return row.status == status


def load(conn: Connection, where: ColumnElement[bool] | None, at: datetime) -> list[Escalation]:
    """Escalations matching `where` with their signatures, oldest first."""
    query = select(ESCALATIONS).order_by(ESCALATIONS.c.created_at, ESCALATIONS.c.decision_id)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).mappings().all()
    signatures: dict[str, list[Approval]] = {}
    ids = [r["decision_id"] for r in rows]
    for start in range(0, len(ids), 500):  # bounded IN lists
        for a in conn.execute(
            select(ESCALATION_APPROVALS)
            .where(ESCALATION_APPROVALS.c.decision_id.in_(ids[start : start + 500]))
            .order_by(ESCALATION_APPROVALS.c.created_at, ESCALATION_APPROVALS.c.role)
        ).mappings():
            signatures.setdefault(a["decision_id"], []).append(
                Approval(
                    decision_id=a["decision_id"],
                    name=a["name"],
                    role=a["role"],
                    comment=a["comment"],
                    created_at=iso(a["created_at"]) or "",
                )
            )
    return [_escalation(r, tuple(signatures.get(r["decision_id"], ())), at) for r in rows]


def _escalation(row: Any, approvals: tuple[Approval, ...], at: datetime) -> Escalation:
    status: EscalationStatus = row["status"]
    closed_at, reason = row["closed_at"], row["reason"]
    if status == "pending" and row["expires_at"] <= at:
        status, closed_at = "expired", row["expires_at"]
        reason = f"expired at {iso(closed_at)} before every required role signed"
    denial = None
    if status == "denied":
        denial = Denial(
            decision_id=row["decision_id"],
            name=row["closed_by"] or "",
            reason=row["reason"] or "",
            created_at=iso(row["closed_at"]) or "",
        )
    return Escalation(
        decision_id=row["decision_id"],
        status=status,
        required_roles=tuple(row["required_roles"]),
        approvals=approvals,
        denial=denial,
        actor=row["actor"],
        submitter=row["submitter"],
        created_at=iso(row["created_at"]) or "",
        expires_at=iso(row["expires_at"]) or "",
        closed_at=iso(closed_at),
        reason=reason,
        change_id=row["change_id"],
        proposal_digest=row["proposal_digest"],
        risk_tier=row["risk_tier"],
        source=row["source"],
    )


def open_escalation(
    conn: Connection,
    proposal: Proposal,
    decision: Decision,
    *,
    change_id: str,
    submitter: str | None,
    expires_at: datetime,
    kind: Source,
) -> None:
    """Open the sign-off of an escalated decision, in the decision's own transaction."""
    created = moment(decision.created_at)
    conn.execute(
        insert(ESCALATIONS),
        {
            "decision_id": decision.decision_id,
            "change_id": change_id,
            "proposal_digest": decision.proposal_digest,
            "actor": proposal.actor,
            "source": kind.value,
            "submitter": submitter,
            "risk_tier": decision.risk_tier.value,
            "required_roles": [r.role for r in decision.required_approvals],
            "status": "pending",
            "created_at": created,
            "expires_at": expires_at,
            "closed_at": None,
            "closed_by": None,
            "reason": None,
        },
    )


def open_query(where: ColumnElement[bool]) -> Select[Any]:
    """The ids of the escalations matching `where` that are open (pending, unexpired) at `:at`.

    A caller that runs one shape often builds it once, with its own bound
    parameters in `where` (gate/settle.py: every review runs it twice).
    """
    at = bindparam("at", type_=ESCALATIONS.c.expires_at.type)
    return (
        select(ESCALATIONS.c.decision_id)
        .where(and_(ESCALATIONS.c.status == "pending", ESCALATIONS.c.expires_at > at, where))
        .order_by(ESCALATIONS.c.created_at, ESCALATIONS.c.decision_id)
    )


def open_escalations(conn: Connection, where: ColumnElement[bool], *, at: datetime) -> list[str]:
    """The open (pending, unexpired) escalations matching `where`, oldest first."""
    ids: Sequence[str] = conn.execute(open_query(where), {"at": at}).scalars().all()
    return list(ids)


def cancel_open(
    conn: Connection, where: ColumnElement[bool], *, reason: str, by: str | None, at: datetime
) -> list[str]:
    """Cancel every open (pending, unexpired) escalation matching `where`; chain each."""
    ids = open_escalations(conn, where, at=at)
    if not ids:
        return []
    conn.execute(
        update(ESCALATIONS)
        .where(ESCALATIONS.c.decision_id.in_(ids))
        .values(status="cancelled", closed_at=at, closed_by=by, reason=reason)
    )
    for ident in ids:
        chain_event(
            conn,
            "escalation.cancelled",
            ref_id=ident,
            actor=by,
            payload={"decision_id": ident, "reason": reason},
            at=at,
        )
    return list(ids)
