"""The agent registry: actor kinds, purposes, environments, elevations and unknown actors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.agents import AgentRegistry, Elevation
from orchestrator.catalog import ResourceCatalog
from orchestrator.config import load_config, shipped_config_dir
from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph
from orchestrator.models import Action, Environment, Proposal, ResourceChange, Source
from orchestrator.reviewer import ReviewContext
from orchestrator.testing import plan_document, resource_change
from reviewers.policy import assess

CATALOG = ResourceCatalog.load_default()
A, H, AUTO = Source.AI_AGENT, Source.HUMAN, Source.AUTOMATION
PROD, STG, DEV = Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT

REGISTRY_YAML = """\
unknown_actors: ai-agent
actors:
  docs-bot: {kind: ai-agent, purposes: [docs], environments: [dev, staging]}
  infra-bot: {kind: ai-agent, purposes: [infra], environments: [development]}
  ops: {kind: human}
  cron: {kind: automation, purposes: [dependencies], environments: [production]}
"""
REGISTRY = AgentRegistry.from_text(REGISTRY_YAML, "agents.yaml")
BOTH = ["policy.agent.out-of-environment", "policy.agent.out-of-purpose"]

DOC = ResourceChange(address="docs/intro.md", type="file", action=Action.UPDATE, category="docs")
BUCKET = ResourceChange(address="aws_s3_bucket.logs", type="aws_s3_bucket", action=Action.CREATE)
IAM = ResourceChange(address="aws_iam_role.app", type="aws_iam_role", action=Action.UPDATE)
NOOP = ResourceChange(address="aws_iam_role.app", type="aws_iam_role", action=Action.NOOP)


def proposal(actor: str, source: Source, env: Environment, *changes: ResourceChange) -> Proposal:
    kind = "diff" if all(c.type == "file" for c in changes) and changes else "terraform"
    return Proposal(
        kind=kind,  # type: ignore[arg-type]
        source=source,
        actor=actor,
        environment=env,
        environment_name=env.value,
        changes=changes,
    )


def elevation(
    actor: str, categories: tuple[str, ...] = (), environments: tuple[str, ...] = ()
) -> Elevation:
    return Elevation(
        elevation_id=f"el-{actor}-{'-'.join(categories + environments) or 'all'}",
        actor=actor,
        categories=categories,
        environments=environments,
        until="2026-11-20T18:00:00Z",
        granted_by="alice",
        reason="incident 4711",
        granted_at="2026-11-20T09:00:00Z",
    )


def judge(
    prop: Proposal,
    registry: AgentRegistry = REGISTRY,
    elevations: tuple[Elevation, ...] = (),
) -> dict[str, Any]:
    """The policy verdict's agent findings by rule, for one proposal."""
    ctx = ReviewContext(
        graph=DependencyGraph.empty(),
        catalog=CATALOG,
        agents=registry,
        actor=registry.profile(prop.actor, prop.source, elevations),
    )
    verdict = assess(prop, ctx)
    return {
        "stance": verdict.stance,
        "rules": sorted(f.rule for f in verdict.findings if f.rule.startswith("policy.agent.")),
        "findings": {f.rule: f for f in verdict.findings},
    }


def test_shipped_registry_loads_and_documents_every_actor() -> None:
    """configs/agents.yaml validates; unknown actors are judged as AI agents."""
    config = load_config()
    assert config.agents_source is not None
    registry = AgentRegistry.from_text(*config.agents_source)
    assert registry.unknown_actors == A
    assert registry.enforcement == "soft-mandatory"
    for name in ("docs-bot", "refactor-bot", "coding-agent", "dependabot"):
        record = registry.record(name)
        assert record is not None
        assert record.description


# (agents.yaml text, line, needle)
TYPOS = [
    ("actors:\n  bot:\n    kind: ai-agent\n    purpose: [docs]\n", 4, "did you mean 'purposes'"),
    ("actors:\n  bot:\n    kind: robot\n", 3, "kind"),
    ("actors:\n  bot:\n    kind: ai-agent\n    environments: [prodution]\n", 4, "prodution"),
    ("actors:\n  bot:\n    kind: ai-agent\n    purposes: [App Code]\n", 4, "purposes"),
    ("unknown_actor: human\n", 1, "did you mean 'unknown_actors'"),
    ("enforcement: strict\n", 1, "enforcement"),
    ("actors:\n  bot: {kind: ai-agent\n", 3, "YAML"),
]


@pytest.mark.parametrize(("text", "line", "needle"), TYPOS)
def test_a_typo_in_the_registry_names_file_and_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    """A misspelt key or value in agents.yaml fails at load time with file and line."""
    path = tmp_path / "agents.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        AgentRegistry.load(path)
    assert str(caught.value).startswith(f"{path}: line {line}: "), str(caught.value)
    assert needle in str(caught.value)


# (actor, declared source, unknown_actors, judged kind, registered)
PROFILES = [
    ("docs-bot", A, A, A, True),
    ("docs-bot", H, A, A, True),  # an agent claiming to be a person is still an agent
    ("ops", A, A, A, True),  # a person's account used by an agent is judged as the agent
    ("ops", H, A, H, True),
    ("cron", H, A, AUTO, True),
    ("stranger", H, A, A, False),
    ("stranger", H, AUTO, AUTO, False),
    ("stranger", A, H, A, False),  # declared stricter than unknown_actors: declared wins
    ("stranger", H, H, H, False),
]


@pytest.mark.parametrize(("actor", "declared", "unknown", "kind", "registered"), PROFILES)
def test_an_actor_is_judged_as_the_stricter_of_registry_and_declared_kind(
    actor: str, declared: Source, unknown: Source, kind: Source, registered: bool
) -> None:
    """ai-agent > automation > human; an unregistered actor starts from `unknown_actors`."""
    registry = AgentRegistry.from_text(
        REGISTRY_YAML.replace("unknown_actors: ai-agent", f"unknown_actors: {unknown.value}"),
        "agents.yaml",
    )
    profile = registry.profile(actor, declared)
    assert (profile.kind, profile.registered) == (kind, registered)
    if not registered:
        assert (profile.purposes, profile.environments) == ((), ())


def test_registry_environment_aliases_are_canonical() -> None:
    """`dev` in the registry means development."""
    assert REGISTRY.profile("docs-bot", A).environments == ("development", "staging")


# (actor, declared source, environment, changes, expected agent findings)
# fmt: off
LANES = [
    ("docs-bot", A, DEV, (DOC,), []),
    ("docs-bot", A, DEV, (BUCKET,), ["policy.agent.out-of-purpose"]),
    ("docs-bot", A, PROD, (DOC,), ["policy.agent.out-of-environment"]),
    ("docs-bot", A, PROD, (BUCKET,), BOTH),
    ("docs-bot", A, DEV, (DOC, IAM), ["policy.agent.out-of-purpose"]),
    ("infra-bot", A, DEV, (IAM, BUCKET), []),  # every Terraform change is infra
    ("infra-bot", A, STG, (BUCKET,), ["policy.agent.out-of-environment"]),
    ("ops", H, PROD, (IAM,), []),  # people are judged by the rules, not by lanes
    ("cron", AUTO, DEV, (IAM,), []),  # so is automation
    ("stranger", A, DEV, (DOC,), ["policy.agent.unregistered"]),
    ("stranger", H, DEV, (DOC,), ["policy.agent.unregistered"]),
    ("docs-bot", H, DEV, (DOC,), ["policy.agent.source-mismatch"]),
    ("stranger", A, PROD, (NOOP,), []),  # a plan that changes nothing is in every lane
]
# fmt: on


@pytest.mark.parametrize(("actor", "declared", "env", "changes", "expected"), LANES)
def test_an_ai_agent_outside_its_purposes_or_environments_is_a_finding(
    actor: str,
    declared: Source,
    env: Environment,
    changes: tuple[ResourceChange, ...],
    expected: list[str],
) -> None:
    """Lane violations are concerns naming the actor, its lane and the changes outside it."""
    found = judge(proposal(actor, declared, env, *changes))
    assert found["rules"] == expected
    assert found["stance"] == ("concern" if expected else "approve")
    for rule in expected:
        finding = found["findings"][rule]
        assert finding.evidence["actor"] == actor
        assert not finding.hard


def test_out_of_purpose_evidence_names_the_categories_and_resources() -> None:
    """The finding says what the agent exists for and which categories it touched."""
    finding = judge(proposal("docs-bot", A, DEV, DOC, IAM))["findings"][
        "policy.agent.out-of-purpose"
    ]
    assert finding.resources == ("aws_iam_role.app",)
    assert finding.evidence["purposes"] == ["docs"]
    assert finding.evidence["categories"] == ["iam", "infra"]
    assert "docs-bot" in finding.message
    assert "iam" in finding.message


# (actor, environment, changes, elevation categories, elevation environments, expected)
# fmt: off
ELEVATIONS = [
    # "docs-bot may touch production": its own purposes, a new environment
    ("docs-bot", PROD, (DOC,), (), ("production",), []),
    ("docs-bot", PROD, (IAM,), (), ("production",), BOTH),
    # "docs-bot may touch staging IAM": both axes, only together
    ("docs-bot", STG, (IAM,), ("iam",), ("staging",), []),
    ("docs-bot", PROD, (IAM,), ("iam",), ("staging",), BOTH),
    ("docs-bot", STG, (BUCKET,), ("iam",), ("staging",), ["policy.agent.out-of-purpose"]),
    # categories only: in the agent's own environments
    ("docs-bot", DEV, (IAM,), ("iam",), (), []),
    ("docs-bot", PROD, (IAM,), ("iam",), (), BOTH),
    # an unregistered actor has no lane of its own: only both axes given cover it
    ("stranger", DEV, (BUCKET,), ("infra",), ("dev",), []),
    ("stranger", DEV, (BUCKET,), ("infra",), (), ["policy.agent.unregistered"]),
]
# fmt: on


@pytest.mark.parametrize(("actor", "env", "changes", "cats", "envs", "expected"), ELEVATIONS)
def test_an_elevation_in_force_covers_what_it_names(
    actor: str,
    env: Environment,
    changes: tuple[ResourceChange, ...],
    cats: tuple[str, ...],
    envs: tuple[str, ...],
    expected: list[str],
) -> None:
    """An elevation's categories stand in for purposes, its environments for environments."""
    found = judge(proposal(actor, A, env, *changes), elevations=(elevation(actor, cats, envs),))
    assert [r for r in found["rules"] if r != "policy.agent.elevated"] == expected
    if not expected:
        used = found["findings"]["policy.agent.elevated"]
        assert used.evidence["granted_by"] == "alice"
        assert used.evidence["reason"] == "incident 4711"
        assert used.evidence["until"] == "2026-11-20T18:00:00Z"
        assert set(used.resources) == {c.address for c in changes}


def test_another_actors_elevation_covers_nothing() -> None:
    """An elevation granted to one actor never widens another's lane."""
    found = judge(
        proposal("docs-bot", A, PROD, DOC),
        elevations=(elevation("infra-bot", (), ("production",)),),
    )
    assert found["rules"] == ["policy.agent.out-of-environment"]


def test_a_profile_for_another_actor_is_not_used() -> None:
    """The reviewer judges the proposal's own actor even if the context names someone else."""
    prop = proposal("docs-bot", A, PROD, DOC)
    ctx = ReviewContext(
        graph=DependencyGraph.empty(),
        catalog=CATALOG,
        agents=REGISTRY,
        actor=REGISTRY.profile("infra-bot", A, (elevation("infra-bot", (), ("production",)),)),
    )
    assert {f.rule for f in assess(prop, ctx).findings} == {"policy.agent.out-of-environment"}


@pytest.mark.parametrize(
    ("enforcement", "stance", "hard", "would"),
    [
        ("advisory", "approve", False, "escalate"),
        ("soft-mandatory", "concern", False, None),
        ("hard-mandatory", "block", True, None),
    ],
)
def test_registry_enforcement_level(
    enforcement: str, stance: str, hard: bool, would: str | None
) -> None:
    """Lane violations can run advisory first, escalate (default) or reject outright."""
    registry = AgentRegistry.from_text(
        f"enforcement: {enforcement}\n" + REGISTRY_YAML, "agents.yaml"
    )
    found = judge(proposal("docs-bot", A, DEV, BUCKET), registry)
    finding = found["findings"]["policy.agent.out-of-purpose"]
    assert (found["stance"], finding.hard, finding.evidence.get("would_outcome")) == (
        stance,
        hard,
        would,
    )


def test_without_a_registry_no_actor_is_bound_by_lanes() -> None:
    """A context with no registry (AgentRegistry.none) judges actors by their declared source."""
    registry = AgentRegistry.none()
    assert registry.profile("stranger", H).kind == H
    assert judge(proposal("stranger", A, PROD, IAM), registry)["rules"] == []


def _plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    doc = plan_document(
        [
            resource_change(
                "random_pet.name",
                ["create"],
                after={"length": 2},
                provider="registry.terraform.io/hashicorp/random",
            )
        ]
    )
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_registered_agent_in_its_lane_is_approved_and_a_stranger_is_not(
    run_cli: Any, tmp_path: Path
) -> None:
    """End to end: one development change approves for coding-agent, escalates for a stranger."""
    plan = _plan(tmp_path)
    args = ("--output", "json", "--source", "ai-agent", "--environment", "dev")
    known = run_cli("review", str(plan), "--actor", "coding-agent", *args)
    assert known.code == 0, (known.stdout, known.stderr)
    stranger = run_cli("review", str(plan), "--actor", "stranger-bot", *args)
    assert stranger.code == 3, stranger.stderr
    decision = json.loads(stranger.stdout)
    policy = next(v for v in decision["verdicts"] if v["reviewer"] == "policy")
    assert [f["rule"] for f in policy["findings"]] == ["policy.agent.unregistered"]
    assert "unresolved-objection" in decision["rules_fired"]


def test_a_user_registry_replaces_the_shipped_one(run_cli: Any, tmp_path: Path) -> None:
    """--config with agents.yaml registers the stranger, and its change is approved."""
    config = tmp_path / "config"
    config.mkdir()
    shipped = (shipped_config_dir() / "agents.yaml").read_text(encoding="utf-8")
    (config / "agents.yaml").write_text(
        shipped
        + textwrap.indent(
            "stranger-bot: {kind: ai-agent, purposes: [infra], environments: [dev]}\n", "  "
        ),
        encoding="utf-8",
    )
    result = run_cli(
        "review",
        str(_plan(tmp_path)),
        "--config",
        str(config),
        "--source",
        "ai-agent",
        "--actor",
        "stranger-bot",
        "--environment",
        "dev",
    )
    assert result.code == 0, (result.stdout, result.stderr)
