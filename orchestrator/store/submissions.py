"""Submissions: which change each decision submits, and the gate's side of recording it.

`record_submission` runs in the decision's own transaction, right after its
chain link, and chains one `change.submitted` event holding everything the
gate writes for the decision: the submission row, and the open escalation
(escalate) or the budget use (approve). The latest submission of a change is
the last one recorded: the highest chain seq, whatever the decisions' times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from orchestrator.guards import ChangeFigures
from orchestrator.models import Decision, Proposal, Source
from orchestrator.store import chain
from orchestrator.store.budgets import count_usage
from orchestrator.store.escalations import open_escalation
from orchestrator.store.gate_common import chain_event, iso
from orchestrator.store.gate_state import SUBMITTED_EVENT
from orchestrator.store.tables_governance import CHANGE_SUBMISSIONS


def latest_submission(conn: Connection, change_id: str) -> Row[Any, Any] | None:
    """The change's last recorded submission (decision_id, proposal_digest): it may pass."""
    rows = CHANGE_SUBMISSIONS.c
    return conn.execute(
        select(rows.decision_id, rows.proposal_digest)
        .where(rows.change_id == change_id)
        .order_by(rows.chain_seq.desc())
        .limit(1)
    ).first()


def record_submission(
    conn: Connection,
    proposal: Proposal,
    decision: Decision,
    *,
    change_id: str,
    submitter: str | None,
    kind: Source,
    expiry: timedelta,
    figures: ChangeFigures,
) -> None:
    """Chain `change.submitted` for a just-chained decision and write what it says."""
    ident = decision.decision_id
    at = chain.parse_utc(decision.created_at)
    escalate, approve = decision.outcome == "escalate", decision.outcome == "approve"
    expires_at = at + expiry
    entry = chain_event(
        conn,
        SUBMITTED_EVENT,
        ref_id=ident,
        actor=submitter,
        payload={
            "decision_id": ident,
            "change_id": change_id,
            "submitter": submitter,
            "source": kind.value,
            "expires_at": iso(expires_at) if escalate else None,
            "usage": figures.usage() if approve else None,
        },
        at=at,
    )
    conn.execute(
        insert(CHANGE_SUBMISSIONS),
        {
            "decision_id": ident,
            "change_id": change_id,
            "proposal_digest": decision.proposal_digest,
            "submitter": submitter,
            "created_at": at,
            "chain_seq": entry.seq,
        },
    )
    if escalate:
        open_escalation(
            conn,
            proposal,
            decision,
            change_id=change_id,
            submitter=submitter,
            expires_at=expires_at,
            kind=kind,
        )
    elif approve:
        count_usage(conn, ident, proposal.actor, figures, at=at)
