"""What the service holds between requests, and its one piece of logic: a submission.

The policy, the dependency graph and the reviewers are loaded once at
start-up (`prepare`), the store is opened once and its connection pool
shared by every request. A submission is adapted and handed to
`review_proposal` — the same gate session `commander review` runs — as an
idempotent one (orchestrator/gate/idempotency.py). Every time the service
records comes from its one clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from orchestrator.adapters.base import Submission
from orchestrator.adapters.commands_catalog import load_catalog
from orchestrator.clock import Clock, iso_micros, utc_now
from orchestrator.commands.gatectx import identities
from orchestrator.commands.guard_core import GuardOptions, judge
from orchestrator.commands.guard_review import review_call
from orchestrator.executors import make_executor
from orchestrator.gate.identity import InputPlace
from orchestrator.review import ReviewRequest, ReviewSetup, adapt, prepare, review_proposal
from orchestrator.service.auth import Authenticator
from orchestrator.service.bodies import DEFAULT_MAX_BODY_BYTES
from orchestrator.service.gate_watch import GateWatch
from orchestrator.service.github_auth import GitHubAuth
from orchestrator.service.github_deployments import Deployments, DeploymentWatch
from orchestrator.service.integrations import Integrations
from orchestrator.service.metrics import ServiceMetrics
from orchestrator.service.ui.sessions import DEFAULT_TTL, SessionStore
from orchestrator.store import Store
from orchestrator.store.chain import parse_utc
from orchestrator.store.governance import list_escalations
from orchestrator.store.tables import CHAIN_HEAD

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from orchestrator.adapters.commands_calls import Answer, ToolCall
    from orchestrator.adapters.commands_classify import Effect
    from orchestrator.models import Decision, Proposal
    from orchestrator.service.checkpoints import CheckpointSchedule
    from orchestrator.settings import Settings
    from orchestrator.store.governance import Identities
    from orchestrator.store.store import StoredDecision


@dataclass(frozen=True, kw_only=True)
class ServiceOptions:
    """How `commander serve` was started."""

    settings: Settings
    tokens: Path
    executor: str = "local"
    # The largest body accepted; None: 64 MiB, or the policy's max_input_bytes if smaller.
    max_body_bytes: int | None = None
    # Signs checkpoints (service/checkpoints.py); with a folder and a period, on a schedule too.
    checkpoint_key: Ed25519PrivateKey | None = None
    checkpoint_dir: Path | None = None
    checkpoint_every: timedelta | None = None
    # How long a web-view session lasts after its token was exchanged (service/ui).
    ui_session_ttl: timedelta = DEFAULT_TTL
    # GitHub's and HCP Terraform's secrets (service/integrations.py); none: those routes are off.
    integrations: Integrations = field(default_factory=Integrations)
    # Submissions judged at once; more are answered 503 with Retry-After.
    max_concurrent: int = 32
    # Browsers reach the service over https (a TLS proxy in front): cookies carry Secure.
    ui_secure_cookies: bool = False


@dataclass(frozen=True, kw_only=True)
class Meta:
    """A submission's metadata, from the request's query string."""

    kind: str
    submission: Submission
    name: str
    change_id: str | None
    delete: bool
    # The input's path in its repository (`?path=`), for the default change id.
    path: str | None = None


@dataclass(frozen=True)
class Submitted:
    """A submission's answer: the decision, and whether it was made by an earlier request."""

    decision: Decision
    proposal: Proposal
    replayed: bool


class Admission:
    """At most `limit` submissions in progress at once; the next one is turned away, not queued.

    A queue behind a busy worker only turns into timeouts at the client: a
    503 with Retry-After tells a pipeline at once to come back, or a load
    balancer to try another worker.
    """

    RETRY_AFTER_SECONDS = 1

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    def enter(self) -> bool:
        """Take a slot if one is free, without waiting."""
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.release()


class ServiceState:
    """The loaded policy, the open store, the tokens and the metrics."""

    def __init__(self, options: ServiceOptions, *, clock: Clock = utc_now) -> None:
        self.options = options
        self.clock = clock
        self.setup: ReviewSetup = prepare(options.settings)
        self.auth = Authenticator.from_file(options.tokens)
        self.identities: Identities = identities(self.setup.config)
        # A request holds about its body's size several times over while it is judged
        # (README, security): the service's default stays well below the CLI's 1 GiB.
        self.max_body_bytes = options.max_body_bytes or min(
            DEFAULT_MAX_BODY_BYTES, self.setup.config.commander.max_input_bytes
        )
        settings = options.settings
        self.store = Store.from_settings(settings, create=True)
        # the guard's command catalog, from the same config directory as the policy
        self.catalog = load_catalog(settings.config_dir, settings.cache_dir)
        self.metrics = ServiceMetrics(
            self.pending_ages, reviewers=(r.name for r in self.setup.reviewers)
        )
        self.gate_watch = GateWatch(started=self.clock())
        # One executor for the service's life: Ray is joined once, before the port opens,
        # and what it puts in the object store is reused across reviews.
        self.executor = make_executor(options.executor, options.settings.ray_address)
        self.checkpoints = self._schedule(options)
        self.ui_sessions = SessionStore(ttl=options.ui_session_ttl, clock=self.clock)
        self.integrations = options.integrations
        self.github_auth = GitHubAuth(self.integrations)
        self.deployments = Deployments(self.store, self.integrations, self.github_auth, self.now)
        # Deployments waiting for the gate are answered when it settles, by any path.
        self.deployment_watch: DeploymentWatch | None = None
        if self.integrations.github_secret is not None:
            self.deployment_watch = DeploymentWatch(
                self.deployments, self.integrations.watch_seconds
            )
            self.deployment_watch.start()
        self.admission = Admission(options.max_concurrent)

    def close(self) -> None:
        """Stop the deployment watch and the checkpoints; release the store's connections."""
        if self.deployment_watch is not None:
            self.deployment_watch.stop()
        if self.checkpoints is not None:
            self.checkpoints.stop()
        self.store.close()

    def _schedule(self, options: ServiceOptions) -> CheckpointSchedule | None:
        key, every = options.checkpoint_key, options.checkpoint_every
        folder = options.checkpoint_dir
        if key is None or every is None or folder is None:
            return None
        from orchestrator.service.checkpoints import CheckpointSchedule  # noqa: PLC0415

        schedule = CheckpointSchedule(self.store, key, folder, every, self.clock)
        schedule.start()
        return schedule

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
            place=InputPlace(path=meta.path),
            submitter=submitter,
        )
        proposal = adapt(self.setup.config, request, body, meta.name)
        result = review_proposal(
            self.setup,
            self.store,
            request,
            proposal,
            executor=self.executor,
            idempotent=True,
            clock=self.clock,
        )
        if result.replayed:
            self.metrics.replayed.inc()
        else:
            self.metrics.observe_decision(
                result.decision, result.proposal.source.value, time.perf_counter() - started
            )
        return Submitted(result.decision, result.proposal, replayed=result.replayed)

    def now(self) -> str:
        """The service's clock, as the gate's operations take it."""
        return iso_micros(self.clock())

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
        now = self.clock()
        found = list_escalations(self.store, status="pending", now=iso_micros(now))
        return [(now - parse_utc(e.created_at)).total_seconds() for e in found]

    def observe_gate(self) -> None:
        """Count the escalations that ended since the last scrape, by any path (for /metrics)."""
        self.metrics.observe_endings(self.gate_watch.new_endings(self.store, self.clock()))
