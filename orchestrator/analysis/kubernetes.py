"""What a Kubernetes object grants or exposes, as typed facts with the paths that show it.

One entry for the scope reviewer (`object_facts`) and one for the adapter
(`located_paths`: every field a finding may point at, so that the adapter
can look up its line in the file). RBAC is read in `kubernetes_rbac`,
network exposure in `kubernetes_exposure`, the Pod Security Standards in
`pod_security`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator.analysis import kubernetes_exposure, kubernetes_rbac
from orchestrator.analysis.kubernetes_facts import Fact
from orchestrator.analysis.pod_security import (
    ENFORCE_PATH,
    FieldPath,
    namespace_level,
    pod_violations,
)

__all__ = ["Fact", "located_paths", "object_facts"]


def object_facts(kind: str, body: Mapping[str, Any], namespace: str | None) -> Iterator[Fact]:
    """Every RBAC and exposure fact of one object (the pod's own are `pod_violations`)."""
    if kind in ("Role", "ClusterRole"):
        yield from kubernetes_rbac.role_facts(body)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        yield from kubernetes_rbac.binding_facts(body)
    elif kind == "NetworkPolicy":
        yield from kubernetes_exposure.network_policy_facts(body, namespace)
    elif kind == "Service":
        yield from kubernetes_exposure.service_facts(body)
    elif kind == "Ingress":
        yield from kubernetes_exposure.ingress_facts(body)


def located_paths(body: Mapping[str, Any]) -> list[FieldPath]:
    """The paths every fact and Pod Security violation of one object points at."""
    kind = body.get("kind")
    paths = [v.path for v in pod_violations(body)]
    if namespace_level(body) is not None:
        paths.append(ENFORCE_PATH)
    if isinstance(kind, str):
        paths.extend(p for fact in object_facts(kind, body, None) for p in fact.paths)
    return paths
