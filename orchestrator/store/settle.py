"""What recording a decision does to the gate, in the decision's own transaction.

`settle` runs inside `Store.record(..., within=...)`, holding the writers'
lock. It re-reads the gate facts the decision was made with (a freeze, the
actor's budget windows); if they changed in a way that matters, it raises
`Unsettled` with the fresh facts, the transaction rolls back and the caller
decides again. Otherwise it writes, with the decision: the submission row
(which change this is), the cancellation of earlier open escalations of the
same change whose plan differed, and either the budget reservation (approve)
or the open escalation (escalate). Two reviews of one actor racing for the
last of a budget are served in turn: the second sees the first's reservation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, and_, insert

from orchestrator.guards import BudgetRule, GateFacts, budget_overruns, change_figures
from orchestrator.models import Decision, Proposal, Source
from orchestrator.store.budgets import budget_windows, count_usage
from orchestrator.store.escalations import cancel_open, open_escalation
from orchestrator.store.freezes import active_freeze
from orchestrator.store.gate_common import lock_writers, moment
from orchestrator.store.tables_governance import CHANGE_SUBMISSIONS, ESCALATIONS


class Unsettled(Exception):
    """The gate facts changed between reading them and recording: decide again with these."""

    def __init__(self, facts: GateFacts) -> None:
        super().__init__("the gate facts changed while the review ran")
        self.facts = facts


@dataclass(frozen=True, kw_only=True)
class GateTerms:
    """What the gate needs to know to record one decision."""

    change_id: str
    submitter: str | None
    expiry: timedelta
    budget_rules: tuple[BudgetRule, ...]
    # The actor's kind as judged at review time (the stricter of declared and registered).
    kind: Source
    facts: GateFacts  # the facts the decision was made with
    # Checked first under the lock; raises when this submission was decided meanwhile.
    reuse: Callable[[Connection], None] | None = None


def settle(conn: Connection, proposal: Proposal, decision: Decision, terms: GateTerms) -> None:
    """Check the facts still hold, then write the gate's side of the decision."""
    lock_writers(conn)
    if terms.reuse is not None:
        terms.reuse(conn)
    at = moment(decision.created_at)
    # A decision made under a freeze stands even if the actor was thawed meanwhile.
    if terms.facts.freeze is None:
        ai_agent = terms.kind == Source.AI_AGENT
        freeze = active_freeze(conn, proposal.actor, ai_agent=ai_agent)
        windows = budget_windows(conn, proposal.actor, terms.budget_rules, at)
        figures = change_figures(proposal, decision.blast_radius)
        if freeze is not None or budget_overruns(windows, figures) != budget_overruns(
            terms.facts.budgets, figures
        ):
            raise Unsettled(GateFacts(freeze=freeze, budgets=windows))
    conn.execute(
        insert(CHANGE_SUBMISSIONS),
        {
            "decision_id": decision.decision_id,
            "change_id": terms.change_id,
            "proposal_digest": decision.proposal_digest,
            "submitter": terms.submitter,
            "created_at": at,
        },
    )
    cancel_open(
        conn,
        and_(
            ESCALATIONS.c.change_id == terms.change_id,
            ESCALATIONS.c.proposal_digest != decision.proposal_digest,
        ),
        reason=(
            f"superseded: change {terms.change_id!r} was re-submitted with a different plan "
            f"as decision {decision.decision_id}"
        ),
        by=None,
        at=at,
    )
    if decision.outcome == "approve":
        figures = change_figures(proposal, decision.blast_radius)
        count_usage(
            conn,
            decision.decision_id,
            proposal.actor,
            deletes=figures.deletes,
            changed_resources=figures.changed_resources,
            blast_radius=figures.blast_radius,
            at=at,
        )
    elif decision.outcome == "escalate":
        open_escalation(
            conn,
            proposal,
            decision,
            change_id=terms.change_id,
            submitter=terms.submitter,
            expiry=terms.expiry,
            kind=terms.kind,
        )
