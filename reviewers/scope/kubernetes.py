"""What the scope reviewer reads inside Kubernetes objects: who gets which power, what is exposed.

The analysers in orchestrator/analysis (`kubernetes_rbac`,
`kubernetes_exposure`) return typed facts; this module says what each means
and adds the one fact only the adapter's masking can show:

    plaintext-credential   a credential in a ConfigMap or a container's env value,
                           where anyone who may read the object reads it (masked
                           here, in every output and in the store)

configs/reviewers/scope.yaml (`content_tiers`) says what each fact is worth.
Only applied objects are read: deleting a binding takes power away. The Pod
Security Standards are judged apart (`pod_security`): they have levels and
exemptions of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Final

from pydantic import JsonValue

from orchestrator.models import ResourceChange, SourceLocation
from reviewers.shared import RESOURCE_CAP

FACTS: Final = {
    "rbac-cluster-admin": "bindings grant cluster-admin: full control of the whole cluster "
    "(a ClusterRoleBinding) or of a namespace (a RoleBinding)",
    "rbac-binds-everyone": "bindings grant a role to every authenticated or anonymous user, or "
    "to every service account",
    "rbac-binds-default-sa": "bindings grant a role to a namespace's default service account: "
    "every pod there that names no service account holds it",
    "rbac-wildcard": 'roles grant "*" verbs or resources: every present and future permission',
    "rbac-escalation-verbs": "roles grant escalate, bind or impersonate: a path to any permission",
    "rbac-secrets-access": "roles can read Secrets: every credential in their scope",
    "rbac-pod-exec": "roles grant pods/exec or pods/attach: a shell in every pod in their scope",
    "rbac-port-forward": "roles grant pods/portforward: a tunnel into pods, past network policy",
    "rbac-nodes-proxy": "roles grant nodes/proxy: the kubelet API, which runs commands in every "
    "pod on a node",
    "rbac-token-request": "roles grant serviceaccounts/token: a token for any service account in "
    "their scope, and its powers",
    "rbac-csr-approval": "roles approve certificate signing requests: a client certificate for "
    "any user or group, system:masters included",
    "rbac-finalizers": "roles write finalizers: they can hold the deletion of objects they may "
    "not delete, or block an owner's garbage collection",
    "rbac-aggregated": "ClusterRoles carry an aggregate-to-admin/edit/view label: every holder "
    "of that built-in role is granted their rules",
    "netpol-selects-all": "NetworkPolicies have an empty podSelector, which selects every pod in "
    "the namespace: an empty filter selects everything (the Cloudflare BYOIP pattern)",
    "netpol-denies-all-ingress": "NetworkPolicies deny all ingress to the pods they select "
    "(policyTypes Ingress with no ingress rule)",
    "netpol-denies-all-egress": "NetworkPolicies deny all egress, DNS included, from the pods "
    "they select (policyTypes Egress with no egress rule)",
    "service-load-balancer": "Services of type LoadBalancer: an address outside the cluster, "
    "open to every source unless loadBalancerSourceRanges says otherwise",
    "service-node-port": "Services of type NodePort: a port open on every node",
    "service-external-ips": "Services claim externalIPs: traffic to those addresses from "
    "anywhere in the cluster goes to them (CVE-2020-8554)",
    "ingress-any-host": "Ingresses answer for every host (a rule without a host, a default "
    "backend) or a wildcard of hosts: traffic meant for others",
    "plaintext-credential": "objects hold a credential in plain text outside a Secret (ConfigMap "
    "data, container env values); it is masked here",
}
_PLAINTEXT_PARENTS: Final = ("data.", "binaryData.")


@lru_cache(maxsize=4096)  # the same field paths recur in every workload of a manifest
def dotted(path: tuple[str | int, ...]) -> str:
    """A field path as `field_lines` and `sensitive_paths` spell it."""
    from orchestrator.adapters.masking import format_path  # noqa: PLC0415 - Kubernetes only

    return format_path(path)


def kubernetes_facts(change: ResourceChange) -> Iterator[tuple[str, JsonValue, list[str]]]:
    """(fact, detail, dotted paths of the fields showing it) of one applied object."""
    from orchestrator.analysis.kubernetes import object_facts  # noqa: PLC0415 - Kubernetes only

    obj = change.after
    if not isinstance(obj, dict):
        return
    for fact in object_facts(change.type, obj, change.namespace):
        yield fact.id, fact.detail, [dotted(path) for path in fact.paths]
    if not change.sensitive_paths:
        return
    shown = [path for path in change.sensitive_paths if _plaintext(change.type, path)]
    if shown:
        yield "plaintext-credential", {"masked": list[JsonValue](shown)}, shown


def _plaintext(kind: str, path: str) -> bool:
    """A masked value that is a credential in plain text: ConfigMap data, an env value."""
    if kind == "ConfigMap":
        return path.startswith(_PLAINTEXT_PARENTS)
    return kind != "Secret" and ".env." in path and path.endswith(".value")


def lines(change: ResourceChange, paths: Iterable[str]) -> list[int]:
    """The lines the fields are written on, or the object's first line when none is known."""
    found = [line for path in paths if (line := change.field_lines.get(path)) is not None]
    if not found and change.location is not None and change.location.line is not None:
        found.append(change.location.line)
    return found


def sorted_locations(found: Iterable[int]) -> tuple[SourceLocation, ...]:
    """Each line once, in file order, at most as many as a finding lists resources."""
    return tuple(SourceLocation(line=line) for line in sorted(set(found))[:RESOURCE_CAP])
