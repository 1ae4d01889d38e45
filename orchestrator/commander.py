"""The commander: turn verdicts into one decision. A pure function, tested by tables.

`aggregate` runs small ordered steps:

1. the tier is the riskiest any reviewer saw (a failed reviewer counts as
   high, an incomplete plan or a frozen actor's unreviewed change as at least
   high);
2. every aggregation rule that applies fires, each with the outcome it asks
   for: a frozen actor rejects and nothing else is weighed; otherwise the
   rules of `RULES`, an ordered table of small functions, fire in turn (hard
   denials reject; a failed reviewer, an incomplete plan, a tier that needs
   humans, a block or a concern (dissent left unresolved), a finding naming
   roles that must sign off escalate), then an exceeded action budget rejects;
3. the outcome is the strictest any fired rule asks for, approve when none;
4. the required approvals are the union of what the escalating rules ask for
   (a policy finding's `evidence["required_roles"]` adds named roles).

Nothing here reads a clock, the environment or the store: the decision id and
time, and the gate facts (a freeze in force, the actor's budget windows), are
handed in, so the same verdicts, facts and policy give the same decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from orchestrator.config import CommanderSettings
from orchestrator.guards import FROZEN_RULE, GateFacts, budget_overruns, change_figures
from orchestrator.models import (
    Decision,
    Finding,
    Outcome,
    Proposal,
    RequiredApproval,
    RiskTier,
    Source,
    Stance,
    TopologyRef,
    Verdict,
    max_tier,
)
from orchestrator.reach import blast_radius_of

_STANCE_SCORE: dict[Stance, float] = {"approve": 0.0, "concern": 0.5, "block": 1.0}
_OUTCOME_RANK: dict[Outcome, int] = {"approve": 0, "escalate": 1, "reject": 2}
# The evidence key under which a finding names roles that must sign off (policy rules do).
REQUIRED_ROLES = "required_roles"


@dataclass(frozen=True)
class FiredRule:
    """One aggregation rule that applied, the outcome it asks for and why."""

    rule: str
    outcome: Outcome
    reason: str
    approvals: tuple[str, ...] = ()
    # A rejection is final: no sign-off lifts it, so its rationale never asks for one.
    # `without_sign_off` is the reason reworded for it; None drops a rule that only asks.
    without_sign_off: str | None = ""

    def reason_beside_reject(self) -> str | None:
        """The reason as listed under a rejection (None: it only asked for sign-off)."""
        return self.reason if self.without_sign_off == "" else self.without_sign_off


def aggregate(
    proposal: Proposal,
    verdicts: Sequence[Verdict],
    settings: CommanderSettings,
    *,
    decision_id: str,
    created_at: str,
    policy_version: str,
    gate: GateFacts | None = None,
    topology: TopologyRef | None = None,
) -> Decision:
    """Aggregate reviewer verdicts (and the gate facts) into the decision for one proposal."""
    # order must not matter: sort on the whole verdict, so even two verdicts
    # signed with one name (a misconfigured plugin) land in one order
    ordered = tuple(sorted(verdicts, key=lambda v: (v.reviewer, v.model_dump_json())))
    facts = gate or GateFacts()
    tier = decide_tier(proposal, ordered)
    blast = blast_radius_of(proposal, ordered)
    if facts.freeze is not None:
        # Reviewers did not run (or no longer count): the change is unjudged, so at least high.
        tier = max_tier(tier, RiskTier.HIGH)
        fired = [FiredRule(FROZEN_RULE, "reject", facts.freeze.reason_for(proposal.actor))]
    else:
        fired = fire_rules(proposal, ordered, tier, settings)
        fired += [
            FiredRule(o.window.rule.rule_id, "reject", o.reason(proposal.actor))
            for o in budget_overruns(facts.budgets, change_figures(proposal, blast))
        ]
    outcome: Outcome = max(
        (f.outcome for f in fired), key=_OUTCOME_RANK.__getitem__, default="approve"
    )
    approvals: list[str] = []
    if outcome == "escalate":
        for rule in fired:
            approvals.extend(r for r in rule.approvals if r not in approvals)
    rationale = [f.reason for f in fired if f.outcome == outcome] or [
        f"Every reviewer approved and the {tier.value} tier needs no human sign-off."
    ]
    if outcome == "reject":
        rationale += [r for f in fired if f.outcome != outcome if (r := f.reason_beside_reject())]
    else:
        rationale += [f.reason for f in fired if f.outcome != outcome]
    return Decision(
        decision_id=decision_id,
        proposal_digest=proposal.digest(),
        outcome=outcome,
        risk_tier=tier,
        required_approvals=tuple(RequiredApproval(role=r) for r in approvals),
        dissent=dissent_of(ordered),
        blast_radius=blast,
        verdicts=ordered,
        rationale=tuple(rationale),
        rules_fired=tuple(f.rule for f in fired),
        minority_opinion=minority_opinion(ordered),
        policy_version=policy_version,
        created_at=created_at,
        topology=topology,
    )


def decide_tier(proposal: Proposal, verdicts: Sequence[Verdict]) -> RiskTier:
    """The riskiest tier any reviewer saw; an unjudgeable plan is at least high."""
    tiers = [v.risk_tier for v in verdicts]
    if not proposal.status.judgeable:
        tiers.append(RiskTier.HIGH)
    return max_tier(*tiers)


@dataclass(frozen=True)
class Case:
    """What every aggregation rule looks at: the proposal, the verdicts (sorted), tier, policy."""

    proposal: Proposal
    verdicts: tuple[Verdict, ...]
    tier: RiskTier
    settings: CommanderSettings


# A rule fires once, several times (once per finding it is about) or not at all.
Rule = Callable[[Case], Iterable[FiredRule]]


def no_verdicts(case: Case) -> Iterator[FiredRule]:
    """Fail closed: nothing to weigh is never an approval."""
    if not case.verdicts:
        yield FiredRule(
            "no-verdicts",
            "escalate",
            "Fail closed: no reviewer gave a verdict.",
            case.settings.aggregation.fail_closed_approvals,
        )


def hard_denials(case: Case) -> Iterator[FiredRule]:
    """Each hard denial of a reviewer that ran rejects outright."""
    for verdict in case.verdicts:
        if verdict.error is not None:
            continue
        for finding in verdict.hard_denials:
            yield FiredRule(
                f"hard-denial:{finding.rule}",
                "reject",
                f"{verdict.reviewer} denies it outright ({finding.rule}): {finding.message}",
            )


def ai_agent_critical(case: Case) -> Iterator[FiredRule]:
    """A critical change from an AI agent, where the policy rejects those."""
    if (
        case.tier == RiskTier.CRITICAL
        and case.proposal.source == Source.AI_AGENT
        and case.settings.aggregation.ai_agent_critical == "reject"
    ):
        yield FiredRule(
            "ai-agent-critical", "reject", "Critical changes from AI agents are rejected by policy."
        )


def reviewer_failed(case: Case) -> Iterator[FiredRule]:
    """Fail closed: a reviewer that crashed or timed out cannot have approved."""
    failed = [v.reviewer for v in case.verdicts if v.error is not None]
    if failed:
        yield FiredRule(
            "reviewer-failed",
            "escalate",
            f"Fail closed: {', '.join(failed)} could not give a verdict, "
            "so this cannot be approved unseen.",
            case.settings.aggregation.fail_closed_approvals,
        )


def plan_not_judgeable(case: Case) -> Iterator[FiredRule]:
    """An input whose effect is not fully known (an incomplete plan, unreadable SQL)."""
    if not case.proposal.status.judgeable:
        yield FiredRule(
            "plan-not-judgeable",
            "escalate",
            case.proposal.unjudgeable_reason,
            case.settings.aggregation.fail_closed_approvals,
        )


def tier_needs_humans(case: Case) -> Iterator[FiredRule]:
    """A tier whose policy escalates asks for its roles."""
    policy = case.settings.tiers[case.tier]
    if policy.outcome == "escalate":
        yield FiredRule(
            f"tier-{case.tier.value}",
            "escalate",
            f"The {case.tier.value} tier needs human sign-off: "
            f"{', '.join(policy.approvals) or 'any approver'}.",
            policy.approvals,
            without_sign_off=None,
        )


def unresolved_objection(case: Case) -> Iterator[FiredRule]:
    """Dissent left unresolved: any block or concern from a reviewer that ran."""
    objecting = [v for v in case.verdicts if v.error is None and v.stance != "approve"]
    if not objecting:
        return
    blocks = [v.reviewer for v in objecting if v.stance == "block"]
    concerns = [v.reviewer for v in objecting if v.stance == "concern"]
    parts = [
        _plural(blocks, "blocks", "block"),
        _plural(concerns, "raises concerns", "raise concerns"),
    ]
    yield FiredRule(
        "unresolved-objection",
        "escalate",
        "Unresolved objection: " + "; ".join(p for p in parts if p) + ".",
        case.settings.tiers[case.tier].approvals or case.settings.aggregation.objection_approvals,
    )


def named_sign_off(case: Case) -> Iterator[FiredRule]:
    """Roles a finding names (a policy's require-approval), failed verdicts' too."""
    # More sign-off never weakens a decision, so a failed verdict's request still counts.
    for verdict in case.verdicts:
        for finding in verdict.findings:
            roles = named_roles(finding)
            if roles:
                yield FiredRule(
                    f"required-roles:{finding.rule}",
                    "escalate",
                    f"{verdict.reviewer} asks for sign-off by {', '.join(roles)} "
                    f"({finding.rule}): {finding.message}",
                    roles,
                    without_sign_off=f"{verdict.reviewer} ({finding.rule}): {finding.message}",
                )


# The aggregation rules in the order they fire (and are listed in `rules_fired`).
RULES: tuple[Rule, ...] = (
    no_verdicts,
    hard_denials,
    ai_agent_critical,
    reviewer_failed,
    plan_not_judgeable,
    tier_needs_humans,
    unresolved_objection,
    named_sign_off,
)


def fire_rules(
    proposal: Proposal,
    verdicts: Sequence[Verdict],
    tier: RiskTier,
    settings: CommanderSettings,
) -> list[FiredRule]:
    """Every aggregation rule that applies, in the order of RULES."""
    case = Case(proposal, tuple(verdicts), tier, settings)
    return [fired for rule in RULES for fired in rule(case)]


def named_roles(finding: Finding) -> tuple[str, ...]:
    """The roles a finding asks to sign off: `evidence["required_roles"]`, a list of names."""
    value = finding.evidence.get(REQUIRED_ROLES)
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(r for r in value if isinstance(r, str) and r))


def _plural(names: list[str], one: str, many: str) -> str:
    if not names:
        return ""
    return f"{', '.join(names)} {one if len(names) == 1 else many}"


def dissent_of(verdicts: Sequence[Verdict]) -> float:
    """Confidence-weighted disagreement in [0, 1].

    Stances score approve 0, concern 0.5, block 1; dissent is twice the
    weighted mean absolute deviation from the weighted mean score: 0 when
    everyone agrees, 1 when the weight splits evenly between approve and
    block. Failed reviewers have no stance to weigh and are left out.
    """
    voting = [v for v in verdicts if v.error is None]
    if len(voting) < 2:
        return 0.0
    weights = [v.confidence for v in voting]
    if sum(weights) == 0:
        weights = [1.0] * len(voting)
    total = sum(weights)
    scores = [_STANCE_SCORE[v.stance] for v in voting]
    mean = sum(w * s for w, s in zip(weights, scores, strict=True)) / total
    mad = sum(w * abs(s - mean) for w, s in zip(weights, scores, strict=True)) / total
    return round(min(1.0, 2 * mad), 4)


def minority_opinion(verdicts: Sequence[Verdict]) -> str | None:
    """The reviewers whose stance differs from the weighted majority, in their words."""
    voting = [v for v in verdicts if v.error is None]
    weight: dict[Stance, float] = {}
    for v in voting:
        weight[v.stance] = weight.get(v.stance, 0.0) + max(v.confidence, 1e-6)
    if len(weight) < 2:
        return None
    # ties go to the stricter stance: the minority is then the more lenient view
    majority = max(weight, key=lambda s: (weight[s], _STANCE_SCORE[s]))
    minority = [v for v in voting if v.stance != majority]
    return " | ".join(
        f"{v.reviewer} ({v.stance}, {v.risk_tier.value}): {v.rationale}" for v in minority
    )
