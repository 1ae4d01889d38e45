"""Idempotent submission: the same change with the same content gets the same decision.

A CI job that retries after a timeout, or two runners of one pipeline, send
the same plan for the same change twice. Judging it again would open a
second escalation and count the change twice against the actor's budget, so
the service hands back the decision already made — as long as it still
stands for that submission:

- it is the latest submission of the change (a different plan submitted
  since makes the old one a new submission again);
- it was made under the policy in force (a new policy judges anew);
- it was not rejected by the gate's state rather than by the plan — the
  actor frozen, a budget spent — since a thaw or a new window must let the
  same plan be judged; and its escalation, if any, has not expired or been
  cancelled (those end without a human answer; a denial stands).

The gate session checks `reusable_decision` before reviewing, to skip the
work, and again in the recording transaction under the writers' lock
(`claim`, from settle.py), so two identical submissions racing each other
record one decision between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from orchestrator.guards import BUDGET_RULE_PREFIX, FROZEN_RULE
from orchestrator.store.escalations import load
from orchestrator.store.submissions import latest_submission
from orchestrator.store.tables import DECISIONS
from orchestrator.store.tables_governance import ESCALATIONS

_ENDED_UNANSWERED = frozenset({"expired", "cancelled"})
# Built once, as every submission reads it (store/budgets.py says why).
_DECIDED = select(DECISIONS.c.outcome, DECISIONS.c.policy_version, DECISIONS.c.decision_json).where(
    DECISIONS.c.decision_id == bindparam("decision_id")
)


@dataclass(frozen=True, kw_only=True)
class SubmissionKey:
    """What makes two submissions the same one."""

    change_id: str
    proposal_digest: str
    policy_version: str


class AlreadyDecided(Exception):
    """This submission was decided by another request meanwhile; nothing new is recorded."""

    def __init__(self, decision_id: str) -> None:
        super().__init__(f"already decided as {decision_id}")
        self.decision_id = decision_id


def reusable_decision(conn: Connection, key: SubmissionKey, at: datetime) -> str | None:
    """The id of the decision that still stands for this submission, if any."""
    latest = latest_submission(conn, key.change_id)
    if latest is None or latest.proposal_digest != key.proposal_digest:
        return None
    decision = conn.execute(_DECIDED, {"decision_id": latest.decision_id}).one()
    if decision.policy_version != key.policy_version:
        return None
    if decision.outcome == "reject" and _rejected_by_gate_state(decision.decision_json):
        return None
    if decision.outcome == "escalate":
        found = load(conn, ESCALATIONS.c.decision_id == latest.decision_id, at)
        if not found or found[0].status in _ENDED_UNANSWERED:
            return None
    return str(latest.decision_id)


def _rejected_by_gate_state(decision_json: str) -> bool:
    fired = json.loads(decision_json).get("rules_fired", ())
    return any(rule == FROZEN_RULE or rule.startswith(BUDGET_RULE_PREFIX) for rule in fired)


def claim(conn: Connection, key: SubmissionKey, at: datetime) -> None:
    """Raise AlreadyDecided when a decision for this submission was recorded meanwhile."""
    found = reusable_decision(conn, key, at)
    if found is not None:
        raise AlreadyDecided(found)
