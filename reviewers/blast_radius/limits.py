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

from pydantic import Field

from orchestrator.graph.build import RANK, TIERS
from orchestrator.models import Action, Finding, Frozen, Proposal, ResourceChange, RiskTier
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
    irreversible_critical_hard: bool = True
    fanout_escalate_services: int = Field(default=10, ge=1)
    choke_point_min_services: int = Field(default=2, ge=1)
    choke_points: int = Field(default=5, ge=0)
    evidence_cap: int = Field(default=200, ge=1)


def score_parts(
    reach: Reach, shares: list[PopulationShare], settings: BlastRadiusSettings
) -> dict[str, float]:
    """The three measures of the score, each in [0, 1]."""
    weights = settings.criticality_weights
    weight = sum(weights.get(TIERS[r], 1.0) * n for r, n in enumerate(reach.rank_counts))
    # as for the bulk limits, shares of tiny populations say little
    destroyed = max(
        (s.destroyed_fraction for s in shares if s.population >= settings.bulk_min_population),
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


def irreversible_finding(reach: Reach, settings: BlastRadiusSettings) -> Finding | None:
    """An irreversible change that can break a critical service."""
    if not reach.irreversible_critical:
        return None
    name = reach.name
    paths = {name(s): reach.irreversible_path(s) for s in reach.irreversible_critical}
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
    big_enough = share.population >= settings.bulk_min_population
    destroyed = (
        f"Deletes or replaces {share.destroyed:,} of {share.population:,} "
        f"{share.resource_type} ({share.destroyed_fraction:.1%})"
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
) -> Finding | None:
    """Deleting or replacing most of what exists is rebuilding the environment."""
    existing = sum(1 for c in proposal.changes if c.action != Action.CREATE and c.mode == "managed")
    # What exists is also what the topology declares for plans without prior state:
    # deleting 1,100 of 4,306 declared prefixes is not deleting everything.
    per_type = dict(proposal.populations)
    for share in shares:
        per_type[share.resource_type] = max(per_type.get(share.resource_type, 0), share.population)
    existing = max(existing, sum(per_type.values()))
    if existing == 0 or len(destructive) < settings.rebuild_min_destroyed:
        return None
    fraction = len(destructive) / existing
    if fraction < settings.rebuild_block_fraction:
        return None
    return Finding(
        rule="blast-radius.environment-rebuild",
        message=(
            f"Deletes or replaces {len(destructive)} of {existing} existing resources "
            f"({fraction:.0%}): this tears down and rebuilds the environment."
        ),
        resources=tuple(sorted(c.address for c in destructive)[:50]),
        evidence={
            "destroyed": len(destructive),
            "existing": existing,
            "fraction": round(fraction, 4),
            "environment": proposal.environment.value,
        },
        severity=RiskTier.CRITICAL,
        hard=True,
    )


def capped(items: Iterable[str], cap: int) -> tuple[list[str], int]:
    """The first `cap` items in sorted order, and how many were left out."""
    listed = sorted(items)
    return listed[:cap], max(0, len(listed) - cap)
