"""The limits of the blast-radius reviewer: its settings and the findings they trigger.

Limits that block: deleting or replacing a large share (or count) of one
resource population at once, and deleting or replacing most of what exists
(rebuilding the environment). Limits that escalate: a smaller bulk delete,
changing most of a fleet in one step, and a wide or critical fan-out.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from orchestrator.graph import Reached
from orchestrator.models import Action, Finding, Frozen, Proposal, ResourceChange, RiskTier
from orchestrator.reviewer import ReviewContext
from reviewers.populations import PopulationShare


class BlastRadiusSettings(Frozen):
    """configs/reviewers/blast-radius.yaml."""

    criticality_weights: dict[RiskTier, float] = Field(
        default_factory=lambda: {
            RiskTier.LOW: 1.0,
            RiskTier.MEDIUM: 2.0,
            RiskTier.HIGH: 4.0,
            RiskTier.CRITICAL: 8.0,
        }
    )
    service_weight_saturation: float = Field(default=100.0, gt=0)
    destructive_saturation: int = Field(default=100, gt=0)
    bulk_min_population: int = Field(default=20, ge=1)
    bulk_block_fraction: float = Field(default=0.10, ge=0, le=1)
    bulk_block_count: int = Field(default=500, ge=1)
    bulk_escalate_fraction: float = Field(default=0.02, ge=0, le=1)
    bulk_escalate_count: int = Field(default=25, ge=1)
    fleet_touch_escalate_fraction: float = Field(default=0.5, ge=0, le=1)
    rebuild_block_fraction: float = Field(default=0.5, ge=0, le=1)
    rebuild_min_destroyed: int = Field(default=5, ge=1)
    fanout_escalate_services: int = Field(default=10, ge=1)
    evidence_cap: int = Field(default=200, ge=1)


def fanout_finding(
    dependents: dict[str, Reached],
    context: ReviewContext,
    owners: dict[str, list[str]],
    tier: RiskTier,
) -> Finding:
    graph = context.graph
    critical = sorted(s for s in dependents if graph.criticality(s) == RiskTier.CRITICAL)
    listed, more = capped(dependents, 50)
    return Finding(
        rule="blast-radius.fan-out",
        message=(
            f"The change reaches {len(dependents)} dependent services"
            + (f", {len(critical)} of them critical" if critical else "")
            + "."
        ),
        resources=tuple(sorted(owners)[:50]),
        evidence={
            "dependents": len(dependents),
            "critical_dependents": critical[:50],
            "listed": listed,
            "more": more,
        },
        severity=tier,
    )


def bulk_finding(share: PopulationShare, settings: BlastRadiusSettings) -> Finding | None:
    evidence = share.evidence()
    big_enough = share.population >= settings.bulk_min_population
    if share.destroyed and (
        (big_enough and share.destroyed_fraction > settings.bulk_block_fraction)
        or share.destroyed >= settings.bulk_block_count
    ):
        return Finding(
            rule="blast-radius.bulk-destroy",
            message=(
                f"Deletes or replaces {share.destroyed:,} of {share.population:,} "
                f"{share.resource_type} ({share.destroyed_fraction:.1%}) at once."
            ),
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
            message=(
                f"Deletes or replaces {share.destroyed:,} of {share.population:,} "
                f"{share.resource_type} ({share.destroyed_fraction:.1%})."
            ),
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
