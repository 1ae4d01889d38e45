"""Settle: what recording a decision does to the gate, in the decision's own transaction.

`settle` runs inside `Store.record(..., within=...)`, right after the
decision's chain link, holding the writers' lock. For an idempotent
submission it first checks that no other request recorded the same one
meanwhile (`AlreadyDecided`). It then re-reads the gate facts the decision
was made with (a freeze, the actor's budget windows); if they changed in a
way that matters it raises `Unsettled` with the fresh facts, the transaction
rolls back and the session decides again. Otherwise it records the
submission (store/submissions.py: the change.submitted event with the
escalation or the budget use) and cancels every other open escalation of the
same change whose plan differs: the last submission recorded is the pending
one, and its decision names the ones it supersedes (checked here, under the
lock, like the facts). Two reviews of one actor racing for the last of a budget are served in
turn: the second sees the first's reservation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, ColumnElement, Connection, and_, bindparam

from orchestrator.gate.idempotency import SubmissionKey, claim
from orchestrator.guards import BudgetRule, GateFacts, budget_overruns, change_figures
from orchestrator.models import Decision, Proposal, Source, Supersession
from orchestrator.store.budgets import budget_windows
from orchestrator.store.chain import parse_utc
from orchestrator.store.escalations import cancel_open, open_query
from orchestrator.store.freezes import active_freeze
from orchestrator.store.gate_common import lock_writers
from orchestrator.store.submissions import record_submission
from orchestrator.store.tables_governance import ESCALATIONS


class Unsettled(Exception):
    """The gate facts changed between reading them and recording: decide again with these."""

    def __init__(self, facts: GateFacts, supersedes: tuple[Supersession, ...]) -> None:
        super().__init__("the gate facts changed while the review ran")
        self.facts = facts
        self.supersedes = supersedes


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
    # An idempotent submission: recorded only if no decision for it was recorded meanwhile.
    claim: SubmissionKey | None = None


def settle(conn: Connection, proposal: Proposal, decision: Decision, terms: GateTerms) -> None:
    """Check the facts still hold, then write the gate's side of the decision."""
    lock_writers(conn)
    at = parse_utc(decision.created_at)
    if terms.claim is not None:
        claim(conn, terms.claim, at)
    figures = change_figures(proposal, decision.blast_radius)
    facts = terms.facts
    # A decision made under a freeze stands even if the actor was thawed meanwhile.
    if terms.facts.freeze is None:
        ai_agent = terms.kind == Source.AI_AGENT
        freeze = active_freeze(conn, proposal.actor, ai_agent=ai_agent)
        windows = budget_windows(conn, proposal.actor, terms.budget_rules, at)
        if freeze is not None or budget_overruns(windows, figures) != budget_overruns(
            terms.facts.budgets, figures
        ):
            facts = GateFacts(freeze=freeze, budgets=windows)
    # The decision names what it supersedes: another submission may have opened one meanwhile.
    replaced = superseded(conn, terms.change_id, decision.proposal_digest, at=at)
    if facts is not terms.facts or replaced != decision.supersedes:
        raise Unsettled(facts, replaced)
    record_submission(
        conn,
        proposal,
        decision,
        change_id=terms.change_id,
        submitter=terms.submitter,
        kind=terms.kind,
        expiry=terms.expiry,
        figures=figures,
    )
    cancel_open(
        conn,
        _other_plans(terms.change_id, decision.proposal_digest),
        reason=(
            f"superseded: change {terms.change_id!r} was re-submitted with a different plan "
            f"as decision {decision.decision_id}"
        ),
        by=None,
        at=at,
    )


def superseded(
    conn: Connection, change_id: str, digest: str, *, at: datetime
) -> tuple[Supersession, ...]:
    """The open escalations a submission of `digest` for `change_id` would cancel."""
    found = conn.execute(_SUPERSEDED, {"change_id": change_id, "digest": digest, "at": at})
    return tuple(Supersession(decision_id=ident, change_id=change_id) for ident in found.scalars())


def _other_plans(
    change_id: str | BindParameter[str], digest: str | BindParameter[str]
) -> ColumnElement[bool]:
    """Escalations of the same change for another plan: the ones a new submission ends."""
    return and_(ESCALATIONS.c.change_id == change_id, ESCALATIONS.c.proposal_digest != digest)


# Built once, as every review runs it twice (store/budgets.py says why).
_SUPERSEDED = open_query(_other_plans(bindparam("change_id"), bindparam("digest")))
