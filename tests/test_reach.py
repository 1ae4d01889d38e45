"""The blast-radius summary, one typed reader: what the commander, contrarian, renderers read."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import JsonValue

from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import Finding, Proposal, ResourceChange, RiskTier, Source, Verdict
from orchestrator.reach import REVIEWER, SUMMARY_RULE, blast_radius_of, reach_summary, read_summary
from orchestrator.reviewer import ReviewContext
from reviewers.blast_radius import BlastRadiusSettings, assess


def _proposal(*changes: ResourceChange) -> Proposal:
    return Proposal(
        kind="terraform",
        source=Source.HUMAN,
        actor="a",
        environment="production",
        environment_name="production",
        changes=changes,
    )


def _verdict(evidence: dict[str, JsonValue], *, error: str | None = None) -> Verdict:
    return Verdict(
        reviewer=REVIEWER,
        stance="approve",
        risk_tier=RiskTier.LOW,
        confidence=0.9,
        findings=(Finding(rule=SUMMARY_RULE, message="m", evidence=evidence),),
        error=error,
    )


def test_what_the_reviewer_writes_the_reader_reads() -> None:
    """The blast-radius verdict's summary reads back typed: figures, edges, criticality."""
    topology = Topology.model_validate(
        {
            "services": {
                "db": {"criticality": "critical", "owns": ["aws_db_instance.main"]},
                "api": {"criticality": "high", "depends_on": ["db"]},
            }
        }
    )
    proposal = _proposal(
        ResourceChange(address="aws_db_instance.main", type="aws_db_instance", action="update")
    )
    verdict = assess(
        proposal, ReviewContext(graph=DependencyGraph(topology)), BlastRadiusSettings()
    )
    summary = reach_summary([verdict])
    assert summary is not None
    assert summary.changed_resources == 1
    assert summary.affected_services == ("api", "db")
    assert summary.affected_services_total == 2
    assert summary.criticality == {"api": "high", "db": "critical"}
    assert ("db", "api", "depends_on") in summary.edges
    assert blast_radius_of(proposal, [verdict]).affected_services == ("api", "db")


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        # decisions recorded before edge kinds were kept
        ({"edges": [["a", "b"]]}, {"edges": (("a", "b", ""),), "edges_omitted": 0}),
        # malformed parts are counted omitted or left out, never fatal
        ({"edges": [["a"], 3, ["a", 1]], "edges_omitted": 2}, {"edges": (), "edges_omitted": 5}),
        (
            {"score": "high", "affected_services": ["x", 3]},
            {"score": 0, "affected_services": ("x",)},
        ),
        (
            {"dependents": {"x": {"criticality": 1}, "y": {"criticality": "low"}}},
            {"criticality": {"y": "low"}},
        ),
        ({"choke_points": [{"node": "n", "services": 4}, {"node": 1}]}, {"choke_points": {"n": 4}}),
    ],
)
def test_the_reader_is_lenient_with_old_or_edited_records(
    evidence: dict[str, JsonValue], expected: dict[str, Any]
) -> None:
    """A recorded summary of another shape reads with what is well formed."""
    summary = read_summary(evidence)
    for name, value in expected.items():
        assert getattr(summary, name) == value


def test_a_failed_blast_radius_verdict_has_no_summary() -> None:
    """The decision's block falls back to the change count when the reviewer failed."""
    proposal = _proposal(ResourceChange(address="a.b", type="a", action="update"))
    failed = _verdict({"score": 90, "changed_resources": 7}, error="boom")
    assert reach_summary([failed]) is None
    assert blast_radius_of(proposal, [failed]).changed_resources == 1


def test_out_of_range_figures_are_clamped_not_fatal() -> None:
    """An edited score of 250 or a fraction of 3 cannot break the decision's block."""
    radius = read_summary({"score": 250, "fleet_fraction": 3}).blast_radius()
    assert (radius.score, radius.fleet_fraction) == (100, 1.0)
