"""The review path, end to end: input file in, recorded decision out.

`run_review` is the core function behind `commander review`: load the policy,
read and adapt the input, stop a frozen actor at once, fan out to the
reviewers, aggregate with the actor's budgets, record (with the escalation or
budget reservation, see gatekeeper). Any failure raises; nothing is recorded
unless the whole decision is. The HTTP service runs the same steps, with the
policy and graph loaded once (`prepare`) and each body adapted and judged by
`adapt` and `review_proposal`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal, read_input
from orchestrator.agents import AgentRegistry
from orchestrator.catalog import ResourceCatalog
from orchestrator.config import LoadedConfig, load_config
from orchestrator.errors import UsageError
from orchestrator.executors import make_executor
from orchestrator.fanout import fan_out
from orchestrator.gatekeeper import (
    Recording,
    change_id_for,
    decide_and_record,
    frozen,
    profile_of,
    profile_with_elevations,
)
from orchestrator.gc_control import paused_gc
from orchestrator.graph import DependencyGraph
from orchestrator.models import Decision, Proposal
from orchestrator.policies import PolicyBundle
from orchestrator.registry import LoadedReviewer, discover, parse_settings
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from orchestrator.agents import ActorProfile
    from orchestrator.executors import Executor
    from orchestrator.store import Store


@dataclass(frozen=True, kw_only=True)
class ReviewRequest:
    """What `commander review` was asked to do."""

    path: str
    kind: str = "auto"
    submission: Submission
    settings: Settings
    executor: str = "local"
    # Kubernetes manifests: review the deletion of the objects instead of their apply.
    delete: bool = False
    # Which change this submits (default actor:environment:file name); see gatekeeper.
    change_id: str | None = None
    # Who submitted it (they cannot approve it); None when unknown.
    submitter: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviewResult:
    """The proposal as reviewed and the decision recorded for it."""

    proposal: Proposal
    decision: Decision


def new_decision_id() -> str:
    """A time-ordered unique id (UUIDv7 layout), so ids sort by creation."""
    millis = time.time_ns() // 1_000_000
    raw = millis.to_bytes(6, "big") + os.urandom(10)
    value = int.from_bytes(raw, "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_context(
    config: LoadedConfig, graph: DependencyGraph
) -> tuple[list[LoadedReviewer], ReviewContext]:
    """Load the reviewers and the read-only context they share."""
    reviewers = discover(disabled=config.commander.disabled_reviewers)
    data, origin = config.resource_types
    context = ReviewContext(
        graph=graph,
        catalog=ResourceCatalog.from_mapping(data, origin),
        settings=parse_settings(
            reviewers, config.reviewer_sections, known=config.commander.disabled_reviewers
        ),
        policy_version=config.policy_version,
        # both validated here, before any reviewer runs: a typo is a ConfigError, not a pass
        policies=PolicyBundle.from_sources(config.policy_sources),
        agents=AgentRegistry.from_text(*config.agents_source)
        if config.agents_source
        else AgentRegistry.none(),
    )
    return reviewers, context


@dataclass(frozen=True, kw_only=True)
class ReviewSetup:
    """What every review under one policy and topology shares, loaded once.

    The CLI builds one per process; the service builds one at start-up and
    reviews every submission with it.
    """

    settings: Settings
    config: LoadedConfig
    reviewers: list[LoadedReviewer]
    context: ReviewContext


def prepare(settings: Settings, config: LoadedConfig | None = None) -> ReviewSetup:
    """Load the policy (unless given), the dependency graph and the reviewers."""
    config = config or load_config(settings.config_dir)
    graph = DependencyGraph.load(
        settings.topology,
        catalog=settings.backstage,
        cache=settings.cache_dir,
        owns_by_name=config.commander.backstage.owns,
    )
    reviewers, context = build_context(config, graph)
    return ReviewSetup(settings=settings, config=config, reviewers=reviewers, context=context)


def run_review(request: ReviewRequest) -> ReviewResult:
    """Review one input file and record the decision."""
    # A review builds large acyclic structures and frees them at once; the
    # cycle collector would otherwise rescan the growing heap dozens of times.
    with paused_gc():
        _check_executor(request.executor)
        config = load_config(request.settings.config_dir)
        # The input is read and adapted before the graph is built: bad input fails fast.
        data, origin = read_input(request.path, max_bytes=config.commander.max_input_bytes)
        proposal = adapt(config, request, data, origin)
        setup = prepare(request.settings, config)

        from orchestrator.store import Store  # noqa: PLC0415 - keep SQLAlchemy off the parse-error path

        store = Store.open(request.settings.database_url)
        try:
            return review_proposal(setup, store, request, proposal)
        finally:
            store.close()


def adapt(config: LoadedConfig, request: ReviewRequest, data: bytes, origin: str) -> Proposal:
    """Read the submitted bytes as a proposal; `origin` names them in errors."""
    options = AdapterOptions(
        delete=request.delete,
        diff_paths=config.diff_paths,
        config_dir=request.settings.config_dir,
        cache_dir=request.settings.cache_dir,
    )
    return load_proposal(data, origin, request.submission, kind=request.kind, options=options)


def review_proposal(
    setup: ReviewSetup,
    store: Store,
    request: ReviewRequest,
    proposal: Proposal,
    *,
    reuse: Callable[[Connection], None] | None = None,
    executor: Executor | None = None,
) -> ReviewResult:
    """Judge an adapted proposal against the gate and the reviewers; record the decision.

    `reuse`, when given, runs in the recording transaction under the writers'
    lock, before anything is written: the service uses it to find a decision
    another request recorded for the same submission meanwhile (it raises,
    and nothing of this review is recorded). `executor`, when given, is one
    the caller keeps across reviews (the service's: Ray's shared objects stay
    in the object store); otherwise `request.executor` names a new one.
    """
    _check_executor(request.executor)
    started = now_iso()
    context = setup.context
    profile = profile_of(context.agents, proposal)
    # The kill switch comes first: a frozen actor's proposal meets no reviewer.
    freeze = frozen(store, proposal, profile)
    if freeze is not None:
        recording = _recording(request, setup.config, proposal, profile, reuse)
        decision = decide_and_record(store, proposal, (), recording, freeze=freeze)
        return ReviewResult(proposal=proposal, decision=decision)
    profile = profile_with_elevations(store, context.agents, proposal, started)
    context = dataclasses.replace(
        context, history=store.history(proposal.actor, limit=100), actor=profile
    )
    if executor is None:
        # Ray joins its cluster here: unreachable, the review fails before anything is recorded.
        executor = make_executor(request.executor, request.settings.ray_address)
    verdicts = asyncio.run(
        fan_out(proposal, setup.reviewers, context, executor, setup.config.commander.timeout_for)
    )
    recording = _recording(request, setup.config, proposal, profile, reuse)
    decision = decide_and_record(store, proposal, verdicts, recording)
    return ReviewResult(proposal=proposal, decision=decision)


def _check_executor(name: str) -> None:
    if name not in {"local", "ray"}:
        raise UsageError(f"unknown executor {name!r}: use local or ray")


def _recording(
    request: ReviewRequest,
    config: LoadedConfig,
    proposal: Proposal,
    profile: ActorProfile,
    reuse: Callable[[Connection], None] | None,
) -> Recording:
    """The decision's id and time, taken after the reviewers ran, and who submitted what."""
    return Recording(
        config=config,
        profile=profile,
        change_id=change_id_for(proposal, request.change_id),
        submitter=request.submitter,
        decision_id=new_decision_id(),
        created_at=now_iso(),
        reuse=reuse,
    )
