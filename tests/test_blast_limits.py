"""The blast-radius limits beyond fan-out and bulk deletes: irreversible reach, score, cycles."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import (
    Action,
    Environment,
    Finding,
    Proposal,
    Relation,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.reviewer import ReviewContext
from reviewers.blast_radius import BlastRadiusSettings, assess

CATALOG = ResourceCatalog.load_default()
SETTINGS = BlastRadiusSettings()


def graph(services: dict[str, Any]) -> DependencyGraph:
    """A graph from a topology given as plain data."""
    return DependencyGraph(Topology.model_validate({"services": services}))


def review(
    changes: list[tuple[str, str]],
    services: dict[str, Any],
    relations: tuple[Relation, ...] = (),
    settings: BlastRadiusSettings = SETTINGS,
) -> Verdict:
    """The blast-radius verdict on (address, action) changes against a topology."""
    proposal = Proposal(
        kind="terraform",
        source=Source.AI_AGENT,
        actor="agent-7",
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=tuple(
            ResourceChange(address=a, type=_type(a), action=Action(act)) for a, act in changes
        ),
        relations=relations,
    )
    context = ReviewContext(graph=graph(services), catalog=CATALOG)
    return assess(proposal, context, settings)


def _type(address: str) -> str:
    """`aws_db_instance` of `aws_db_instance.orders`, `ConfigMap` of `prod/ConfigMap/cfg`."""
    return address.split("/")[-2] if "/" in address else address.split(".")[-2]


def finding(verdict: Verdict, rule: str) -> Finding:
    """The one finding of a rule."""
    [found] = [f for f in verdict.findings if f.rule == rule]
    return found


def reach(verdict: Verdict) -> dict[str, Any]:
    """The summary evidence."""
    return dict(finding(verdict, "blast-radius.reach").evidence)


ORDERS = {
    "orders-db": {"criticality": "medium", "owns": ["aws_db_instance.orders"]},
    "orders": {"criticality": "medium", "depends_on": ["orders-db"]},
    "checkout": {"criticality": "critical", "depends_on": ["orders"]},
    "audit": {"criticality": "critical", "owns": ["aws_iam_policy.audit"]},
}


@pytest.mark.parametrize(
    ("changes", "hard"),
    [
        pytest.param([("aws_db_instance.orders", "delete")], True, id="delete-stateful"),
        pytest.param([("aws_db_instance.orders", "replace")], True, id="replace-stateful"),
        pytest.param([("aws_db_instance.orders", "update")], False, id="update-is-reversible"),
        pytest.param([("aws_iam_policy.audit", "delete")], False, id="stateless-delete"),
        pytest.param(
            [("aws_iam_policy.audit", "delete"), ("aws_db_instance.orders", "update")],
            False,
            id="critical-reached-but-not-by-the-irreversible-change",
        ),
    ],
)
def test_irreversible_change_reaching_a_critical_service_blocks(
    changes: list[tuple[str, str]], hard: bool
) -> None:
    """Deleting a stateful resource two hops under a critical service is a hard denial."""
    verdict = review(changes, ORDERS)
    rules = [f.rule for f in verdict.findings]
    assert ("blast-radius.irreversible-critical" in rules) == hard
    if hard:
        found = finding(verdict, "blast-radius.irreversible-critical")
        assert found.hard
        assert found.resources == ("aws_db_instance.orders",)
        assert found.evidence["critical_services"] == {"checkout": "aws_db_instance.orders"}
        assert found.evidence["example_path"] == [
            "aws_db_instance.orders",
            "orders-db",
            "orders",
            "checkout",
        ]
        assert (verdict.stance, verdict.risk_tier) == ("block", RiskTier.CRITICAL)


def test_irreversible_limit_can_escalate_instead() -> None:
    """With irreversible_critical_hard off the same change blocks without a hard denial."""
    soft = SETTINGS.model_copy(update={"irreversible_critical_hard": False})
    verdict = review([("aws_db_instance.orders", "delete")], ORDERS, settings=soft)
    assert not finding(verdict, "blast-radius.irreversible-critical").hard
    assert verdict.stance == "block"


@pytest.mark.parametrize(
    ("dependents", "criticality", "score", "escalates"),
    [
        pytest.param(0, "low", 1, False, id="owner-only"),
        pytest.param(3, "low", 5, False, id="three-low"),
        pytest.param(24, "medium", 49, False, id="just-under-half-weight"),
        pytest.param(25, "medium", 51, True, id="just-over-half-weight"),
        pytest.param(47, "medium", 73, True, id="forty-seven"),
        pytest.param(400, "low", 100, True, id="saturated"),
    ],
)
def test_services_score_follows_the_documented_formula(
    dependents: int, criticality: str, score: int, escalates: bool
) -> None:
    """services = 1 - 0.5^(W/50): the owner (low, 1) plus dependents' weights."""
    services: dict[str, Any] = {"owner": {"criticality": "low", "owns": ["aws_iam_policy.p"]}}
    for i in range(dependents):
        services[f"d{i}"] = {"criticality": criticality, "depends_on": ["owner"]}
    quiet = SETTINGS.model_copy(update={"fanout_escalate_services": 1000})
    verdict = review([("aws_iam_policy.p", "update")], services, settings=quiet)
    evidence = reach(verdict)
    assert evidence["score"] == score
    assert evidence["score_parts"]["services"] == pytest.approx(score / 100, abs=0.005)
    assert ("blast-radius.score" in [f.rule for f in verdict.findings]) == escalates
    assert verdict.stance == ("concern" if escalates else "approve")


def test_cycles_on_the_path_are_reported_not_fatal() -> None:
    """A dependency circle the change reaches is a low finding naming it; the walk ends."""
    services = {
        "a": {"owns": ["aws_iam_policy.a"], "depends_on": ["c"]},
        "b": {"depends_on": ["a"]},
        "c": {"depends_on": ["b"]},
        "elsewhere": {"depends_on": ["elsewhere"]},
    }
    verdict = review([("aws_iam_policy.a", "update")], services)
    cycles = finding(verdict, "blast-radius.cycle")
    assert cycles.evidence == {"cycles": [["a", "b", "c"]], "cycles_total": 1}
    assert cycles.severity == RiskTier.LOW
    assert reach(verdict)["cycles"] == [["a", "b", "c"]]
    assert reach(verdict)["affected_services_total"] == 3


def test_unchanged_resources_that_reference_a_change_pull_in_their_owners() -> None:
    """A no-op resource reading a changed one is reached at distance 1, and so is its owner."""
    services = {
        "network": {"owns": ["module.alb.*"]},
        "edge": {"criticality": "high", "owns": ["aws_security_group_rule.*"]},
        "shop": {"depends_on": ["edge"]},
    }
    relation = Relation(
        source="module.alb.aws_security_group.alb",
        target="aws_security_group_rule.inbound",
        kind="reference",
    )
    verdict = review(
        [
            ("module.alb.aws_security_group.alb", "update"),
            ("aws_security_group_rule.inbound", "no-op"),
        ],
        services,
        (relation,),
    )
    evidence = reach(verdict)
    assert evidence["references"] == {"aws_security_group_rule.inbound": 1}
    assert {s: d["distance"] for s, d in evidence["dependents"].items()} == {
        "edge": 1,
        "network": 0,
        "shop": 2,
    }
    assert evidence["edges"][:2] == [
        ["module.alb.aws_security_group.alb", "aws_security_group_rule.inbound", "reference"],
        ["aws_security_group_rule.inbound", "edge", "owns"],
    ]
    assert "aws_security_group_rule.inbound" in evidence["resources"]
    assert verdict.risk_tier == RiskTier.HIGH


@pytest.mark.parametrize("kind", ["selects", "config", "owns", "mounts-secret"])
def test_relations_of_any_kind_extend_the_reach(kind: str) -> None:
    """Kubernetes relations (or any adapter's) are edges whatever their kind is called."""
    services = {"web": {"criticality": "critical", "owns": ["prod/Deployment/web"]}}
    relation = Relation(source="prod/ConfigMap/cfg", target="prod/Deployment/web", kind=kind)
    verdict = review([("prod/ConfigMap/cfg", "update")], services, (relation,))
    evidence = reach(verdict)
    assert evidence["affected_services"] == ["web"]
    assert evidence["edges"][0] == ["prod/ConfigMap/cfg", "prod/Deployment/web", kind]
    assert verdict.risk_tier == RiskTier.CRITICAL


def test_a_service_that_depends_on_itself_is_a_cycle() -> None:
    """A self-loop on the only service reached is reported like any other cycle."""
    services = {"a": {"owns": ["aws_iam_policy.a"], "depends_on": ["a"]}}
    verdict = review([("aws_iam_policy.a", "update")], services)
    assert finding(verdict, "blast-radius.cycle").evidence["cycles"] == [["a"]]


def test_irreversible_reach_is_found_through_a_cycle_too() -> None:
    """With a dependency circle on the way, the irreversible limit finds the critical service."""
    services = {
        **ORDERS,
        "orders": {"criticality": "medium", "depends_on": ["orders-db", "checkout"]},
    }
    verdict = review([("aws_db_instance.orders", "delete")], services)
    found = finding(verdict, "blast-radius.irreversible-critical")
    assert found.evidence["critical_services"] == {"checkout": "aws_db_instance.orders"}
    assert found.evidence["example_path"] == [
        "aws_db_instance.orders",
        "orders-db",
        "orders",
        "checkout",
    ]
    assert finding(verdict, "blast-radius.cycle").evidence["cycles"] == [["checkout", "orders"]]
