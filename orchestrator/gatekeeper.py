"""The review path's side of the gate: freezes first, budgets and escalations at record time.

`run_review` calls these around its fan-out: `frozen` before any reviewer
runs (a frozen actor's proposal is rejected and recorded at once),
`profile_with_elevations` to hand reviewers the grants in force, and
`decide_and_record` to aggregate with the actor's budget windows and record
the decision together with its escalation or budget reservation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import PurePath
from typing import TYPE_CHECKING

from orchestrator.commander import aggregate
from orchestrator.config import LoadedConfig
from orchestrator.errors import StoreError
from orchestrator.guards import Freeze, GateFacts
from orchestrator.models import Decision, Proposal, Source, Verdict

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from orchestrator.agents import ActorProfile, AgentRegistry
    from orchestrator.store import Store

# Each retry means another review of the same actor changed its budget or froze it meanwhile.
_SETTLE_ATTEMPTS = 5


def change_id_for(proposal: Proposal, given: str | None) -> str:
    """The change a submission belongs to: `--change-id`, else actor:environment:file name."""
    if given is not None and given.strip():
        return given.strip()
    # The file name alone: CI checks the same plan out under a different path each run.
    name = PurePath(proposal.input_name).name or proposal.input_name
    return f"{proposal.actor}:{proposal.environment.value}:{name}"


def profile_of(registry: AgentRegistry, proposal: Proposal) -> ActorProfile:
    """The actor as the registry judges it (its kind at least as strict as declared)."""
    return registry.profile(proposal.actor, proposal.source)


def frozen(store: Store, proposal: Proposal, profile: ActorProfile) -> Freeze | None:
    """The freeze stopping this proposal's actor now, if any."""
    from orchestrator.store.governance import current_freeze  # noqa: PLC0415 - SQLAlchemy

    return current_freeze(store, proposal.actor, ai_agent=profile.kind == Source.AI_AGENT)


def profile_with_elevations(
    store: Store, registry: AgentRegistry, proposal: Proposal, now: str
) -> ActorProfile:
    """The actor's profile with the elevations in force at `now`."""
    from orchestrator.store.governance import active_elevations  # noqa: PLC0415 - SQLAlchemy

    granted = active_elevations(store, proposal.actor, now=now)
    return registry.profile(proposal.actor, proposal.source, granted)


@dataclass(frozen=True, kw_only=True)
class Recording:
    """Everything `decide_and_record` needs besides the verdicts."""

    config: LoadedConfig
    profile: ActorProfile
    change_id: str
    submitter: str | None
    decision_id: str
    created_at: str
    # Runs first in the recording transaction, under the writers' lock; raising
    # records nothing (the service finds a decision already made this way).
    reuse: Callable[[Connection], None] | None = None


def decide_and_record(
    store: Store,
    proposal: Proposal,
    verdicts: Sequence[Verdict],
    recording: Recording,
    *,
    freeze: Freeze | None = None,
) -> Decision:
    """Aggregate with the gate facts and record; decide again if they changed meanwhile."""
    from orchestrator.store.governance import (  # noqa: PLC0415 - SQLAlchemy
        GateTerms,
        Unsettled,
        read_budget_windows,
        settle,
    )

    settings = recording.config.commander
    rules = settings.budgets.rules_for(proposal.actor, recording.profile.kind)
    facts = GateFacts(freeze=freeze)
    if freeze is None:
        windows = read_budget_windows(store, proposal.actor, rules, now=recording.created_at)
        facts = GateFacts(budgets=windows)
    for _ in range(_SETTLE_ATTEMPTS):
        decision = aggregate(
            proposal,
            verdicts,
            settings,
            decision_id=recording.decision_id,
            created_at=recording.created_at,
            policy_version=recording.config.policy_version,
            gate=facts,
        )
        terms = GateTerms(
            change_id=recording.change_id,
            submitter=recording.submitter,
            expiry=settings.gate.escalation_expiry,
            budget_rules=rules,
            kind=recording.profile.kind,
            facts=facts,
            reuse=recording.reuse,
        )
        try:
            # partial binds this attempt's decision: a retry never records an earlier one
            within = partial(settle, proposal=proposal, decision=decision, terms=terms)
            store.record(proposal, decision, within=within)
        except Unsettled as changed:
            facts = changed.facts
            continue
        return decision
    raise StoreError(
        f"decision {recording.decision_id}: {proposal.actor}'s budgets kept changing while "
        f"it was recorded ({_SETTLE_ATTEMPTS} attempts); not recorded, review again"
    )
