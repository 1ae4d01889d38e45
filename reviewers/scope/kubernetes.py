"""What the scope reviewer reads inside Kubernetes objects: who gets which power.

Each fact names one object and says what in it grants power or reaches
everything; configs/reviewers/scope.yaml (`content_tiers`) says what each is
worth. Only applied objects are read: deleting a binding takes power away.

    rbac-cluster-admin     a binding to the cluster-admin ClusterRole
    rbac-binds-everyone    a binding whose subject is every (authenticated or anonymous) user
    rbac-wildcard          a role granting "*" verbs or resources: every present and future power
    rbac-escalation-verbs  escalate, bind or impersonate: a way to any other permission
    rbac-secrets-access    a role that can read Secrets
    netpol-selects-all     a NetworkPolicy whose empty podSelector selects every pod
    netpol-denies-all-ingress / -egress  policyTypes without a single rule: all traffic denied
    pod-privileged         a privileged container, or one adding SYS_ADMIN or ALL capabilities
    pod-host-namespace     hostNetwork, hostPID or hostIPC
    pod-host-path          a hostPath volume (the node's filesystem)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import (
    as_dict,
    as_list,
    containers,
    is_empty_selector,
    pod_template,
)
from orchestrator.models import ResourceChange

FACTS: Final = {
    "rbac-cluster-admin": "bindings grant cluster-admin: full control of the whole cluster",
    "rbac-binds-everyone": "bindings grant a role to every authenticated or anonymous user",
    "rbac-wildcard": 'roles grant "*" verbs or resources: every present and future permission',
    "rbac-escalation-verbs": "roles grant escalate, bind or impersonate: a path to any permission",
    "rbac-secrets-access": "roles can read Secrets: every credential in their scope",
    "netpol-selects-all": "NetworkPolicies have an empty podSelector, which selects every pod in "
    "the namespace: an empty filter selects everything (the Cloudflare BYOIP pattern)",
    "netpol-denies-all-ingress": "NetworkPolicies deny all ingress to the pods they select "
    "(policyTypes Ingress with no ingress rule)",
    "netpol-denies-all-egress": "NetworkPolicies deny all egress, DNS included, from the pods "
    "they select (policyTypes Egress with no egress rule)",
    "pod-privileged": "workloads run privileged containers: root on every node they land on",
    "pod-host-namespace": "workloads share the node's network, PID or IPC namespace",
    "pod-host-path": "workloads mount the node's filesystem (hostPath)",
}
_EVERYONE: Final = ("system:authenticated", "system:unauthenticated", "system:anonymous")
_ESCALATION: Final = frozenset({"escalate", "bind", "impersonate"})
_READ: Final = frozenset({"get", "list", "watch", "*"})
_POWERFUL_CAPS: Final = frozenset({"SYS_ADMIN", "ALL", "CAP_SYS_ADMIN"})
_RUNTIME_SOCKETS: Final = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock")


def kubernetes_facts(change: ResourceChange) -> Iterator[tuple[str, JsonValue]]:
    """(fact id, detail) of everything powerful in one applied object."""
    obj = change.after
    if not isinstance(obj, dict):
        return
    kind = change.type
    if kind in ("Role", "ClusterRole"):
        yield from _role(obj)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        yield from _binding(obj)
    elif kind == "NetworkPolicy":
        yield from _network_policy(obj, change.namespace)
    template = pod_template(obj)
    if template is not None:
        yield from _pod(template[1])


def _strings(value: object) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def _role(obj: dict[str, Any]) -> Iterator[tuple[str, JsonValue]]:
    wildcard: list[JsonValue] = []
    escalation: list[JsonValue] = []
    secrets: list[JsonValue] = []
    for index, entry in enumerate(as_list(obj.get("rules"))):
        rule = as_dict(entry)
        verbs, resources = _strings(rule.get("verbs")), _strings(rule.get("resources"))
        groups = _strings(rule.get("apiGroups"))
        shown: dict[str, JsonValue] = {
            "rule": index,
            "verbs": list[JsonValue](verbs),
            "resources": list[JsonValue](resources),
            "apiGroups": list[JsonValue](groups),
        }
        if "*" in verbs or any("*" in r for r in resources):
            wildcard.append(shown)
        if _ESCALATION & set(verbs):
            escalation.append(shown)
        core = not groups or "" in groups or "*" in groups
        if core and ("secrets" in resources or "*" in resources) and _READ & set(verbs):
            secrets.append(shown)
    for fact, found in (
        ("rbac-wildcard", wildcard),
        ("rbac-escalation-verbs", escalation),
        ("rbac-secrets-access", secrets),
    ):
        if found:
            yield fact, {"rules": found}


def _binding(obj: dict[str, Any]) -> Iterator[tuple[str, JsonValue]]:
    role = as_dict(obj.get("roleRef"))
    subjects = [as_dict(s) for s in as_list(obj.get("subjects"))]
    shown: list[JsonValue] = [
        {"kind": s.get("kind"), "name": s.get("name"), "namespace": s.get("namespace")}
        for s in subjects
    ]
    if role.get("kind") == "ClusterRole" and role.get("name") == "cluster-admin":
        yield "rbac-cluster-admin", {"roleRef": "ClusterRole/cluster-admin", "subjects": shown}
    everyone = [
        s.get("name")
        for s in subjects
        if isinstance(s.get("name"), str) and str(s.get("name")).startswith(_EVERYONE)
    ]
    if everyone:
        yield (
            "rbac-binds-everyone",
            {
                "roleRef": f"{role.get('kind')}/{role.get('name')}",
                "subjects": list[JsonValue](everyone),
            },
        )


def _network_policy(obj: dict[str, Any], namespace: str | None) -> Iterator[tuple[str, JsonValue]]:
    spec = as_dict(obj.get("spec"))
    if is_empty_selector(spec.get("podSelector")):
        yield "netpol-selects-all", {"namespace": namespace, "podSelector": {}}
    types = _strings(spec.get("policyTypes"))
    if not types:
        # Kubernetes' default: Ingress always, Egress only when egress rules are given.
        types = ["Ingress", *(["Egress"] if spec.get("egress") else [])]
    for direction, field in (("Ingress", "ingress"), ("Egress", "egress")):
        if direction in types and not as_list(spec.get(field)):
            yield f"netpol-denies-all-{field}", {"namespace": namespace, "policyTypes": [*types]}


def _pod(spec: dict[str, Any]) -> Iterator[tuple[str, JsonValue]]:
    privileged: list[JsonValue] = []
    for field, container in containers(spec):
        context = as_dict(container.get("securityContext"))
        added = set(_strings(as_dict(context.get("capabilities")).get("add")))
        if context.get("privileged") is True or added & _POWERFUL_CAPS:
            privileged.append(
                {
                    "container": str(container.get("name")),
                    "list": field,
                    "privileged": context.get("privileged") is True,
                    "capabilities": list[JsonValue](sorted(added)),
                }
            )
    if privileged:
        yield "pod-privileged", {"containers": privileged}
    shared = [f for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f) is True]
    if shared:
        yield "pod-host-namespace", {"namespaces": list[JsonValue](shared)}
    paths = [
        str(as_dict(as_dict(v).get("hostPath")).get("path"))
        for v in as_list(spec.get("volumes"))
        if "hostPath" in as_dict(v)
    ]
    if paths:
        detail: dict[str, JsonValue] = {"paths": list[JsonValue](paths)}
        sockets = [p for p in paths if p.endswith(_RUNTIME_SOCKETS)]
        if sockets:
            detail["container_runtime_socket"] = list[JsonValue](sockets)
        yield "pod-host-path", detail
