"""Kubernetes manifests through the four reviewers: the real corpus and the patterns that matter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.models import Proposal, Source
from orchestrator.review import ReviewRequest, run_review
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings
from reviewers import reversibility, scope
from reviewers.blast_radius import BlastRadiusReviewer
from reviewers.blast_radius.rollouts import rollout_findings
from tests.conftest import corpus_files

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"
MANIFESTS = corpus_files("kubernetes", "*.yaml", "*.yml")
CATALOG = ResourceCatalog.load_default()
K = "scope.kubernetes."
PSS = K + "pss.baseline."
HOST = {PSS + "host-namespaces", PSS + "host-path"}
NETPOL_DENY_ALL = {
    K + "netpol-selects-all",
    K + "netpol-denies-all-ingress",
    K + "netpol-denies-all-egress",
}
# What each corpus file must show (SOURCES.md's flags); files not listed show none of these.
EXPECTED: dict[str, set[str]] = {
    "kyverno__policies__cluster-admin-bindings-bad.yaml": {K + "rbac-cluster-admin"},
    "kyverno__policies__escalate-bind-impersonate-roles.yaml": {
        K + "rbac-escalation-verbs",
        K + "rbac-wildcard",
        K + "rbac-secrets-access",
    },
    "kyverno__policies__wildcard-role-bad.yaml": {K + "rbac-wildcard", K + "rbac-secrets-access"},
    "kyverno__policies__secret-verbs-clusterrole-bad.yaml": {K + "rbac-secrets-access"},
    "kyverno__policies__self-provisioner-bindings.yaml": {K + "rbac-binds-everyone"},
    "prometheus-operator__kube-prometheus__operator-clusterrole.yaml": {
        K + "rbac-wildcard",
        K + "rbac-secrets-access",
        K + "rbac-finalizers",
    },
    "kubernetes__ingress-nginx__cloud-deploy.yaml": {
        K + "rbac-secrets-access",
        K + "service-load-balancer",
        "blast-radius.rollout-all-at-once",
    },
    "kyverno__policies__netpol-empty-podselector.yaml": NETPOL_DENY_ALL,
    "GoogleCloudPlatform__microservices-demo__netpol-deny-all.yaml": NETPOL_DENY_ALL,
    "GoogleCloudPlatform__microservices-demo__online-boutique-release.yaml": {
        K + "service-load-balancer"
    },
    "kubernetes__examples__guestbook-all-in-one.yaml": {K + "service-node-port"},
    # the env value ACCESS_KEY is a credential in plain text
    "controlplaneio__kubesec__privileged-daemonset.yml": {
        PSS + "privileged",
        K + "plaintext-credential",
        *HOST,
    },
    # fluentd runs in kube-system, which is exempt, but not for an AI agent
    "controlplaneio__kubesec__multi-doc.yml": {*HOST, K + "pss.exempt"},
    "prometheus-operator__kube-prometheus__node-exporter-daemonset.yaml": {
        *HOST,
        PSS + "capabilities",
        PSS + "host-ports",
    },
    "controlplaneio__kubesec__docker-socket-daemonset.yml": {PSS + "host-path"},
    "kubernetes__examples__minio-pvc.yaml": {"reversibility.costly"},
    # Cassandra adds IPC_LOCK, which is not among the baseline's capabilities
    "kubernetes__examples__cassandra-statefulset.yaml": {
        "reversibility.costly",
        PSS + "capabilities",
    },
    "kubernetes__examples__cockroachdb-statefulset.yaml": {"reversibility.costly"},
}
# Restricted-only findings are left out: nearly every real workload has a few (test_pod_security).
WATCHED = ("scope.kubernetes.", "reversibility.", "blast-radius.rollout")
UNWATCHED = "scope.kubernetes.pss.restricted."


def _review(path: Path, tmp_path: Path, source: Source, *, delete: bool = False) -> object:
    return run_review(
        ReviewRequest(
            path=str(path),
            submission=Submission(source=source, actor="corpus", environment="production"),
            settings=Settings(
                database_url=f"sqlite:///{tmp_path / 'audit.db'}", config_dir=None, topology=None
            ),
            delete=delete,
        )
    )


@pytest.mark.corpus
@pytest.mark.skipif(not MANIFESTS, reason="corpus not found: set COMMANDER_CORPUS_DIR")
@pytest.mark.parametrize("manifest", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_corpus_manifest_is_reviewed_with_its_findings(manifest: Path, tmp_path: Path) -> None:
    """Every real manifest is reviewed without error, never approved in production for an AI
    agent, and shows exactly the RBAC, network-policy, exposure, baseline Pod Security, storage
    and rollout findings its SOURCES.md flags (and a careful reading) call for."""
    result = _review(manifest, tmp_path, Source.AI_AGENT)
    decision = result.decision  # type: ignore[attr-defined]
    assert all(v.error is None for v in decision.verdicts), [v.error for v in decision.verdicts]
    assert decision.outcome != "approve"
    assert decision.risk_tier in ("high", "critical")
    rules = {
        f.rule
        for v in decision.verdicts
        for f in v.findings
        if f.rule.startswith(WATCHED) and not f.rule.startswith(UNWATCHED)
    }
    assert rules == EXPECTED.get(manifest.name, set())


@pytest.mark.corpus
def test_corpus_findings_name_the_bad_objects_only(corpus_dir: Path) -> None:
    """Good and bad objects sit side by side in the kyverno fixtures: only the bad are named."""
    root = corpus_dir / "kubernetes"

    def named(file: str, rule: str) -> set[str]:
        verdict = scope.assess(
            _load(root / file), CATALOG, scope.ScopeReviewer.load_default_settings()
        )
        return {r for f in verdict.findings if f.rule == K + rule for r in f.resources}

    assert named("kyverno__policies__netpol-empty-podselector.yaml", "netpol-selects-all") == {
        "qa/NetworkPolicy/badnetworkpolicy",
        "qa/NetworkPolicy/default-deny",
    }
    assert named(
        "kyverno__policies__escalate-bind-impersonate-roles.yaml", "rbac-escalation-verbs"
    ) == {"ClusterRole/badclusterrole01", "default/Role/badrole01"}
    assert named("kyverno__policies__escalate-bind-impersonate-roles.yaml", "rbac-wildcard") >= {
        "ClusterRole/badclusterrole02"
    }
    assert named("kyverno__policies__cluster-admin-bindings-bad.yaml", "rbac-cluster-admin") == {
        "ClusterRoleBinding/badcrb01",
        "ClusterRoleBinding/badcrb02",
    }
    assert named("controlplaneio__kubesec__multi-doc.yml", "pss.baseline.host-path") == {
        "kube-system/DaemonSet/fluentd"
    }


def _load(path: Path, *, delete: bool = False, source: Source = Source.AI_AGENT) -> Proposal:
    return load_proposal(
        path.read_bytes(),
        path.name,
        Submission(source=source, actor="t", environment="production"),
        options=AdapterOptions(delete=delete),
    )


def test_docker_socket_mount_is_an_escape_named_in_the_evidence() -> None:
    """A hostPath to the container runtime's socket is root on the node: critical, named."""
    text = b"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      volumes: [{name: s, hostPath: {path: /var/run/docker.sock}}]
      containers: [{name: a, image: a, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]
"""
    proposal = load_proposal(text, "d.yaml", Submission(source=Source.HUMAN, actor="t"))
    verdict = scope.assess(proposal, CATALOG, scope.ScopeReviewer.load_default_settings())
    by_rule = {f.rule: f for f in verdict.findings}
    host = by_rule[PSS + "host-path"]
    assert host.evidence["details"] == {
        "default/DaemonSet/agent": [
            {"detail": "volume s mounts the node's /var/run/docker.sock", "line": 8}
        ]
    }
    assert host.severity == "critical"
    assert by_rule[PSS + "capabilities"].severity == "critical"  # SYS_ADMIN
    assert verdict.stance == "concern"


def test_netpol_findings_step_down_outside_production_but_still_object() -> None:
    """In development the empty-selector finding is one tier lower, and still an objection."""
    text = b"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""
    dev = load_proposal(
        text, "n.yaml", Submission(source=Source.AI_AGENT, actor="t", environment="dev")
    )
    verdict = scope.assess(dev, CATALOG, scope.ScopeReviewer.load_default_settings())
    severities = {f.rule: f.severity for f in verdict.findings}
    assert severities[K + "netpol-selects-all"] == "medium"
    assert severities[K + "netpol-denies-all-ingress"] == "medium"
    assert K + "netpol-denies-all-egress" not in severities  # egress was not restricted
    assert verdict.stance == "concern"


def test_unstaged_rollouts_are_the_crowdstrike_pattern() -> None:
    """Recreate, maxUnavailable = replicas and a DaemonSet at 100% are findings; 25% is staged."""
    (finding,) = rollout_findings(_load(FIXTURES / "unstaged-rollouts.yaml"))
    assert finding.rule == "blast-radius.rollout-all-at-once"
    assert set(finding.resources) == {
        "security/DaemonSet/sensor-agent",
        "shop/Deployment/payments",
        "shop/Deployment/search",
    }
    assert finding.severity == "critical"  # a DaemonSet reaching every node
    workloads = finding.evidence["workloads"]
    assert isinstance(workloads, dict)
    assert workloads["shop/Deployment/payments"] == {
        "kind": "Deployment",
        "strategy": "Recreate",
        "share_at_once": 1.0,
    }
    assert rollout_findings(_load(FIXTURES / "staged-rollout.yaml")) == []
    assert rollout_findings(_load(FIXTURES / "unstaged-rollouts.yaml", delete=True)) == []


@pytest.mark.parametrize(
    ("max_unavailable", "flagged"),
    [("50%", True), ("49%", False), (1, False), ("100%", True), (None, False)],
)
def test_daemonset_is_staged_only_when_it_keeps_most_nodes_up(
    max_unavailable: object, flagged: bool
) -> None:
    """A DaemonSet taking down half of its nodes or more at once is not a staged rollout."""
    rolling = (
        "" if max_unavailable is None else f"rollingUpdate: {{maxUnavailable: {max_unavailable}}}"
    )
    text = f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  updateStrategy: {{type: RollingUpdate, {rolling}}}
  template: {{spec: {{containers: [{{name: a, image: a}}]}}}}
"""
    found = rollout_findings(_load_text(text))
    assert bool(found) is flagged


def _load_text(text: str) -> Proposal:
    return load_proposal(text.encode(), "t.yaml", Submission(source=Source.HUMAN, actor="t"))


def test_stateful_objects_are_reversibility_findings() -> None:
    """A PV deleting its disk and a StatefulSet deleting volumes on scale-down weaken a
    protection; a claim is costly; deleting them is irreversible and an AI agent may not."""
    settings = reversibility.ReversibilityReviewer.load_default_settings()
    applied = reversibility.assess(_load(FIXTURES / "stateful.yaml"), CATALOG, settings)
    by_rule = {f.rule: f for f in applied.findings}
    assert set(by_rule["reversibility.protection-weakened"].resources) == {
        "PersistentVolume/orders-db-disk",
        "shop/StatefulSet/orders-db",
    }
    assert by_rule["reversibility.costly"].resources == ("shop/PersistentVolumeClaim/uploads",)
    assert applied.stance == "concern"
    deleted = reversibility.assess(
        _load(FIXTURES / "stateful.yaml", delete=True), CATALOG, settings
    )
    irreversible = next(f for f in deleted.findings if f.rule == "reversibility.irreversible")
    assert "shop/PersistentVolumeClaim/uploads" in irreversible.resources
    assert irreversible.hard
    assert deleted.stance == "block"


@pytest.mark.corpus
def test_deleting_a_namespace_is_irreversible_and_rejected_for_an_ai_agent(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """`--delete` of the monitoring Namespace loses everything in it: an AI agent is rejected."""
    path = (
        corpus_dir
        / "kubernetes"
        / "prometheus-operator__kube-prometheus__monitoring-namespace.yaml"
    )
    decision = _review(path, tmp_path, Source.AI_AGENT, delete=True).decision  # type: ignore[attr-defined]
    assert decision.outcome == "reject"
    rules = {f.rule for v in decision.verdicts for f in v.findings}
    assert {"reversibility.irreversible", "scope.ai-agent.data-deletion-production"} <= rules
    human = _review(path, tmp_path, Source.HUMAN, delete=True).decision  # type: ignore[attr-defined]
    assert (human.outcome, human.risk_tier) == ("escalate", "critical")


def test_a_configmap_change_reaches_every_workload_that_reads_it(tmp_path: Path) -> None:
    """Changing only the ConfigMap reaches the services owning the three Deployments reading it
    (and what depends on them), through the manifest's own relations."""
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        "services:\n"
        "  cart: {criticality: high, owns: ['shop/Deployment/cart']}\n"
        "  checkout: {criticality: critical, owns: ['shop/Deployment/checkout']}\n"
        "  catalog: {criticality: medium, owns: ['shop/Deployment/catalog']}\n"
        "  storefront: {criticality: high, depends_on: [cart, checkout, catalog]}\n",
        encoding="utf-8",
    )
    proposal = _load(FIXTURES / "configmap-fanout.yaml", source=Source.HUMAN)
    only_config = proposal.model_copy(
        update={"changes": tuple(c for c in proposal.changes if c.type == "ConfigMap")}
    )
    context = ReviewContext(graph=DependencyGraph.load(topology), catalog=CATALOG)
    verdict = asyncio.run(BlastRadiusReviewer().review(only_config, context))
    reach = next(f for f in verdict.findings if f.rule == "blast-radius.reach")
    assert set(reach.evidence["affected_services"]) == {  # type: ignore[arg-type]
        "cart",
        "checkout",
        "catalog",
        "storefront",
    }
    assert verdict.stance == "concern"
