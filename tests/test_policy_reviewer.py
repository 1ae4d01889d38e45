"""The policy reviewer: what each effect and enforcement level does to the verdict and decision."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.agents import AgentRegistry
from orchestrator.catalog import ResourceCatalog
from orchestrator.commander import aggregate
from orchestrator.config import load_config
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import (
    Action,
    Environment,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.policies import PolicyBundle
from orchestrator.reviewer import ReviewContext
from reviewers.policy import PolicyReviewer, assess

CATALOG = ResourceCatalog.load_default()
COMMANDER = load_config().commander
A, H = Source.AI_AGENT, Source.HUMAN
PROD, DEV = Environment.PRODUCTION, Environment.DEVELOPMENT


def rule(effect: str, enforcement: str, extra: str = "") -> str:
    """One rule matching every IAM change, with the given effect and level."""
    return textwrap.dedent(
        f"""\
        - id: t.iam
          message: IAM changes are watched
          effect: {effect}
          enforcement: {enforcement}
          match: {{categories: [iam]}}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "  ")


def bundle(*rules: str) -> PolicyBundle:
    text = "rules:\n" + "".join(textwrap.indent(r, "  ") for r in rules) if rules else ""
    return PolicyBundle.from_sources([("policies/t.yaml", text, "t.yaml")])


def proposal(
    *changes: ResourceChange, source: Source = A, env: Environment = DEV, actor: str = "bot"
) -> Proposal:
    return Proposal(
        kind="terraform",
        source=source,
        actor=actor,
        environment=env,
        environment_name=env.value,
        changes=changes,
    )


def context(policies: PolicyBundle, graph: DependencyGraph | None = None) -> ReviewContext:
    return ReviewContext(
        graph=graph if graph is not None else DependencyGraph.empty(),
        catalog=CATALOG,
        policies=policies,
    )


SEC = ["security"]
IAM = ResourceChange(address="aws_iam_role.app", type="aws_iam_role", action=Action.UPDATE)


# effect, enforcement, extra -> stance, tier, hard, required roles, would_outcome (advisory)
# fmt: off
EFFECTS = [
    ("deny", "hard-mandatory", "", "block", "critical", True, None, None),
    ("deny", "hard-mandatory", "tier: high\n", "block", "high", True, None, None),
    ("deny", "soft-mandatory", "", "block", "critical", False, None, None),
    ("deny", "advisory", "", "approve", "low", False, None, "reject"),
    ("require-approval", "hard-mandatory", "tier: high\n", "concern", "high", False, None, None),
    ("require-approval", "soft-mandatory", "roles: [security]\n", "concern", "low", False, SEC,
     None),
    ("require-approval", "soft-mandatory", "tier: medium\nroles: [security, dba]\n", "concern",
     "medium", False, ["security", "dba"], None),
    ("require-approval", "advisory", "roles: [security]\n", "approve", "low", False, None,
     "escalate"),
    ("warn", "hard-mandatory", "", "approve", "low", False, None, None),
    ("warn", "advisory", "", "approve", "low", False, None, "warn"),
]
# fmt: on


@pytest.mark.parametrize(
    ("effect", "enforcement", "extra", "stance", "tier", "hard", "roles", "would"), EFFECTS
)
async def test_effect_and_enforcement_decide_stance_tier_and_hardness(
    effect: str,
    enforcement: str,
    extra: str,
    stance: str,
    tier: str,
    hard: bool,
    roles: list[str] | None,
    would: str | None,
) -> None:
    """deny blocks (hard when hard-mandatory), require-approval concerns, warn/advisory report."""
    verdict = await PolicyReviewer().review(
        proposal(IAM), context(bundle(rule(effect, enforcement, extra)))
    )
    assert (verdict.stance, verdict.risk_tier.value) == (stance, tier)
    [finding] = [f for f in verdict.findings if f.rule == "t.iam"]
    assert finding.hard is hard
    assert finding.resources == ("aws_iam_role.app",)
    assert finding.evidence["effect"] == effect
    assert finding.evidence["enforcement"] == enforcement
    assert finding.evidence.get("required_roles") == roles
    assert finding.evidence.get("would_outcome") == would
    if would is not None:
        assert finding.message.startswith("advisory, would ")


def _decide(verdict: Verdict, prop: Proposal) -> dict[str, object]:
    decision = aggregate(
        prop, [verdict], COMMANDER, decision_id="d", created_at="t", policy_version="p"
    )
    return {
        "outcome": decision.outcome,
        "tier": decision.risk_tier.value,
        "roles": [a.role for a in decision.required_approvals],
        "fired": list(decision.rules_fired),
    }


@pytest.mark.parametrize(
    ("effect", "enforcement", "extra", "outcome"),
    [
        ("deny", "hard-mandatory", "", "reject"),
        ("deny", "soft-mandatory", "", "escalate"),
        ("require-approval", "soft-mandatory", "roles: [security]\n", "escalate"),
        ("warn", "hard-mandatory", "", "approve"),
        ("deny", "advisory", "", "approve"),
        ("require-approval", "advisory", "tier: critical\nroles: [dba]\n", "approve"),
    ],
)
def test_enforcement_levels_through_the_commander(
    effect: str, enforcement: str, extra: str, outcome: str
) -> None:
    """hard-mandatory rejects, soft-mandatory escalates, advisory and warn leave it approved."""
    prop = proposal(IAM)
    verdict = assess(prop, context(bundle(rule(effect, enforcement, extra))))
    assert _decide(verdict, prop)["outcome"] == outcome


def test_advisory_rules_report_but_never_decide() -> None:
    """Adding an advisory copy of a deciding rule changes only the findings, not the decision."""
    prop = proposal(IAM, env=PROD)
    plain = assess(prop, context(bundle()))
    shadow = assess(prop, context(bundle(rule("deny", "advisory"))))
    assert (shadow.stance, shadow.risk_tier) == (plain.stance, plain.risk_tier)
    first, second = _decide(plain, prop), _decide(shadow, prop)
    assert first == second
    [finding] = shadow.findings
    assert finding.evidence["would_outcome"] == "reject"
    assert "would have decided: t.iam" in shadow.rationale


def test_named_roles_become_required_approvals() -> None:
    """A require-approval rule's roles are added to the escalation's required approvals."""
    prop = proposal(IAM)
    verdict = assess(
        prop,
        context(bundle(rule("require-approval", "soft-mandatory", "roles: [security, dba]\n"))),
    )
    decided = _decide(verdict, prop)
    assert decided["outcome"] == "escalate"
    assert {"security", "dba"} <= set(decided["roles"])  # type: ignore[arg-type]
    assert "required-roles:t.iam" in decided["fired"]  # type: ignore[operator]


def test_population_share_reads_the_topology_populations() -> None:
    """`destroyed_share` divides by the population the topology declares."""
    prefixes = [
        ResourceChange(
            address=f'cloudflare_byo_ip_prefix.p["{i}"]',
            type="cloudflare_byo_ip_prefix",
            action=Action.DELETE,
        )
        for i in range(300)
    ]
    share_rule = textwrap.dedent(
        """\
        - id: t.share
          message: a share of the prefixes
          effect: deny
          enforcement: hard-mandatory
          match: {actions: [delete]}
          when: {destroyed_share: {at_least: 0.05}}
        """
    )
    prop = proposal(*prefixes, source=Source.AUTOMATION)
    graph = DependencyGraph(Topology(populations={"cloudflare_byo_ip_prefix": 4306}))
    verdict = assess(prop, context(bundle(share_rule), graph))
    [finding] = verdict.findings
    assert finding.evidence["figures"]["destroyed_share"] == round(300 / 4306, 4)  # type: ignore[index]
    assert finding.hard
    small = DependencyGraph(Topology(populations={"cloudflare_byo_ip_prefix": 43060}))
    assert assess(prop, context(bundle(share_rule), small)).findings == ()


def test_rules_for_ai_agents_bind_an_unregistered_actor_claiming_to_be_human() -> None:
    """With `unknown_actors: ai-agent`, an unregistered 'human' is judged by the AI-agent rules."""
    ai_rule = rule("deny", "hard-mandatory", "")
    ai_rule = ai_rule.replace("match: {categories: [iam]}", "match: {sources: [ai-agent]}")
    registry = AgentRegistry.from_text("unknown_actors: ai-agent\n", "agents.yaml")
    prop = proposal(IAM, source=H, actor="mallory")
    ctx = ReviewContext(
        graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle(ai_rule), agents=registry
    )
    verdict = assess(prop, ctx)
    assert "t.iam" in {f.rule for f in verdict.findings if f.hard}
    trusting = AgentRegistry.from_text("unknown_actors: human\n", "agents.yaml")
    ctx = ReviewContext(
        graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle(ai_rule), agents=trusting
    )
    assert assess(prop, ctx).findings == ()


async def test_no_policy_and_no_registry_approves_at_low() -> None:
    """A bare context (a third-party test harness) gives an approving low verdict."""
    ctx = ReviewContext(graph=DependencyGraph.empty())
    verdict = await PolicyReviewer().review(proposal(IAM), ctx)
    assert (verdict.stance, verdict.risk_tier, verdict.error) == ("approve", RiskTier.LOW, None)


EFFECT_LEVELS = [(e[0], e[1], e[2]) for e in EFFECTS]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EFFECT_LEVELS), min_size=1, max_size=4))
def test_an_advisory_rule_never_changes_the_decision(picked: list[tuple[str, str, str]]) -> None:
    """Whatever rules decide, adding advisory ones never moves the outcome, tier or roles."""
    prop = proposal(IAM, env=PROD)
    rules = [
        rule(effect, enforcement, extra).replace("t.iam", f"t.r{i}")
        for i, (effect, enforcement, extra) in enumerate(picked)
    ]
    base = _decide(assess(prop, context(bundle(*rules))), prop)
    advisory = [
        rule(effect, "advisory", extra).replace("t.iam", f"t.a{i}")
        for i, (effect, _, extra) in enumerate(picked)
    ]
    shadowed = _decide(assess(prop, context(bundle(*rules, *advisory))), prop)
    assert shadowed == base
