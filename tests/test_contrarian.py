"""The contrarian: the evidence-backed case against the stage-1 consensus."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.catalog import ResourceCatalog
from orchestrator.config import load_config, shipped_config_dir
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import (
    Action,
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
from orchestrator.reviewer import ReviewContext
from reviewers.blast_radius import BlastRadiusSettings, assess
from reviewers.contrarian import ContrarianReviewer, ContrarianSettings

CONFIG = load_config()
SETTINGS = ContrarianSettings.model_validate(CONFIG.reviewer_sections["contrarian"][0])
CATALOG = ResourceCatalog.load(shipped_config_dir() / "resource-types.yaml")
BOUNDARY = "shared-iam-boundary"
BOUNDARY_POLICY = "aws_iam_policy.shared_permission_boundary"


def graph(dependents: int = 47) -> DependencyGraph:
    """A boundary service with `dependents` services depending on it."""
    services: dict[str, Any] = {BOUNDARY: {"criticality": "critical", "owns": [BOUNDARY_POLICY]}}
    services.update({f"svc-{i:02d}": {"depends_on": [BOUNDARY]} for i in range(dependents)})
    return DependencyGraph(Topology.model_validate({"services": services}))


def change(address: str, action: str = "update", **extra: Any) -> ResourceChange:
    """One managed resource change; the type is read from the address."""
    rtype = address.split(".")[-2]
    return ResourceChange(address=address, type=rtype, action=Action(action), **extra)


def proposal(changes: list[ResourceChange], intent: str = "", **extra: Any) -> Proposal:
    """An AI agent's production proposal."""
    return Proposal(
        kind="terraform",
        source=Source.AI_AGENT,
        actor="agent-7",
        intent=intent,
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=tuple(changes),
        **extra,
    )


def opinion(name: str, stance: Stance = "approve", findings: tuple[Finding, ...] = ()) -> Verdict:
    """A stage-1 verdict."""
    return Verdict(
        reviewer=name, stance=stance, risk_tier=RiskTier.LOW, confidence=0.9, findings=findings
    )


ALL_APPROVE = (opinion("scope"), opinion("blast-radius"), opinion("reversibility"))


async def challenge(
    prop: Proposal,
    prior: tuple[Verdict, ...] = ALL_APPROVE,
    topology: DependencyGraph | None = None,
) -> Verdict:
    """Run the contrarian with the shipped settings and catalog."""
    context = ReviewContext(
        graph=DependencyGraph.empty() if topology is None else topology,
        catalog=CATALOG,
        settings={"contrarian": SETTINGS},
        prior_verdicts=prior,
    )
    return await ContrarianReviewer().review(prop, context)


def rules(verdict: Verdict) -> list[str]:
    """The rules a verdict's findings name."""
    return [f.rule for f in verdict.findings]


def finding(verdict: Verdict, rule: str) -> Finding:
    """The one finding of a rule."""
    [found] = [f for f in verdict.findings if f.rule == rule]
    return found


async def test_unanimous_approval_of_a_huge_fan_out_is_challenged() -> None:
    """A one-line policy change everyone approves, with 47 services behind it, gets a concern."""
    verdict = await challenge(proposal([change(BOUNDARY_POLICY)]), topology=graph())
    assert verdict.stance == "concern"
    assert rules(verdict) == ["contrarian.fan-out"]
    fan_out = finding(verdict, "contrarian.fan-out")
    assert fan_out.evidence == {"dependent_services": 47, "owners": [BOUNDARY]}
    assert fan_out.resources == (BOUNDARY_POLICY,)
    assert verdict.risk_tier == RiskTier.HIGH


async def test_fan_out_uses_the_blast_radius_count_when_given() -> None:
    """With a blast-radius verdict in stage 1, the contrarian argues from its figures."""
    prop = proposal([change(BOUNDARY_POLICY)])
    context = ReviewContext(graph=graph(), settings={})
    blast = assess(prop, context, BlastRadiusSettings())
    verdict = await challenge(prop, prior=(opinion("scope"), blast), topology=graph())
    assert finding(verdict, "contrarian.fan-out").evidence["dependent_services"] == 47


async def test_small_fan_out_is_not_challenged() -> None:
    """A change with fewer dependents than the threshold passes without a fan-out finding."""
    verdict = await challenge(proposal([change(BOUNDARY_POLICY)]), topology=graph(dependents=9))
    assert verdict.stance == "approve"
    assert verdict.findings == ()


@pytest.mark.parametrize(
    ("changes", "facts"),
    [
        pytest.param(
            [change(f"aws_instance.web{i}", "delete") for i in range(3)],
            {"destructive": ["aws_instance.web0", "aws_instance.web1", "aws_instance.web2"]},
            id="deletes-several",
        ),
        pytest.param(
            [change("aws_iam_role.app"), change("aws_s3_bucket.docs")],
            {"sensitive": ["aws_iam_role.app"]},
            id="touches-iam",
        ),
        pytest.param(
            [
                change("aws_iam_policy.p", "replace"),
                change("aws_instance.a", "delete"),
                change("aws_instance.b", "delete"),
            ],
            {
                "destructive": ["aws_iam_policy.p", "aws_instance.a", "aws_instance.b"],
                "sensitive": ["aws_iam_policy.p"],
            },
            id="both",
        ),
    ],
)
async def test_small_intent_with_a_big_change_is_challenged(
    changes: list[ResourceChange], facts: dict[str, list[str]]
) -> None:
    """'fix typo' on a plan that deletes several resources or touches IAM is an intent mismatch."""
    verdict = await challenge(proposal(changes, intent="Fix typo in tags"))
    mismatch = finding(verdict, "contrarian.intent-mismatch")
    assert mismatch.evidence == {
        "intent": "Fix typo in tags",
        "intent_keywords": ["fix", "typo"],
        **facts,
    }
    assert set(mismatch.resources) == {a for addresses in facts.values() for a in addresses}
    assert verdict.stance == "concern"


@pytest.mark.parametrize(
    ("changes", "intent"),
    [
        pytest.param(
            [change("aws_instance.a", "delete"), change("aws_instance.b", "delete")],
            "fix typo",
            id="two-deletes-is-still-small",
        ),
        pytest.param([change("aws_s3_bucket.docs")], "fix typo", id="plain-update"),
        pytest.param(
            [change("aws_iam_role.app", "delete")] * 4,
            "migrate the IAM roles",
            id="intent-promises-nothing-small",
        ),
        pytest.param(
            [change("aws_instance.a", "delete")] * 4, "prefix the tags", id="keyword-inside-a-word"
        ),
    ],
)
async def test_intent_consistent_with_the_change_is_not_challenged(
    changes: list[ResourceChange], intent: str
) -> None:
    """An intent that does not promise a small change, or a change that is small, passes."""
    verdict = await challenge(proposal(changes, intent=intent))
    assert "contrarian.intent-mismatch" not in rules(verdict)


async def test_blocks_without_evidence_are_called_out() -> None:
    """A block with no resources or evidence is flagged for a human; one with evidence is not."""
    backed = Finding(
        rule="reversibility.stateful-delete",
        message="drops the database",
        resources=("aws_db_instance.main",),
    )
    prior = (
        opinion("scope", "block"),
        opinion("reversibility", "block", (backed,)),
        opinion("blast-radius", "block", (Finding(rule="x", message="bad"),)),
    )
    verdict = await challenge(proposal([change("aws_db_instance.main", "delete")]), prior)
    assert rules(verdict) == ["contrarian.unsupported-block"]
    assert finding(verdict, "contrarian.unsupported-block").evidence == {
        "reviewers": ["scope", "blast-radius"]
    }
    assert verdict.stance == "concern"


async def test_contrarian_does_not_pile_onto_a_block() -> None:
    """When a stage-1 reviewer already blocks with evidence, no missed-risk hunt is added."""
    backed = Finding(rule="scope.iam", message="IAM", resources=(BOUNDARY_POLICY,))
    prior = (opinion("scope", "block", (backed,)), opinion("blast-radius"))
    verdict = await challenge(
        proposal([change(BOUNDARY_POLICY)], intent="fix typo"), prior, topology=graph()
    )
    assert verdict.stance == "approve"
    assert verdict.findings == ()


async def test_nothing_to_say_approves_at_low() -> None:
    """A small, consistent change everyone approved gets an approval and no findings."""
    verdict = await challenge(
        proposal([change("aws_s3_bucket.docs")], intent="add a tag"), topology=graph()
    )
    assert (verdict.stance, verdict.risk_tier, verdict.findings) == ("approve", RiskTier.LOW, ())
    assert "scope: approve" in verdict.rationale


async def test_failed_reviewers_are_not_part_of_the_consensus() -> None:
    """An error verdict is neither a vote to challenge nor a block to check."""
    prior = (opinion("scope"), Verdict.failed("blast-radius", "TimeoutError"))
    verdict = await challenge(proposal([change("aws_s3_bucket.docs")]), prior)
    assert verdict.stance == "approve"
    assert "blast-radius" not in verdict.rationale


@pytest.mark.parametrize(
    ("status", "changes"),
    [
        pytest.param(PlanStatus(complete=False), [change("aws_s3_bucket.docs")], id="incomplete"),
        pytest.param(PlanStatus(errored=True), [], id="errored-no-changes"),
        pytest.param(PlanStatus(deferred_changes=3), [change("aws_s3_bucket.docs")], id="deferred"),
    ],
)
async def test_unjudgeable_plan_is_a_finding(
    status: PlanStatus, changes: list[ResourceChange]
) -> None:
    """A plan that cannot show everything it will do is challenged even when all approve."""
    verdict = await challenge(proposal(changes, status=status))
    found = finding(verdict, "contrarian.plan-not-judgeable")
    assert found.evidence == {
        "complete": status.complete,
        "errored": status.errored,
        "deferred_changes": status.deferred_changes,
    }
    assert (verdict.stance, verdict.risk_tier) == ("concern", RiskTier.HIGH)


async def test_large_share_of_a_population_is_challenged() -> None:
    """Touching 30 of 100 instances in one change is challenged as a fleet-wide step."""
    changes = [change(f"aws_instance.web{i:02d}") for i in range(30)]
    verdict = await challenge(proposal(changes, populations={"aws_instance": 100}))
    share = finding(verdict, "contrarian.population-share")
    assert (share.evidence["touched"], share.evidence["population"]) == (30, 100)


async def test_updates_hanging_on_unknown_values_are_challenged() -> None:
    """When most updates depend on values known only after apply, the contrarian says so."""
    changes = [change("aws_lb.a", unknown_after=("dns_name",)), change("aws_lb.b")]
    verdict = await challenge(proposal(changes))
    assert finding(verdict, "contrarian.unknown-values").evidence == {
        "updates_with_unknown_values": 1
    }
