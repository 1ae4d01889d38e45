"""The reversibility reviewer: can it be undone, and what would undoing it take?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError, InputError
from orchestrator.graph import DependencyGraph
from orchestrator.models import (
    Action,
    Environment,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
    tier_rank,
)
from orchestrator.reviewer import ReviewContext
from reviewers.reversibility import ReversibilityReviewer, ReversibilitySettings, assess
from reviewers.reversibility.rules import Condition, holds, value_at
from reviewers.scope import ScopeReviewer
from reviewers.scope import assess as assess_scope
from tests.conftest import corpus_files

CATALOG = ResourceCatalog.load_default()
SETTINGS = ReversibilityReviewer.load_default_settings()
SCOPE_SETTINGS = ScopeReviewer.load_default_settings()
GOLDEN = Path(__file__).parent / "golden" / "reversibility"
A, H, AUTO = Source.AI_AGENT, Source.HUMAN, Source.AUTOMATION
PROD, STG, DEV = Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT
C, U, D, R, F = Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE, Action.FORGET
CBD = {"replace_order": "create-before-destroy"}
DBC = {"replace_order": "delete-before-create"}


def change(rtype: str, action: Action, address: str | None = None, **extra: Any) -> ResourceChange:
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


def rules(verdict: Verdict) -> set[str]:
    return {f.rule for f in verdict.findings}


# (type, action, change fields, expected class; None is reversible)
# fmt: off
CLASS_TABLE = [
    ("aws_db_instance", C, {}, None),
    ("aws_db_instance", U, {"before": {"allocated_storage": 20},
                            "after": {"allocated_storage": 40}}, None),
    ("aws_s3_bucket", F, {}, None),
    ("aws_instance", R, CBD, None),
    ("null_resource", R, DBC, None),
    ("terraform_data", D, {}, None),
    ("aws_instance", R, DBC, "costly"),
    ("aws_instance", R, {}, "costly"),
    ("aws_security_group", D, {}, "costly"),
    ("acme_widget", D, {}, "costly"),
    ("aws_db_instance", D, {}, "irreversible"),
    ("aws_db_instance", R, CBD, "irreversible"),
    ("aws_s3_bucket", D, {"before": {"force_destroy": True}}, "irreversible"),
    ("cloudflare_byo_ip_prefix", D, {}, "irreversible"),
    ("aws_route53_zone", R, DBC, "irreversible"),
    ("PersistentVolumeClaim", D, {}, "irreversible"),
    ("aws_db_instance", D, {"before": {"skip_final_snapshot": False,
                                       "final_snapshot_identifier": "last"}}, "costly"),
    ("aws_db_instance", D, {"before": {"skip_final_snapshot": True,
                                       "final_snapshot_identifier": "last"}}, "irreversible"),
    ("aws_kms_key", D, {"before": {"deletion_window_in_days": 7}}, "costly"),
    ("aws_secretsmanager_secret", D, {"before": {"recovery_window_in_days": 0}},
     "irreversible"),
    ("aws_secretsmanager_secret", D, {"before": {"recovery_window_in_days": 7}}, "costly"),
    ("StatefulSet", D, {"before": {"spec": {}}}, "costly"),
    ("StatefulSet", D, {"before": {"spec": {"persistentVolumeClaimRetentionPolicy":
                                            {"whenDeleted": "Delete"}}}}, "irreversible"),
    ("aws_db_instance", U, {"before": {"deletion_protection": True},
                            "after": {"deletion_protection": False}}, "weakened"),
    ("aws_s3_bucket", U, {"before": {"force_destroy": False},
                          "after": {"force_destroy": True}}, "weakened"),
    ("aws_s3_bucket_versioning", U,
     {"before": {"versioning_configuration": [{"status": "Enabled"}]},
      "after": {"versioning_configuration": [{"status": "Suspended"}]}}, "weakened"),
    ("aws_db_instance", U, {"before": {"backup_retention_period": 7},
                            "after": {"backup_retention_period": 0}}, "weakened"),
    ("aws_dynamodb_table", U, {"before": {"point_in_time_recovery": [{"enabled": True}]},
                               "after": {"point_in_time_recovery": [{"enabled": False}]}},
     "weakened"),
    ("aws_db_instance", U, {"before": {"deletion_protection": True}, "after": {},
                            "unknown_after": ("deletion_protection",)}, None),
    ("azurerm_management_lock", D, {}, "weakened"),
]
PREDICATES = [
    ("true", True, True), ("true", "Enabled", True), ("true", None, False),
    ("not-true", "Suspended", True), ("not-true", None, True), ("false", False, True),
    ("false", None, False), ("set", "", False), ("set", "snap", True), ("unset", [], True),
    ("positive", "86400s", True), ("positive", 0, False), ("positive", True, False),
    ("not-positive", None, True), ("zero", 0, True), ("zero", None, False),
]
# fmt: on


@pytest.mark.parametrize(("rtype", "action", "extra", "klass"), CLASS_TABLE)
@pytest.mark.parametrize(
    ("source", "env"), [(A, PROD), (H, PROD), (AUTO, PROD), (A, STG), (H, DEV)]
)
def test_class_table(
    *,
    rtype: str,
    action: Action,
    extra: dict[str, Any],
    klass: str | None,
    source: Source,
    env: Environment,
) -> None:
    """Each kind of change lands in its class, with the tier, stance and hardness of the matrix."""
    verdict = assess(proposal(source, env, change(rtype, action, **extra)), CATALOG, SETTINGS)
    expected_rule = {"weakened": "reversibility.protection-weakened"}.get(
        klass or "", f"reversibility.{klass}"
    )
    tier = {None: "low", "costly": "high", "weakened": "high", "irreversible": "critical"}[klass]
    if env is not PROD and klass is not None:
        tier = {"high": "medium", "critical": "high"}[tier]
    stance = {None: "approve", "costly": "concern", "weakened": "concern", "irreversible": "block"}[
        klass
    ]
    if klass == "costly" and env is DEV:
        stance = "approve"  # costly_objects_in: production and staging only
    assert (verdict.stance, verdict.risk_tier.value) == (stance, tier)
    assert rules(verdict) == (set() if klass is None else {expected_rule})
    hard = klass == "irreversible" and (source, env) == (A, PROD)
    assert bool(verdict.hard_denials) is hard


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
    for rule, fragments in expect.get("evidence", {}).items():
        finding = next(f for f in verdict.findings if f.rule == rule)
        text = json.dumps(finding.evidence) + finding.message
        assert all(fragment in text for fragment in fragments), (rule, text)


def test_golden_fixtures_exist() -> None:
    """Both golden folders hold fixtures, so the golden test cannot pass vacuously."""
    assert len(list((GOLDEN / "pass").glob("*.json"))) >= 3
    assert len(list((GOLDEN / "fail").glob("*.json"))) >= 3


def test_restore_paths_and_aggravations_are_evidence() -> None:
    """Each class finding names the restore path and what makes the loss worse."""
    bucket = change("aws_s3_bucket", D, before={"force_destroy": True})
    db = change(
        "aws_db_instance", D, before={"skip_final_snapshot": True, "deletion_protection": False}
    )
    key = change("aws_kms_key", D, before={"deletion_window_in_days": 10})
    verdict = assess(proposal(H, PROD, bucket, db, key), CATALOG, SETTINGS)
    irreversible = next(f for f in verdict.findings if f.rule == "reversibility.irreversible")
    assert irreversible.resources == ("aws_db_instance.this", "aws_s3_bucket.this")
    paths = irreversible.evidence["restore_paths"]
    assert isinstance(paths, dict)
    assert set(paths) == {
        "restore objects from versioning or backup",
        "restore from the latest snapshot / point-in-time backup",
    }
    attributes = irreversible.evidence["attributes"]
    assert isinstance(attributes, dict)
    assert any(note.startswith("force_destroy is true") for note in attributes)
    assert any(note.startswith("skip_final_snapshot is true") for note in attributes)
    costly = next(f for f in verdict.findings if f.rule == "reversibility.costly")
    assert costly.evidence["restore_paths"] == {"cancel key deletion within 10 days": 1}
    assert costly.evidence["recoveries"] == {"kms-deletion-window": 1}


@pytest.mark.parametrize(
    ("reason", "action", "flagged"),
    [
        ("delete_because_no_resource_config", D, True),
        ("delete_because_no_module", D, True),
        ("delete_because_each_key", D, True),
        ("delete_because_no_resource_config", F, False),
        (None, D, False),
    ],
)
def test_removed_from_config_is_called_out(
    reason: str | None, action: Action, flagged: bool
) -> None:
    """A delete caused by a resource vanishing from the configuration gets its own finding."""
    gone = change(
        "aws_sqs_queue", action, address="module.old.aws_sqs_queue.jobs", action_reason=reason
    )
    verdict = assess(proposal(H, PROD, gone), CATALOG, SETTINGS)
    assert ("reversibility.removed-from-config" in rules(verdict)) is flagged
    if flagged:
        finding = next(f for f in verdict.findings if f.rule == "reversibility.removed-from-config")
        assert finding.resources == ("module.old.aws_sqs_queue.jobs",)
        assert finding.severity.value == "critical"  # a queue is stateful: irreversible


def test_one_finding_per_class_with_capped_resources() -> None:
    """Thousands of deletes give one finding per class, 50 sorted addresses and the count."""
    deletes = [change("aws_ebs_volume", D, address=f"aws_ebs_volume.v[{i}]") for i in range(3000)]
    verdict = assess(proposal(AUTO, PROD, *deletes), CATALOG, SETTINGS)
    (finding,) = verdict.findings
    assert len(finding.resources) == 50
    assert list(finding.resources) == sorted(finding.resources)
    assert finding.evidence["resource_count"] == 3000
    assert finding.evidence["types"] == {"aws_ebs_volume": 3000}


def test_confidence_drops_when_destroyed_types_are_unknown() -> None:
    """Deleting types the catalog does not know lowers confidence (they may hold data)."""
    known = assess(proposal(H, PROD, change("aws_instance", D)), CATALOG, SETTINGS)
    unknown = assess(proposal(H, PROD, change("acme_widget", D)), CATALOG, SETTINGS)
    created = assess(proposal(H, PROD, change("acme_widget", C)), CATALOG, SETTINGS)
    assert known.confidence == pytest.approx(0.9) == created.confidence
    assert unknown.confidence < known.confidence


@pytest.mark.parametrize("actions", [(), (Action.READ,), (Action.NOOP,)])
def test_nothing_effective_is_approved_low(actions: tuple[Action, ...]) -> None:
    """A plan that does nothing has nothing to undo."""
    changes = [
        change("aws_db_instance", a, address=f"aws_db_instance.d{i}") for i, a in enumerate(actions)
    ]
    verdict = assess(proposal(A, PROD, *changes), CATALOG, SETTINGS)
    assert (verdict.stance, verdict.risk_tier.value, verdict.findings) == ("approve", "low", ())


async def test_hard_denial_scope_comes_from_settings() -> None:
    """Who is rejected outright for irreversible changes is configuration, read from the context."""
    data = SETTINGS.model_dump(mode="json", by_alias=True)
    data["hard_deny_irreversible"] = {
        "sources": ["ai-agent", "automation"],
        "environments": ["production", "staging"],
    }
    custom = ReversibilitySettings.model_validate(data)
    p = proposal(AUTO, STG, change("aws_db_instance", D))
    ctx = ReviewContext(
        graph=DependencyGraph.empty(), catalog=CATALOG, settings={"reversibility": custom}
    )
    assert (await ReversibilityReviewer().review(p, ctx)).hard_denials
    ctx_default = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG)
    assert not (await ReversibilityReviewer().review(p, ctx_default)).hard_denials


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"hard_deny_irreversible": {"sources": ["human"]}}, "ai-agent"),
        ({"restore_paths": {"database": "x"}}, "default"),
        ({"recoveries": [{"id": "x", "restore": "within {window} days"}]}, "window"),
        ({"recoveries": [{"id": "x", "restore": "r", "when": [{"path": "a"}]}]}, "exactly one"),
        (
            {
                "protection_checks": [
                    {"id": "a", "path": "p", "before": "true", "after": "maybe", "note": "n"}
                ]
            },
            "after",
        ),
        ({"non_production_step_down": 7}, "non_production_step_down"),
    ],
)
def test_bad_settings_are_rejected(patch: dict[str, Any], fragment: str) -> None:
    """Settings that cannot mean what they say fail validation with a message naming them."""
    data = SETTINGS.model_dump(mode="json", by_alias=True) | patch
    with pytest.raises(ValidationError, match=fragment):
        ReversibilitySettings.model_validate(data)


def test_restore_path_for_an_unknown_category_fails_closed() -> None:
    """A restore path keyed by a category the catalog does not define is an error, not ignored."""
    data = SETTINGS.model_dump(mode="json", by_alias=True)
    data["restore_paths"] = {"databse": "restore it", "default": "re-apply"}
    typo = ReversibilitySettings.model_validate(data)
    with pytest.raises(ConfigError, match="databse"):
        assess(proposal(H, PROD, change("aws_db_instance", D)), CATALOG, typo)


@pytest.mark.parametrize(("predicate", "value", "expected"), PREDICATES)
def test_predicates(predicate: Any, value: object, expected: bool) -> None:
    """Attribute predicates read Terraform's values as an SRE would ("Enabled" is true)."""
    assert holds(predicate, value) is expected


def test_paths_walk_nested_blocks() -> None:
    """Dotted paths index into Terraform's nested-block lists."""
    doc = {"settings": [{"backup_configuration": [{"enabled": True}]}]}
    assert value_at(doc, "settings.0.backup_configuration.0.enabled") is True
    assert Condition.model_validate({"path": "settings.1.x", "is": "unset"}).holds(doc)


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
        "aws_kms_key",
        "acme_widget",
    ]
    actions = [C, U, D, R, Action.NOOP]
    state = {"deletion_protection": True, "force_destroy": False, "tags": {"team": "a"}}
    return proposal(
        A,
        PROD,
        *(
            change(
                types[i % 10],
                actions[i % 5],
                before=state,
                after=state,
                address=f"module.m{i % 37}.{types[i % 10]}.r[{i}]",
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


PLANS = corpus_files("terraform-plan", "*.json")


@pytest.mark.corpus
@pytest.mark.skipif(not PLANS, reason="corpus not found: set COMMANDER_CORPUS_DIR")
@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
def test_corpus_plans_are_reviewed_without_error(plan: Path) -> None:
    """Both reviewers judge every real plan in the corpus, from every kind of source."""
    terraform = pytest.importorskip("orchestrator.adapters.terraform")
    base = pytest.importorskip("orchestrator.adapters.base")
    raw = plan.read_bytes()
    text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode()
    for source in Source:
        submission = base.Submission(source=source, actor="corpus", environment="production")
        try:
            parsed = terraform.parse_plan(text, str(plan), submission)
        except InputError:
            continue  # refused with a one-line error: the adapter's own tests cover that
        scope = assess_scope(parsed, CATALOG, SCOPE_SETTINGS)
        reversibility = assess(parsed, CATALOG, SETTINGS)
        if parsed.effective_changes:
            assert tier_rank(scope.risk_tier) >= tier_rank(RiskTier.HIGH)  # a production deploy
        else:
            assert (scope.stance, reversibility.stance) == ("approve", "approve")
        if source is not A:
            assert not reversibility.hard_denials
