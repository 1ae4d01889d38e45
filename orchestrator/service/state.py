"""What the service holds between requests, and its one piece of logic: a submission.

The policy, the dependency graph and the reviewers are loaded once at
start-up (`prepare`), the store is opened once and its connection pool
shared by every request. A submission is adapted, looked up by its
submission key (idempotency, see store/reuse.py), and otherwise judged by
`review_proposal` — the same function `commander review` runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from orchestrator.adapters.base import Submission
from orchestrator.adapters.commands_catalog import load_catalog
from orchestrator.commands.gatectx import identities
from orchestrator.commands.guard_core import GuardOptions, judge
from orchestrator.commands.guard_review import review_call
from orchestrator.executors import make_executor
from orchestrator.gatekeeper import change_id_for
from orchestrator.review import ReviewRequest, ReviewSetup, adapt, prepare, review_proposal
from orchestrator.service.auth import Authenticator
from orchestrator.service.gate_watch import GateWatch
from orchestrator.service.metrics import ServiceMetrics
from orchestrator.store import Store
from orchestrator.store.chain import parse_utc
from orchestrator.store.gate_common import iso, moment
from orchestrator.store.governance import list_escalations
from orchestrator.store.reuse import AlreadyDecided, SubmissionKey, claim, reusable_decision
from orchestrator.store.tables import CHAIN_HEAD

if TYPE_CHECKING:
    from orchestrator.adapters.commands_calls import Answer, ToolCall
    from orchestrator.adapters.commands_classify import Effect
    from orchestrator.models import Decision, Proposal
    from orchestrator.settings import Settings
    from orchestrator.store.governance import Identities
    from orchestrator.store.store import StoredDecision


@dataclass(frozen=True, kw_only=True)
class ServiceOptions:
    """How `commander serve` was started."""

    settings: Settings
    tokens: Path
    executor: str = "local"
    # The largest body accepted; None: the policy's max_input_bytes.
    max_body_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class Meta:
    """A submission's metadata, from the request's query string."""

    kind: str
    submission: Submission
    name: str
    change_id: str | None
    delete: bool


@dataclass(frozen=True)
class Submitted:
    """A submission's answer: the decision, and whether it was made by an earlier request."""

    decision: Decision
    proposal: Proposal
    replayed: bool


class ServiceState:
    """The loaded policy, the open store, the tokens and the metrics."""

    def __init__(self, options: ServiceOptions) -> None:
        self.options = options
        self.setup: ReviewSetup = prepare(options.settings)
        self.auth = Authenticator.from_file(options.tokens)
        self.identities: Identities = identities(self.setup.config)
        self.max_body_bytes = options.max_body_bytes or self.setup.config.commander.max_input_bytes
        self.store = Store.open(options.settings.database_url)
        # the guard's command catalog, from the same config directory as the policy
        self.catalog = load_catalog(options.settings.config_dir, options.settings.cache_dir)
        self.metrics = ServiceMetrics(
            self.pending_ages, reviewers=(r.name for r in self.setup.reviewers)
        )
        self.gate_watch = GateWatch(started=moment(None))
        # One executor for the service's life: Ray is joined once, before the port opens,
        # and what it puts in the object store is reused across reviews.
        self.executor = make_executor(options.executor, options.settings.ray_address)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def submit(self, body: bytes, meta: Meta, submitter: str) -> Submitted:
        """Judge a submission, or hand back the decision already made for it."""
        started = time.perf_counter()
        request = ReviewRequest(
            path=meta.name,
            kind=meta.kind,
            submission=meta.submission,
            settings=self.options.settings,
            executor=self.options.executor,
            delete=meta.delete,
            change_id=meta.change_id,
            submitter=submitter,
        )
        proposal = adapt(self.setup.config, request, body, meta.name)
        key = SubmissionKey(
            change_id=change_id_for(proposal, meta.change_id),
            proposal_digest=proposal.digest(),
            policy_version=self.setup.config.policy_version,
        )
        with self.store.reading("look up an earlier submission") as conn:
            earlier = reusable_decision(conn, key, moment(None))
        if earlier is not None:
            return self._replayed(earlier)
        try:
            result = review_proposal(
                self.setup,
                self.store,
                request,
                proposal,
                reuse=partial(_claim_now, key=key),
                executor=self.executor,
            )
        except AlreadyDecided as raced:
            return self._replayed(raced.decision_id)
        self.metrics.observe_decision(
            result.decision, result.proposal.source.value, time.perf_counter() - started
        )
        return Submitted(result.decision, result.proposal, replayed=False)

    def guard(self, call: ToolCall, options: GuardOptions, submitter: str) -> Answer:
        """Answer an agent's tool call as `commander guard` would, in this service's store."""

        def review(found: list[Effect]) -> Answer:
            return review_call(
                call, found, options, setup=self.setup, store=self.store, submitter=submitter
            )

        return judge(call, self.catalog, review)

    def find(self, ident: str) -> StoredDecision:
        """A recorded decision by id or unique prefix."""
        return self.store.find(ident)

    def ready(self) -> None:
        """Raise StoreError unless the store answers, with its schema in place."""
        with self.store.reading("check that the store answers") as conn:
            conn.execute(select(CHAIN_HEAD.c.seq).limit(1)).first()

    def pending_ages(self) -> list[float]:
        """Seconds each pending escalation has waited (for /metrics)."""
        now = moment(None)
        found = list_escalations(self.store, status="pending", now=iso(now))
        return [(now - parse_utc(e.created_at)).total_seconds() for e in found]

    def observe_gate(self) -> None:
        """Count the escalations that ended since the last scrape, by any path (for /metrics)."""
        self.metrics.observe_endings(self.gate_watch.new_endings(self.store, moment(None)))

    def _replayed(self, decision_id: str) -> Submitted:
        stored = self.store.get(decision_id)
        self.metrics.replayed.inc()
        return Submitted(stored.decision, stored.proposal, replayed=True)


def _claim_now(conn: Connection, *, key: SubmissionKey) -> None:
    claim(conn, key, moment(None))
