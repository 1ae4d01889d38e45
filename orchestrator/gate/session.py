"""One gate session: the actor's facts → fan out → aggregate → settle and record.

    facts    = session.actor_facts(actor, source)   freeze, elevations, history, now
    verdicts = judge(panel, proposal, facts, exe)   the reviewers; none for a frozen actor
    decision = decide(panel, proposal, verdicts, gate, …)   commander.aggregate: pure
    settled  = session.settle(submission, verdicts, facts)  decide and record, again
                                                    while the gate facts change under it
    settled  = session.review(submission, exe)      all of it, for one submission

`commander review`, the HTTP service and folder reviews (facts read once,
files judged anywhere, each settled in file order) run a session; replay
and backtest run `judge` and `decide` with the facts of a past decision's
time. The session reads one clock, for the facts' time and the decision's;
nothing below it reads another for the gate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from orchestrator import identity
from orchestrator.clock import Clock, iso_millis, utc_now
from orchestrator.commander import aggregate
from orchestrator.errors import StoreError
from orchestrator.fanout import fan_out, fan_out_blocking
from orchestrator.gate.identity import InputPlace, change_id_for
from orchestrator.guards import Freeze, GateFacts
from orchestrator.interrupts import recording
from orchestrator.models import Decision, Proposal, Source, TopologyRef, Verdict

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection

    from orchestrator.agents import ActorProfile
    from orchestrator.config import LoadedConfig
    from orchestrator.executors import Executor
    from orchestrator.gate.idempotency import SubmissionKey
    from orchestrator.registry import LoadedReviewer
    from orchestrator.reviewer import HistoryEntry, ReviewContext
    from orchestrator.store import Store

# Each retry means another review of the same actor changed its budget or froze it meanwhile.
SETTLE_ATTEMPTS = 5
HISTORY_LIMIT = 100  # as many earlier decisions as reviewers are shown


@dataclass(frozen=True, kw_only=True)
class Panel:
    """The policy, the reviewers and what they are shown: all a judgement needs but the change."""

    config: LoadedConfig
    reviewers: Sequence[LoadedReviewer]
    context: ReviewContext
    topology_ref: TopologyRef | None = None  # recorded in each decision, for replays


@dataclass(frozen=True, kw_only=True)
class ActorFacts:
    """The submitting actor as the gate finds it: what its proposals are judged with."""

    profile: ActorProfile  # with the elevations in force
    freeze: Freeze | None = None
    history: tuple[HistoryEntry, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChangeSubmission:
    """A proposal submitted as one change: what the gate records a decision for."""

    proposal: Proposal
    change_id: str | None = None  # None: what the change is (gate/identity.py)
    place: InputPlace | None = None  # where the input lives, for the default change id
    submitter: str | None = None  # who submitted it (they cannot approve it)
    # The same content for the same change under the same policy gets the same decision.
    idempotent: bool = False

    @property
    def change(self) -> str:
        """The change this submits."""
        return change_id_for(self.proposal, self.change_id, self.place)


@dataclass(frozen=True, kw_only=True)
class Settled:
    """The recorded decision, and whether an earlier request made it."""

    proposal: Proposal
    decision: Decision
    replayed: bool = False


def new_decision_id() -> str:
    """A time-ordered unique id (UUIDv7 layout), so ids sort by creation."""
    millis = time.time_ns() // 1_000_000
    raw = millis.to_bytes(6, "big") + os.urandom(10)
    value = int.from_bytes(raw, "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def judge(
    panel: Panel, proposal: Proposal, facts: ActorFacts, executor: Executor
) -> tuple[Verdict, ...]:
    """The reviewers' verdicts on the proposal; a frozen actor's proposal meets no reviewer."""
    if facts.freeze is not None:
        return ()
    context = dataclasses.replace(panel.context, history=facts.history, actor=facts.profile)
    timeout_for = panel.config.commander.timeout_for
    from orchestrator.executors.local import LocalExecutor  # noqa: PLC0415 - the default's

    if isinstance(executor, LocalExecutor):
        # The pool's threads need no event loop here: none is started per review.
        run = executor.run_blocking
        return fan_out_blocking(proposal, panel.reviewers, context, run, timeout_for)
    return asyncio.run(fan_out(proposal, panel.reviewers, context, executor, timeout_for))


def decide(
    panel: Panel,
    proposal: Proposal,
    verdicts: Sequence[Verdict],
    gate: GateFacts,
    *,
    decision_id: str,
    created_at: str,
) -> Decision:
    """The decision the panel's policy gives these verdicts and gate facts: pure."""
    return aggregate(
        proposal,
        verdicts,
        panel.config.commander,
        decision_id=decision_id,
        created_at=created_at,
        policy_version=panel.config.policy_version,
        gate=gate,
        topology=panel.topology_ref,
    )


class GateSession:
    """One store, one panel and one clock: the gate's steps, each recorded in its turn."""

    def __init__(self, store: Store, panel: Panel, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.panel = panel
        self.clock = clock

    def actor_facts(self, actor: str, source: Source) -> ActorFacts:
        """The actor now: its freeze, else the elevations in force and its history."""
        with self.store.reading("read the actor's gate facts") as conn:
            return self._actor_facts(conn, actor, source, self.clock())

    def _actor_facts(
        self, conn: Connection, actor: str, source: Source, now: datetime
    ) -> ActorFacts:
        """actor_facts in the caller's read transaction, at `now` (naive UTC)."""
        from orchestrator.store.elevations import elevations_in_force  # noqa: PLC0415
        from orchestrator.store.freezes import active_freeze  # noqa: PLC0415 - SQLAlchemy
        from orchestrator.store.store import read_history  # noqa: PLC0415

        identity.checked(actor, "actor")
        registry = self.panel.context.agents
        declared = registry.profile(actor, source)
        ai_agent = declared.kind == Source.AI_AGENT
        freeze = active_freeze(conn, actor, ai_agent=ai_agent)
        if freeze is not None:
            # The kill switch comes first: nothing else about the actor is read.
            return ActorFacts(profile=declared, freeze=freeze)
        return ActorFacts(
            profile=registry.profile(actor, source, elevations_in_force(conn, actor, now)),
            history=read_history(conn, actor, limit=HISTORY_LIMIT),
        )

    def review(self, submission: ChangeSubmission, executor: Callable[[], Executor]) -> Settled:
        """Judge one submission and record its decision (or hand back the one already made).

        `executor` is called only when reviewers are to run: a frozen actor's
        review never joins a Ray cluster. What the gate knows before the
        review (an earlier decision for the same submission, the actor's
        freeze, elevations and history) is read in one transaction.
        """
        proposal = submission.proposal
        with self.store.reading("read the actor's gate facts") as conn:
            now = self.clock()
            earlier = self._earlier(conn, submission, now) if submission.idempotent else None
            if earlier is None:
                facts = self._actor_facts(conn, proposal.actor, proposal.source, now)
        if earlier is not None:
            return self._replayed(earlier, submission)
        frozen = facts.freeze is not None
        verdicts = () if frozen else judge(self.panel, proposal, facts, executor())
        return self.settle(submission, verdicts, facts)

    def settle(
        self, submission: ChangeSubmission, verdicts: Sequence[Verdict], facts: ActorFacts
    ) -> Settled:
        """Aggregate with the gate facts and record; decide again while they change meanwhile."""
        from orchestrator.gate.idempotency import AlreadyDecided  # noqa: PLC0415 - SQLAlchemy
        from orchestrator.gate.settle import (  # noqa: PLC0415
            GateTerms,
            Unsettled,
            settle,
            superseded,
        )
        from orchestrator.store.budgets import budget_windows  # noqa: PLC0415
        from orchestrator.store.chain import parse_utc  # noqa: PLC0415

        proposal, settings = submission.proposal, self.panel.config.commander
        if submission.submitter is not None:
            identity.checked(submission.submitter, "submitter")
        # The decision's id and time come after the reviewers ran.
        decision_id, created_at = new_decision_id(), iso_millis(self.clock())
        rules = settings.budgets.rules_for(proposal.actor, facts.profile.kind)
        change, at = submission.change, parse_utc(created_at)
        gate = GateFacts(freeze=facts.freeze)
        # The budgets and the escalations superseded at the decision's time: one transaction.
        with self.store.reading("read the budgets and the escalations superseded") as conn:
            if facts.freeze is None:
                gate = GateFacts(
                    budgets=budget_windows(conn, proposal.actor, rules, at) if rules else ()
                )
            supersedes = superseded(conn, change, proposal.digest(), at=at)
        for _ in range(SETTLE_ATTEMPTS):
            decision = decide(
                self.panel, proposal, verdicts, gate, decision_id=decision_id, created_at=created_at
            ).model_copy(update={"supersedes": supersedes})
            terms = GateTerms(
                change_id=change,
                submitter=submission.submitter,
                expiry=settings.gate.escalation_expiry,
                budget_rules=rules,
                kind=facts.profile.kind,
                facts=gate,
                claim=self._key(submission) if submission.idempotent else None,
            )
            try:
                # partial binds this attempt's decision: a retry never records an earlier one
                within = partial(settle, proposal=proposal, decision=decision, terms=terms)
                with recording():  # Ctrl-C waits for the write (orchestrator/interrupts.py)
                    self.store.record(proposal, decision, within=within)
            except Unsettled as changed:
                gate, supersedes = changed.facts, changed.supersedes
                continue
            except AlreadyDecided as raced:
                return self._replayed(raced.decision_id, submission)
            return Settled(proposal=proposal, decision=decision)
        raise StoreError(
            f"decision {decision_id}: {proposal.actor}'s budgets kept changing while it was "
            f"recorded ({SETTLE_ATTEMPTS} attempts); not recorded, review again"
        )

    def _key(self, submission: ChangeSubmission) -> SubmissionKey:
        from orchestrator.gate.idempotency import SubmissionKey  # noqa: PLC0415 - SQLAlchemy

        return SubmissionKey(
            change_id=submission.change,
            proposal_digest=submission.proposal.digest(),
            policy_version=self.panel.config.policy_version,
        )

    def _earlier(self, conn: Connection, submission: ChangeSubmission, now: datetime) -> str | None:
        from orchestrator.gate.idempotency import reusable_decision  # noqa: PLC0415 - SQLAlchemy

        return reusable_decision(conn, self._key(submission), now)

    def _replayed(self, decision_id: str, submission: ChangeSubmission) -> Settled:
        """The decision already made, its new submitter chained: they cannot approve it."""
        from orchestrator.store.governance import note_resubmission  # noqa: PLC0415

        stored = self.store.get(decision_id)
        if submission.submitter is not None:
            identity.checked(submission.submitter, "submitter")
            note_resubmission(
                self.store,
                decision_id=decision_id,
                change_id=submission.change,
                proposal_digest=stored.decision.proposal_digest,
                submitter=submission.submitter,
                at=self.clock(),
            )
        return Settled(proposal=stored.proposal, decision=stored.decision, replayed=True)
