"""The agent registry's part of the policy review: does this AI agent stay in its lane?

An AI agent may touch a change when one of the change's categories is among
its purposes *and* the target environment is among its environments, or when
an elevation in force covers both: an elevation's categories stand in for the
purposes and its environments for the environments (an empty list keeps the
actor's own). Humans and automation are judged by the policy rules alone;
their registry entries name their kind.

An actor missing from the registry is judged as `unknown_actors` (or its
declared source when that is stricter); judged as an AI agent it has no
purposes and no environments, so only an elevation lets it touch anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from orchestrator.agents import ActorProfile, AgentRegistry, Elevation
from orchestrator.models import Environment, Finding, Proposal, RiskTier, Source
from orchestrator.policies.matcher import ChangeGroup
from orchestrator.policies.rules import Effect, environment_name
from reviewers.policy.effects import Ask
from reviewers.shared import capped


def actor_profile(
    proposal: Proposal, registry: AgentRegistry, given: ActorProfile | None
) -> ActorProfile:
    """The profile the review judges by: the one handed in (with elevations) or the registry's."""
    if given is not None and given.actor == proposal.actor:
        return given
    return registry.profile(proposal.actor, proposal.source)


@dataclass
class _Lanes:
    out_of_purpose: list[ChangeGroup]
    out_of_environment: list[ChangeGroup]
    elevated: dict[str, list[ChangeGroup]]


def _environments(names: Sequence[str]) -> frozenset[Environment]:
    return frozenset(e for n in names if (e := environment_name(n)) is not None)


def _lanes(
    profile: ActorProfile, environment: Environment, groups: Sequence[ChangeGroup]
) -> _Lanes:
    purposes = frozenset(profile.purposes)
    allowed_envs = _environments(profile.environments)
    grants = [
        (e, frozenset(e.categories) or purposes, _environments(e.environments) or allowed_envs)
        for e in profile.elevations
    ]
    lanes = _Lanes([], [], {})
    for group in groups:
        in_purpose = not group.categories.isdisjoint(purposes)
        in_environment = environment in allowed_envs
        if in_purpose and in_environment:
            continue
        grant = next(
            (
                e
                for e, cats, envs in grants
                if not group.categories.isdisjoint(cats) and environment in envs
            ),
            None,
        )
        if grant is not None:
            lanes.elevated.setdefault(grant.elevation_id, []).append(group)
            continue
        if not in_purpose:
            lanes.out_of_purpose.append(group)
        if not in_environment:
            lanes.out_of_environment.append(group)
    return lanes


def agent_review(
    proposal: Proposal,
    registry: AgentRegistry,
    profile: ActorProfile,
    groups: Sequence[ChangeGroup],
) -> tuple[list[Ask], list[Finding]]:
    """The asks (lane violations) and informational findings (elevations used) for one actor."""
    if not registry.configured:
        return [], []
    enforcement = registry.enforcement
    # hard-mandatory rejects; otherwise a human may let the agent out of its lane
    effect: Effect = "deny" if enforcement == "hard-mandatory" else "require-approval"
    tier = RiskTier.HIGH if effect == "deny" else None
    asks: list[Ask] = []
    actor, declared = proposal.actor, proposal.source
    base: dict[str, JsonValue] = {
        "actor": actor,
        "registered": profile.registered,
        "judged_as": profile.kind.value,
        "declared_source": declared.value,
        "registry": registry.origin,
    }
    if profile.registered and profile.kind != declared:
        asks.append(
            Ask(
                rule="policy.agent.source-mismatch",
                effect=effect,
                enforcement=enforcement,
                tier=tier,
                message=f"{actor!r} is registered as {profile.kind.value} but the proposal "
                f"says {declared.value}: judged as {profile.kind.value}",
                evidence=dict(base),
            )
        )
    if profile.kind != Source.AI_AGENT or not groups:
        return asks, []
    lanes = _lanes(profile, proposal.environment, groups)
    env = proposal.environment.value
    lane_evidence: dict[str, JsonValue] = {
        **base,
        "purposes": [*profile.purposes],
        "environments": [*profile.environments],
        "environment": env,
    }
    if not profile.registered:
        outside = {id(g): g for g in lanes.out_of_purpose + lanes.out_of_environment}
        if outside:
            addresses = _addresses(outside.values())
            asks.append(
                Ask(
                    rule="policy.agent.unregistered",
                    effect=effect,
                    enforcement=enforcement,
                    tier=tier,
                    message=f"{actor!r} is not in the agent registry and is judged as an "
                    f"ai-agent with no purposes: none of its {_changes(len(addresses))} "
                    "is in its lane",
                    resources=addresses,
                    evidence={**lane_evidence, "categories": _categories(outside.values())},
                )
            )
    else:
        if lanes.out_of_purpose:
            cats = _categories(lanes.out_of_purpose)
            addresses = _addresses(lanes.out_of_purpose)
            asks.append(
                Ask(
                    rule="policy.agent.out-of-purpose",
                    effect=effect,
                    enforcement=enforcement,
                    tier=tier,
                    message=f"ai-agent {actor!r} exists for "
                    f"{', '.join(profile.purposes) or 'nothing'}; {_changes(len(addresses))} "
                    f"{'touches' if len(addresses) == 1 else 'touch'} "
                    f"{', '.join(str(c) for c in cats)}",
                    resources=addresses,
                    evidence={**lane_evidence, "categories": cats},
                )
            )
        if lanes.out_of_environment:
            addresses = _addresses(lanes.out_of_environment)
            asks.append(
                Ask(
                    rule="policy.agent.out-of-environment",
                    effect=effect,
                    enforcement=enforcement,
                    tier=tier,
                    message=f"ai-agent {actor!r} may act in "
                    f"{', '.join(profile.environments) or 'no environment'}, not in {env}",
                    resources=addresses,
                    evidence=dict(lane_evidence),
                )
            )
    return asks, _elevation_findings(profile.elevations, lanes.elevated)


def _elevation_findings(
    elevations: Sequence[Elevation], used: dict[str, list[ChangeGroup]]
) -> list[Finding]:
    findings = []
    for elevation in elevations:
        groups = used.get(elevation.elevation_id)
        if not groups:
            continue
        resources, total = capped(_addresses(groups))
        findings.append(
            Finding(
                rule="policy.agent.elevated",
                message=f"{total} change{'s' * (total != 1)} outside the agent's lane allowed by "
                f"elevation {elevation.elevation_id}, granted by {elevation.granted_by} until "
                f"{elevation.until}: {elevation.reason}",
                resources=resources,
                evidence={
                    "elevation_id": elevation.elevation_id,
                    "granted_by": elevation.granted_by,
                    "granted_at": elevation.granted_at,
                    "until": elevation.until,
                    "reason": elevation.reason,
                    "categories": [*elevation.categories],
                    "environments": [*elevation.environments],
                    "resource_count": total,
                },
                severity=RiskTier.LOW,
            )
        )
    return findings


def _changes(n: int) -> str:
    return f"{n} change{'s' * (n != 1)}"


def _addresses(groups: Iterable[ChangeGroup]) -> tuple[str, ...]:
    return tuple(c.address for g in groups for c in g.changes)


def _categories(groups: Iterable[ChangeGroup]) -> list[JsonValue]:
    return [*sorted({c for g in groups for c in g.categories})]
