"""The commander adds the roles a policy finding names to an escalation's required approvals."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.commander import aggregate, named_roles
from orchestrator.config import load_config
from orchestrator.models import (
    Environment,
    Finding,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)

COMMANDER = load_config().commander
SE = "senior-engineer"
PROP = Proposal(
    kind="terraform",
    source=Source.AI_AGENT,
    actor="bot",
    environment=Environment.DEVELOPMENT,
    environment_name="dev",
    changes=(ResourceChange(address="aws_iam_role.a", type="aws_iam_role", action="update"),),
)


def verdict(
    stance: str = "concern",
    tier: RiskTier = RiskTier.LOW,
    evidence: dict[str, Any] | None = None,
    *,
    name: str = "policy",
    error: str | None = None,
    hard: bool = False,
) -> Verdict:
    findings = (
        (Finding(rule="t.rule", message="m", evidence=evidence, hard=hard),)
        if evidence is not None
        else ()
    )
    return Verdict(
        reviewer=name,
        stance=stance,  # type: ignore[arg-type]
        risk_tier=tier,
        confidence=0.9,
        findings=findings,
        error=error,
    )


# (verdicts, outcome, required roles in order)
# fmt: off
TABLE = [
    ([verdict("concern", evidence={"required_roles": ["security"]})], "escalate", [SE, "security"]),
    ([verdict("concern", RiskTier.HIGH, {"required_roles": ["security", "team-lead"]})], "escalate",
     ["senior-engineer", "team-lead", "security"]),
    # a failed verdict's roles still count: more sign-off never weakens a decision
    ([verdict("concern", evidence={"required_roles": ["dba"]}, error="boom")], "escalate",
     ["senior-engineer", "team-lead", "dba"]),
    # not a list, or not names: nothing is added
    ([verdict("concern", evidence={"required_roles": "security"})], "escalate", [SE]),
    ([verdict("concern", evidence={"required_roles": [1, "", None]})], "escalate", [SE]),
    # an advisory finding's would-be roles are not asked for
    ([verdict("approve", evidence={"would_roles": ["security"]})], "approve", []),
    # a rejection needs no sign-off at all
    ([verdict("block", evidence={"required_roles": ["security"]}, hard=True)], "reject", []),
    # roles alone escalate even when every stance approves
    ([verdict("approve", evidence={"required_roles": ["security"]})], "escalate", ["security"]),
]
# fmt: on


@pytest.mark.parametrize(("verdicts", "outcome", "roles"), TABLE)
def test_named_roles_join_the_required_approvals(
    verdicts: list[Verdict], outcome: str, roles: list[str]
) -> None:
    """Roles in evidence["required_roles"] are added once, after the tier's and objection's."""
    decision = aggregate(
        PROP, verdicts, COMMANDER, decision_id="d", created_at="t", policy_version="p"
    )
    assert decision.outcome == outcome
    assert [a.role for a in decision.required_approvals] == roles


def test_named_roles_reads_only_lists_of_names() -> None:
    """The evidence must be a list of non-empty strings; duplicates collapse in order."""
    finding = Finding(rule="r", message="m", evidence={"required_roles": ["a", "b", "a", 3]})
    assert named_roles(finding) == ("a", "b")
    assert named_roles(Finding(rule="r", message="m")) == ()
