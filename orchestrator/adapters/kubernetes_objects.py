"""What commander knows about Kubernetes objects: scope, addresses, pod templates, selectors.

Pure functions over parsed manifests (plain dicts), shared by the adapter
(addresses, relations) and the reviewers (RBAC, pod security, rollouts).
Nothing here imports a YAML parser, so reviewers and kind detection stay cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

# Built-in and common add-on kinds that live outside namespaces. A CustomResourceDefinition
# in the same input that declares `scope: Cluster` adds its kind (see `cluster_scoped_kinds`).
CLUSTER_SCOPED: Final = frozenset({
    "APIService", "CSIDriver", "CSINode", "CertificateSigningRequest", "ClusterIssuer",
    "ClusterPolicy", "ClusterRole", "ClusterRoleBinding", "ClusterTrustBundle",
    "CiliumClusterwideNetworkPolicy", "ComponentStatus", "CustomResourceDefinition",
    "DeviceClass", "FlowSchema", "GatewayClass", "GlobalNetworkPolicy", "IPAddress",
    "IngressClass", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
    "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
    "ServiceCIDR", "StorageClass", "StorageVersionMigration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment",
    "VolumeSnapshotClass", "VolumeSnapshotContent",
})  # fmt: skip

DEFAULT_NAMESPACE: Final = "default"
WORKLOAD_KINDS: Final = frozenset({
    "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job",
    "CronJob", "Pod",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placed:
    """One object with its identity resolved: address, Kind, name and namespace."""

    address: str
    kind: str
    name: str
    namespace: str | None
    body: dict[str, Any]


_MANIFEST_LINE = re.compile(r"^(?:apiVersion|kind):[ \t]*\S", re.MULTILINE)


def looks_like_manifest(text: str) -> bool:
    """Whether YAML text carries a top-level `apiVersion:` or `kind:` line."""
    return _MANIFEST_LINE.search(text) is not None


def cluster_scoped_kinds(objects: list[dict[str, Any]]) -> frozenset[str]:
    """The built-in cluster-scoped kinds plus those the input's own CRDs declare."""
    declared = set(CLUSTER_SCOPED)
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = as_dict(obj.get("spec"))
        kind = as_dict(spec.get("names")).get("kind")
        if spec.get("scope") == "Cluster" and isinstance(kind, str):
            declared.add(kind)
    return frozenset(declared)


def address(kind: str, name: str, namespace: str | None) -> str:
    """`<namespace>/<Kind>/<name>`, or `<Kind>/<name>` for cluster-scoped objects (DESIGN.md)."""
    return f"{kind}/{name}" if namespace is None else f"{namespace}/{kind}/{name}"


def as_dict(value: object) -> dict[str, Any]:
    """The value if it is a mapping, else an empty one (manifests omit what is empty)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """The value if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def pod_template(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(pod labels, pod spec) of a workload, or None for objects that run no pods."""
    kind = obj.get("kind")
    spec = as_dict(obj.get("spec"))
    if kind == "Pod":
        return as_dict(as_dict(obj.get("metadata")).get("labels")), spec
    if kind == "CronJob":
        spec = as_dict(as_dict(spec.get("jobTemplate")).get("spec"))
    template = spec.get("template")
    if not isinstance(template, dict) or kind not in WORKLOAD_KINDS:
        return None
    return as_dict(as_dict(template.get("metadata")).get("labels")), as_dict(template.get("spec"))


def containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every container of a pod spec, init and ephemeral ones included, with its list name."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for item in as_list(pod_spec.get(field)):
            if isinstance(item, dict):
                yield field, item


def label_selector_matches(selector: object, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector (matchLabels, matchExpressions) selects these labels.

    An empty selector selects everything, as Kubernetes reads it.
    """
    sel = as_dict(selector)
    for key, value in as_dict(sel.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expression in as_list(sel.get("matchExpressions")):
        expr = as_dict(expression)
        operand, operator = str(expr.get("key")), expr.get("operator")
        values = as_list(expr.get("values"))
        present = operand in labels
        if operator == "In" and not (present and labels[operand] in values):
            return False
        if operator == "NotIn" and present and labels[operand] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def is_empty_selector(selector: object) -> bool:
    """Whether a LabelSelector has no terms, so it selects every pod."""
    sel = as_dict(selector)
    return not sel.get("matchLabels") and not sel.get("matchExpressions")
