"""The policy reviewer: what the organisation's own rules say about this change.

It judges three sources of policy, all from the config directory:

* native YAML rules (`configs/policies/*.yaml`, see orchestrator/policies/rules.py);
* Rego modules (`configs/policies/*.rego`), evaluated as conftest would;
* the agent registry (`configs/agents.yaml`): an AI agent outside its purposes
  or environments, unless an elevation in force covers it.

Each yields asks (deny, require approval, warn) with an enforcement level;
`effects` turns them into findings, a stance and a tier. The actor is
judged as the stricter of its declared source and its registry kind, so
rules for AI agents also bind an AI agent that claims to be a person.

A Rego module that cannot be compiled or evaluated makes this verdict an
error verdict (the commander then escalates, never approves); the YAML and
registry findings are kept in it so people still see them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import JsonValue

from orchestrator.agents import ActorProfile
from orchestrator.models import Proposal, RiskTier, Stance, Verdict, max_tier
from orchestrator.policies import PolicyBundle
from orchestrator.policies.matcher import RuleHit, evaluate_rules, group_changes
from orchestrator.policies.rego import RegoEvaluationError, RegoResult, evaluate_proposal
from orchestrator.reviewer import ReviewContext
from reviewers.policy.agents import actor_profile, agent_review
from reviewers.policy.effects import Ask
from reviewers.populations import population_shares
from reviewers.shared import counts, stricter

_SHARE_METRICS = frozenset({"destroyed_share", "touched_share"})
# Rego messages name resources in quotes (conftest style); those that are changes become resources.
_QUOTED = re.compile(r"""'([^'\s]+)'|"([^"\s]+)"|`([^`\s]+)`""")
_MESSAGES_PER_RULE = 50


class PolicyReviewer:
    """Applies the YAML rules, the Rego modules and the agent registry of the config."""

    name = "policy"
    stage = 1

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Judge the proposal by every policy in the context."""
        return assess(proposal, context)


def assess(proposal: Proposal, context: ReviewContext) -> Verdict:
    """The policy verdict; a plain function so batch callers can skip the event loop."""
    bundle, registry = context.policies, context.agents
    profile = actor_profile(proposal, registry, context.actor)
    groups = group_changes(proposal, context.catalog)
    populations: dict[str, int] = {}
    if any(_SHARE_METRICS & rule.when.keys() for rule in bundle.rules):
        shares = population_shares(proposal, context.graph.populations)
        populations = {s.resource_type: s.population for s in shares}
    hits = evaluate_rules(
        bundle.rules,
        proposal,
        source=profile.kind,
        catalog=context.catalog,
        populations=populations,
        groups=groups,
    )
    asks = [_rule_ask(hit, bundle, profile, proposal) for hit in hits]
    agent_asks, notes = agent_review(proposal, registry, profile, groups)
    asks += agent_asks
    error = None
    if bundle.rego_modules:
        try:
            results = evaluate_proposal(bundle, proposal, source=profile.kind)
        except RegoEvaluationError as exc:
            error = str(exc)
        else:
            asks += _rego_asks(results, proposal)

    stance: Stance = "approve"
    for ask in asks:
        stance = stricter(stance, ask.stance)
    tier = max_tier(*(t for a in asks if (t := a.raised_tier) is not None))
    findings = tuple([a.finding() for a in asks] + notes)
    rationale = _rationale(proposal, profile, bundle, asks, rego_ran=error is None)
    if error is not None:
        return Verdict(
            reviewer="policy",
            stance="concern",
            risk_tier=max_tier(tier, RiskTier.HIGH),
            confidence=0.0,
            findings=findings,
            rationale=f"Rego policy could not be evaluated, so policy cannot vouch for this "
            f"change: {error}. {rationale}",
            error=error,
        )
    return Verdict(
        reviewer="policy",
        stance=stance,
        risk_tier=tier,
        confidence=0.9,
        findings=findings,
        rationale=rationale,
    )


def _rule_ask(hit: RuleHit, bundle: PolicyBundle, profile: ActorProfile, proposal: Proposal) -> Ask:
    rule = hit.rule
    total = len(hit.addresses)
    figures: dict[str, JsonValue] = dict(hit.figures.items())
    evidence: dict[str, JsonValue] = {
        "defined_in": bundle.rule_origins.get(rule.id, ""),
        "figures": figures,
        "types": counts_of(hit.types),
        "actions": counts_of(hit.actions),
        "categories": [*hit.categories],
        "source": profile.kind.value,
        "actor": proposal.actor,
        "environment": proposal.environment.value,
    }
    if rule.description:
        evidence["description"] = rule.description
    return Ask(
        rule=rule.id,
        effect=rule.effect,
        enforcement=rule.enforcement,
        tier=rule.tier,
        roles=rule.roles,
        message=f"{rule.message} ({total} change{'s' * (total != 1)})",
        resources=hit.addresses,
        evidence=evidence,
    )


def counts_of(values: dict[str, int]) -> dict[str, JsonValue]:
    """A count per key, largest first, capped."""
    return counts(Counter(values))


def _rego_asks(results: Iterable[RegoResult], proposal: Proposal) -> list[Ask]:
    addresses = {c.address for c in proposal.changes}
    per_rule: dict[tuple[str, str], list[RegoResult]] = {}
    for result in results:
        per_rule.setdefault((result.package, result.rule), []).append(result)
    asks: list[Ask] = []
    for (package, rule), found in per_rule.items():
        settings, effect = found[0].settings, found[0].kind
        for result in found[:_MESSAGES_PER_RULE]:
            quoted = {m for groups in _QUOTED.findall(result.message) for m in groups if m}
            named = tuple(sorted(quoted & addresses))
            evidence: dict[str, JsonValue] = {
                "package": package,
                "rego_rule": rule,
                "files": [*result.origins],
            }
            if result.details:
                evidence["details"] = result.details
            asks.append(
                Ask(
                    rule=f"rego.{package}.{rule}",
                    effect=effect,
                    enforcement=settings.enforcement,
                    tier=settings.tier if effect == "deny" else None,
                    message=result.message,
                    resources=named,
                    evidence=evidence,
                )
            )
        if len(found) > _MESSAGES_PER_RULE:
            rest = len(found) - _MESSAGES_PER_RULE
            asks.append(
                Ask(
                    rule=f"rego.{package}.{rule}",
                    effect=effect,
                    enforcement=settings.enforcement,
                    tier=settings.tier if effect == "deny" else None,
                    message=f"… and {rest} more message{'s' * (rest != 1)} from {package}.{rule}",
                    evidence={"package": package, "rego_rule": rule, "omitted": rest},
                )
            )
    return asks


def _rationale(
    proposal: Proposal,
    profile: ActorProfile,
    bundle: PolicyBundle,
    asks: list[Ask],
    *,
    rego_ran: bool,
) -> str:
    packages = sorted({m.package for m in bundle.rego_modules if m.package})
    who = f"{profile.kind.value} {proposal.actor!r}" + (
        "" if profile.registered else " (unregistered)"
    )
    checked = f"{len(bundle.rules)} rule{'s' * (len(bundle.rules) != 1)}"
    if rego_ran:
        checked += f" and {len(packages)} Rego package{'s' * (len(packages) != 1)}"
    head = f"{checked} checked for {who} in {proposal.environment.value}"
    denied = [a.rule for a in asks if a.deciding and a.effect == "deny"]
    approval = [a.rule for a in asks if a.deciding and a.effect == "require-approval"]
    advisory = [a.rule for a in asks if a.enforcement == "advisory" and a.effect != "warn"]
    warned = [a.rule for a in asks if a.effect == "warn"]
    parts = []
    if denied:
        parts.append(f"denied by {', '.join(dict.fromkeys(denied))}")
    if approval:
        parts.append(f"needs approval under {', '.join(dict.fromkeys(approval))}")
    if warned:
        parts.append(f"warnings from {', '.join(dict.fromkeys(warned))}")
    if advisory:
        parts.append(
            f"advisory rules that would have decided: {', '.join(dict.fromkeys(advisory))}"
        )
    return f"{head}: {'; '.join(parts) if parts else 'none of them objects'}."
