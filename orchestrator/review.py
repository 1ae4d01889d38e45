"""The review path, end to end: input file in, recorded decision out.

`run_review` is the one core function behind `commander review` (and, later,
the HTTP service): load the policy, read and adapt the input, fan out to the
reviewers, aggregate, record. Any failure raises; nothing is recorded unless
the whole decision is.
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

from orchestrator.adapters.base import Submission, load_proposal, read_input
from orchestrator.catalog import ResourceCatalog
from orchestrator.commander import aggregate
from orchestrator.config import LoadedConfig, load_config
from orchestrator.errors import UsageError
from orchestrator.executors.local import LocalExecutor
from orchestrator.fanout import fan_out
from orchestrator.gc_control import paused_gc
from orchestrator.graph import DependencyGraph
from orchestrator.models import Decision, Proposal
from orchestrator.registry import LoadedReviewer, discover, parse_settings
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.store import Store


@dataclass(frozen=True, kw_only=True)
class ReviewRequest:
    """What `commander review` was asked to do."""

    path: str
    kind: str = "auto"
    submission: Submission
    settings: Settings
    executor: str = "local"


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
    )
    return reviewers, context


def run_review(request: ReviewRequest) -> ReviewResult:
    """Review one input file and record the decision."""
    # A review builds large acyclic structures and frees them at once; the
    # cycle collector would otherwise rescan the growing heap dozens of times.
    with paused_gc():
        return _run_review(request)


def _run_review(request: ReviewRequest) -> ReviewResult:
    if request.executor != "local":
        raise UsageError(f"--executor {request.executor} is not available in this build; use local")
    config = load_config(request.settings.config_dir)
    data, origin = read_input(request.path, max_bytes=config.commander.max_input_bytes)
    proposal = load_proposal(data, origin, request.submission, kind=request.kind)
    topology = request.settings.topology
    graph = DependencyGraph.load(topology) if topology else DependencyGraph.empty()
    reviewers, context = build_context(config, graph)

    from orchestrator.store import Store  # noqa: PLC0415 - keep SQLAlchemy off the parse-error path

    store = Store.open(request.settings.database_url)
    try:
        context = _with_history(context, store, proposal.actor)
        verdicts = asyncio.run(
            fan_out(proposal, reviewers, context, LocalExecutor(), config.commander.timeout_for)
        )
        decision = aggregate(
            proposal,
            verdicts,
            config.commander,
            decision_id=new_decision_id(),
            created_at=now_iso(),
            policy_version=config.policy_version,
        )
        store.record(proposal, decision)
    finally:
        store.close()
    return ReviewResult(proposal=proposal, decision=decision)


def _with_history(context: ReviewContext, store: Store, actor: str) -> ReviewContext:
    return dataclasses.replace(context, history=store.history(actor, limit=100))
