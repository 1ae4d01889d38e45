"""The contrarian: argues against the stage-1 consensus, with evidence.

When the others approve, it hunts for what they may have missed: a small,
reversible, in-scope change with a huge fan-out; one change touching a large
share of a population; an intent that does not match what the change does;
unknown values that hide what will happen; a plan that cannot be judged.
When they block, it checks that each block carries evidence, so humans are
not buried in unsupported alarms. It never votes without saying why.
"""

from __future__ import annotations

import re

from pydantic import Field, JsonValue

from orchestrator.models import Finding, Frozen, Proposal, RiskTier, Verdict, max_tier
from orchestrator.reach import reach_summary
from orchestrator.reviewer import ReviewContext
from reviewers.contrarian.intent import intent_effect_finding
from reviewers.populations import population_shares


class ContrarianSettings(Frozen):
    """configs/reviewers/contrarian.yaml."""

    fanout_services: int = Field(default=10, ge=1)
    population_share: float = Field(default=0.25, ge=0, le=1)
    population_min: int = Field(default=10, ge=1)
    small_intent_keywords: tuple[str, ...] = ("fix", "typo", "cleanup", "tidy", "refactor")
    intent_destructive_count: int = Field(default=3, ge=1)
    sensitive_categories: tuple[str, ...] = ("iam", "account-iam", "rbac", "secrets", "kms", "auth")
    unknown_share: float = Field(default=0.5, ge=0, le=1)
    # Intent against effect: the categories an intent's words name, and the categories a
    # change may not touch unnamed (with the severity of the challenge).
    intent_categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    intent_watched_categories: dict[str, RiskTier] = Field(default_factory=dict)


class ContrarianReviewer:
    """Looks for the strongest evidence-backed case against the consensus."""

    name = "contrarian"
    stage = 2
    settings_model = ContrarianSettings

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Challenge the stage-1 verdicts in `context.prior_verdicts`."""
        settings = context.settings_for(self.name) or ContrarianSettings()
        return challenge(proposal, context, settings)


def challenge(proposal: Proposal, context: ReviewContext, settings: ContrarianSettings) -> Verdict:
    """The contrarian's verdict, as a plain function."""
    prior = [v for v in context.prior_verdicts if v.error is None]
    findings: list[Finding] = []
    if not any(v.stance == "block" for v in prior):
        findings += _missed(proposal, context, settings)
    findings += _unsupported_blocks(prior)
    if not findings:
        stances = ", ".join(f"{v.reviewer}: {v.stance}" for v in prior) or "no stage-1 verdicts"
        return Verdict(
            reviewer="contrarian",
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=0.6,
            rationale=(
                f"Looked for what the consensus ({stances}) missed and found nothing with evidence."
            ),
        )
    tier = max_tier(*(f.severity for f in findings))
    return Verdict(
        reviewer="contrarian",
        stance="concern",
        risk_tier=tier,
        confidence=0.7,
        findings=tuple(findings),
        rationale="Challenge: " + " ".join(f.message for f in findings),
    )


def _missed(
    proposal: Proposal, context: ReviewContext, settings: ContrarianSettings
) -> list[Finding]:
    findings: list[Finding] = []
    changes = proposal.effective_changes
    status = proposal.status
    if not status.judgeable:
        evidence: dict[str, JsonValue] = {
            "complete": status.complete,
            "errored": status.errored,
            "deferred_changes": status.deferred_changes,
        }
        if status.notes:
            evidence["notes"] = list[JsonValue](status.notes)
        why = f" ({'; '.join(status.notes[:2])})" if status.notes else ""
        findings.append(
            Finding(
                rule="contrarian.plan-not-judgeable",
                message=f"The {proposal.kind} input is incomplete or errored{why}, so nobody "
                "can see everything it will do.",
                evidence=evidence,
                severity=RiskTier.HIGH,
            )
        )
    if not changes:
        return findings
    graph = context.graph
    owners = sorted({s for c in changes for s in graph.owners(c.address)})
    dependents = _dependent_count(context, owners)
    if dependents >= settings.fanout_services:
        findings.append(
            Finding(
                rule="contrarian.fan-out",
                message=(
                    f"{len(changes)} change(s) look small, but {dependents} services depend on "
                    "what they touch."
                ),
                resources=tuple(sorted(c.address for c in changes)[:50]),
                evidence={"dependent_services": dependents, "owners": owners[:50]},
                severity=RiskTier.HIGH,
            )
        )
    for share in population_shares(proposal, graph.populations):
        if (
            share.population >= settings.population_min
            and share.touched_fraction >= settings.population_share
        ):
            findings.append(
                Finding(
                    rule="contrarian.population-share",
                    message=(
                        f"Touches {share.touched:,} of {share.population:,} {share.resource_type} "
                        f"({share.touched_fraction:.1%}) in one change."
                    ),
                    resources=share.examples,
                    evidence=share.evidence(),
                    severity=RiskTier.HIGH,
                )
            )
    findings += _intent_mismatch(proposal, context, settings)
    effect = intent_effect_finding(
        proposal, context.catalog, settings.intent_categories, settings.intent_watched_categories
    )
    if effect is not None:
        findings.append(effect)
    unknown = [
        c.address
        for c in changes
        if c.unknown_after and not c.is_destructive and c.action.value == "update"
    ]
    if unknown and len(unknown) / len(changes) >= settings.unknown_share:
        findings.append(
            Finding(
                rule="contrarian.unknown-values",
                message=f"{len(unknown)} updates depend on values known only after apply.",
                resources=tuple(sorted(unknown)[:50]),
                evidence={"updates_with_unknown_values": len(unknown)},
                severity=RiskTier.MEDIUM,
            )
        )
    return findings


def _dependent_count(context: ReviewContext, owners: list[str]) -> int:
    """Dependents of the owning services: the blast-radius reviewer's count when it gave one."""
    summary = reach_summary(context.prior_verdicts)
    if summary is not None:
        return max(0, summary.affected_services_total - len(owners))
    reached = context.graph.reach(owners)
    return sum(1 for r in reached.values() if r.distance > 0)


def _intent_mismatch(
    proposal: Proposal, context: ReviewContext, settings: ContrarianSettings
) -> list[Finding]:
    """A stated small intent against a plan that destroys much or touches sensitive things."""
    words = set(re.findall(r"[a-z]+", proposal.intent.lower()))
    claimed = sorted(words & {k.lower() for k in settings.small_intent_keywords})
    if not claimed:
        return []
    changes = proposal.effective_changes
    destructive = sorted(c.address for c in changes if c.is_destructive)
    sensitive = sorted(
        c.address
        for c in changes
        if (context.catalog.categories(c.type) | {c.category or ""})
        & set(settings.sensitive_categories)
    )
    facts: dict[str, JsonValue] = {"intent": proposal.intent, "intent_keywords": claimed}
    problems = []
    if len(destructive) >= settings.intent_destructive_count:
        problems.append(f"deletes or replaces {len(destructive)} resources")
        facts["destructive"] = list[JsonValue](destructive[:50])
    if sensitive:
        problems.append(f"touches {len(sensitive)} sensitive resources (IAM, secrets, keys, auth)")
        facts["sensitive"] = list[JsonValue](sensitive[:50])
    if not problems:
        return []
    return [
        Finding(
            rule="contrarian.intent-mismatch",
            message=f"The stated intent ({proposal.intent!r}) does not match a change that "
            + " and ".join(problems)
            + ".",
            resources=tuple(sorted(set(destructive) | set(sensitive))[:50]),
            evidence=facts,
            severity=RiskTier.HIGH,
        )
    ]


def _unsupported_blocks(prior: list[Verdict]) -> list[Finding]:
    """Blocks that name no rule with resources or evidence are alarms, not findings."""
    bare = [
        v.reviewer
        for v in prior
        if v.stance == "block" and not any(f.resources or f.evidence for f in v.findings)
    ]
    if not bare:
        return []
    return [
        Finding(
            rule="contrarian.unsupported-block",
            message=(
                f"{', '.join(bare)} blocks without evidence: "
                "a human should check the alarm is real."
            ),
            evidence={"reviewers": bare},
            severity=RiskTier.MEDIUM,
        )
    ]
