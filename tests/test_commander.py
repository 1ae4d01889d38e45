"""The commander's aggregation: decision tables and the invariants it must keep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.commander import (
    RULES,
    Case,
    Rule,
    aggregate,
    ai_agent_critical,
    fire_rules,
    hard_denials,
    named_sign_off,
    no_verdicts,
    plan_not_judgeable,
    reviewer_failed,
    tier_needs_humans,
    unresolved_objection,
)
from orchestrator.config import CommanderSettings, load_config
from orchestrator.models import (
    Decision,
    Environment,
    Finding,
    PlanStatus,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    Stance,
    Verdict,
)

SHIPPED = load_config().commander
REJECT_AI_CRITICAL = SHIPPED.model_copy(
    update={"aggregation": SHIPPED.aggregation.model_copy(update={"ai_agent_critical": "reject"})}
)
RANK = {"approve": 0, "escalate": 1, "reject": 2}
LOW, MEDIUM, HIGH, CRITICAL = RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL
SENIOR_LEAD = ("senior-engineer", "team-lead")
CRITICAL_ROLES = ("senior-engineer", "security", "change-board")


def proposal(source: Source = Source.HUMAN, status: PlanStatus | None = None) -> Proposal:
    """A one-change production proposal."""
    return Proposal(
        kind="terraform",
        source=source,
        actor="deploy-bot" if source != Source.HUMAN else "alice",
        intent="rotate the queue policy",
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=(
            ResourceChange(address="aws_sqs_queue.jobs", type="aws_sqs_queue", action="update"),
        ),
        status=status or PlanStatus(),
    )


def verdict(
    name: str,
    stance: Stance = "approve",
    tier: RiskTier = LOW,
    *,
    hard: bool = False,
    confidence: float = 1.0,
) -> Verdict:
    """A verdict; `hard` adds a hard-denial finding."""
    findings: tuple[Finding, ...] = ()
    if hard:
        findings = (Finding(rule=f"{name}.deny", message="policy forbids it", hard=True),)
    return Verdict(
        reviewer=name,
        stance=stance,
        risk_tier=tier,
        confidence=confidence,
        findings=findings,
        rationale=f"{name} says {stance}",
    )


def decide(
    verdicts: list[Verdict],
    *,
    prop: Proposal | None = None,
    policy: CommanderSettings = SHIPPED,
) -> Decision:
    """Aggregate with fixed id, time and policy version."""
    return aggregate(
        prop or proposal(),
        verdicts,
        policy,
        decision_id="d-1",
        created_at="2026-11-20T10:00:00.000Z",
        policy_version="test",
    )


def roles(decision: Decision) -> tuple[str, ...]:
    """The required approval roles, in order."""
    return tuple(a.role for a in decision.required_approvals)


@pytest.mark.parametrize(
    ("verdicts", "outcome", "tier", "approvals", "rules"),
    [
        pytest.param(
            [verdict("scope"), verdict("blast-radius"), verdict("reversibility")],
            "approve",
            LOW,
            (),
            (),
            id="all-approve-low",
        ),
        pytest.param(
            [verdict("scope", tier=MEDIUM), verdict("blast-radius")],
            "approve",
            MEDIUM,
            (),
            (),
            id="medium-all-approve",
        ),
        pytest.param(
            [verdict("scope", tier=MEDIUM), verdict("blast-radius", "concern", MEDIUM)],
            "escalate",
            MEDIUM,
            ("senior-engineer",),
            ("unresolved-objection",),
            id="medium-with-concern",
        ),
        pytest.param(
            [verdict("scope", tier=HIGH), verdict("blast-radius")],
            "escalate",
            HIGH,
            SENIOR_LEAD,
            ("tier-high",),
            id="high-all-approve",
        ),
        pytest.param(
            [verdict("scope", tier=CRITICAL), verdict("blast-radius")],
            "escalate",
            CRITICAL,
            CRITICAL_ROLES,
            ("tier-critical",),
            id="critical-all-approve",
        ),
        pytest.param(
            [
                verdict("scope", "block", LOW, hard=True),
                verdict("blast-radius"),
                verdict("reversibility"),
            ],
            "reject",
            LOW,
            (),
            ("hard-denial:scope.deny", "unresolved-objection"),
            id="hard-denial-rejects-despite-approvals",
        ),
        pytest.param(
            [verdict("scope", "block", CRITICAL, hard=True), verdict("blast-radius", tier=HIGH)],
            "reject",
            CRITICAL,
            (),
            ("hard-denial:scope.deny", "tier-critical", "unresolved-objection"),
            id="hard-denial-at-critical-needs-no-approvals",
        ),
        pytest.param(
            [
                Verdict.failed("scope", "TimeoutError"),
                verdict("blast-radius"),
                verdict("reversibility"),
            ],
            "escalate",
            HIGH,
            SENIOR_LEAD,
            ("reviewer-failed", "tier-high"),
            id="reviewer-error-never-approves",
        ),
        pytest.param(
            [verdict("scope", "block", LOW), verdict("blast-radius")],
            "escalate",
            LOW,
            ("senior-engineer",),
            ("unresolved-objection",),
            id="block-without-hard-escalates",
        ),
        pytest.param(
            [verdict("scope", "block", HIGH), verdict("blast-radius")],
            "escalate",
            HIGH,
            SENIOR_LEAD,
            ("tier-high", "unresolved-objection"),
            id="block-at-high-asks-the-tier-roles",
        ),
    ],
)
def test_decision_table(
    verdicts: list[Verdict],
    outcome: str,
    tier: RiskTier,
    approvals: tuple[str, ...],
    rules: tuple[str, ...],
) -> None:
    """Each verdict set maps to its documented outcome, tier, sign-off roles and fired rules."""
    decision = decide(verdicts)
    assert decision.outcome == outcome
    assert decision.risk_tier == tier
    assert roles(decision) == approvals
    assert decision.rules_fired == rules


def case(
    verdicts: list[Verdict] | None = None,
    *,
    tier: RiskTier = LOW,
    prop: Proposal | None = None,
    policy: CommanderSettings = SHIPPED,
) -> Case:
    """What a rule sees: the proposal, the verdicts, the tier and the policy."""
    return Case(prop or proposal(), tuple(verdicts or ()), tier, policy)


def failed_with(findings: tuple[Finding, ...]) -> Verdict:
    """A failed verdict that still carries findings (a reviewer that erred half-way)."""
    return Verdict.failed("policy", "timed out").model_copy(update={"findings": findings})


ROLES_FINDING = Finding(
    rule="policy.iam-owners", message="IAM changes", evidence={"required_roles": ["security"]}
)
HARD = Finding(rule="policy.deny", message="policy forbids it", hard=True)
FAIL_CLOSED = SHIPPED.aggregation.fail_closed_approvals
CONCERN_ROLES = SHIPPED.aggregation.objection_approvals

# One row per (rule, situation): the rule alone, and exactly what it fires.
RULE_TABLE = [
    pytest.param(no_verdicts, case([]), [("no-verdicts", "escalate", FAIL_CLOSED)], id="none"),
    pytest.param(no_verdicts, case([verdict("scope")]), [], id="some-verdict"),
    pytest.param(
        hard_denials,
        case([verdict("policy", "block", hard=True)]),
        [("hard-denial:policy.deny", "reject", ())],
        id="hard-denial",
    ),
    pytest.param(hard_denials, case([failed_with((HARD,))]), [], id="failed-reviewer-denies-not"),
    pytest.param(hard_denials, case([verdict("scope", "block")]), [], id="plain-block"),
    pytest.param(
        ai_agent_critical,
        case(tier=CRITICAL, prop=proposal(Source.AI_AGENT), policy=REJECT_AI_CRITICAL),
        [("ai-agent-critical", "reject", ())],
        id="ai-critical-policy-rejects",
    ),
    pytest.param(
        ai_agent_critical,
        case(tier=CRITICAL, prop=proposal(Source.AI_AGENT)),
        [],
        id="ai-critical-shipped-policy",
    ),
    pytest.param(
        ai_agent_critical,
        case(tier=CRITICAL, prop=proposal(Source.HUMAN), policy=REJECT_AI_CRITICAL),
        [],
        id="human-critical",
    ),
    pytest.param(
        ai_agent_critical,
        case(tier=HIGH, prop=proposal(Source.AI_AGENT), policy=REJECT_AI_CRITICAL),
        [],
        id="ai-high",
    ),
    pytest.param(
        reviewer_failed,
        case([Verdict.failed("scope", "crashed"), verdict("blast-radius")]),
        [("reviewer-failed", "escalate", FAIL_CLOSED)],
        id="one-failed",
    ),
    pytest.param(reviewer_failed, case([verdict("scope")]), [], id="none-failed"),
    pytest.param(
        plan_not_judgeable,
        case(prop=proposal(status=PlanStatus(deferred_changes=1))),
        [("plan-not-judgeable", "escalate", FAIL_CLOSED)],
        id="deferred-plan",
    ),
    pytest.param(plan_not_judgeable, case(), [], id="complete-plan"),
    pytest.param(
        tier_needs_humans, case(tier=HIGH), [("tier-high", "escalate", SENIOR_LEAD)], id="high"
    ),
    pytest.param(
        tier_needs_humans,
        case(tier=CRITICAL),
        [("tier-critical", "escalate", CRITICAL_ROLES)],
        id="critical",
    ),
    pytest.param(tier_needs_humans, case(tier=MEDIUM), [], id="medium"),
    pytest.param(
        unresolved_objection,
        case([verdict("scope", "concern", MEDIUM)], tier=MEDIUM),
        [("unresolved-objection", "escalate", CONCERN_ROLES)],
        id="concern-at-medium",
    ),
    pytest.param(
        unresolved_objection,
        case([verdict("scope", "block", HIGH)], tier=HIGH),
        [("unresolved-objection", "escalate", SENIOR_LEAD)],
        id="block-at-high",
    ),
    pytest.param(
        unresolved_objection,
        case([Verdict.failed("scope", "crashed")]),
        [],
        id="failed-is-no-objection",
    ),
    pytest.param(unresolved_objection, case([verdict("scope")]), [], id="all-approve"),
    pytest.param(
        named_sign_off,
        case(
            [
                Verdict(
                    reviewer="policy",
                    stance="concern",
                    risk_tier=MEDIUM,
                    confidence=1.0,
                    findings=(ROLES_FINDING,),
                )
            ]
        ),
        [("required-roles:policy.iam-owners", "escalate", ("security",))],
        id="policy-names-roles",
    ),
    pytest.param(
        named_sign_off,
        case([failed_with((ROLES_FINDING,))]),
        [("required-roles:policy.iam-owners", "escalate", ("security",))],
        id="failed-verdicts-roles-count",
    ),
    pytest.param(named_sign_off, case([verdict("policy", "concern")]), [], id="no-roles-named"),
]


@pytest.mark.parametrize(("rule", "seen", "fired"), RULE_TABLE)
def test_each_rule_fires_exactly_as_its_table_says(
    rule: Rule, seen: Case, fired: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    """Every aggregation rule, alone: which rule ids it fires, with what outcome and roles."""
    assert [(f.rule, f.outcome, f.approvals) for f in rule(seen)] == fired


def test_every_rule_of_the_table_has_rows_in_the_decision_table() -> None:
    """No aggregation rule goes untested: RULE_TABLE covers each entry of RULES."""
    tested = {row.values[0] for row in RULE_TABLE}
    assert tested == set(RULES)


def test_rules_fire_in_the_order_of_the_table() -> None:
    """`rules_fired` lists the rules in the order of RULES (hard denials before failures, …)."""
    verdicts = [
        Verdict.failed("scope", "crashed"),
        verdict("policy", "block", HIGH, hard=True),
        verdict("blast-radius", "concern", HIGH),
    ]
    fired = fire_rules(proposal(), verdicts, HIGH, SHIPPED)
    assert [f.rule for f in fired] == [
        "hard-denial:policy.deny",
        "reviewer-failed",
        "tier-high",
        "unresolved-objection",
    ]


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(PlanStatus(complete=False), id="incomplete"),
        pytest.param(PlanStatus(errored=True), id="errored"),
        pytest.param(PlanStatus(deferred_changes=2), id="deferred"),
    ],
)
def test_unjudgeable_plan_escalates_at_least_high(status: PlanStatus) -> None:
    """A plan that does not show everything it will do escalates at tier high or above."""
    decision = decide([verdict("scope"), verdict("blast-radius")], prop=proposal(status=status))
    assert decision.outcome == "escalate"
    assert decision.risk_tier == HIGH
    assert roles(decision) == SENIOR_LEAD
    assert decision.rules_fired == ("plan-not-judgeable", "tier-high")


@pytest.mark.parametrize(
    ("policy", "source", "tier", "outcome"),
    [
        pytest.param(REJECT_AI_CRITICAL, Source.AI_AGENT, CRITICAL, "reject", id="reject-ai"),
        pytest.param(REJECT_AI_CRITICAL, Source.HUMAN, CRITICAL, "escalate", id="human-escalates"),
        pytest.param(REJECT_AI_CRITICAL, Source.AUTOMATION, CRITICAL, "escalate", id="ci"),
        pytest.param(REJECT_AI_CRITICAL, Source.AI_AGENT, HIGH, "escalate", id="ai-high"),
        pytest.param(SHIPPED, Source.AI_AGENT, CRITICAL, "escalate", id="shipped-escalates-ai"),
    ],
)
def test_ai_agent_critical_policy(
    policy: CommanderSettings, source: Source, tier: RiskTier, outcome: str
) -> None:
    """`ai_agent_critical: reject` rejects critical AI-agent changes and nothing else."""
    decision = decide([verdict("scope", tier=tier)], prop=proposal(source), policy=policy)
    assert decision.outcome == outcome
    assert ("ai-agent-critical" in decision.rules_fired) == (outcome == "reject")


@pytest.mark.parametrize(
    ("stances", "dissent"),
    [
        pytest.param(["approve", "approve", "approve"], 0.0, id="agreement"),
        pytest.param(["block", "block"], 0.0, id="agreement-on-block"),
        pytest.param(["approve", "block"], 1.0, id="even-split"),
        pytest.param(["approve", "concern"], 0.5, id="approve-vs-concern"),
    ],
)
def test_dissent_figure(stances: list[Stance], dissent: float) -> None:
    """Dissent is 0 when everyone agrees and 1 when equal weight approves and blocks."""
    verdicts = [verdict(f"r{i}", s) for i, s in enumerate(stances)]
    assert decide(verdicts).dissent == dissent


def test_minority_opinion_is_recorded_in_its_own_words() -> None:
    """The decision keeps the lone dissenter's rationale for post-incident review."""
    verdicts = [verdict("scope"), verdict("reversibility"), verdict("blast-radius", "block")]
    decision = decide(verdicts)
    assert decision.minority_opinion == "blast-radius (block, low): blast-radius says block"


def test_failed_reviewer_does_not_count_as_a_vote() -> None:
    """An error verdict adds no dissent: it has no stance to weigh, it only fails closed."""
    decision = decide([verdict("scope"), verdict("reversibility"), Verdict.failed("x", "boom")])
    assert decision.dissent == 0.0
    assert decision.minority_opinion is None


def test_rationale_leads_with_the_deciding_rule() -> None:
    """The first rationale line explains the rule that set the outcome."""
    verdicts = [verdict("scope", "block", hard=True), Verdict.failed("blast-radius", "boom")]
    decision = decide(verdicts)
    assert decision.outcome == "reject"
    assert decision.rationale[0].startswith("scope denies it outright (scope.deny)")
    assert any("Fail closed: blast-radius" in line for line in decision.rationale[1:])


# --- invariants -------------------------------------------------------------

NAMES = ["scope", "blast-radius", "reversibility", "contrarian", "acme"]

verdicts_st = st.builds(
    verdict,
    st.sampled_from(NAMES),
    st.sampled_from(["approve", "concern", "block"]),
    st.sampled_from(list(RiskTier)),
    hard=st.booleans(),
    confidence=st.floats(min_value=0.0, max_value=1.0),
).map(lambda v: v if v.stance == "block" else v.model_copy(update={"findings": ()}))
any_verdict_st = st.one_of(
    verdicts_st, st.sampled_from(NAMES).map(lambda n: Verdict.failed(n, "TimeoutError"))
)
proposals_st = st.builds(
    proposal,
    st.sampled_from(list(Source)),
    st.sampled_from([PlanStatus(), PlanStatus(complete=False), PlanStatus(deferred_changes=1)]),
)
policies_st = st.sampled_from([SHIPPED, REJECT_AI_CRITICAL])
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(any_verdict_st, max_size=6), proposals_st, policies_st, st.data())
def test_order_of_verdicts_never_changes_the_decision(
    verdicts: list[Verdict], prop: Proposal, policy: CommanderSettings, data: st.DataObject
) -> None:
    """Shuffling the verdicts gives the byte-identical decision."""
    shuffled = data.draw(st.permutations(verdicts))
    first = decide(verdicts, prop=prop, policy=policy).to_json_dict()
    assert decide(list(shuffled), prop=prop, policy=policy).to_json_dict() == first


@FAST
@given(
    st.lists(any_verdict_st, max_size=6),
    proposals_st,
    policies_st,
    verdicts_st.map(lambda v: v.model_copy(update={"stance": "block"})),
)
def test_adding_a_block_never_improves_the_outcome(
    verdicts: list[Verdict], prop: Proposal, policy: CommanderSettings, block: Verdict
) -> None:
    """One more blocking reviewer can only keep or worsen approve < escalate < reject."""
    before = decide(verdicts, prop=prop, policy=policy)
    after = decide([*verdicts, block], prop=prop, policy=policy)
    assert RANK[after.outcome] >= RANK[before.outcome]
    assert after.outcome != "approve"


@FAST
@given(st.lists(verdicts_st, min_size=1, max_size=6), proposals_st, policies_st, st.data())
def test_an_error_verdict_never_yields_approve(
    verdicts: list[Verdict], prop: Proposal, policy: CommanderSettings, data: st.DataObject
) -> None:
    """Replacing any verdict by a reviewer failure can never lead to approve."""
    index = data.draw(st.integers(min_value=0, max_value=len(verdicts) - 1))
    broken = list(verdicts)
    broken[index] = Verdict.failed(verdicts[index].reviewer, "RuntimeError: boom")
    assert decide(broken, prop=prop, policy=policy).outcome != "approve"


@FAST
@given(st.lists(any_verdict_st, max_size=6))
def test_dissent_is_a_fraction_and_zero_on_agreement(verdicts: list[Verdict]) -> None:
    """Dissent stays in [0, 1], and is 0 whenever every voting reviewer takes one stance."""
    dissent = decide(verdicts).dissent
    assert 0.0 <= dissent <= 1.0
    if len({v.stance for v in verdicts if v.error is None}) <= 1:
        assert dissent == 0.0


@FAST
@given(
    st.lists(any_verdict_st, max_size=6),
    policies_st,
    st.sampled_from([PlanStatus(), PlanStatus(errored=True)]),
)
def test_ai_agent_is_never_treated_more_leniently_than_a_human(
    verdicts: list[Verdict], policy: CommanderSettings, status: PlanStatus
) -> None:
    """An AI agent's change is never judged more leniently than a person's with equal verdicts."""
    human = decide(verdicts, prop=proposal(Source.HUMAN, status), policy=policy)
    agent = decide(verdicts, prop=proposal(Source.AI_AGENT, status), policy=policy)
    assert RANK[agent.outcome] >= RANK[human.outcome]
    assert agent.risk_tier == human.risk_tier
    if agent.outcome == human.outcome:
        assert set(roles(agent)) >= set(roles(human))


@FAST
@given(st.lists(any_verdict_st, max_size=6), proposals_st, policies_st)
def test_same_inputs_give_the_same_decision(
    verdicts: list[Verdict], prop: Proposal, policy: CommanderSettings
) -> None:
    """Aggregating equal (re-parsed) inputs twice gives identical decision JSON."""
    copies = [Verdict.model_validate_json(v.model_dump_json()) for v in verdicts]
    again = Proposal.model_validate_json(prop.model_dump_json())
    first = decide(verdicts, prop=prop, policy=policy).to_json_dict()
    assert decide(copies, prop=again, policy=policy).to_json_dict() == first
