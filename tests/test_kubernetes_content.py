"""RBAC, exposure and data in Kubernetes manifests: one finding per rule, each caught and cleared.

Each row is a manifest written the way real ones are (modelled on the policy
libraries' test resources) with the scope fact it must raise, or must not.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Source
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings
from reviewers import scope

CATALOG = ResourceCatalog.load_default()
SETTINGS = scope.ScopeReviewer.load_default_settings()
K = "scope.kubernetes."


def role(verbs: str, resources: str, groups: str = '""', kind: str = "ClusterRole") -> str:
    return (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: r}}\n"
        f"rules:\n- apiGroups: [{groups}]\n  resources: [{resources}]\n  verbs: [{verbs}]\n"
    )


def binding(subject: str, ref: str = "ClusterRole/view", kind: str = "ClusterRoleBinding") -> str:
    ref_kind, ref_name = ref.split("/")
    return (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n"
        "metadata: {name: b, namespace: shop}\n"
        f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {ref_kind}, name: {ref_name}}}\n"
        f"subjects: [{subject}]\n"
    )


def aggregated(label: str, kind: str = "ClusterRole") -> str:
    return (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: extra\n"
        f"  labels: {{{label}}}\nrules:\n- {{apiGroups: [''], resources: [pods], verbs: [get]}}\n"
    )


def service(spec: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: shop}}\nspec: {spec}\n"


def ingress(spec: str) -> str:
    return (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
        f"metadata: {{name: i, namespace: shop}}\nspec: {spec}\n"
    )


def config_map(data: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: shop}}\ndata: {data}"


def env(entry: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: app:1\n        env: [{entry}]\n"
    )


BACKEND = "{service: {name: s, port: {number: 80}}}"
PEM = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA7bq\\n-----END RSA PRIVATE KEY-----"

# (fact, manifest, raised, why)
# fmt: off
TABLE: list[tuple[str, str, bool, str]] = [
    ("rbac-pod-exec", role("create", "pods/exec"), True, "exec"),
    ("rbac-pod-exec", role("get", "pods/attach"), True, "attach over websockets"),
    ("rbac-pod-exec", role("get", "pods, pods/log"), False, "pods and logs"),
    ("rbac-port-forward", role("create", "pods/portforward"), True, "port-forward"),
    ("rbac-port-forward", role("create", "pods/exec"), False, "exec is its own fact"),
    ("rbac-nodes-proxy", role("get", "nodes/proxy"), True, "nodes/proxy"),
    ("rbac-nodes-proxy", role("get", '"*/proxy"'), True, "every proxy subresource"),
    ("rbac-nodes-proxy", role("get, list", "nodes"), False, "nodes"),
    ("rbac-token-request", role("create", "serviceaccounts/token"), True, "TokenRequest"),
    ("rbac-token-request", role("get", "serviceaccounts"), False, "reading accounts"),
    ("rbac-csr-approval", role("update", "certificatesigningrequests/approval",
                               "certificates.k8s.io"), True, "approval"),
    ("rbac-csr-approval", role("approve", "signers", "certificates.k8s.io"), True, "signers"),
    ("rbac-csr-approval", role("create", "certificatesigningrequests", "certificates.k8s.io"),
     False, "requesting a certificate"),
    ("rbac-finalizers", role("update", "deployments/finalizers", "apps"), True, "finalizers"),
    ("rbac-finalizers", role("patch", '"*/finalizers"', '"*"'), True, "every finalizer"),
    ("rbac-finalizers", role("get", "deployments/finalizers", "apps"), False, "read only"),
    ("rbac-aggregated", aggregated('rbac.authorization.k8s.io/aggregate-to-edit: "true"'), True,
     "every editor gets it"),
    ("rbac-aggregated", aggregated('rbac.authorization.k8s.io/aggregate-to-view: "false"'), False,
     "label off"),
    ("rbac-aggregated", aggregated('rbac.authorization.k8s.io/aggregate-to-admin: "true"', "Role"),
     False, "only ClusterRoles aggregate"),
    ("rbac-binds-everyone", binding("{kind: Group, name: system:unauthenticated}"), True,
     "unauthenticated"),
    ("rbac-binds-everyone", binding("{kind: User, name: system:anonymous}"), True, "anonymous"),
    ("rbac-binds-everyone", binding("{kind: Group, name: system:authenticated}"), True,
     "authenticated"),
    ("rbac-binds-everyone", binding("{kind: Group, name: system:serviceaccounts}"), True,
     "every service account"),
    ("rbac-binds-everyone", binding("{kind: Group, name: system:serviceaccounts:shop}"), False,
     "one namespace's accounts"),
    ("rbac-binds-default-sa", binding("{kind: ServiceAccount, name: default, namespace: shop}",
                                      kind="RoleBinding"), True, "default account"),
    ("rbac-binds-default-sa", binding("{kind: ServiceAccount, name: app, namespace: shop}",
                                      kind="RoleBinding"), False, "its own account"),
    ("rbac-cluster-admin", binding("{kind: User, name: alice}", "ClusterRole/cluster-admin",
                                   "RoleBinding"), True, "RoleBinding to the ClusterRole"),
    ("rbac-cluster-admin", binding("{kind: User, name: alice}", "Role/cluster-admin",
                                   "RoleBinding"), True, "a Role named like it"),
    ("rbac-cluster-admin", binding("{kind: User, name: alice}", "ClusterRole/admin"), False,
     "admin"),
    ("service-load-balancer", service("{type: LoadBalancer, ports: [{port: 443}]}"), True, "LB"),
    ("service-load-balancer", service("{type: ClusterIP, ports: [{port: 443}]}"), False,
     "ClusterIP"),
    ("service-node-port", service("{type: NodePort, ports: [{port: 80, nodePort: 30080}]}"),
     True, "NodePort"),
    ("service-node-port", service("{ports: [{port: 80}]}"), False, "default type"),
    ("service-external-ips", service("{ports: [{port: 80}], externalIPs: [203.0.113.7]}"), True,
     "externalIPs"),
    ("service-external-ips", service("{ports: [{port: 80}], externalIPs: []}"), False, "none"),
    ("ingress-any-host", ingress(f"{{rules: [{{http: {{paths: [{{path: /, pathType: Prefix, "
                                 f"backend: {BACKEND}}}]}}}}]}}"), True, "no host"),
    ("ingress-any-host", ingress("{rules: [{host: '*.example.com'}]}"), True, "wildcard"),
    ("ingress-any-host", ingress(f"{{defaultBackend: {BACKEND}}}"), True, "default backend"),
    ("ingress-any-host", ingress("{rules: [{host: shop.example.com}]}"), False, "its own host"),
    ("plaintext-credential", config_map("{aws_secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCY}"),
     True, "an access key"),
    ("plaintext-credential", config_map("{db_password_plain: hunter2hunter2}"), True,
     "*password* anywhere in the key"),
    ("plaintext-credential", config_map(f'{{"tls.key": "{PEM}"}}'), True, "a PEM private key"),
    ("plaintext-credential", config_map("{password_min_length: '12', log_level: info}"), False,
     "settings about passwords"),
    ("plaintext-credential", config_map("{password_file: /etc/app/password}"), False,
     "a path to the secret"),
    ("plaintext-credential", env("{name: DB_PASSWORD, value: hunter2hunter2}"), True,
     "an env value"),
    ("plaintext-credential", env("{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, "
                                 "key: password}}}"), False, "from a Secret"),
    ("plaintext-credential", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                             "stringData: {password: hunter2hunter2}\n", False,
     "a Secret is where it belongs"),
]
# fmt: on


@pytest.mark.parametrize(
    ("fact", "text", "raised", "why"), TABLE, ids=[f"{r[0]}-{r[3]}" for r in TABLE]
)
def test_each_rule_is_caught_and_cleared(fact: str, text: str, raised: bool, why: str) -> None:
    """Each row raises exactly the finding it names, or does not raise it; a raised one is an
    objection in staging, as its tier (medium or more) makes it."""
    proposal = load_proposal(
        text.encode(), "m.yaml", Submission(source=Source.HUMAN, actor="t", environment="staging")
    )
    verdict = scope.assess(proposal, CATALOG, SETTINGS)
    found = {f.rule: f for f in verdict.findings}
    assert (K + fact in found) is raised, (why, sorted(found))
    if raised:
        assert verdict.stance == "concern"
        assert found[K + fact].locations, "a finding from YAML input names its lines"


def test_the_table_covers_every_new_rule_both_ways() -> None:
    """Every RBAC, exposure and data rule of issue 12 has a raising and a clearing row."""
    facts = {fact for fact, _, _, _ in TABLE}
    assert {(fact, raised) for fact, _, raised, _ in TABLE} == {
        (fact, raised) for fact in facts for raised in (True, False)
    }
    assert facts <= {f.removeprefix("kubernetes.") for f in SETTINGS.content_tiers}


def test_a_finding_points_at_the_rule_line() -> None:
    """The nodes/proxy finding names the line of the rule that grants it."""
    text = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
        "rules:\n- {apiGroups: [''], resources: [pods], verbs: [get]}\n"
        "- {apiGroups: [''], resources: [nodes/proxy], verbs: [get]}\n"
    )
    proposal = load_proposal(text.encode(), "r.yaml", Submission(source=Source.HUMAN, actor="t"))
    verdict = scope.assess(proposal, CATALOG, SETTINGS)
    (finding,) = [f for f in verdict.findings if f.rule == K + "rbac-nodes-proxy"]
    assert [loc.line for loc in finding.locations] == [6]
    assert finding.severity == "critical"


SECRETS = ("wJalrXUtnFEMIK7MDENGbPxRfiCY", "hunter2hunter2", "MIIEowIBAAKCAQEA7bq")
LEAKY = (
    config_map(
        f'{{aws_secret_access_key: {SECRETS[0]}, db_password_plain: {SECRETS[1]}, "tls.key": '
        f'"{PEM}"}}'
    )
    + "\n---\n"
    + env(f"{{name: DB_PASSWORD, value: {SECRETS[1]}}}")
)


def test_credentials_in_configmaps_are_flagged_and_never_printed_or_stored(
    tmp_path: Path,
) -> None:
    """The ConfigMap's and the env's credentials are findings, and no output, record or
    store row holds them: the store file, its rows and the stored raw input are searched."""
    path = tmp_path / "leaky.yaml"
    path.write_text(LEAKY, encoding="utf-8")
    database = tmp_path / "audit.db"
    result = run_review(
        ReviewRequest(
            path=str(path),
            submission=Submission(source=Source.HUMAN, actor="alice", environment="staging"),
            settings=Settings(database_url=f"sqlite:///{database}", config_dir=None, topology=None),
        )
    )
    decision = result.decision
    (finding,) = [
        f for v in decision.verdicts for f in v.findings if f.rule == K + "plaintext-credential"
    ]
    assert set(finding.resources) == {"shop/ConfigMap/c", "shop/Deployment/d"}
    assert decision.outcome == "escalate"
    printed = json.dumps(decision.to_json_dict()) + result.proposal.canonical_json
    printed += json.dumps(result.proposal.raw)
    stored = database.read_bytes()
    with sqlite3.connect(database) as connection:
        rows = " ".join(
            str(row)
            for table in ("proposals", "decisions")
            for row in connection.execute(f"SELECT * FROM {table}")  # noqa: S608 - our tables
        )
        # the raw input is stored compressed: a plain search of the file would not see it
        (raw,) = connection.execute("SELECT raw_zlib FROM proposals").fetchone()
        rows += zlib.decompress(raw).decode()
    for secret in SECRETS:
        assert secret not in printed
        assert secret.encode() not in stored
        assert secret not in rows
