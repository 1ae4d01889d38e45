"""The Kubernetes adapter: manifests in, one change per object, relations, masked secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal
from orchestrator.adapters.kubernetes_objects import label_selector_matches
from orchestrator.errors import InputError, UsageError
from orchestrator.models import Action, Proposal, Relation, Source

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"
SUBMISSION = Submission(source=Source.HUMAN, actor="alice", environment="production")


def manifests(text: str, *, delete: bool = False, kind: str = "auto") -> Proposal:
    return load_proposal(
        text.encode(), "m.yaml", SUBMISSION, kind=kind, options=AdapterOptions(delete=delete)
    )


def fixture(name: str, *, delete: bool = False) -> Proposal:
    return load_proposal(
        (FIXTURES / name).read_bytes(), name, SUBMISSION, options=AdapterOptions(delete=delete)
    )


@pytest.mark.parametrize(
    ("document", "address", "namespace"),
    [
        (
            "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: web, namespace: shop}",
            "shop/Deployment/web",
            "shop",
        ),
        (
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: flags}",
            "default/ConfigMap/flags",
            "default",
        ),
        (
            "kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: ro}",
            "ClusterRole/ro",
            None,
        ),
        (
            "kind: Namespace\napiVersion: v1\nmetadata: {name: shop, namespace: ignored}",
            "Namespace/shop",
            None,
        ),
        (
            "kind: PersistentVolume\napiVersion: v1\nmetadata: {name: disk-1}",
            "PersistentVolume/disk-1",
            None,
        ),
        (
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: 1, namespace: 2}",
            "2/ConfigMap/1",
            "2",
        ),
        (
            "kind: Job\napiVersion: batch/v1\nmetadata: {generateName: migrate-, namespace: db}",
            "db/Job/migrate-*",
            "db",
        ),
    ],
)
def test_addresses_follow_design(document: str, address: str, namespace: str | None) -> None:
    """Namespaced objects are <ns>/<Kind>/<name> (default ns), cluster-scoped ones <Kind>/<name>."""
    (change,) = manifests(document).changes
    assert (change.address, change.namespace) == (address, namespace)
    assert change.type == document.split("\n", maxsplit=1)[0].removeprefix("kind: ")


def test_an_apply_is_an_update_and_delete_flag_makes_deletions() -> None:
    """A manifest is an apply (read as an update); with --delete every object is deleted."""
    applied = fixture("stateful.yaml")
    assert {c.action for c in applied.changes} == {Action.UPDATE}
    assert all(c.after is not None and c.before is None for c in applied.changes)
    deleted = fixture("stateful.yaml", delete=True)
    assert {c.action for c in deleted.changes} == {Action.DELETE}
    assert all(c.before is not None and c.after is None for c in deleted.changes)
    assert deleted.changes[0].raw_actions == ("delete",)


def test_delete_flag_is_refused_for_other_kinds() -> None:
    """--delete on a diff is wrong usage (exit 2), not a silent no-op."""
    diff = (Path(__file__).parent / "fixtures" / "diff" / "docs-only.diff").read_bytes()
    with pytest.raises(UsageError, match="--delete applies to Kubernetes manifests"):
        load_proposal(diff, "d.diff", SUBMISSION, options=AdapterOptions(delete=True))


def test_lists_and_typed_lists_are_unwrapped() -> None:
    """`kind: List` and `RoleList` items become objects; items may inherit kind and version."""
    text = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleList
items:
- metadata: {name: a, namespace: x}
  rules: []
- kind: Role
  metadata: {name: b}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: s}}
"""
    addresses = [c.address for c in manifests(text).changes]
    assert addresses == ["x/Role/a", "default/Role/b", "default/Service/s"]


def test_json_list_from_kubectl_is_read_without_server_fields() -> None:
    """`kubectl get -o json` output is reviewed as it would be applied: no status, no uid."""
    proposal = fixture("list.json")
    assert [c.address for c in proposal.changes] == ["prod/Service/api", "prod/Deployment/api"]
    service = proposal.changes[0].after
    assert isinstance(service, dict)
    assert "status" not in service
    assert service["metadata"] == {"name": "api", "namespace": "prod"}
    assert proposal.relations == (
        Relation(source="prod/Service/api", target="prod/Deployment/api", kind="selects"),
    )


def test_objects_and_the_fields_reviewers_point_at_carry_their_lines() -> None:
    """YAML gives each object its lines, List items included, and the line of each field a
    finding will name; fields nobody points at are not recorded."""
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers:
  - name: app
    image: app:1
    securityContext:
      privileged: true
---
kind: List
apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s}
  spec: {type: NodePort, ports: [{port: 80}]}
"""
    pod, service = manifests(text).changes
    assert (pod.location.line, pod.location.end_line) == (1, 9)  # type: ignore[union-attr]
    assert pod.field_lines["spec.containers.0.securityContext.privileged"] == 9
    assert "spec.containers.0.image" not in pod.field_lines
    assert (service.location.line, service.location.end_line) == (14, 17)  # type: ignore[union-attr]
    assert service.field_lines == {"spec.type": 17}


def test_json_input_has_no_lines_and_keeps_its_digest_shape() -> None:
    """JSON has no line numbers to give: no location, no field lines in the document."""
    proposal = fixture("list.json")
    assert all(c.location is None and not c.field_lines for c in proposal.changes)
    assert all("location" not in c and "field_lines" not in c for c in proposal.document["changes"])


def test_custom_resource_scope_comes_from_its_crd_in_the_input() -> None:
    """A CRD declaring scope: Cluster makes its kind cluster-scoped in the same input."""
    text = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: tenants.example.com}
spec:
  scope: Cluster
  names: {kind: Tenant, plural: tenants}
---
apiVersion: example.com/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
"""
    addresses = [c.address for c in manifests(text).changes]
    assert addresses == [
        "CustomResourceDefinition/tenants.example.com",
        "Tenant/acme",
        "default/Widget/w",
    ]


def test_relations_tie_config_services_policies_and_owners_to_workloads() -> None:
    """ConfigMaps and Secrets reach every workload that reads them; Services what they select."""
    proposal = fixture("configmap-fanout.yaml")
    found = {(r.source, r.target, r.kind) for r in proposal.relations}
    settings_map = "shop/ConfigMap/shop-settings"
    assert {
        (settings_map, f"shop/Deployment/{d}", "config") for d in ("cart", "checkout", "catalog")
    } <= found
    assert ("shop/Secret/shop-db", "shop/Deployment/cart", "config") in found
    assert ("shop/Service/checkout", "shop/Deployment/checkout", "selects") in found
    policy = "shop/NetworkPolicy/web-from-ingress"
    assert {t for s, t, k in found if s == policy and k == "isolates"} == {
        "shop/Deployment/cart",
        "shop/Deployment/checkout",
        "shop/Deployment/catalog",
    }
    assert list(proposal.relations) == sorted(
        proposal.relations, key=lambda r: (r.source, r.target, r.kind)
    )


def test_owner_references_and_bindings_are_relations() -> None:
    """ownerReferences point owner -> owned; a binding grants its ServiceAccounts, a role binds."""
    text = """
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9, uid: x}]
spec:
  serviceAccountName: web
  containers: [{name: web, image: web:1}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: web}]
"""
    found = {(r.source, r.target, r.kind) for r in manifests(text).relations}
    assert found == {
        ("shop/ReplicaSet/web-7d9", "shop/Pod/web-1", "owns"),
        ("shop/ServiceAccount/web", "shop/Pod/web-1", "identity"),
        ("shop/RoleBinding/web", "shop/ServiceAccount/web", "grants"),
        ("shop/Role/reader", "shop/RoleBinding/web", "binds"),
    }


def test_secret_values_never_reach_the_proposal() -> None:
    """Secret data, stringData, the last-applied copy and secret-named env values are masked."""
    last = json.dumps({"stringData": {"password": "s3cr3t-value-1"}})
    text = f"""
apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{last}'
data: {{password: czNjcjN0LXZhbHVlLTE=}}
stringData: {{token: s3cr3t-value-2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  template:
    spec:
      containers:
      - name: api
        env:
        - {{name: API_TOKEN, value: s3cr3t-value-3}}
        - {{name: LOG_LEVEL, value: debug}}
"""
    proposal = manifests(text)
    dumped = json.dumps(proposal.document) + json.dumps(proposal.raw)
    for secret in ("s3cr3t-value-1", "s3cr3t-value-2", "s3cr3t-value-3", "czNjcjN0LXZhbHVlLTE="):
        assert secret not in dumped
    assert "debug" in dumped
    secret, deployment = proposal.changes
    assert {"data", "stringData"} <= set(secret.sensitive_paths)
    assert deployment.sensitive_paths == ("spec.template.spec.containers.0.env.0.value",)


@pytest.mark.parametrize(
    ("key", "value", "masked"),
    [
        ("db_password_plain", "hunter2hunter2", True),
        ("PASSWORD", "hunter2hunter2", True),
        ("aws_secret_access_key", "wJalrXUtnFEMIK7MDENG", True),
        ("smtp_credentials", "user:hunter2hunter2", True),
        ("password_min_length", "12", False),
        ("password_rotation_enabled", "true", False),
        ("password_file", "/etc/app/password", False),
        ("admin_password", "${ADMIN_PASSWORD}", True),  # a sensitive key: masked as before
        ("password_hint_template", "{{ .Values.hint }}", False),
        ("log_level", "debug", False),
    ],
)
def test_configmap_entries_named_like_passwords_are_masked(
    key: str, value: str, masked: bool
) -> None:
    """A ConfigMap key holding `password` anywhere hides its value, unless the value is a
    setting (a number, a boolean) or points at the secret (a path, a reference)."""
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{{key}: '{value}'}}\n"
    (change,) = manifests(text).changes
    assert isinstance(change.after, dict)
    assert (change.after["data"][key] == "(sensitive)") is masked
    assert (f"data.{key}" in change.sensitive_paths) is masked


BAD = [
    ("no-kind", (FIXTURES / "no-kind.yaml").read_text(), "document 2 (line 7): no kind"),
    ("no-api-version", "kind: Pod\nmetadata: {name: p}\n", "Pod has no apiVersion"),
    ("no-name", "kind: Pod\napiVersion: v1\nmetadata: {labels: {a: b}}\n", "no metadata.name"),
    ("no-metadata", "kind: Pod\napiVersion: v1\n", "expected metadata to be an object"),
    (
        "scalar-document",
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n---\n42\n",
        "document 2 (line 5): expected a Kubernetes object, got number",
    ),
    ("invalid-yaml", "kind: Pod\napiVersion: v1\nmetadata: {name: [a\n", "invalid YAML"),
    (
        "duplicate",
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n---\n"
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n",
        "default/Pod/a is declared twice",
    ),
    (
        "list-items-not-a-list",
        "kind: List\napiVersion: v1\nitems: {a: 1}\n",
        "items: expected a list",
    ),
    (
        "recursive-alias",
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\ndata: &x [*x]\n",
        "refers to itself",
    ),
    ("only-comments", "# nothing\n---\n", "no Kubernetes object"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_manifests_fail_with_one_line_naming_the_place(text: str, message: str) -> None:
    """A broken manifest is an input error that says where, never a crash or an empty review."""
    with pytest.raises(InputError) as caught:
        manifests(text, kind="kubernetes")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_alias_bomb_is_refused_before_it_expands() -> None:
    """A billion-laughs document is refused quickly, naming its size, without expanding it."""
    with pytest.raises(InputError, match=r"aliases expand 38 nodes to 490,329,074"):
        fixture("yaml-bomb.yaml")


def test_moderate_anchor_reuse_is_fine() -> None:
    """Ordinary anchors and merge keys (shared defaults) are read as YAML means them."""
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: &labels {team: shop, app: web}}
spec:
  selector: {matchLabels: *labels}
  template:
    metadata: {labels: {<<: *labels, tier: front}}
"""
    (change,) = manifests(text).changes
    assert isinstance(change.after, dict)
    assert change.after["spec"]["selector"]["matchLabels"] == {"team": "shop", "app": "web"}
    assert change.after["spec"]["template"]["metadata"]["labels"] == {
        "team": "shop",
        "app": "web",
        "tier": "front",
    }


def test_yaml_only_values_become_json() -> None:
    """Timestamps, binary and odd keys are turned into the JSON Kubernetes would read."""
    text = (
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n"
        "data: {when: 2024-01-02T03:04:05Z, on: yes, 7: seven, blob: !!binary aGk=}\n"
    )
    (change,) = manifests(text).changes
    assert isinstance(change.after, dict)
    assert change.after["data"] == {
        "when": "2024-01-02T03:04:05+00:00",
        "true": True,
        "7": "seven",
        "blob": "aGk=",
    }


LABELS = st.dictionaries(st.sampled_from("abc"), st.sampled_from("xyz"), max_size=3)


@settings(max_examples=200, deadline=None)
@given(labels=LABELS, required=LABELS)
def test_label_selectors_match_as_kubernetes_does(
    labels: dict[str, str], required: dict[str, str]
) -> None:
    """matchLabels selects exactly the supersets; an empty selector selects every pod."""
    assert label_selector_matches({}, labels)
    expected = all(labels.get(k) == v for k, v in required.items())
    assert label_selector_matches({"matchLabels": required}, labels) == expected
    expressions = [{"key": k, "operator": "In", "values": [v]} for k, v in required.items()]
    assert label_selector_matches({"matchExpressions": expressions}, labels) == expected


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="kind:apiVersion{}[]-&*!\n #'\"abc01", max_size=200))
def test_arbitrary_text_never_crashes_the_adapter(text: str) -> None:
    """Whatever the text, --kind kubernetes gives a proposal or a one-line input error."""
    try:
        manifests(text or "x", kind="kubernetes")
    except InputError as exc:
        # the property is about whatever error is raised, so it is checked where it is caught
        assert "\n" not in str(exc)  # noqa: PT017
