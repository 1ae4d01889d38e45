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

from orchestrator.graph import Reached
from orchestrator.models import (
    Action,
    Finding,
    Proposal,
    ResourceChange,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
    tier_rank,
)
from orchestrator.reviewer import ReviewContext
from reviewers.blast_limits import (
    BlastRadiusSettings,
    bulk_finding,
    capped,
    fanout_finding,
    rebuild_finding,
)
from reviewers.populations import PopulationShare, population_shares
from reviewers.reach_evidence import reach_evidence
from reviewers.rollouts import rollout_findings


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
        findings.append(fanout_finding(dependents, context, owners, reach_tier))

    for share in shares:
        finding = bulk_finding(share, settings)
        if finding is not None:
            findings.append(finding)
            tier = max_tier(tier, finding.severity)
            stance = _stricter(stance, "block" if finding.hard else "concern")

    for finding in rollout_findings(proposal):
        findings.append(finding)
        tier = max_tier(tier, finding.severity)
        stance = _stricter(stance, "block" if finding.hard else "concern")

    rebuild = rebuild_finding(proposal, destructive, shares, settings)
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
        resources=tuple(capped((c.address for c in changes), 50)[0]),
        evidence=evidence,
        severity=RiskTier.LOW,
    )
