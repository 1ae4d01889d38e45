"""The review path: a submission in, a recorded decision out (the only entry).

`run_review` is the core function behind `commander review FILE`: load the
policy, read and adapt the input (bad input fails before anything else is
loaded), build the graph and the reviewers (`prepare`), and hand the
proposal to the gate session (orchestrator/gate), which reads the actor's
facts, fans out, aggregates and records. Any failure raises; nothing is
recorded unless the whole decision is. The HTTP service and `commander
guard` use the same three steps with the policy loaded once: `prepare` at
start-up, then `adapt` and `review_proposal` per submission.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal, read_input
from orchestrator.agents import AgentRegistry
from orchestrator.catalog import ResourceCatalog
from orchestrator.clock import Clock, utc_now
from orchestrator.config import LoadedConfig, load_config
from orchestrator.errors import UsageError
from orchestrator.executors import make_executor
from orchestrator.gate.identity import InputPlace, locate_input
from orchestrator.gate.session import ChangeSubmission, GateSession, Panel
from orchestrator.gc_control import paused_gc
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import topology_ref
from orchestrator.models import Decision, Proposal
from orchestrator.policies import PolicyBundle
from orchestrator.registry import LoadedReviewer, discover, parse_settings
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings

if TYPE_CHECKING:
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
    # Which change this submits (default: what the change is; gate/identity.py).
    change_id: str | None = None
    # Where the input lives (its repository and path), for the default change id; None: find out.
    place: InputPlace | None = None
    # Who submitted it (they cannot approve it); None when unknown.
    submitter: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviewResult:
    """The proposal as reviewed and the decision recorded for it."""

    proposal: Proposal
    decision: Decision
    # Made earlier for the same submission (an idempotent one), not by this review.
    replayed: bool = False


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
class ReviewSetup(Panel):
    """The panel every review under one policy and topology shares, with the settings it came from.

    The CLI builds one per process; the service builds one at start-up and
    reviews every submission with it.
    """

    settings: Settings


def prepare(settings: Settings, config: LoadedConfig | None = None) -> ReviewSetup:
    """Load the policy (unless given), the dependency graph and the reviewers."""
    config = config or load_config(settings.config_dir, cache=settings.cache_dir)
    graph = DependencyGraph.load(
        settings.topology,
        catalog=settings.backstage,
        cache=settings.cache_dir,
        owns_by_name=config.commander.backstage.owns,
    )
    reviewers, context = build_context(config, graph)
    return ReviewSetup(
        settings=settings,
        config=config,
        reviewers=reviewers,
        context=context,
        topology_ref=topology_ref(settings.topology, settings.backstage),
    )


def run_review(request: ReviewRequest) -> ReviewResult:
    """Review one input file and record the decision."""
    # A review builds large acyclic structures and frees them at once; the
    # cycle collector would otherwise rescan the growing heap dozens of times.
    with paused_gc():
        _check_executor(request.executor)
        config = load_config(request.settings.config_dir, cache=request.settings.cache_dir)
        # The input is read and adapted before the graph is built: bad input fails fast.
        data, origin = read_input(request.path, max_bytes=config.commander.max_input_bytes)
        proposal = adapt(config, request, data, origin)
        setup = prepare(request.settings, config)

        from orchestrator.store import Store  # noqa: PLC0415 - keep SQLAlchemy off the parse-error path

        if request.change_id is None and request.place is None:
            request = dataclasses.replace(request, place=locate_input(request.path))
        settings = request.settings
        store = Store.from_settings(settings, create=True)
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
    executor: Executor | None = None,
    idempotent: bool = False,
    clock: Clock = utc_now,
) -> ReviewResult:
    """Judge an adapted proposal in a gate session and record the decision.

    `idempotent`: the same content for the same change under the same policy
    gets the decision already made (`replayed`), checked before the review and
    again under the writers' lock, as the service submits. `executor`, when
    given, is one the caller keeps across reviews (the service's: Ray's shared
    objects stay in the object store); otherwise `request.executor` names a
    new one, joined only when reviewers are to run (not for a frozen actor).
    """
    _check_executor(request.executor)
    submission = ChangeSubmission(
        proposal=proposal,
        change_id=request.change_id,
        place=request.place,
        submitter=request.submitter,
        idempotent=idempotent,
    )

    def joined() -> Executor:
        # Ray joins its cluster here: unreachable, the review fails before anything is recorded.
        return executor or make_executor(request.executor, request.settings.ray_address)

    settled = GateSession(store, setup, clock=clock).review(submission, joined)
    return ReviewResult(
        proposal=settled.proposal, decision=settled.decision, replayed=settled.replayed
    )


def _check_executor(name: str) -> None:
    if name not in {"local", "ray"}:
        raise UsageError(f"unknown executor {name!r}: use local or ray")
