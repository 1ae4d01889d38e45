"""Sign off or deny an escalation, under the separation-of-duties rules.

Each call is one write transaction holding the writers' lock, so two people
racing for the last role are served in turn: the first completes the
escalation, the second finds it closed and is refused. Every signature, the
completion and a denial are chained in that same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Connection, insert, select, update

from orchestrator import identity
from orchestrator.errors import Refused
from orchestrator.guards import ChangeFigures
from orchestrator.models import Frozen, Source
from orchestrator.store.budgets import count_usage
from orchestrator.store.escalations import Approval, Escalation, find_escalation, load
from orchestrator.store.freezes import active_freeze
from orchestrator.store.gate_common import (
    Identities,
    chain_event,
    lock_writers,
    moment,
    named,
    person,
    person_key,
)
from orchestrator.store.store import Store
from orchestrator.store.submissions import latest_submission, submitters_of
from orchestrator.store.tables import DECISIONS, PROPOSALS
from orchestrator.store.tables_governance import (
    ESCALATION_APPROVALS,
    ESCALATIONS,
)


class ApprovalResult(Frozen):
    """The escalation after one signature, and whether that signature completed it."""

    escalation: Escalation
    approval: Approval
    completed: bool


def approve(
    store: Store,
    ident: str,
    *,
    name: str,
    role: str,
    comment: str = "",
    identities: Identities,
    now: str,
) -> ApprovalResult:
    """Sign an escalation as `name` in `role`; complete it when every role is signed."""
    name, role = person(name, "--as"), named(role, "--role")
    at = moment(now)
    decision_id = find_escalation(store, ident, now=now).decision_id
    with store.writing(f"approve {decision_id}") as conn:
        lock_writers(conn)
        esc = _open(conn, decision_id, at, "approved")
        role = _required_role(esc, role)
        _check_signer(esc, name, role, identities)
        _check_not_a_submitter(conn, esc, name)
        _check_latest(conn, esc)
        _check_not_frozen(conn, esc, identities)
        conn.execute(
            insert(ESCALATION_APPROVALS),
            {
                "decision_id": decision_id,
                "role": role,
                "name": name,
                "name_key": person_key(name),
                "comment": comment,
                "created_at": at,
            },
        )
        payload: dict[str, JsonValue] = {
            "decision_id": decision_id,
            "proposal_digest": esc.proposal_digest,
        }
        chain_event(
            conn,
            "escalation.approval",
            ref_id=decision_id,
            actor=name,
            payload=payload | {"name": name, "role": role, "comment": comment},
            at=at,
        )
        after = load(conn, ESCALATIONS.c.decision_id == decision_id, at)[0]
        completed = not after.missing_roles
        if completed:
            _complete(conn, after, name, at)
            after = load(conn, ESCALATIONS.c.decision_id == decision_id, at)[0]
    signed = next(a for a in after.approvals if a.role == role)
    return ApprovalResult(escalation=after, approval=signed, completed=completed)


def deny(
    store: Store,
    ident: str,
    *,
    name: str,
    reason: str,
    identities: Identities,
    now: str,
) -> Escalation:
    """End an escalation with a deny: nobody can approve it afterwards."""
    name, reason = person(name, "--as"), named(reason, "--reason")
    at = moment(now)
    decision_id = find_escalation(store, ident, now=now).decision_id
    with store.writing(f"deny {decision_id}") as conn:
        lock_writers(conn)
        esc = _open(conn, decision_id, at, "denied")
        identities.refuse_machine(name, "deny nothing")
        allowed = identities.roles_of(name)
        if allowed == ():
            raise Refused(f"{name} is not an approver in gate.approvers, so cannot deny")
        if allowed is not None and not may_deny(allowed, esc.required_roles):
            raise Refused(
                f"{name} signs none of the roles {decision_id[:13]} needs "
                f"({', '.join(esc.required_roles)}); only those who may sign it may deny it"
            )
        conn.execute(
            update(ESCALATIONS)
            .where(ESCALATIONS.c.decision_id == decision_id)
            .values(status="denied", closed_at=at, closed_by=name, reason=reason)
        )
        chain_event(
            conn,
            "escalation.denied",
            ref_id=decision_id,
            actor=name,
            payload={
                "decision_id": decision_id,
                "proposal_digest": esc.proposal_digest,
                "name": name,
                "reason": reason,
            },
            at=at,
        )
        return load(conn, ESCALATIONS.c.decision_id == decision_id, at)[0]


def may_deny(holds: tuple[str, ...], required: tuple[str, ...]) -> bool:
    """Whether someone signing in `holds` may deny an escalation needing `required`.

    A denial is final, so it takes as much as a signature: one of the required
    roles (any gate role when the tier asks for "any approver").
    """
    if not required:
        return bool(holds)
    return bool({r.casefold() for r in holds} & {r.casefold() for r in required})


def _open(conn: Connection, decision_id: str, at: datetime, doing: str) -> Escalation:
    esc = load(conn, ESCALATIONS.c.decision_id == decision_id, at)[0]
    if esc.status == "pending":
        return esc
    short = decision_id[:13]
    if esc.status == "approved-by-humans":
        signers = ", ".join(f"{a.role}: {a.name}" for a in esc.approvals)
        raise Refused(f"{short} is already approved-by-humans ({signers}) at {esc.closed_at}")
    if esc.status == "denied" and esc.denial is not None:
        raise Refused(f"{short} was denied by {esc.denial.name}: {esc.denial.reason}")
    if esc.status == "expired":
        raise Refused(f"{short} expired at {esc.expires_at}; it can no longer be {doing}")
    raise Refused(f"{short} was cancelled: {esc.reason}")


def _required_role(esc: Escalation, role: str) -> str:
    """The required role `role` names (case aside); a role nobody asked for is refused."""
    wanted = role.casefold()
    for required in esc.required_roles:
        if required.casefold() == wanted:
            return required
    if not esc.required_roles and wanted:
        # A tier that asks for "any approver": one signature in any role completes it.
        return role
    raise Refused(f"role {role!r} is not required here; required: {', '.join(esc.required_roles)}")


def _check_signer(esc: Escalation, name: str, role: str, identities: Identities) -> None:
    """Separation of duties: not the actor, not the submitter, no machine, one role each.

    Names are compared by identity: a look-alike of the actor is the actor.
    """
    key = identity.key(name)
    if key == identity.key(esc.actor):
        raise Refused(f"{name} proposed this change; nobody approves their own change")
    if esc.submitter is not None and key == identity.key(esc.submitter):
        raise Refused(f"{name} submitted this change; nobody approves their own submission")
    identities.refuse_machine(name, "approve nothing")
    allowed = identities.roles_of(name)
    if allowed is not None and role.casefold() not in {r.casefold() for r in allowed}:
        listed = ", ".join(allowed) or "no role"
        raise Refused(f"{name} may not sign as {role} (gate.approvers lists {listed})")
    for signed in esc.approvals:
        if signed.role == role:
            raise Refused(f"{role} is already signed by {signed.name}")
        if identity.key(signed.name) == key:
            raise Refused(
                f"{name} already signed as {signed.role}; one person counts for one role only"
            )


def _check_not_a_submitter(conn: Connection, esc: Escalation, name: str) -> None:
    """Whoever submitted this content for this change, first or again, cannot approve it."""
    for submitter in submitters_of(conn, esc.change_id, esc.proposal_digest):
        if identity.same(name, submitter):
            raise Refused(
                f"{name} submitted this content for change {esc.change_id!r}; "
                "nobody approves their own submission"
            )


def _check_latest(conn: Connection, esc: Escalation) -> None:
    """Refuse a stale plan: the change's latest submission must be this very content."""
    latest = latest_submission(conn, esc.change_id)
    if latest is not None and latest.proposal_digest != esc.proposal_digest:
        raise Refused(
            f"stale plan: change {esc.change_id!r} was re-submitted with different content "
            f"(decision {latest.decision_id}, {latest.proposal_digest[:19]}…); "
            "approve that submission instead"
        )


def _check_not_frozen(conn: Connection, esc: Escalation, identities: Identities) -> None:
    ai_agent = Source.AI_AGENT in (esc.source, identities.kind_of(esc.actor))
    freeze = active_freeze(conn, esc.actor, ai_agent=ai_agent)
    if freeze is not None:
        raise Refused(
            f"{esc.actor} is frozen (by {freeze.frozen_by}: {freeze.reason}); "
            "its changes cannot be approved"
        )


def _complete(conn: Connection, esc: Escalation, name: str, at: datetime) -> None:
    """Close as approved-by-humans, count the change against budgets, chain the outcome."""
    conn.execute(
        update(ESCALATIONS)
        .where(ESCALATIONS.c.decision_id == esc.decision_id)
        .values(status="approved-by-humans", closed_at=at, closed_by=name)
    )
    row = conn.execute(
        select(DECISIONS.c.decision_json, PROPOSALS.c.change_count, PROPOSALS.c.destructive_count)
        .join(PROPOSALS, PROPOSALS.c.digest == DECISIONS.c.proposal_digest)
        .where(DECISIONS.c.decision_id == esc.decision_id)
    ).one()
    score = int(json.loads(row.decision_json).get("blast_radius", {}).get("score", 0))
    figures = ChangeFigures(
        deletes=row.destructive_count, changed_resources=row.change_count, blast_radius=score
    )
    count_usage(conn, esc.decision_id, esc.actor, figures, at=at)
    chain_event(
        conn,
        "escalation.approved-by-humans",
        ref_id=esc.decision_id,
        actor=name,
        payload={
            "decision_id": esc.decision_id,
            "proposal_digest": esc.proposal_digest,
            "approvals": [
                {"name": a.name, "role": a.role, "comment": a.comment, "at": a.created_at}
                for a in esc.approvals
            ],
            "usage": figures.usage(),
        },
        at=at,
    )
