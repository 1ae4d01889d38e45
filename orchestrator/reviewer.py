"""The reviewer contract: everything a reviewer plugin implements and receives.

A reviewer is any object with a `name` and an async `review(proposal,
context) -> Verdict`. Built-in and third-party reviewers are registered the
same way, through the `commander.reviewers` entry-point group::

    [project.entry-points."commander.reviewers"]
    acme-cost = "acme_commander.cost:CostReviewer"

The entry point names a class (instantiated without arguments) or an
instance. Optional attributes:

* ``stage`` (1 or 2, default 1): stage-1 reviewers run independently and in
  parallel and never see each other's verdicts; stage-2 reviewers (the
  contrarian) run afterwards and find the stage-1 verdicts in
  ``context.prior_verdicts``.
* ``settings_model``: a pydantic model class; the reviewer's section of the
  configuration (``configs/reviewers/<name>.yaml``) is validated against it
  when commander starts, and the parsed object is handed over as
  ``context.settings[name]``. A typo in a setting is a load-time error.

Rules a reviewer must keep:

* Pure: the verdict depends only on the proposal and the context. No clock,
  no randomness, no environment variables, no network, no state on ``self``:
  one instance serves many proposals concurrently and decisions replay.
* Evidence over votes: every concern or block names its rule, the
  resources and the numbers that led to it.
* Raise rather than guess: an exception becomes an error verdict, which the
  commander treats as "cannot approve".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from orchestrator.models import Proposal, Verdict

if TYPE_CHECKING:
    from orchestrator.agents import ActorProfile, AgentRegistry
    from orchestrator.catalog import ResourceCatalog
    from orchestrator.graph import DependencyGraph
    from orchestrator.policies import PolicyBundle


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One earlier decision on a proposal by the same actor."""

    decision_id: str
    outcome: str
    risk_tier: str
    changed_resources: int
    destructive_changes: int
    created_at: str


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


def _empty_catalog() -> ResourceCatalog:
    from orchestrator.catalog import ResourceCatalog  # noqa: PLC0415 - avoids an import cycle

    return ResourceCatalog.empty()


def _empty_policies() -> PolicyBundle:
    from orchestrator.policies import PolicyBundle  # noqa: PLC0415 - avoids an import cycle

    return PolicyBundle.empty()


def _no_registry() -> AgentRegistry:
    from orchestrator.agents import AgentRegistry  # noqa: PLC0415 - avoids an import cycle

    return AgentRegistry.none()


@dataclass(frozen=True, kw_only=True)
class ReviewContext:
    """Read-only facts a reviewer may consult besides the proposal.

    New fields are only ever added with defaults, so growing the context
    never breaks a reviewer written against an older one.
    """

    graph: DependencyGraph
    catalog: ResourceCatalog = field(default_factory=_empty_catalog)
    settings: Mapping[str, Any] = field(default_factory=_empty_mapping)
    prior_verdicts: tuple[Verdict, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    policy_version: str = ""
    # configs/policies/: native YAML rules and Rego modules
    policies: PolicyBundle = field(default_factory=_empty_policies)
    # configs/agents.yaml: who each actor is, what it exists for, where it may act
    agents: AgentRegistry = field(default_factory=_no_registry)
    # the proposing actor as judged at review time, with its elevations in force;
    # None: reviewers derive it from `agents` (without elevations)
    actor: ActorProfile | None = None

    def settings_for(self, reviewer: str) -> Any:
        """The validated settings of one reviewer (None when it has none)."""
        return self.settings.get(reviewer)


@runtime_checkable
class Reviewer(Protocol):
    """What every reviewer plugin provides."""

    name: str

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Judge one proposal and return a verdict with evidence."""
        ...
