"""Where a decision stands at the gate now: passed, failed, or waiting for people.

One reading for every platform answer: a deployment protection rule, a run
task's result, the long-poll route. An approve passes; a reject fails; an
escalation passes once approved-by-humans, fails once denied, expired or
cancelled, and is pending until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from orchestrator.store import Store
from orchestrator.store.escalations import Escalation, get_escalation
from orchestrator.store.submissions import latest_submission
from orchestrator.store.tables import DECISIONS

State = Literal["passed", "failed", "pending"]


@dataclass(frozen=True)
class Standing:
    """A decision's outcome and what the gate made of it."""

    decision_id: str
    outcome: str
    state: State
    summary: str  # one line for a platform's answer
    escalation: Escalation | None = None

    @property
    def missing_roles(self) -> tuple[str, ...]:
        """Roles still to sign (empty unless pending)."""
        if self.escalation is None or self.state != "pending":
            return ()
        return self.escalation.missing_roles


def latest_decision(store: Store, change_id: str) -> str | None:
    """The decision of the change's latest submission, or None when nothing was submitted."""
    with store.reading(f"find the latest submission of {change_id}") as conn:
        found = latest_submission(conn, change_id)
    return None if found is None else str(found.decision_id)


def standing(store: Store, decision_id: str, *, now: str) -> Standing:
    """Where `decision_id` (a full id) stands at `now`."""
    with store.reading(f"read decision {decision_id}") as conn:
        outcome = conn.execute(
            select(DECISIONS.c.outcome).where(DECISIONS.c.decision_id == decision_id)
        ).scalar_one()
    short = decision_id[:13]
    if outcome == "approve":
        return Standing(decision_id, outcome, "passed", f"commander approved {short}")
    if outcome == "reject":
        return Standing(decision_id, outcome, "failed", f"commander rejected {short}")
    esc = get_escalation(store, decision_id, now=now)
    if esc is None:  # an escalation opens with its decision; fail closed if it is missing
        return Standing(decision_id, outcome, "failed", f"{short} escalated with no sign-off")
    if esc.status == "approved-by-humans":
        signers = ", ".join(f"{a.role}: {a.name}" for a in esc.approvals)
        return Standing(decision_id, outcome, "passed", f"{short} signed off ({signers})", esc)
    if esc.status == "pending":
        roles = ", ".join(esc.missing_roles) or "any approver"
        line = f"{short} escalated: waiting for sign-off by {roles}"
        return Standing(decision_id, outcome, "pending", line, esc)
    return Standing(decision_id, outcome, "failed", f"{short} {esc.status}: {esc.reason}", esc)
