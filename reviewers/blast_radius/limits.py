"""The limits of the blast-radius reviewer: its settings, its score and the findings they trigger.

Limits that block (hard denials): deleting or replacing a large share or
count of one resource population at once; deleting or replacing most of what
exists (rebuilding the environment); an irreversible change (a delete or
replace of a stateful type) that can reach a critical service. Limits that
escalate: a smaller bulk delete, changing most of a fleet in one step, a
wide or critical fan-out, and a score at or over `score_escalate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from pydantic import Field, JsonValue

from orchestrator.graph.build import RANK, TIERS
from orchestrator.models import (
    Action,
    Environment,
    Finding,
    Frozen,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
)
from reviewers.blast_radius.reach import Reach
from reviewers.populations import PopulationShare

CRITICAL = RANK[RiskTier.CRITICAL]


class BlastRadiusSettings(Frozen):
    """configs/reviewers/blast-radius.yaml (README.md, "Blast-radius score", explains them)."""

    criticality_weights: dict[RiskTier, float] = Field(
        default_factory=lambda: {
            RiskTier.LOW: 1.0,
            RiskTier.MEDIUM: 2.0,
            RiskTier.HIGH: 4.0,
            RiskTier.CRITICAL: 8.0,
        }
    )
    services_half_weight: float = Field(default=50.0, gt=0)
    fleet_saturation: float = Field(default=0.25, gt=0, le=1)
    destructive_half: float = Field(default=50.0, gt=0)
    score_escalate: int = Field(default=50, ge=0, le=101)
    bulk_min_population: int = Field(default=20, ge=1)
    bulk_block_fraction: float = Field(default=0.10, ge=0, le=1)
    bulk_block_count: int = Field(default=500, ge=1)
    bulk_escalate_fraction: float = Field(default=0.02, ge=0, le=1)
    bulk_escalate_count: int = Field(default=25, ge=1)
    fleet_touch_escalate_fraction: float = Field(default=0.5, ge=0, le=1)
    rebuild_block_fraction: float = Field(default=0.5, ge=0, le=1)
    rebuild_min_destroyed: int = Field(default=5, ge=1)
    # A person tearing down stateless resources outside production, with an intent that
    # says so (one of these phrases), is recorded as a note, not a denial.
    teardown_intent: tuple[str, ...] = (
        "tear down",
        "teardown",
        "tear-down",
        "decommission",
        "destroy",
        "wind down",
        "clean up",
        "cleanup",
        "remove",
        "delete",
    )
    # Outside production a change is judged by the environment's own criticality: what the
    # topology's `environments` says, else this floor (production's criticality is
    # production's).
    environment_criticality: dict[Environment, RiskTier] = Field(
        default_factory=lambda: {
            Environment.STAGING: RiskTier.MEDIUM,
            Environment.DEVELOPMENT: RiskTier.LOW,
        }
    )
    irreversible_critical_hard: bool = True
    fanout_escalate_services: int = Field(default=10, ge=1)
    choke_point_min_services: int = Field(default=2, ge=1)
    choke_points: int = Field(default=5, ge=0)
    evidence_cap: int = Field(default=200, ge=1)


def score_parts(
    rank_counts: list[int],
    reach: Reach,
    shares: list[PopulationShare],
    settings: BlastRadiusSettings,
) -> dict[str, float]:
    """The three measures of the score, each in [0, 1] (`rank_counts`: reached services by rank)."""
    weights = settings.criticality_weights
    weight = sum(weights.get(TIERS[r], 1.0) * n for r, n in enumerate(rank_counts))
    # as for the bulk limits, shares of tiny populations say little
    destroyed = max(
        (
            s.destroyed_fraction
            for s in shares
            if s.known and s.population >= settings.bulk_min_population
        ),
        default=0.0,
    )
    destructive = sum(1 for c in reach.changes if c.is_destructive)
    return {
        "services": round(1 - 0.5 ** (weight / settings.services_half_weight), 4),
        "fleet": round(min(1.0, destroyed / settings.fleet_saturation), 4),
        "volume": round(1 - 0.5 ** (destructive / settings.destructive_half), 4),
    }


def fanout_finding(reach: Reach, tier: RiskTier) -> Finding:
    """The change reaches many dependents, or critical ones."""
    graph, dependents = reach.graph, reach.dependents
    names, rank = graph.names, graph.rank
    critical = sorted(names[s] for s in dependents if rank[s] == CRITICAL)
    dist, index = reach.walk.dist, graph.services
    listed = list(islice((s for s in reach.sorted_names if dist[index[s]] > 0), 50))
    return Finding(
        rule="blast-radius.fan-out",
        message=(
            f"The change reaches {len(dependents):,} dependent services"
            + (f", {len(critical):,} of them critical" if critical else "")
            + "."
        ),
        resources=tuple(sorted(reach.owners)[:50]),
        evidence={
            "dependents": len(dependents),
            "critical_dependents": critical[:50],
            "listed": listed,
            "more": len(dependents) - len(listed),
        },
        severity=tier,
    )


def irreversible_finding(
    reach: Reach, settings: BlastRadiusSettings, critical: list[int]
) -> Finding | None:
    """An irreversible change that can break a service critical where the change goes."""
    if not critical:
        return None
    name = reach.name
    paths = {name(s): reach.irreversible_path(s) for s in critical}
    hits = sorted((service, name(path[0])) for service, path in paths.items())
    changes = sorted({change for _, change in hits})
    return Finding(
        rule="blast-radius.irreversible-critical",
        message=(
            f"{len(changes)} irreversible change(s) (delete or replace of a stateful resource) "
            f"can break {len(hits)} critical service(s): {', '.join(s for s, _ in hits[:5])}"
            + (" …" if len(hits) > 5 else "")
            + "."
        ),
        resources=tuple(changes[:50]),
        evidence={
            "critical_services": dict(hits[:50]),
            "irreversible_changes": reach.irreversible[:50],
            "example_path": [name(n) for n in paths[hits[0][0]]],
        },
        severity=RiskTier.CRITICAL,
        hard=settings.irreversible_critical_hard,
    )


def score_finding(score: int, parts: dict[str, float], settings: BlastRadiusSettings) -> Finding:
    """A score at or over the escalation threshold."""
    worst = max(parts, key=lambda k: parts[k])
    return Finding(
        rule="blast-radius.score",
        message=(
            f"Blast-radius score {score}/100 (driven by {worst}) "
            f"reaches the escalation threshold {settings.score_escalate}."
        ),
        evidence={"score": score, "parts": dict(parts), "threshold": settings.score_escalate},
        severity=RiskTier.HIGH,
    )


def cycle_finding(reach: Reach) -> Finding | None:
    """Services that depend on each other in a circle, on the change's path."""
    if not reach.cycles:
        return None
    groups = sorted(sorted(reach.name(n) for n in group) for group in reach.cycles)
    return Finding(
        rule="blast-radius.cycle",
        message=(
            f"The change reaches {len(groups)} dependency cycle(s), e.g. "
            f"{' -> '.join(groups[0][:6])}{' …' if len(groups[0]) > 6 else ''}: "
            "a failure there can feed back on itself."
        ),
        evidence={"cycles": [g[:20] for g in groups[:10]], "cycles_total": len(groups)},
        severity=RiskTier.LOW,
    )


def bulk_finding(share: PopulationShare, settings: BlastRadiusSettings) -> Finding | None:
    """Deleting or replacing, or changing, much of one resource population."""
    evidence = share.evidence()
    big_enough = share.known and share.population >= settings.bulk_min_population
    destroyed = (
        f"Deletes or replaces {share.destroyed:,} of {share.population:,} "
        f"{share.resource_type} ({share.destroyed_fraction:.1%})"
        if share.known
        else f"Deletes or replaces {share.destroyed:,} {share.resource_type} "
        "(population unknown: no prior state, no declared size)"
    )
    if share.destroyed and (
        (big_enough and share.destroyed_fraction > settings.bulk_block_fraction)
        or share.destroyed >= settings.bulk_block_count
    ):
        return Finding(
            rule="blast-radius.bulk-destroy",
            message=destroyed + " at once.",
            resources=share.examples,
            evidence=evidence,
            severity=RiskTier.CRITICAL,
            hard=True,
        )
    if share.destroyed and (
        (big_enough and share.destroyed_fraction > settings.bulk_escalate_fraction)
        or share.destroyed >= settings.bulk_escalate_count
    ):
        return Finding(
            rule="blast-radius.bulk-destroy-warning",
            message=destroyed + ".",
            resources=share.examples,
            evidence=evidence,
            severity=RiskTier.HIGH,
        )
    if big_enough and share.touched_fraction >= settings.fleet_touch_escalate_fraction:
        return Finding(
            rule="blast-radius.fleet-wide",
            message=(
                f"Changes {share.touched:,} of {share.population:,} {share.resource_type} "
                f"({share.touched_fraction:.1%}) in one step: no staged rollout."
            ),
            resources=share.examples,
            evidence=evidence,
            severity=RiskTier.HIGH,
        )
    return None


def rebuild_finding(
    proposal: Proposal,
    destructive: list[ResourceChange],
    shares: list[PopulationShare],
    settings: BlastRadiusSettings,
    *,
    stateful: bool,
) -> Finding | None:
    """Deleting or replacing most of what exists is rebuilding the environment.

    The guard (after the AI agent that "deleted and recreated the environment")
    denies outright when what goes is stateful, in production, or proposed by
    an AI agent or automation. A person tearing down stateless resources
    elsewhere with an intent that says so is recorded as a note; without such
    an intent it is a concern for a human to confirm.
    """
    existing = sum(1 for c in proposal.changes if c.action != Action.CREATE and c.mode == "managed")
    # What exists is also what the topology declares for plans without prior state:
    # deleting 1,100 of 4,306 declared prefixes is not deleting everything.
    per_type = dict(proposal.populations)
    for share in shares:
        if share.known:
            per_type[share.resource_type] = max(
                per_type.get(share.resource_type, 0), share.population
            )
    existing = max(existing, sum(per_type.values()))
    if existing == 0 or len(destructive) < settings.rebuild_min_destroyed:
        return None
    fraction = len(destructive) / existing
    if fraction < settings.rebuild_block_fraction:
        return None
    env = proposal.environment
    guarded = stateful or env is Environment.PRODUCTION or proposal.source != Source.HUMAN
    intent = proposal.intent.lower()
    says_so = any(phrase in intent for phrase in settings.teardown_intent)
    counted = "existing" if proposal.populations else "the plan shows (no prior state)"
    evidence: dict[str, JsonValue] = {
        "destroyed": len(destructive),
        "existing": existing,
        "fraction": round(fraction, 4),
        "environment": env.value,
        "source": proposal.source.value,
        "stateful": stateful,
        "intent_says_teardown": says_so,
    }
    head = (
        f"Deletes or replaces {len(destructive)} of {existing} {counted} resources ({fraction:.0%})"
    )
    if guarded:
        why = (
            "stateful resources go"
            if stateful
            else "in production"
            if env is Environment.PRODUCTION
            else f"proposed by {proposal.source.value} {proposal.actor!r}"
        )
        message = f"{head}: this tears down and rebuilds the environment ({why})."
        severity, hard = RiskTier.CRITICAL, True
    elif says_so:
        message = (
            f"{head}: a teardown of stateless resources in {env.value} by a person, "
            f"as the intent says ({proposal.intent!r}); recorded, not denied."
        )
        severity, hard = RiskTier.LOW, False
    else:
        message = (
            f"{head} in {env.value}, and the intent does not say it is a teardown: "
            "a person should confirm."
        )
        severity, hard = RiskTier.HIGH, False
    return Finding(
        rule="blast-radius.environment-rebuild",
        message=message,
        resources=tuple(sorted(c.address for c in destructive)[:50]),
        evidence=evidence,
        severity=severity,
        hard=hard,
    )


def capped(items: Iterable[str], cap: int) -> tuple[list[str], int]:
    """The first `cap` items in sorted order, and how many were left out."""
    listed = sorted(items)
    return listed[:cap], max(0, len(listed) - cap)
