"""RBAC: who gets which power from a Role, ClusterRole or binding.

Roles (one fact per kind of power, listing the rules that grant it):

    rbac-wildcard          "*" verbs or resources: every present and future permission
    rbac-escalation-verbs  escalate, bind or impersonate: a path to any permission
    rbac-secrets-access    reading Secrets: every credential in the role's scope
    rbac-pod-exec          pods/exec or pods/attach: a shell in every pod in scope
    rbac-port-forward      pods/portforward: a tunnel into pods, past network policy
    rbac-nodes-proxy       nodes/proxy: the kubelet API, so exec in every pod on a node
    rbac-token-request     serviceaccounts/token: a token of any service account in scope
    rbac-csr-approval      approving certificate requests: a client certificate for any user
    rbac-finalizers        writing */finalizers: holding any object's deletion, setting
                           blockOwnerDeletion on objects it may not delete
    rbac-aggregated        aggregate-to-admin/edit/view labels: every holder of that
                           built-in role gets these rules

Bindings:

    rbac-cluster-admin     a roleRef named cluster-admin (a ClusterRole: the cluster, or the
                           namespace from a RoleBinding; a Role of that name mimics it)
    rbac-binds-everyone    system:authenticated, system:unauthenticated, system:anonymous or
                           system:serviceaccounts as a subject
    rbac-binds-default-sa  a namespace's `default` service account as a subject: every pod
                           that names no service account gets the role

A subresource is matched as RBAC matches it: by name, or by `*/sub`. A bare
"*" is the wildcard fact, which covers all of them, so it is not repeated
under each (secrets excepted, as before: reading them is its own finding).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import DEFAULT_NAMESPACE, as_dict, as_list
from orchestrator.analysis.kubernetes_facts import Fact, strings

# Subjects that are everyone (OpenShift adds `system:authenticated:oauth`), and every account.
EVERYONE: Final = ("system:authenticated", "system:unauthenticated", "system:anonymous")
ALL_SERVICE_ACCOUNTS: Final = "system:serviceaccounts"
ESCALATION_VERBS: Final = frozenset({"escalate", "bind", "impersonate"})
_READ: Final = frozenset({"get", "list", "watch", "*"})
_CONNECT: Final = frozenset({"create", "get", "*"})  # exec over websockets is a get
_WRITE: Final = frozenset({"update", "patch", "*"})
AGGREGATE_LABELS: Final = {
    f"rbac.authorization.k8s.io/aggregate-to-{role}": role for role in ("admin", "edit", "view")
}
# (fact, API group, resource, verbs) of the subresource powers, in the facts' order.
_SUBRESOURCES: Final = (
    ("rbac-pod-exec", "", "pods/exec", _CONNECT),
    ("rbac-pod-exec", "", "pods/attach", _CONNECT),
    ("rbac-port-forward", "", "pods/portforward", _CONNECT),
    ("rbac-nodes-proxy", "", "nodes/proxy", frozenset({"get", "create", "*", "list", "watch"})),
    ("rbac-token-request", "", "serviceaccounts/token", frozenset({"create", "*"})),
    ("rbac-csr-approval", "certificates.k8s.io", "certificatesigningrequests/approval", _WRITE),
    ("rbac-csr-approval", "certificates.k8s.io", "signers", frozenset({"approve", "*"})),
)


def _resource_matches(rule_resource: str, resource: str) -> bool:
    if rule_resource == resource:
        return True
    sub = resource.partition("/")[2]
    return bool(sub) and rule_resource == f"*/{sub}"


def _group_matches(groups: list[str], group: str) -> bool:
    # No apiGroups at all is read as the core group: the strict reading of a malformed rule.
    return not groups or group in groups or "*" in groups


def role_facts(obj: Mapping[str, Any]) -> Iterator[Fact]:
    """The powers a Role or ClusterRole grants, one fact per kind of power."""
    found: dict[str, list[tuple[int, JsonValue]]] = {}
    for index, entry in enumerate(as_list(obj.get("rules"))):
        rule = as_dict(entry)
        verbs, resources = strings(rule.get("verbs")), strings(rule.get("resources"))
        groups = strings(rule.get("apiGroups"))
        facts = _rule_facts(set(verbs), resources, groups)
        if facts:
            shown: JsonValue = {
                "rule": index,
                "verbs": list[JsonValue](verbs),
                "resources": list[JsonValue](resources),
                "apiGroups": list[JsonValue](groups),
            }
            for fact in facts:
                found.setdefault(fact, []).append((index, shown))
    for fact, rules in found.items():
        yield Fact(
            fact,
            {"rules": [shown for _, shown in rules]},
            tuple(("rules", index) for index, _ in rules),
        )
    labels = as_dict(as_dict(obj.get("metadata")).get("labels"))
    into = [(key, role) for key, role in AGGREGATE_LABELS.items() if labels.get(key) == "true"]
    if into and obj.get("kind") == "ClusterRole":
        yield Fact(
            "rbac-aggregated",
            {"aggregates_into": [role for _, role in into]},
            tuple(("metadata", "labels", key) for key, _ in into),
        )


def _rule_facts(verbs: set[str], resources: list[str], groups: list[str]) -> list[str]:
    """The powers one rule grants, in the facts' order."""
    facts = []
    if "*" in verbs or any("*" in r for r in resources):
        facts.append("rbac-wildcard")
    if ESCALATION_VERBS & verbs:
        facts.append("rbac-escalation-verbs")
    core = _group_matches(groups, "")
    if core and ("secrets" in resources or "*" in resources) and _READ & verbs:
        facts.append("rbac-secrets-access")
    named = [r for r in resources if "/" in r or r == "signers"]
    if not named:
        return facts  # most rules name plain resources: no subresource power to look for
    for fact, group, resource, wanted in _SUBRESOURCES:
        if (
            fact not in facts
            and wanted & verbs
            and _group_matches(groups, group)
            and any(_resource_matches(r, resource) for r in named)
        ):
            facts.append(fact)
    if _WRITE & verbs and any(r.endswith("/finalizers") for r in named):
        facts.append("rbac-finalizers")
    return facts


def binding_facts(obj: Mapping[str, Any]) -> Iterator[Fact]:
    """What a RoleBinding or ClusterRoleBinding hands out, and to whom."""
    role = as_dict(obj.get("roleRef"))
    ref = f"{role.get('kind')}/{role.get('name')}"
    subjects = [as_dict(s) for s in as_list(obj.get("subjects"))]
    shown: list[JsonValue] = [
        {"kind": s.get("kind"), "name": s.get("name"), "namespace": s.get("namespace")}
        for s in subjects
    ]
    if role.get("name") == "cluster-admin":
        scope = "the whole cluster" if obj.get("kind") == "ClusterRoleBinding" else "its namespace"
        if role.get("kind") != "ClusterRole":
            scope = "whatever a Role named like cluster-admin grants"
        detail: JsonValue = {"roleRef": ref, "grants": scope, "subjects": shown}
        yield Fact("rbac-cluster-admin", detail, (("roleRef", "name"),))
    everyone = [
        i
        for i, s in enumerate(subjects)
        if str(s.get("name")).startswith(EVERYONE) or s.get("name") == ALL_SERVICE_ACCOUNTS
    ]
    if everyone:
        names: list[JsonValue] = [subjects[i].get("name") for i in everyone]
        yield Fact(
            "rbac-binds-everyone",
            {"roleRef": ref, "subjects": names},
            tuple(("subjects", i) for i in everyone),
        )
    defaults = [
        i
        for i, s in enumerate(subjects)
        if s.get("kind") == "ServiceAccount" and s.get("name") == "default"
    ]
    if defaults:
        own = as_dict(obj.get("metadata")).get("namespace") or DEFAULT_NAMESPACE
        accounts: list[JsonValue] = [
            f"{subjects[i].get('namespace') or own}/default" for i in defaults
        ]
        yield Fact(
            "rbac-binds-default-sa",
            {"roleRef": ref, "service_accounts": accounts},
            tuple(("subjects", i) for i in defaults),
        )
