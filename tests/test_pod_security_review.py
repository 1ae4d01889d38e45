"""The Pod Security Standards in a review: tiers, objections, exemptions, lines, decisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Finding, Source, Verdict
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings
from reviewers import scope
from reviewers.scope.pod_security import PodSecuritySettings
from reviewers.scope.rules import ScopeSettings

CATALOG = ResourceCatalog.load_default()
SETTINGS = scope.ScopeReviewer.load_default_settings()
P = "scope.kubernetes.pss."

# Line 12 adds NET_ADMIN; the container starts on line 9.
NET_ADMIN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example/app:1
        securityContext: {capabilities: {add: [NET_ADMIN]}}
"""
# Only restricted-level gaps: no drop ALL, no seccomp profile, root allowed.
PLAIN = """\
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: shop}
spec:
  containers:
  - {name: app, image: registry.example/app:1}
"""
PRIVILEGED_AGENT = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: agent
        image: registry.example/agent:1
        securityContext: {privileged: true}
"""


def review(text: str, environment: str = "production", source: Source = Source.HUMAN) -> Verdict:
    proposal = load_proposal(
        text.encode(), "m.yaml", Submission(source=source, actor="t", environment=environment)
    )
    return scope.assess(proposal, CATALOG, SETTINGS)


def by_rule(verdict: Verdict) -> dict[str, Finding]:
    return {f.rule: f for f in verdict.findings}


@pytest.mark.parametrize("environment", ["production", "staging", "development"])
def test_a_baseline_violation_is_high_and_an_objection_in_every_environment(
    environment: str,
) -> None:
    """No step-down for the baseline: NET_ADMIN is high and objects in dev as in production."""
    verdict = review(NET_ADMIN, environment)
    finding = by_rule(verdict)[P + "baseline.capabilities"]
    assert finding.severity == "high"
    assert verdict.stance == "concern"
    assert verdict.risk_tier in ("high", "critical")


@pytest.mark.parametrize("environment", ["staging", "development"])
def test_restricted_only_gaps_are_medium_findings_that_do_not_object(environment: str) -> None:
    """A plain pod misses hardening fields: medium findings, recorded, no objection."""
    verdict = review(PLAIN, environment)
    rules = {f.rule: f.severity for f in verdict.findings if f.rule.startswith(P)}
    assert rules == {
        P + "restricted.capabilities": "medium",
        P + "restricted.privilege-escalation": "medium",
        P + "restricted.run-as-non-root": "medium",
        P + "restricted.seccomp": "medium",
    }
    assert verdict.stance == "approve"


def test_the_finding_names_the_control_the_container_and_the_line() -> None:
    """The message and the locations point at line 12, where NET_ADMIN is added."""
    finding = by_rule(review(NET_ADMIN))[P + "baseline.capabilities"]
    assert finding.message == (
        "1 object breaks the baseline Pod Security Standard, control Capabilities: "
        'shop/Deployment/web container "app" adds NET_ADMIN (line 12)'
    )
    assert [loc.line for loc in finding.locations] == [12]
    assert finding.evidence["details"] == {
        "shop/Deployment/web": [
            {"detail": "adds NET_ADMIN", "line": 12, "container": "app"}
        ]
    }


def test_a_missing_field_points_at_its_container() -> None:
    """A restricted field left out has no line of its own: the container's line is shown."""
    finding = by_rule(review(PLAIN))[P + "restricted.seccomp"]
    assert [loc.line for loc in finding.locations] == [6]


def test_an_escape_is_critical() -> None:
    """A privileged container is root on the node: the escape tier."""
    text = PRIVILEGED_AGENT.replace("kube-system", "ops")
    assert by_rule(review(text))[P + "baseline.privileged"].severity == "critical"


def test_kube_system_is_exempt_for_a_person_and_the_exemption_is_recorded() -> None:
    """kube-system is held to privileged: no violation finding, one exemption finding."""
    verdict = review(PRIVILEGED_AGENT, "staging")
    assert not any(f.rule.startswith(P + "baseline.") for f in verdict.findings)
    exempt = by_rule(verdict)[P + "exempt"]
    assert exempt.severity == "low"
    details = exempt.evidence["exemptions"]
    assert isinstance(details, dict)
    assert details["kube-system/DaemonSet/agent"] == {
        "namespace": "kube-system",
        "level": "privileged",
        "by": "pod_security.namespaces.kube-system",
        "controls": [
            "baseline.privileged",
            "restricted.capabilities",
            "restricted.privilege-escalation",
            "restricted.run-as-non-root",
            "restricted.seccomp",
        ],
        "applied": True,
    }
    assert verdict.stance == "approve"


def test_an_ai_agent_gets_no_exemption() -> None:
    """The same DaemonSet from an AI agent is judged in full; the refusal is recorded."""
    verdict = review(PRIVILEGED_AGENT, "staging", Source.AI_AGENT)
    rules = by_rule(verdict)
    assert rules[P + "baseline.privileged"].severity == "critical"
    assert "an AI agent gets no exemption" in rules[P + "exempt"].message
    assert verdict.stance == "concern"


def test_a_namespace_label_in_the_input_can_raise_the_level() -> None:
    """kube-system labelled `enforce: baseline` in the same input holds its pods to it."""
    namespace = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: baseline\n---\n"
    )
    verdict = review(namespace + PRIVILEGED_AGENT, "staging")
    rules = by_rule(verdict)
    assert P + "baseline.privileged" in rules
    exempt = rules[P + "exempt"].evidence["exemptions"]
    assert isinstance(exempt, dict)
    assert exempt["kube-system/DaemonSet/agent"]["level"] == "baseline"  # type: ignore[index]
    assert "namespace-lowered" not in str(rules)


@pytest.mark.parametrize(
    ("label", "rule_tier", "objects"),
    [("privileged", "high", True), ("baseline", "medium", False), ("restricted", None, False)],
)
def test_a_namespace_lowering_its_level_is_a_finding(
    label: str, rule_tier: str | None, objects: bool
) -> None:
    """A Namespace that sets enforce below the configured level opens the gate: to
    privileged it is a baseline matter (high, an objection), to baseline a restricted one."""
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n"
        f"    pod-security.kubernetes.io/enforce: {label}\n"
    )
    verdict = review(text, "staging")
    finding = by_rule(verdict).get(P + "namespace-lowered")
    assert (finding.severity if finding else None) == rule_tier
    if finding is not None:
        assert [loc.line for loc in finding.locations] == [6]
    assert (verdict.stance == "concern") is objects


def test_lowering_a_namespace_does_not_exempt_its_pods() -> None:
    """The input's own label cannot lower the level its pods are judged at."""
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: privileged\n---\n" + NET_ADMIN
    )
    rules = by_rule(review(text, "staging"))
    assert P + "baseline.capabilities" in rules
    assert P + "exempt" not in rules


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"baseline": "medium"}, "a baseline violation is at least high"),
        ({"escape": "high", "baseline": "critical"}, "an escape is at least the baseline tier"),
        ({"default_level": "privileged"}, "would exempt every namespace"),
        ({"namespaces": {"shop": "lenient"}}, "namespaces.shop"),
    ],
)
def test_pod_security_settings_that_would_weaken_the_standard_are_refused(
    settings: dict[str, object], fragment: str
) -> None:
    """The configuration cannot make a baseline violation less than high, nor exempt all."""
    with pytest.raises(ValidationError, match=fragment):
        PodSecuritySettings.model_validate(settings)


def test_a_content_tier_for_a_fact_that_does_not_exist_is_refused() -> None:
    """A stale fact name (the old kubernetes.pod-privileged) would judge nothing: refused."""
    raw = SETTINGS.model_dump(mode="json")
    raw["content_tiers"]["kubernetes.pod-privileged"] = "critical"
    with pytest.raises(ValidationError, match="no such Kubernetes fact"):
        ScopeSettings.model_validate(raw)


@pytest.mark.parametrize(("text", "outcome"), [(NET_ADMIN, "escalate"), (PLAIN, "approve")])
def test_decisions_in_staging(text: str, outcome: str, tmp_path: Path) -> None:
    """Through the whole review: a baseline violation escalates in staging, a plain pod is
    approved with its restricted findings on the record."""
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_review(
        ReviewRequest(
            path=str(path),
            submission=Submission(source=Source.HUMAN, actor="alice", environment="staging"),
            settings=Settings(
                database_url=f"sqlite:///{tmp_path / 'a.db'}", config_dir=None, topology=None
            ),
        )
    )
    assert result.decision.outcome == outcome
    recorded = {f.rule for v in result.decision.verdicts for f in v.findings}
    assert any(rule.startswith(P) for rule in recorded)
