"""The scope reviewer: may this actor touch this, here?

It applies the risk-tier matrix of DESIGN.md: an environment floor (any
change in production is a production deploy, at least high; a git diff is
code, not a deploy, and has a floor of its own), a tier per resource
category (account IAM, auth and billing are critical; IAM, RBAC, secrets,
keys, network and DNS high; a diff's docs and tests low), stepped down
outside production, what is inside the changes (the powers a manifest
grants and what it exposes, the signals of a diff: `content`; the Pod
Security Standards: `pod_security`), and an ordered list of explicit rules
that deny, require approval or warn.

Work is grouped by (type, action) before any rule runs: a 10,000-change plan
holds a few dozen such groups, so rules and globs are evaluated a few dozen
times, not ten thousand.
"""

from __future__ import annotations

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from orchestrator.models import (
    Action,
    Environment,
    Finding,
    Proposal,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
    tier_rank,
)
from orchestrator.reviewer import ReviewContext
from reviewers.scope.content import content_findings, objects
from reviewers.scope.findings import (
    Hits,
    category_finding,
    floor_finding,
    rule_finding,
    unclassified_finding,
)
from reviewers.scope.pod_security import pod_security_findings
from reviewers.scope.rules import ScopeRule, ScopeSettings
from reviewers.scope.sql import safe_additive
from reviewers.shared import load_shipped, step_down

__all__ = ["ScopeReviewer", "ScopeRule", "ScopeSettings", "assess"]


class ScopeReviewer:
    """Judges whether the proposer may make these changes in this environment."""

    name = "scope"
    stage = 1
    settings_model = ScopeSettings

    @classmethod
    def load_default_settings(cls) -> ScopeSettings:
        """The settings shipped in configs/reviewers/scope.yaml."""
        return load_shipped(cls.name, ScopeSettings)

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Apply the environment floor, category tiers and rules to every change."""
        settings = context.settings_for(self.name) or self.load_default_settings()
        return assess(proposal, context.catalog, settings)


def assess(proposal: Proposal, catalog: ResourceCatalog, settings: ScopeSettings) -> Verdict:
    """The scope verdict; a plain function so batch callers can skip the event loop."""
    changes = proposal.effective_changes
    if not changes:
        return Verdict(
            reviewer="scope",
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=0.9,
            rationale="No change in this proposal does anything, so nothing is out of scope.",
        )
    if catalog.category_names:
        unknown = settings.unknown_names(
            frozenset(catalog.category_names), frozenset(catalog.trait_names)
        )
        if unknown:
            raise ConfigError(
                "scope settings",
                f"the resource catalog ({catalog.origin}) does not define {', '.join(unknown)}",
            )

    env, source = proposal.environment, proposal.source
    floor = settings.floor(proposal.kind, env)
    steps = 0 if env is Environment.PRODUCTION else settings.non_production_step_down
    rules = [r for r in settings.rules if r.applies_to(source, env)]

    groups: dict[tuple[str, Action, str | None], list[str]] = {}
    for change in changes:
        groups.setdefault((change.type, change.action, change.category), []).append(change.address)

    rule_hits: dict[str, Hits] = {}
    category_hits: dict[str, Hits] = {}
    unclassified = Hits()
    for (rtype, action, declared), addresses in groups.items():
        cats = catalog.categories(rtype)
        if declared:
            cats = cats | {declared}
        if not cats:
            unclassified.add(rtype, action, (), addresses)
        for cat in cats & settings.category_tiers.keys():
            category_hits.setdefault(cat, Hits()).add(rtype, action, (cat,), addresses)
        traits = catalog.traits(rtype)
        for rule in rules:
            if rule.matches(rtype, action, cats, traits):
                rule_hits.setdefault(rule.id, Hits()).add(rtype, action, cats, addresses)

    category_tier = {
        cat: step_down(settings.category_tiers[cat], steps, floor) for cat in category_hits
    }
    cap = settings.sql.safe_additive_tier if proposal.kind == "sql" else None
    if cap is not None and safe_additive(proposal, settings.sql):
        category_tier = {
            cat: t if tier_rank(t) <= tier_rank(cap) else cap for cat, t in category_tier.items()
        }
    fired = [r for r in rules if r.id in rule_hits]
    pods = pod_security_findings(proposal, settings.pod_security)
    content = content_findings(proposal, settings, steps=steps, floor=floor)
    objecting = objects(content) or pods.objects
    content = sorted([*content, *pods.findings], key=lambda f: (-tier_rank(f.severity), f.rule))
    tier = max_tier(
        floor,
        *category_tier.values(),
        *(t for r in fired if (t := r.effective_tier) is not None),
        *(f.severity for f in content),
    )

    findings = [rule_finding(r, rule_hits[r.id], proposal) for r in fired]
    findings.extend(content)
    for cat in sorted(category_tier, key=lambda c: (-tier_rank(category_tier[c]), c)):
        findings.append(
            category_finding(cat, category_tier[cat], category_hits[cat], proposal, catalog)
        )
    if tier_rank(floor) > 0:
        everything = Hits()
        for (rtype, action, _), addresses in groups.items():
            everything.add(rtype, action, (), addresses)
        findings.append(floor_finding(floor, everything, proposal))
    if unclassified.addresses:
        findings.append(unclassified_finding(unclassified, proposal, catalog))

    stance: Stance = "approve"
    if any(r.effect == "deny" for r in fired):
        stance = "block"
    elif fired or objecting or tier_rank(tier) >= tier_rank(RiskTier.HIGH):
        stance = "concern"
    classified = 1 - len(unclassified.addresses) / len(changes)
    return Verdict(
        reviewer="scope",
        stance=stance,
        risk_tier=tier,
        confidence=round(0.5 + 0.4 * classified, 3),
        findings=tuple(findings),
        rationale=_rationale(
            proposal,
            total=len(changes),
            tier=tier,
            floor=floor,
            category_tier=category_tier,
            fired=fired,
            content=content,
        ),
    )


def _rationale(
    proposal: Proposal,
    *,
    total: int,
    tier: RiskTier,
    floor: RiskTier,
    category_tier: dict[str, RiskTier],
    fired: list[ScopeRule],
    content: list[Finding],
) -> str:
    """One or two sentences: what decided the tier and, when denied, by which rule."""
    env = proposal.environment.value
    reasons = [_listed("rule", [r.id for r in fired if r.effective_tier == tier])]
    reasons.append(
        _listed("category", [c for c in sorted(category_tier) if category_tier[c] == tier])
    )
    reasons.append(_listed("finding", [f.rule for f in content if f.severity == tier]))
    if floor == tier:
        reasons.append(f"the {env} floor")
    head = (
        f"{total} change{'s' * (total != 1)} to {env} by {proposal.source.value} "
        f"{proposal.actor!r}: {tier.value}, set by {' and '.join(r for r in reasons if r)}."
    )
    denied = [r for r in fired if r.effect == "deny"]
    if denied:
        return f"Denied by {denied[0].id}: {denied[0].message}. {head}"
    return head


def _listed(kind: str, names: list[str]) -> str:
    if not names:
        return ""
    plural = {"rule": "rules", "category": "categories", "finding": "findings"}[kind]
    plural = plural if len(names) > 1 else kind
    return f"{plural} {', '.join(names)}"
