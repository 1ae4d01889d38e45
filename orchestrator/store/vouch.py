"""One escalation, checked against its own chain events before anyone relies on it.

`commander trailer` and `verify-commit` print or accept "approved-by-humans"
from the escalations table. A full `audit verify` is too slow to run for
every commit, so this replays just the decision's own events (its link,
change.submitted, signatures, denial, cancellation, completion, and the
upgrade's gate.adopted event for an escalation older than it) and refuses an
escalation whose row or signatures say anything else. Each event's own
digest and hash are checked; that the chain around them is whole is `audit
verify`'s to prove.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, or_, select

from orchestrator.errors import StoreError
from orchestrator.models import Decision
from orchestrator.store import chain
from orchestrator.store.escalations import Escalation, load
from orchestrator.store.gate_common import moment
from orchestrator.store.gate_state import (
    ADOPTED_EVENT,
    SUBMITTED_EVENT,
    Disagreement,
    GateState,
    LinkedDecision,
)
from orchestrator.store.store import Store
from orchestrator.store.tables import AUDIT_CHAIN, DECISIONS, PROPOSALS
from orchestrator.store.tables_governance import ESCALATION_APPROVALS, ESCALATIONS

_OWN_KINDS = (
    chain.DECISION_KIND,
    SUBMITTED_EVENT,
    "escalation.approval",
    "escalation.denied",
    "escalation.cancelled",
    "escalation.approved-by-humans",
)


def vouched_escalation(store: Store, decision_id: str, *, now: str | None = None) -> Escalation:
    """The decision's escalation, once its row and signatures agree with its chain events."""
    with store.reading("check an escalation against the chain") as conn:
        found = load(conn, ESCALATIONS.c.decision_id == decision_id, moment(now))
        if not found:
            raise StoreError(
                f"decision {decision_id} escalated, but its escalation row is missing: "
                "run `commander audit verify`"
            )
        try:
            _replay(conn, decision_id)
        except Disagreement as broken:
            raise StoreError(
                f"escalation {decision_id} does not match the audit chain ({broken.problem}): "
                "run `commander audit verify`"
            ) from None
    return found[0]


def _replay(conn: Connection, decision_id: str) -> None:
    links = _links(conn, decision_id)
    adopted = None
    if not any(link["kind"] == SUBMITTED_EVENT for link in links):
        adopted = (
            conn.execute(select(AUDIT_CHAIN).where(AUDIT_CHAIN.c.kind == ADOPTED_EVENT))
            .mappings()
            .first()
        )
        if adopted is None:
            raise Disagreement(None, decision_id, "no change.submitted event opened it")
        links = sorted([*links, adopted], key=lambda link: link["seq"])
    state = GateState(adopted_seq=None if adopted is None else adopted["seq"])
    for link in links:
        _check_own_hash(link)
        if link["kind"] == chain.DECISION_KIND:
            state.decision(_linked(conn, link))
        else:
            state.event(link)
    expected = state.rows
    stored = {
        ESCALATIONS.name: _rows(conn, ESCALATIONS, decision_id),
        ESCALATION_APPROVALS.name: _rows(conn, ESCALATION_APPROVALS, decision_id),
    }
    for name, rows in stored.items():
        want = {
            k: r.values for k, r in expected[name].items() if r.values["decision_id"] == decision_id
        }
        if rows != want:
            raise Disagreement(None, decision_id, f"its {name} rows differ from its events")


def _links(conn: Connection, decision_id: str) -> list[RowMapping]:
    query = (
        select(AUDIT_CHAIN)
        .where(
            AUDIT_CHAIN.c.ref_id == decision_id, or_(*(AUDIT_CHAIN.c.kind == k for k in _OWN_KINDS))
        )
        .order_by(AUDIT_CHAIN.c.seq)
    )
    return list(conn.execute(query).mappings())


def _check_own_hash(link: RowMapping) -> None:
    seq, ref = link["seq"], link["ref_id"]
    if (
        chain.entry_hash(seq, link["kind"], ref, link["payload_digest"], link["prev_hash"])
        != link["hash"]
    ):
        raise Disagreement(seq, ref, f"chain row {seq} does not match its hash")
    if link["kind"] != chain.DECISION_KIND and (
        chain.event_digest(link["actor"], link["created_at"], link["payload"])
        != link["payload_digest"]
    ):
        raise Disagreement(seq, ref, f"event {seq} does not match its digest")


def _linked(conn: Connection, link: RowMapping) -> LinkedDecision:
    row = conn.execute(
        select(DECISIONS.c.decision_json, DECISIONS.c.created_at, PROPOSALS.c.actor)
        .join(PROPOSALS, PROPOSALS.c.digest == DECISIONS.c.proposal_digest)
        .where(DECISIONS.c.decision_id == link["ref_id"])
    ).one()
    decision = Decision.model_validate_json(row.decision_json)
    digest = chain.sha256_hex(row.decision_json)
    payload = link["payload"]
    if payload is not None:
        digest = chain.decision_digest(digest, payload.get("raw"))
    if digest != link["payload_digest"]:
        raise Disagreement(link["seq"], link["ref_id"], "its decision does not match its link")
    return LinkedDecision(
        seq=link["seq"],
        decision_id=decision.decision_id,
        proposal_digest=decision.proposal_digest,
        actor=row.actor,
        outcome=decision.outcome,
        risk_tier=decision.risk_tier.value,
        required_roles=tuple(r.role for r in decision.required_approvals),
        created_at=row.created_at,
    )


def _rows(conn: Connection, table: Any, decision_id: str) -> dict[str, dict[str, Any]]:
    names = table.c.keys()
    found = conn.execute(select(table).where(table.c.decision_id == decision_id)).all()
    keys = [c.name for c in table.primary_key.columns]
    rows = [dict(zip(names, values, strict=True)) for values in found]
    return {"/".join(str(r[k]) for k in keys): r for r in rows}
