"""Submissions: which change each decision submits, and the gate's side of recording it.

`record_submission` runs in the decision's own transaction, right after its
chain link, and chains one `change.submitted` event holding everything the
gate writes for the decision: the submission row, and the open escalation
(escalate) or the budget use (approve). The latest submission of a change is
the last one recorded: the highest chain seq, whatever the decisions' times.

Whoever sends the same content for the same change again is handed the
decision already made (gate/idempotency.py), and is a submitter of it all the
same: `note_resubmission` chains a `change.resubmitted` event naming them (no
gate table changes), and `submitters_of` reads the submission rows and those
events, so separation of duties follows the content, not the first request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select

from orchestrator import identity
from orchestrator.guards import ChangeFigures
from orchestrator.models import Decision, Proposal, Source
from orchestrator.store import chain
from orchestrator.store.budgets import count_usage
from orchestrator.store.escalations import open_escalation
from orchestrator.store.gate_common import chain_event, iso, lock_writers
from orchestrator.store.gate_state import SUBMITTED_EVENT
from orchestrator.store.store import Store
from orchestrator.store.tables import AUDIT_CHAIN
from orchestrator.store.tables_governance import CHANGE_SUBMISSIONS

RESUBMITTED_EVENT = "change.resubmitted"


# Built once (every submission reads it twice): see budgets._WINDOW_SUMS.
_LATEST = (
    select(CHANGE_SUBMISSIONS.c.decision_id, CHANGE_SUBMISSIONS.c.proposal_digest)
    .where(CHANGE_SUBMISSIONS.c.change_id == bindparam("change_id"))
    .order_by(CHANGE_SUBMISSIONS.c.chain_seq.desc())
    .limit(1)
)


def latest_submission(conn: Connection, change_id: str) -> Row[Any, Any] | None:
    """The change's last recorded submission (decision_id, proposal_digest): it may pass."""
    return conn.execute(_LATEST, {"change_id": change_id}).first()


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


def submitters_of(conn: Connection, change_id: str, proposal_digest: str) -> list[str]:
    """Everyone who submitted this content for this change: recorded or handed a replay."""
    rows = CHANGE_SUBMISSIONS.c
    found = conn.execute(
        select(rows.decision_id, rows.submitter).where(
            rows.change_id == change_id, rows.proposal_digest == proposal_digest
        )
    ).all()
    replays = conn.execute(
        select(AUDIT_CHAIN.c.actor).where(
            AUDIT_CHAIN.c.kind == RESUBMITTED_EVENT,
            AUDIT_CHAIN.c.ref_id.in_([r.decision_id for r in found]),
        )
    ).scalars()
    return [r.submitter for r in found if r.submitter] + [a for a in replays if a]


def note_resubmission(
    store: Store,
    *,
    decision_id: str,
    change_id: str,
    proposal_digest: str,
    submitter: str,
    at: datetime,
) -> bool:
    """Chain that `submitter` sent this content again and was handed `decision_id`.

    Nothing is chained when they are already one of its submitters (a CI
    retry); returns whether an event was chained.
    """
    with store.writing(f"note a resubmission of {decision_id}") as conn:
        lock_writers(conn)
        known = submitters_of(conn, change_id, proposal_digest)
        if any(identity.same(submitter, name) for name in known):
            return False
        chain_event(
            conn,
            RESUBMITTED_EVENT,
            ref_id=decision_id,
            actor=submitter,
            payload={
                "decision_id": decision_id,
                "change_id": change_id,
                "proposal_digest": proposal_digest,
                "submitter": submitter,
            },
            at=at,
        )
    return True
