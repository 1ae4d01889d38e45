"""A decision's gate timeline, read from the audit chain: what happened to it, in order.

Every step the gate took is a chain event (the gate's tables hold only the
current state): the submission, each signature with its role, a denial, a
cancellation (a freeze, or a newer plan for the same change), completion,
an incident link; and freezes or thaws of its actor while it waited. The
escalation adds what no event records: that it was escalated, and when it
expires or expired. Events are read on the (kind, ref_id) index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from orchestrator.guards import ALL_AI_AGENTS
from orchestrator.models import Decision, Proposal
from orchestrator.store import Store
from orchestrator.store.chain import iso_utc, parse_utc
from orchestrator.store.escalations import Escalation
from orchestrator.store.freezes import target_of
from orchestrator.store.gate_state import SUBMITTED_EVENT
from orchestrator.store.tables import AUDIT_CHAIN
from orchestrator.store.tables_audit import INCIDENT_EVENT

DECISION_EVENTS = (
    SUBMITTED_EVENT,
    "escalation.approval",
    "escalation.denied",
    "escalation.cancelled",
    "escalation.approved-by-humans",
    INCIDENT_EVENT,
)
FREEZE_EVENTS = ("actor.freeze", "actor.thaw")


@dataclass(frozen=True)
class Step:
    """One line of the timeline."""

    at: str
    what: str  # submitted, escalated, signed, denied, cancelled, approved, expired, …
    who: str | None
    detail: str
    seq: int | None = None  # its chain link, when it is one

    @property
    def css(self) -> str:
        """The class its marker is drawn with."""
        return self.what.split()[0]


def timeline(
    store: Store,
    decision: Decision,
    proposal: Proposal,
    escalation: Escalation | None,
    now: datetime,
) -> list[Step]:
    """The decision's gate timeline, oldest first."""
    decided = parse_utc(decision.created_at)
    ends = parse_utc(escalation.closed_at or escalation.expires_at) if escalation else decided
    targets = [target_of(proposal.actor), ALL_AI_AGENTS]
    chain = AUDIT_CHAIN.c
    query = (
        select(chain.seq, chain.kind, chain.actor, chain.payload, chain.created_at)
        .where(
            or_(
                and_(chain.kind.in_(DECISION_EVENTS), chain.ref_id == decision.decision_id),
                and_(
                    chain.kind.in_(FREEZE_EVENTS),
                    chain.ref_id.in_(targets),
                    chain.created_at >= decided,
                    chain.created_at <= max(ends, decided),
                ),
            )
        )
        .order_by(chain.seq)
    )
    with store.reading("read a decision's gate timeline") as conn:
        rows = conn.execute(query).all()
    steps = [_step(r.seq, r.kind, r.actor, r.payload or {}, iso_utc(r.created_at)) for r in rows]
    if not any(s.what == "submitted" for s in steps):
        steps.insert(0, Step(decision.created_at, "submitted", proposal.actor, "recorded"))
    steps.insert(1, Step(decision.created_at, f"decided {decision.outcome}", None, _why(decision)))
    if escalation is not None:
        roles = ", ".join(escalation.required_roles) or "none"
        steps.insert(
            2,
            Step(
                escalation.created_at,
                "escalated",
                None,
                f"needs {roles}; expires {escalation.expires_at[:19]}Z",
            ),
        )
        if escalation.status == "expired":
            steps.append(Step(escalation.expires_at, "expired", None, "nobody finished signing"))
        elif escalation.status == "pending" and parse_utc(escalation.expires_at) > now:
            missing = ", ".join(escalation.missing_roles)
            steps.append(Step(escalation.expires_at, "expires", None, f"still needs {missing}"))
    return sorted(steps, key=_order)


# At one moment a decision is submitted, decided and escalated, in that order.
_FIRST = {"submitted": 0, "decided": 1, "escalated": 2}


def _order(step: Step) -> tuple[datetime, int, int]:
    return parse_utc(step.at), _FIRST.get(step.css, 3), step.seq or 0


def _why(decision: Decision) -> str:
    return f"{decision.risk_tier.value} tier; policy {decision.policy_version}"


def _step(seq: int, kind: str, actor: str | None, p: dict[str, Any], at: str) -> Step:
    """One chain event as a timeline step."""
    if kind == SUBMITTED_EVENT:
        change = p.get("change_id") or "-"
        return Step(at, "submitted", p.get("submitter") or actor, f"change {change}", seq)
    if kind == "escalation.approval":
        comment = p.get("comment") or ""
        return Step(at, "signed", p.get("name"), f"as {p.get('role')} {comment}".strip(), seq)
    if kind == "escalation.denied":
        return Step(at, "denied", p.get("name"), str(p.get("reason") or ""), seq)
    if kind == "escalation.cancelled":
        reason = str(p.get("reason") or "")
        what = "superseded" if reason.startswith("superseded") else "cancelled"
        return Step(at, what, actor, reason, seq)
    if kind == "escalation.approved-by-humans":
        return Step(at, "approved by humans", actor, "every required role signed", seq)
    if kind == INCIDENT_EVENT:
        note = p.get("note") or ""
        return Step(
            at, "incident", p.get("linked_by") or actor, f"{p.get('incident_id')} {note}", seq
        )
    if kind == "actor.freeze":
        return Step(at, "freeze", p.get("frozen_by") or actor, _target(p, "reason"), seq)
    return Step(at, "thaw", p.get("thawed_by") or actor, _target(p, "reason"), seq)


def _target(p: dict[str, Any], key: str) -> str:
    target = p.get("target")
    whom = "every AI agent" if target == ALL_AI_AGENTS else str(target)
    return f"{whom}: {p.get(key) or ''}".rstrip(": ")
