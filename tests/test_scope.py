"""The scope reviewer: may this actor touch this, here?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph
from orchestrator.models import Action, Environment, Proposal, ResourceChange, Source
from orchestrator.reviewer import ReviewContext
from orchestrator.yamlfile import load_model
from reviewers.scope import ScopeReviewer, ScopeSettings, assess

CATALOG = ResourceCatalog.load_default()
SETTINGS = ScopeReviewer.load_default_settings()
GOLDEN = Path(__file__).parent / "golden" / "scope"
A, H, AUTO = Source.AI_AGENT, Source.HUMAN, Source.AUTOMATION
PROD, STG, DEV = Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT
C, U, D, R, F = Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE, Action.FORGET


def change(
    rtype: str, action: Action = Action.UPDATE, address: str | None = None, **extra: Any
) -> ResourceChange:
    return ResourceChange(address=address or f"{rtype}.this", type=rtype, action=action, **extra)


def proposal(source: Source, env: Environment, *changes: ResourceChange) -> Proposal:
    return Proposal(
        kind="terraform",
        source=source,
        actor="tester",
        environment=env,
        environment_name=env.value,
        changes=changes,
    )


def context(
    settings: ScopeSettings | None = SETTINGS, catalog: ResourceCatalog = CATALOG
) -> ReviewContext:
    return ReviewContext(
        graph=DependencyGraph.empty(),
        catalog=catalog,
        settings={"scope": settings} if settings else {},
    )


# (source, environment, type, action, stance, tier, a finding rule expected under "scope.")
# fmt: off
RULE_TABLE = [
    # AI agents may not touch account IAM, billing or auth, anywhere
    (A, PROD, "aws_organizations_account", U, "block", "critical", "ai-agent.account-iam"),
    (A, DEV, "google_billing_budget", C, "block", "critical", "ai-agent.account-iam"),
    (A, STG, "aws_cognito_user_pool", U, "block", "critical", "ai-agent.account-iam"),
    (A, DEV, "google_organization_iam_member", F, "block", "critical", "ai-agent.account-iam"),
    # people and automation on account IAM: critical in production, stepped down outside
    (H, PROD, "aws_organizations_policy", U, "concern", "critical", "category.account-iam"),
    (H, STG, "aws_organizations_policy", U, "concern", "high", "category.account-iam"),
    (H, DEV, "aws_organizations_policy", U, "concern", "high", "category.account-iam"),
    (AUTO, DEV, "aws_organizations_policy", U, "concern", "critical", "automation.account-iam"),
    # IAM, RBAC, secrets and keys: AI agents in production need the critical approvals
    (A, PROD, "aws_iam_role", U, "concern", "critical", "ai-agent.iam-production"),
    (A, PROD, "ClusterRoleBinding", C, "concern", "critical", "ai-agent.iam-production"),
    (A, PROD, "aws_secretsmanager_secret_version", C, "concern", "critical",
     "ai-agent.iam-production"),
    (H, PROD, "aws_iam_role", U, "concern", "high", "category.iam"),
    (AUTO, PROD, "kubernetes_role_binding_v1", U, "concern", "high", "category.rbac"),
    # the seed matrix: an IAM change is high in every environment (content, never stepped down)
    (A, STG, "aws_iam_role", U, "concern", "high", "iam.iam-change"),
    (H, DEV, "aws_iam_role", U, "concern", "high", "iam.iam-change"),
    (H, DEV, "aws_security_group", C, "concern", "high", "exposure.exposure-change"),
    # data deletion in production
    (A, PROD, "aws_db_instance", D, "block", "critical", "ai-agent.data-deletion-production"),
    (A, PROD, "aws_s3_bucket", R, "block", "critical", "ai-agent.data-deletion-production"),
    (A, PROD, "cloudflare_byo_ip_prefix", D, "block", "critical",
     "ai-agent.data-deletion-production"),
    (H, PROD, "aws_db_instance", D, "concern", "critical", "data-store-deletion-production"),
    (AUTO, PROD, "aws_kms_key", R, "concern", "critical", "data-store-deletion-production"),
    (H, PROD, "aws_kms_alias", D, "concern", "high", "category.kms"),
    (H, PROD, "aws_db_instance", C, "concern", "high", "category.database"),
    (A, STG, "aws_s3_bucket", D, "approve", "medium", "environment.staging"),
    # plain deploys: the environment floor
    (H, DEV, "aws_instance", C, "approve", "low", None),
    (AUTO, STG, "aws_lambda_function", U, "approve", "medium", "environment.staging"),
    (AUTO, PROD, "aws_instance", U, "concern", "high", "environment.production"),
    (A, PROD, "NetworkPolicy", U, "concern", "high", "category.network-policy"),
    (A, PROD, "acme_widget", C, "concern", "high", "catalog.unclassified"),
    (A, DEV, "acme_widget", C, "approve", "low", "catalog.unclassified"),
]
# fmt: on


@pytest.mark.parametrize(("source", "env", "rtype", "action", "stance", "tier", "rule"), RULE_TABLE)
def test_rule_table(
    *,
    source: Source,
    env: Environment,
    rtype: str,
    action: Action,
    stance: str,
    tier: str,
    rule: str | None,
) -> None:
    """Each row of the tier matrix and each default rule gives the documented verdict."""
    verdict = assess(proposal(source, env, change(rtype, action)), CATALOG, SETTINGS)
    assert (verdict.stance, verdict.risk_tier.value) == (stance, tier)
    assert bool(verdict.hard_denials) is (stance == "block")
    if rule is not None:
        assert f"scope.{rule}" in {f.rule for f in verdict.findings}


@pytest.mark.parametrize(
    "path", sorted(GOLDEN.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_golden(path: Path) -> None:
    """Golden pass/ fixtures approve; fail/ fixtures get exactly the expected verdict."""
    data = json.loads(path.read_text(encoding="utf-8"))
    expect = data.pop("expect")
    verdict = assess(Proposal.model_validate_json(json.dumps(data)), CATALOG, SETTINGS)
    assert (verdict.stance == "approve") is (path.parent.name == "pass")
    assert verdict.stance == expect["stance"]
    assert verdict.risk_tier.value == expect["risk_tier"]
    assert sorted(f.rule for f in verdict.findings) == sorted(expect["rules"])
    assert bool(verdict.hard_denials) is expect.get("hard", False)


def test_golden_fixtures_exist() -> None:
    """Both golden folders hold fixtures, so the golden test cannot pass vacuously."""
    assert len(list((GOLDEN / "pass").glob("*.json"))) >= 3
    assert len(list((GOLDEN / "fail").glob("*.json"))) >= 3


@pytest.mark.parametrize("actions", [(), (Action.READ,), (Action.NOOP, Action.READ)])
def test_nothing_effective_is_approved_low(actions: tuple[Action, ...]) -> None:
    """An empty plan or one of reads and no-ops is approve, low, even from an AI agent."""
    changes = [
        change("aws_iam_role", a, address=f"aws_iam_role.r{i}") for i, a in enumerate(actions)
    ]
    verdict = assess(proposal(A, PROD, *changes), CATALOG, SETTINGS)
    assert (verdict.stance, verdict.risk_tier.value, verdict.findings) == ("approve", "low", ())


def test_one_finding_per_rule_with_capped_sorted_resources() -> None:
    """120 roles give one finding per rule, 50 addresses sorted, and the full count."""
    roles = [change("aws_iam_role", address=f"aws_iam_role.r{i:03d}") for i in reversed(range(120))]
    verdict = assess(proposal(A, PROD, *roles), CATALOG, SETTINGS)
    rules = [f.rule for f in verdict.findings]
    assert len(rules) == len(set(rules))
    finding = next(f for f in verdict.findings if f.rule == "scope.ai-agent.iam-production")
    assert finding.resources == tuple(f"aws_iam_role.r{i:03d}" for i in range(50))
    assert finding.evidence["resource_count"] == 120
    assert finding.evidence["types"] == {"aws_iam_role": 120}
    assert finding.evidence["environment"] == "production"
    assert finding.evidence["source"] == "ai-agent"


def test_confidence_drops_with_unclassified_types_and_says_how_many() -> None:
    """Types the catalog does not know lower confidence; the finding counts them."""
    known = assess(proposal(H, PROD, change("aws_iam_role")), CATALOG, SETTINGS)
    mixed = assess(
        proposal(H, PROD, change("aws_iam_role"), change("acme_widget"), change("acme_gadget")),
        CATALOG,
        SETTINGS,
    )
    assert known.confidence == pytest.approx(0.9)
    assert mixed.confidence < known.confidence
    finding = next(f for f in mixed.findings if f.rule == "scope.catalog.unclassified")
    assert finding.evidence["resource_count"] == 2
    assert finding.evidence["types"] == {"acme_gadget": 1, "acme_widget": 1}


def test_category_declared_by_the_adapter_counts() -> None:
    """A change the adapter tagged with a category is judged by it even if its type is unknown."""
    verdict = assess(proposal(A, PROD, change("acme_vault", category="secrets")), CATALOG, SETTINGS)
    assert verdict.risk_tier.value == "critical"
    assert "scope.ai-agent.iam-production" in {f.rule for f in verdict.findings}


def test_kind_with_api_group_matches_type_globs() -> None:
    """A rule on Kind globs also matches `group/version/Kind` types."""
    data = SETTINGS.model_dump(mode="json")
    data["rules"] = [
        {
            "id": "scope.no-crb",
            "effect": "warn",
            "types": ["ClusterRoleBinding"],
            "message": "cluster-wide binding",
        }
    ]
    custom = ScopeSettings.model_validate(data)
    crb = change("rbac.authorization.k8s.io/v1/ClusterRoleBinding", Action.CREATE)
    verdict = assess(proposal(H, DEV, crb), CATALOG, custom)
    assert "scope.no-crb" in {f.rule for f in verdict.findings}
    assert verdict.stance == "concern"


async def test_reviewer_uses_context_settings_and_defaults() -> None:
    """The reviewer reads its settings from the context, and the shipped file when absent."""
    data = SETTINGS.model_dump(mode="json")
    data["environment_floor"]["development"] = "medium"
    custom = ScopeSettings.model_validate(data)
    p = proposal(H, DEV, change("aws_instance"))
    assert (await ScopeReviewer().review(p, context(custom))).risk_tier.value == "medium"
    assert (await ScopeReviewer().review(p, context(None))).risk_tier.value == "low"


def test_settings_naming_an_unknown_category_fail_closed() -> None:
    """A rule on a category the catalog does not define is an error, never a silent no-match."""
    data = SETTINGS.model_dump(mode="json")
    data["rules"].append(
        {"id": "scope.typo", "effect": "deny", "categories": ["iam-typo"], "message": "x"}
    )
    with pytest.raises(ConfigError, match="iam-typo"):
        assess(
            proposal(H, PROD, change("aws_iam_role")), CATALOG, ScopeSettings.model_validate(data)
        )


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"effect": "require-approval", "message": "m"}, "needs a tier"),
        ({"effect": "warn", "message": "m", "sources": ["human"]}, "must also name ai-agent"),
        ({"effect": "warn", "message": "m", "actions": ["read"]}, "change nothing"),
        ({"effect": "warn", "message": "m", "id": "scope.category.iam"}, "reserved"),
        ({"effect": "allow", "message": "m"}, "effect"),
        ({"effect": "warn", "message": "m", "sources": ["robot"]}, "sources"),
        ({"effect": "warn", "message": "m", "colour": "red"}, "colour"),
    ],
)
def test_bad_rule_is_rejected(rule: dict[str, Any], fragment: str) -> None:
    """A rule that cannot mean what it says fails validation with a message naming it."""
    data = SETTINGS.model_dump(mode="json")
    data["rules"] = [{"id": "scope.x", **rule}]
    with pytest.raises(ValidationError, match=fragment):
        ScopeSettings.model_validate(data)


def test_duplicate_rule_ids_and_missing_floors_are_rejected(tmp_path: Path) -> None:
    """Rule ids are unique and every environment has a floor; the error names file and line."""
    path = tmp_path / "scope.yaml"
    path.write_text(
        "environment_floor: {production: high, staging: medium, development: low}\n"
        "rules:\n  - {id: a, effect: warn, message: m}\n"
        "  - {id: a, effect: warn, message: m}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"scope\.yaml.*duplicate id 'a'"):
        load_model(path, ScopeSettings)
    with pytest.raises(ValidationError, match="no tier for"):
        ScopeSettings.model_validate({"environment_floor": {"production": "high"}})


def _big(n: int) -> Proposal:
    types = [
        "aws_iam_role",
        "aws_s3_bucket",
        "aws_instance",
        "aws_security_group_rule",
        "google_project_iam_member",
        "aws_db_instance",
        "kubernetes_deployment",
        "local_file",
        "aws_route53_record",
        "acme_widget",
    ]
    actions = [Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE, Action.NOOP]
    return proposal(
        A,
        PROD,
        *(
            change(
                types[i % 10], actions[i % 5], address=f"module.m{i % 37}.{types[i % 10]}.r[{i}]"
            )
            for i in range(n)
        ),
    )


def test_ten_thousand_changes_give_one_finding_per_rule() -> None:
    """A 10,000-change plan is judged with findings grouped per rule, not per resource.

    Speed is measured in bench/, not asserted here: these machines are shared.
    """
    verdict = assess(_big(10_000), CATALOG, SETTINGS)
    rules = [f.rule for f in verdict.findings]
    assert len(rules) == len(set(rules))
    assert all(len(f.resources) <= 50 for f in verdict.findings)
