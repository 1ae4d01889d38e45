"""The blast radius in context: the environment a change goes to, populations nobody counted,
and who tears down what.

The four cases of the issue, each reviewed whole (every reviewer, the commander) through
`run_review`, as `commander review` does:

* a create-before-destroy replace of one stateless instance in staging is approved,
  although the topology says its service is high-criticality in production;
* a plan without prior state that deletes one instance says the population is unknown,
  never "1 of 1 (100%)";
* a person tearing down a preview environment in development, as the intent says, is
  approved, the rebuild guard recorded as a note;
* the same teardown by an AI agent in production is still rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.adapters.base import Submission
from orchestrator.adapters.terraform import parse_plan
from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.models import Decision, Environment, RiskTier, Source, Verdict
from orchestrator.review import ReviewRequest, run_review
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings
from orchestrator.testing import plan_document, prior_resource, resource_change
from reviewers.blast_radius import BlastRadiusSettings
from reviewers.blast_radius import assess as blast_assess
from reviewers.populations import population_shares

INSTANCE = {"ami": "ami-0abc", "instance_type": "t3.small", "tags": {"app": "web"}}
TOPOLOGY: dict[str, Any] = {
    "services": {
        "web": {"criticality": "high", "owns": ["aws_instance.web*"]},
        "checkout": {"criticality": "critical", "depends_on": ["web"]},
        "search": {"criticality": "medium", "depends_on": ["web"]},
    }
}


def review(
    tmp_path: Path,
    plan: dict[str, Any],
    *,
    environment: str,
    source: Source = Source.HUMAN,
    intent: str = "",
    topology: dict[str, Any] | None = None,
) -> Decision:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    topo = None
    if topology is not None:
        topo = tmp_path / "topology.yaml"
        topo.write_text(yaml.safe_dump(topology), encoding="utf-8")
    request = ReviewRequest(
        path=str(path),
        submission=Submission(source=source, actor="alice", environment=environment, intent=intent),
        settings=Settings(
            database_url=f"sqlite:///{tmp_path / 'audit.db'}", config_dir=None, topology=topo
        ),
    )
    return run_review(request).decision


def verdict(decision: Decision, reviewer: str) -> Verdict:
    return next(v for v in decision.verdicts if v.reviewer == reviewer)


def replace_one_instance() -> dict[str, Any]:
    changes = [
        resource_change(
            "aws_instance.web",
            ["create", "delete"],
            before=INSTANCE,
            after={**INSTANCE, "ami": "ami-0def"},
        )
    ]
    return plan_document(changes, prior=[prior_resource("aws_instance.web", INSTANCE)])


def teardown(count: int = 8) -> dict[str, Any]:
    """A preview environment's stateless instances deleted; the plan has no prior state."""
    changes = [
        resource_change(f"aws_instance.preview_{i}", ["delete"], before=INSTANCE)
        for i in range(count)
    ]
    return plan_document(changes)


def test_staging_replace_of_a_stateless_instance_is_approved(tmp_path: Path) -> None:
    """Production criticality (web: high, checkout: critical) does not apply in staging:
    the staging floor does, and the evidence says so."""
    decision = review(tmp_path, replace_one_instance(), environment="staging", topology=TOPOLOGY)
    assert decision.outcome == "approve", decision.rationale
    assert decision.risk_tier == RiskTier.MEDIUM
    blast = verdict(decision, "blast-radius")
    assert blast.stance == "approve"
    summary = blast.findings[0].evidence["criticality"]
    assert summary == {
        "environment": "staging",
        "production_criticality_applies": False,
        "from": "floor",
        "floor": "medium",
    }
    assert "Production criticality does not apply in staging" in blast.rationale


def test_the_same_replace_in_production_meets_production_criticality(tmp_path: Path) -> None:
    """In production the topology's criticality applies: a critical dependent escalates."""
    decision = review(tmp_path, replace_one_instance(), environment="production", topology=TOPOLOGY)
    assert decision.outcome == "escalate"
    blast = verdict(decision, "blast-radius")
    assert (blast.stance, blast.risk_tier) == ("concern", RiskTier.CRITICAL)
    assert "blast-radius.fan-out" in {f.rule for f in blast.findings}


def test_a_topology_may_give_staging_its_own_criticality(tmp_path: Path) -> None:
    """`environments.staging` in the topology names a service critical there too."""
    topology = {**TOPOLOGY, "environments": {"staging": {"services": {"checkout": "critical"}}}}
    decision = review(tmp_path, replace_one_instance(), environment="staging", topology=topology)
    blast = verdict(decision, "blast-radius")
    assert blast.risk_tier == RiskTier.CRITICAL
    assert blast.findings[0].evidence["criticality"]["from"] == "topology environments"
    assert decision.outcome == "escalate"


def test_without_prior_state_the_population_is_unknown(tmp_path: Path) -> None:
    """Deleting one instance of a plan without prior state is not "1 of 1 (100%)"."""
    plan = plan_document([resource_change("aws_instance.web", ["delete"], before=INSTANCE)])
    decision = review(tmp_path, plan, environment="staging")
    blast = verdict(decision, "blast-radius")
    assert decision.blast_radius.fleet_fraction == 0.0
    assert "population sizes unknown" in blast.rationale
    assert "of 1" not in blast.rationale
    assert "100.0%" not in blast.rationale
    (share,) = blast.findings[0].evidence["populations"]  # type: ignore[misc]
    assert share == {
        "resource_type": "aws_instance",
        "population": None,
        "population_known": False,
        "touched": 1,
        "destroyed": 1,
        "note": "population unknown: the plan has no prior state and the topology declares "
        "no size, so no share is claimed",
    }


def test_with_prior_state_the_share_is_of_what_exists() -> None:
    """A prior state of 40 instances makes deleting 1 a known 2.5%."""
    prior = [prior_resource(f"aws_instance.web_{i}", INSTANCE) for i in range(40)]
    plan = plan_document(
        [resource_change("aws_instance.web_0", ["delete"], before=INSTANCE)], prior=prior
    )
    proposal = parse_plan(json.dumps(plan), "p.json", Submission(source=Source.HUMAN, actor="a"))
    (share,) = population_shares(proposal, {})
    assert (share.known, share.population, share.destroyed_fraction) == (True, 40, 0.025)


def test_a_person_tearing_down_a_preview_environment_is_approved(tmp_path: Path) -> None:
    """8 stateless instances in development, by a person, with an intent that says so:
    approved at medium at most, the rebuild guard recorded as a note."""
    decision = review(
        tmp_path,
        teardown(),
        environment="development",
        intent="tear down preview environment 123",
    )
    assert decision.outcome == "approve", decision.rationale
    assert decision.risk_tier in (RiskTier.LOW, RiskTier.MEDIUM)
    rebuild = next(
        f
        for f in verdict(decision, "blast-radius").findings
        if f.rule == "blast-radius.environment-rebuild"
    )
    assert (rebuild.severity, rebuild.hard) == (RiskTier.LOW, False)
    assert "recorded, not denied" in rebuild.message


def test_the_same_teardown_by_an_ai_agent_in_production_is_rejected(tmp_path: Path) -> None:
    """The Kiro guard stands where it was meant: an AI agent rebuilding production."""
    decision = review(
        tmp_path,
        teardown(),
        environment="production",
        source=Source.AI_AGENT,
        intent="tear down preview environment 123",
    )
    assert decision.outcome == "reject"
    assert "hard-denial:blast-radius.environment-rebuild" in decision.rules_fired


@pytest.mark.parametrize(
    ("environment", "source", "intent", "severity", "hard"),
    [
        # the guard applies: production, or an AI agent or automation, or stateful resources
        (Environment.PRODUCTION, Source.HUMAN, "tear down preview 1", RiskTier.CRITICAL, True),
        (Environment.DEVELOPMENT, Source.AI_AGENT, "tear down preview", RiskTier.CRITICAL, True),
        (Environment.STAGING, Source.AUTOMATION, "decommission", RiskTier.CRITICAL, True),
        # a person, stateless, outside production: a note when the intent says so ...
        (Environment.DEVELOPMENT, Source.HUMAN, "decommission preview", RiskTier.LOW, False),
        (Environment.STAGING, Source.HUMAN, "Tear down the load test", RiskTier.LOW, False),
        # ... and a concern for a person to confirm when it does not
        (Environment.DEVELOPMENT, Source.HUMAN, "bump instance type", RiskTier.HIGH, False),
    ],
)
def test_environment_rebuild_applies_by_environment_source_and_intent(
    environment: Environment, source: Source, intent: str, severity: RiskTier, hard: bool
) -> None:
    """Who tears down what, where, and whether they said so decide the rebuild guard."""
    proposal = parse_plan(
        json.dumps(teardown(6)),
        "p.json",
        Submission(source=source, actor="a", environment=environment.value, intent=intent),
    )
    found = blast_assess(
        proposal, ReviewContext(graph=DependencyGraph.empty()), BlastRadiusSettings()
    )
    rebuild = next(f for f in found.findings if f.rule == "blast-radius.environment-rebuild")
    assert (rebuild.severity, rebuild.hard) == (severity, hard)


def test_a_stateful_teardown_by_a_person_in_development_is_still_denied() -> None:
    """Deleting databases is guarded whoever asks and whatever the intent says."""
    changes = [
        resource_change(f"aws_db_instance.preview_{i}", ["delete"], before={"engine": "pg"})
        for i in range(6)
    ]
    proposal = parse_plan(
        json.dumps(plan_document(changes)),
        "p.json",
        Submission(source=Source.HUMAN, actor="a", environment="dev", intent="tear down"),
    )
    context = ReviewContext(graph=DependencyGraph.empty(), catalog=ResourceCatalog.load_default())
    found = blast_assess(proposal, context, BlastRadiusSettings())
    rebuild = next(f for f in found.findings if f.rule == "blast-radius.environment-rebuild")
    assert (rebuild.severity, rebuild.hard) == (RiskTier.CRITICAL, True)
