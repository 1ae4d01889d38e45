"""The blast-radius reviewer: what depends on what this change touches?

It follows the proposal's own references (a resource that reads a changed
one is affected too), maps every affected address to the services that own
it, and walks the topology once from all of them to find every service that
transitively depends on them. It also measures how much of each resource
population the change touches: 1,100 of 4,306 prefixes is 25.5%.

Score (0-100), documented in README.md: the worst of three measures,
* services: the criticality weights of every reached service, summed and
  divided by `service_weight_saturation` (capped at 1);
* fleet: the largest share of any resource population deleted or replaced;
* volume: destructive changes divided by `destructive_saturation` (capped at 1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from pydantic import Field

from orchestrator.graph import Reached
from orchestrator.models import (
    Action,
    Finding,
    Frozen,
    Proposal,
    ResourceChange,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
    tier_rank,
)
from orchestrator.reviewer import ReviewContext
from reviewers.populations import PopulationShare, population_shares
from reviewers.reach_evidence import reach_evidence


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


class BlastRadiusReviewer:
    """Reports who depends on what the change touches, and how much of a fleet it hits."""

    name = "blast-radius"
    stage = 1
    settings_model = BlastRadiusSettings

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Walk the dependency graph from every changed resource."""
        settings = context.settings_for(self.name) or BlastRadiusSettings()
        return assess(proposal, context, settings)


def assess(proposal: Proposal, context: ReviewContext, settings: BlastRadiusSettings) -> Verdict:
    """The blast-radius verdict; a plain function so batch callers can skip the event loop."""
    graph = context.graph
    changes = proposal.effective_changes
    changed = {c.address for c in changes}
    referencing = _follow_relations(proposal, changed)
    owners: dict[str, list[str]] = {}
    for address in sorted(changed | set(referencing)):
        found = graph.owners(address)
        if found:
            owners[address] = sorted(found)
    owner_services = {s for services in owners.values() for s in services}
    reached = graph.reach(owner_services)
    shares = population_shares(proposal, graph.topology.populations)

    findings: list[Finding] = []
    tier = RiskTier.LOW
    stance: Stance = "approve"
    destructive = [c for c in changes if c.is_destructive]

    weights = settings.criticality_weights
    service_weight = sum(weights.get(graph.criticality(s), 1.0) for s in reached)
    fleet = max((s.destroyed_fraction for s in shares), default=0.0)
    touched = max((s.touched_fraction for s in shares), default=0.0)
    score = round(
        100
        * max(
            min(1.0, service_weight / settings.service_weight_saturation),
            fleet,
            min(1.0, len(destructive) / settings.destructive_saturation),
        )
    )

    # The reach of a change is as risky as the most critical service it can
    # break; a pure create cannot break what exists, so it counts as medium at most.
    only_creates = all(c.action == Action.CREATE for c in changes)
    reach_tier = max_tier(*(graph.criticality(s) for s in reached))
    if only_creates:
        reach_tier = min(reach_tier, RiskTier.MEDIUM, key=tier_rank)
    tier = max_tier(tier, reach_tier)
    dependents = {s: r for s, r in reached.items() if r.distance > 0}
    wide = len(dependents) >= settings.fanout_escalate_services or tier_rank(
        reach_tier
    ) >= tier_rank(RiskTier.HIGH)
    if dependents and not only_creates and wide:
        stance = "concern"
        findings.append(_fanout_finding(dependents, context, owners, reach_tier))

    for share in shares:
        finding = _bulk_finding(share, settings)
        if finding is not None:
            findings.append(finding)
            tier = max_tier(tier, finding.severity)
            stance = _stricter(stance, "block" if finding.hard else "concern")

    rebuild = _rebuild_finding(proposal, destructive, shares, settings)
    if rebuild is not None:
        findings.append(rebuild)
        tier = RiskTier.CRITICAL
        stance = "block"

    summary = _reach_finding(
        proposal=proposal,
        changes=changes,
        owners=owners,
        reached=reached,
        context=context,
        score=score,
        fleet=fleet,
        touched=touched,
        shares=shares,
        settings=settings,
    )
    findings.insert(0, summary)
    rationale = (
        f"{len(changes)} changed resources reach {len(dependents)} dependent services "
        f"(score {score}/100); largest share of a population destroyed {fleet:.1%}."
    )
    confidence = 0.9 if len(graph) else 0.5  # without a topology, reach is only the plan's own
    return Verdict(
        reviewer="blast-radius",
        stance=stance,
        risk_tier=tier,
        confidence=confidence,
        findings=tuple(findings),
        rationale=rationale,
    )


def _follow_relations(proposal: Proposal, changed: set[str]) -> dict[str, int]:
    """Resources that reference a changed one, transitively, with their distance."""
    if not proposal.relations:
        return {}
    succ: dict[str, list[str]] = {}
    for rel in proposal.relations:
        succ.setdefault(rel.source, []).append(rel.target)
    found: dict[str, int] = {}
    queue = deque((a, 0) for a in sorted(changed))
    seen = set(changed)
    while queue:
        node, distance = queue.popleft()
        for nxt in succ.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                found[nxt] = distance + 1
                queue.append((nxt, distance + 1))
    return found


def _stricter(a: Stance, b: Stance) -> Stance:
    order: list[Stance] = ["approve", "concern", "block"]
    return a if order.index(a) >= order.index(b) else b


def _capped(items: Iterable[str], cap: int) -> tuple[list[str], int]:
    listed = sorted(items)
    return listed[:cap], max(0, len(listed) - cap)


def _reach_finding(
    *,
    proposal: Proposal,
    changes: tuple[ResourceChange, ...],
    owners: dict[str, list[str]],
    reached: dict[str, Reached],
    context: ReviewContext,
    score: int,
    fleet: float,
    touched: float,
    shares: list[PopulationShare],
    settings: BlastRadiusSettings,
) -> Finding:
    """The summary finding the decision's blast_radius block and the diagrams read."""
    evidence = reach_evidence(
        proposal=proposal,
        changes=changes,
        owners=owners,
        reached=reached,
        graph=context.graph,
        score=score,
        fleet=fleet,
        touched=touched,
        shares=shares,
        cap=settings.evidence_cap,
    )
    services = evidence["affected_services"]
    count = len(services) if isinstance(services, list) else 0
    return Finding(
        rule="blast-radius.reach",
        message=f"{len(changes)} changed resources; {count} services affected; score {score}/100.",
        resources=tuple(_capped((c.address for c in changes), 50)[0]),
        evidence=evidence,
        severity=RiskTier.LOW,
    )


def _fanout_finding(
    dependents: dict[str, Reached],
    context: ReviewContext,
    owners: dict[str, list[str]],
    tier: RiskTier,
) -> Finding:
    graph = context.graph
    critical = sorted(s for s in dependents if graph.criticality(s) == RiskTier.CRITICAL)
    listed, more = _capped(dependents, 50)
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


def _bulk_finding(share: PopulationShare, settings: BlastRadiusSettings) -> Finding | None:
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


def _rebuild_finding(
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
