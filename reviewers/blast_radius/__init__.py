"""The blast-radius reviewer: what depends on what this change touches?

The proposal's resources join the dependency graph with their own relations
(Terraform references, Kubernetes selectors, whatever the adapter found) and
an edge to every service owning them; one walk from all changed resources
finds every service that transitively depends on them, with its distance
and criticality (`reach`). It also measures how much of each resource
population the change touches: 1,100 of 4,306 prefixes is 25.5%.

Score (0-100), documented in README.md ("Blast-radius score"): 100 x the
worst of three measures, each in [0, 1] (`limits.score_parts`).
"""

from __future__ import annotations

from pydantic import JsonValue

from orchestrator.models import (
    Action,
    Finding,
    Proposal,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
    tier_rank,
)
from orchestrator.reach import SUMMARY_RULE
from orchestrator.reviewer import ReviewContext
from reviewers.blast_radius.environment import in_environment
from reviewers.blast_radius.evidence import reach_evidence
from reviewers.blast_radius.limits import (
    BlastRadiusSettings,
    bulk_finding,
    capped,
    cycle_finding,
    fanout_finding,
    irreversible_finding,
    rebuild_finding,
    score_finding,
    score_parts,
)
from reviewers.blast_radius.reach import Reach, analyse
from reviewers.blast_radius.rollouts import rollout_findings
from reviewers.populations import PopulationShare, population_shares

__all__ = ["BlastRadiusReviewer", "BlastRadiusSettings", "assess"]

_STANCES: tuple[Stance, ...] = ("approve", "concern", "block")
# Limits that block even when configured not to be hard denials.
BLOCKING_RULES = frozenset({"blast-radius.irreversible-critical"})


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
    reach = analyse(
        proposal,
        context.graph,
        context.catalog,
        choke_min_services=settings.choke_point_min_services,
        choke_limit=settings.choke_points,
    )
    changes = reach.changes
    shares = population_shares(proposal, context.graph.populations)
    destructive = [c for c in changes if c.is_destructive]
    criticality = in_environment(reach, context.graph, proposal.environment, settings)
    parts = score_parts(criticality.rank_counts, reach, shares, settings)
    score = round(100 * max(parts.values()))
    fleet = max((s.destroyed_fraction for s in shares), default=0.0)
    touched = max((s.touched_fraction for s in shares), default=0.0)

    findings: list[Finding] = []
    stance: Stance = "approve"
    # The reach of a change is as risky as the most critical service it can
    # break (in the environment it goes to); a pure create cannot break what
    # exists, so it counts as medium at most.
    only_creates = all(c.action == Action.CREATE for c in changes)
    reach_tier = criticality.tier
    if only_creates:
        reach_tier = min(reach_tier, RiskTier.MEDIUM, key=tier_rank)
    tier = reach_tier
    dependents = reach.dependents
    wide = len(dependents) >= settings.fanout_escalate_services
    if dependents and not only_creates and (wide or tier_rank(reach_tier) >= 2):
        stance = "concern"
        findings.append(fanout_finding(reach, reach_tier))

    limits = [
        *(bulk_finding(share, settings) for share in shares),
        *rollout_findings(proposal),
        rebuild_finding(proposal, destructive, shares, settings, stateful=bool(reach.irreversible)),
        irreversible_finding(reach, settings, criticality.critical),
    ]
    for finding in limits:
        if finding is None:
            continue
        findings.append(finding)
        if finding.severity is RiskTier.LOW:
            continue  # a note: recorded, no objection
        tier = max_tier(tier, finding.severity)
        blocks = finding.hard or finding.rule in BLOCKING_RULES
        stance = _stricter(stance, "block" if blocks else "concern")
    if stance == "approve" and not only_creates and score >= settings.score_escalate:
        findings.append(score_finding(score, parts, settings))
        stance, tier = "concern", max_tier(tier, RiskTier.HIGH)
    cycles = cycle_finding(reach)
    if cycles is not None:
        findings.append(cycles)

    evidence = reach_evidence(
        reach,
        proposal=proposal,
        score=score,
        parts=parts,
        fleet=fleet,
        touched=touched,
        shares=shares,
        cap=settings.evidence_cap,
    )
    evidence["criticality"] = criticality.evidence()
    findings.insert(0, _summary(reach, evidence, score))
    rationale = (
        f"{_count(len(changes), 'changed resource')} reach{'es' * (len(changes) == 1)} "
        f"{_count(len(dependents), 'dependent service')} "
        f"(score {score}/100); {_population_sentence(shares, fleet)}"
        + (f" {criticality.note}" if criticality.note else "")
    )
    # Without a topology the reach is only the plan's own references.
    confidence = 0.9 if len(context.graph) else 0.5
    return Verdict(
        reviewer="blast-radius",
        stance=stance,
        risk_tier=tier,
        confidence=confidence,
        findings=tuple(findings),
        rationale=rationale,
    )


def _summary(reach: Reach, evidence: dict[str, JsonValue], score: int) -> Finding:
    """The summary finding: `orchestrator/reach.py` is the one reader of its evidence."""
    return Finding(
        rule=SUMMARY_RULE,
        message=(
            f"{_count(len(reach.changes), 'changed resource')}; "
            f"{_count(len(reach.services), 'service')} affected; score {score}/100."
        ),
        resources=tuple(capped((c.address for c in reach.changes), 50)[0]),
        evidence=evidence,
        severity=RiskTier.LOW,
    )


def _population_sentence(shares: list[PopulationShare], fleet: float) -> str:
    """The largest share of a known population destroyed, or that no population is known."""
    if any(s.known for s in shares):
        return f"largest share of a population destroyed {fleet:.1%}."
    if shares:
        return "population sizes unknown (no prior state, none declared): no share is claimed."
    return "no existing resource is touched."


def _stricter(a: Stance, b: Stance) -> Stance:
    return a if _STANCES.index(a) >= _STANCES.index(b) else b


def _count(n: int, noun: str) -> str:
    """`n` (with thousands separators) and `noun`, plural unless n is one."""
    return f"{n:,} {noun}{'s' * (n != 1)}"
