"""The blast-radius reviewer: reach through the topology, bulk destruction, rebuilds, score."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.commander import aggregate
from orchestrator.config import load_config
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
from orchestrator.testing import plan_document, prior_resource, resource_change
from reviewers.blast_radius import BlastRadiusReviewer, BlastRadiusSettings, assess

CONFIG = load_config()
SETTINGS = BlastRadiusSettings.model_validate(CONFIG.reviewer_sections["blast-radius"][0])
BOUNDARY = "shared-iam-boundary"
BOUNDARY_POLICY = "aws_iam_policy.shared_permission_boundary"
DEPENDENTS = [f"svc-{i:02d}" for i in range(47)]
PREFIX = "cloudflare_byo_ip_prefix"
CLOUDFLARE = "registry.terraform.io/cloudflare/cloudflare"


def topology(
    boundary: str = "critical", dependents: str = "medium", **extra: Any
) -> DependencyGraph:
    """The IAM story: one boundary service, 47 dependents, unrelated services."""
    services: dict[str, Any] = {
        BOUNDARY: {"criticality": boundary, "owns": [BOUNDARY_POLICY]},
        "billing": {"criticality": "critical", "owns": ["module.billing.*"]},
        "reports": {"depends_on": ["billing"]},
        "docs-site": {"criticality": "low", "owns": ["aws_s3_bucket.docs"]},
    }
    for name in DEPENDENTS:
        services[name] = {"criticality": dependents, "depends_on": [BOUNDARY]}
    return DependencyGraph(Topology.model_validate({"services": services, **extra}))


def from_plan(doc: dict[str, Any], source: Source = Source.AI_AGENT, intent: str = "") -> Proposal:
    """A proposal through the real Terraform adapter."""
    submission = Submission(source=source, actor="agent-7", intent=intent, environment="prod")
    return load_proposal(json.dumps(doc).encode(), "plan.json", submission)


def boundary_update() -> Proposal:
    """An AI agent 'optimizing' the shared permission boundary."""
    doc = plan_document(
        [
            resource_change(
                BOUNDARY_POLICY,
                ["update"],
                before={"name": "boundary", "policy": '{"Statement":[{"Action":"s3:*"}]}'},
                after={"name": "boundary", "policy": '{"Statement":[{"Action":"s3:GetObject"}]}'},
            )
        ]
    )
    return from_plan(doc, intent="optimize the permission boundary")


def proposal(
    changes: list[ResourceChange],
    populations: dict[str, int] | None = None,
    relations: tuple[Relation, ...] = (),
) -> Proposal:
    """A proposal built directly from changes."""
    return Proposal(
        kind="terraform",
        source=Source.AUTOMATION,
        actor="cleanup",
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=tuple(changes),
        populations=populations or {},
        relations=relations,
    )


def change(address: str, action: str, rtype: str | None = None) -> ResourceChange:
    """One managed resource change."""
    return ResourceChange(
        address=address,
        type=rtype or address.split(".")[-2].split("[", maxsplit=1)[0],
        action=Action(action),
    )


def deletes(count: int, rtype: str = PREFIX) -> list[ResourceChange]:
    """`count` deletions of one resource type."""
    return [change(f'{rtype}.p["{i}"]', "delete", rtype) for i in range(count)]


def context(
    graph: DependencyGraph | None = None, cfg: BlastRadiusSettings = SETTINGS
) -> ReviewContext:
    """A review context with the blast-radius settings."""
    return ReviewContext(
        graph=DependencyGraph.empty() if graph is None else graph, settings={"blast-radius": cfg}
    )


def finding(verdict: Verdict, rule: str) -> Finding:
    """The one finding of a rule."""
    [found] = [f for f in verdict.findings if f.rule == rule]
    return found


def rules(verdict: Verdict) -> list[str]:
    """The rules a verdict's findings name."""
    return [f.rule for f in verdict.findings]


async def test_iam_boundary_reaches_its_47_dependents() -> None:
    """Tightening a boundary 47 services depend on names all 48 services and raises a concern."""
    verdict = await BlastRadiusReviewer().review(boundary_update(), context(topology()))
    assert verdict.stance == "concern"
    assert verdict.risk_tier == RiskTier.CRITICAL
    reach = finding(verdict, "blast-radius.reach").evidence
    assert reach["affected_services"] == sorted([BOUNDARY, *DEPENDENTS])
    assert reach["affected_services_total"] == 48
    assert reach["owners"] == {BOUNDARY_POLICY: [BOUNDARY]}
    dependents = reach["dependents"]
    assert isinstance(dependents, dict)
    assert dependents[BOUNDARY] == {
        "distance": 0,
        "criticality": "critical",
        "via": BOUNDARY_POLICY,
    }
    assert dependents["svc-46"] == {"distance": 1, "criticality": "medium", "via": BOUNDARY_POLICY}
    assert reach["dependents_total"] == 47
    assert reach["choke_points"] == [
        {"node": BOUNDARY_POLICY, "kind": "resource", "services": 48, "share": 1.0},
        {"node": BOUNDARY, "kind": "service", "services": 47, "share": 0.9792},
    ]
    fan_out = finding(verdict, "blast-radius.fan-out")
    assert fan_out.evidence["dependents"] == 47
    assert fan_out.resources == (BOUNDARY_POLICY,)
    assert not any(f.hard for f in verdict.findings)


async def test_decision_carries_the_blast_radius_summary() -> None:
    """The decision's blast_radius block repeats the reviewer's figures."""
    prop = boundary_update()
    verdict = await BlastRadiusReviewer().review(prop, context(topology()))
    decision = aggregate(
        prop, [verdict], CONFIG.commander, decision_id="d", created_at="t", policy_version="p"
    )
    reach = finding(verdict, "blast-radius.reach").evidence
    assert decision.blast_radius.affected_services == tuple(sorted([BOUNDARY, *DEPENDENTS]))
    assert decision.blast_radius.score == reach["score"]
    assert decision.blast_radius.changed_resources == 1
    assert decision.outcome == "escalate"


@pytest.mark.parametrize(
    ("boundary", "dependents", "tier"),
    [
        pytest.param("low", "low", RiskTier.LOW, id="all-low"),
        pytest.param("medium", "low", RiskTier.MEDIUM, id="medium-boundary"),
        pytest.param("low", "high", RiskTier.HIGH, id="high-dependents"),
        pytest.param("critical", "low", RiskTier.CRITICAL, id="critical-boundary"),
    ],
)
async def test_tier_is_the_most_critical_service_reached(
    boundary: str, dependents: str, tier: RiskTier
) -> None:
    """The verdict's tier is the criticality of the most critical service the change reaches."""
    verdict = await BlastRadiusReviewer().review(
        boundary_update(), context(topology(boundary, dependents))
    )
    assert verdict.risk_tier == tier
    assert verdict.stance == "concern"  # 47 dependents is past the fan-out threshold either way


async def test_unrelated_change_reaches_nothing_it_does_not_own() -> None:
    """A change to the docs bucket reaches the docs service only, and approves."""
    doc = plan_document(
        [resource_change("aws_s3_bucket.docs", ["update"], before={"acl": "a"}, after={"acl": "b"})]
    )
    verdict = await BlastRadiusReviewer().review(from_plan(doc), context(topology()))
    assert verdict.stance == "approve"
    assert verdict.risk_tier == RiskTier.LOW
    assert finding(verdict, "blast-radius.reach").evidence["affected_services"] == ["docs-site"]


def test_plan_references_extend_the_reach() -> None:
    """A resource that references a changed one pulls its owning service into the blast radius."""
    prop = proposal(
        [change("aws_kms_key.main", "update")],
        relations=(
            Relation(
                source="aws_kms_key.main", target="module.billing.aws_db.main", kind="reference"
            ),
        ),
    )
    verdict = assess(prop, context(topology()), SETTINGS)
    reach = finding(verdict, "blast-radius.reach").evidence
    assert reach["affected_services"] == ["billing", "reports"]
    assert reach["owners"] == {"module.billing.aws_db.main": ["billing"]}
    assert verdict.risk_tier == RiskTier.CRITICAL


def cloudflare_from_prior_state() -> tuple[Proposal, DependencyGraph]:
    """1,100 deletes with all 4,306 prefixes in the plan's prior state."""
    addresses = [f'{PREFIX}.prefix["{i:04d}"]' for i in range(4306)]
    doc = plan_document(
        [
            resource_change(a, ["delete"], before={"prefix_id": a[-6:-2]}, provider=CLOUDFLARE)
            for a in addresses[:1100]
        ],
        prior=[prior_resource(a, {"prefix_id": a[-6:-2]}) for a in addresses],
    )
    prop = from_plan(doc, Source.AUTOMATION, "remove prefixes pending delete")
    assert prop.populations == {PREFIX: 4306}
    return prop, DependencyGraph.empty()


def cloudflare_from_topology(key: str) -> tuple[Proposal, DependencyGraph]:
    """1,100 deletes, the population declared by the topology (by type or glob)."""
    graph = DependencyGraph(Topology.model_validate({"populations": {key: 4306}}))
    return proposal(deletes(1100)), graph


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(cloudflare_from_prior_state, id="prior-state"),
        pytest.param(lambda: cloudflare_from_topology(PREFIX), id="topology-type"),
        pytest.param(lambda: cloudflare_from_topology("cloudflare_byo_*"), id="topology-glob"),
    ],
)
async def test_bulk_destroy_of_a_population_is_a_hard_block(build: Any) -> None:
    """Withdrawing 1,100 of 4,306 BYOIP prefixes (25.5%) is a hard denial with the figures."""
    prop, graph = build()
    verdict = await BlastRadiusReviewer().review(prop, context(graph))
    bulk = finding(verdict, "blast-radius.bulk-destroy")
    assert bulk.hard
    assert bulk.evidence["destroyed_percent"] == 25.5
    assert (bulk.evidence["population"], bulk.evidence["destroyed"]) == (4306, 1100)
    assert len(bulk.resources) == 20
    assert verdict.stance == "block"
    assert verdict.risk_tier == RiskTier.CRITICAL
    assert "blast-radius.environment-rebuild" not in rules(verdict)


@pytest.mark.parametrize(
    ("destroyed", "population", "rule"),
    [
        pytest.param(1, 4306, None, id="one-prefix"),
        pytest.param(24, 4306, None, id="under-both-escalate-limits"),
        pytest.param(3, 10, None, id="small-population-no-fractions"),
        pytest.param(25, 4306, "blast-radius.bulk-destroy-warning", id="escalate-count"),
        pytest.param(87, 4306, "blast-radius.bulk-destroy-warning", id="escalate-fraction"),
        pytest.param(430, 4306, "blast-radius.bulk-destroy-warning", id="just-under-10pc"),
        pytest.param(431, 4306, "blast-radius.bulk-destroy", id="just-over-10pc"),
        pytest.param(500, 100_000, "blast-radius.bulk-destroy", id="block-count"),
    ],
)
def test_bulk_thresholds(destroyed: int, population: int, rule: str | None) -> None:
    """Below the thresholds no bulk finding fires; past them a warning, then a hard block."""
    verdict = assess(proposal(deletes(destroyed), {PREFIX: population}), context(), SETTINGS)
    bulk = [r for r in rules(verdict) if r.startswith("blast-radius.bulk")]
    assert bulk == ([rule] if rule else [])
    assert any(f.hard for f in verdict.findings) == (rule == "blast-radius.bulk-destroy")
    assert verdict.stance == {None: "approve", "blast-radius.bulk-destroy": "block"}.get(
        rule, "concern"
    )


def rebuild_plan(count: int, actions: list[str], untouched: int = 0) -> Proposal:
    """A plan replacing (or deleting) `count` resources of mixed types, leaving others be."""
    types = ["aws_instance", "aws_db_instance", "aws_lb", "aws_ecs_service", "aws_vpc"]
    entries = [
        resource_change(
            f"{types[i % len(types)]}.r{i}",
            actions,
            before={"id": str(i)},
            after={"id": str(i)} if "create" in actions else None,
        )
        for i in range(count)
    ]
    prior = [
        prior_resource(f"{types[i % len(types)]}.r{i}", {"id": str(i)})
        for i in range(count + untouched)
    ]
    return from_plan(plan_document(entries, prior=prior), intent="recreate the environment")


@pytest.mark.parametrize(
    "actions",
    [["delete", "create"], ["create", "delete"], ["delete"]],
    ids=["replace", "create-before-destroy", "delete"],
)
async def test_environment_rebuild_is_a_hard_block(actions: list[str]) -> None:
    """Replacing or deleting every resource of an environment is a hard denial."""
    verdict = await BlastRadiusReviewer().review(rebuild_plan(12, actions), context())
    rebuild = finding(verdict, "blast-radius.environment-rebuild")
    assert rebuild.hard
    assert rebuild.evidence == {
        "destroyed": 12,
        "existing": 12,
        "fraction": 1.0,
        "environment": "production",
        "source": "ai-agent",
        "stateful": False,
        "intent_says_teardown": False,
    }
    assert (verdict.stance, verdict.risk_tier) == ("block", RiskTier.CRITICAL)


@pytest.mark.parametrize(
    ("count", "untouched"),
    [pytest.param(4, 0, id="fewer-than-five"), pytest.param(5, 20, id="a-fifth-of-it")],
)
def test_partial_replacement_is_not_a_rebuild(count: int, untouched: int) -> None:
    """Replacing a few resources, or a small share of many, is not an environment rebuild."""
    verdict = assess(rebuild_plan(count, ["delete", "create"], untouched), context(), SETTINGS)
    assert "blast-radius.environment-rebuild" not in rules(verdict)


async def test_evidence_edges_are_capped() -> None:
    """Past evidence_cap the edges list stops and edges_omitted counts the rest."""
    capped = SETTINGS.model_copy(update={"evidence_cap": 10})
    verdict = await BlastRadiusReviewer().review(boundary_update(), context(topology(), capped))
    reach = finding(verdict, "blast-radius.reach").evidence
    edges = reach["edges"]
    assert isinstance(edges, list)
    assert len(edges) == 10
    assert reach["edges_omitted"] == 38  # 1 owner edge + 47 dependency edges, 10 listed
    assert edges[0] == [BOUNDARY_POLICY, BOUNDARY, "owns"]
    assert edges[1][0::2] == [BOUNDARY, "depends_on"]
    assert isinstance(reach["dependents"], dict)
    assert len(reach["dependents"]) == 10
    assert reach["affected_services_total"] == 48

    full = await BlastRadiusReviewer().review(boundary_update(), context(topology()))
    full_reach = finding(full, "blast-radius.reach").evidence
    assert isinstance(full_reach["edges"], list)
    assert (len(full_reach["edges"]), full_reach["edges_omitted"]) == (48, 0)


async def test_without_topology_confidence_drops() -> None:
    """With no topology the reviewer still reports, with lower confidence."""
    verdict = await BlastRadiusReviewer().review(boundary_update(), context())
    assert verdict.confidence == 0.5
    assert finding(verdict, "blast-radius.reach").evidence["affected_services"] == []


# --- invariants -----------------------------------------------------------------

ACTIONS = ["create", "update", "delete", "replace", "read", "no-op"]
TYPES = ["aws_iam_policy", PREFIX, "aws_instance", "aws_s3_bucket"]


@st.composite
def plans(draw: st.DrawFn, actions: list[str]) -> Proposal:
    """Random changes over a few types, with random populations."""
    picks = draw(st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(actions)), max_size=60))
    changes = [change(f'{t}.r["{i}"]', a, t) for i, (t, a) in enumerate(picks)]
    pops = draw(st.dictionaries(st.sampled_from(TYPES), st.integers(0, 5000), max_size=3))
    return proposal(changes, pops)


def owned_topology() -> DependencyGraph:
    """The IAM story where every type in TYPES is owned by the critical boundary."""
    return DependencyGraph(
        Topology.model_validate(
            {
                "services": {
                    BOUNDARY: {"criticality": "critical", "owns": [f"{t}.*" for t in TYPES]},
                    **{
                        n: {"criticality": "critical", "depends_on": [BOUNDARY]} for n in DEPENDENTS
                    },
                },
            }
        )
    )


OWNED = owned_topology()
HYPO = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(plans(["create"]), st.booleans())
def test_pure_creates_never_block(prop: Proposal, with_topology: bool) -> None:
    """A plan that only creates cannot break what exists: never a block, tier at most medium."""
    graph = OWNED if with_topology else DependencyGraph.empty()
    verdict = assess(prop, context(graph), SETTINGS)
    assert verdict.stance == "approve"
    assert verdict.risk_tier in (RiskTier.LOW, RiskTier.MEDIUM)
    assert not any(f.hard for f in verdict.findings)


@HYPO
@given(plans(ACTIONS), st.booleans())
def test_score_and_fractions_stay_in_range(prop: Proposal, with_topology: bool) -> None:
    """The score is an integer in [0, 100] and the fleet fraction a share, whatever the plan."""
    graph = OWNED if with_topology else DependencyGraph.empty()
    verdict = assess(prop, context(graph), SETTINGS)
    reach = finding(verdict, "blast-radius.reach").evidence
    score, fleet = reach["score"], reach["fleet_fraction"]
    assert isinstance(score, int)
    assert 0 <= score <= 100
    assert isinstance(fleet, float)
    assert 0.0 <= fleet <= 1.0
    decision = aggregate(
        prop, [verdict], CONFIG.commander, decision_id="d", created_at="t", policy_version="p"
    )
    assert decision.blast_radius.score == score
