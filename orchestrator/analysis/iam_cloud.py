"""GCP IAM members, bindings and policies, and Azure role assignments and definitions.

GCP: `google_<level>_iam_member|binding|policy` grant a role to members at
a level (organization, folder, project, billing account, or one resource).
`roles/owner` is admin-equivalent; `roles/editor` and `roles/viewer` are
primitive roles; roles that administer IAM or mint service-account
credentials let the holder raise its own access; any other `*.admin` role is
an administrator role; `allUsers` and `allAuthenticatedUsers` are public.
`_binding` and `_policy` are authoritative: they remove every member they do
not list, which at organization, folder or project level can lock out
everyone else.

Azure: `azurerm_role_assignment` grants a role at a scope (management group,
subscription, resource group, resource). Owner at a subscription or above is
admin-equivalent, User Access Administrator and Role Based Access Control
Administrator raise access, Contributor is a broad built-in role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

from orchestrator.analysis.access import AccessKind, Fact
from orchestrator.analysis.iam_aws import SHARED_ISSUERS
from orchestrator.analysis.values import dicts, listed, strings

PUBLIC_MEMBERS: Final = frozenset({"allusers", "allauthenticatedusers"})
PRIMITIVE_ROLES: Final = frozenset({"roles/editor", "roles/viewer", "roles/browser"})
GCP_ESCALATION_ROLES: Final = frozenset(
    {
        "roles/iam.securityadmin",
        "roles/iam.roleadmin",
        "roles/iam.organizationroleadmin",
        "roles/iam.serviceaccountadmin",
        "roles/iam.serviceaccountkeyadmin",
        "roles/iam.serviceaccounttokencreator",
        "roles/iam.serviceaccountuser",
        "roles/iam.workloadidentitypooladmin",
        "roles/resourcemanager.organizationadmin",
        "roles/resourcemanager.folderadmin",
        "roles/resourcemanager.folderiamadmin",
        "roles/resourcemanager.projectiamadmin",
    }
)
# Custom-role permissions that set IAM or act as another identity.
_ESCALATION_PERMISSION: Final = re.compile(
    r"(?i)(?:\.setiampolicy$|^iam\.serviceaccounts\.(?:actas|getaccesstoken|signblob|signjwt|"
    r"implicitdelegation)$|^iam\.serviceaccountkeys\.create$|^iam\.roles\.(?:create|update)$)"
)
_ANY_SUBJECT: Final = re.compile(r"""==\s*['"](?:\*|repo:\*)['"]""")
HIGH_LEVELS: Final = ("organization", "folder", "project", "billing_account")
_GCP_TYPE: Final = re.compile(r"^google_(\w+?)_iam_(member|binding|policy)$")

AZURE_ROLES: Final = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "user access administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "role based access control administrator",
}
_AZURE_ESCALATION: Final = frozenset(
    {"user access administrator", "role based access control administrator"}
)


def gcp_level(resource_type: str) -> str | None:
    """The level a google IAM type grants at (`project`, `storage_bucket`, …); None if not one."""
    match = _GCP_TYPE.match(resource_type)
    return match[1] if match else None


def is_authoritative(resource_type: str) -> bool:
    """Whether a google IAM type replaces every member it does not list."""
    match = _GCP_TYPE.match(resource_type)
    return match is not None and match[2] in ("binding", "policy")


def gcp_facts(resource_type: str, values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """The grants of one google IAM member, binding or policy state."""
    level = gcp_level(resource_type) or "resource"
    bindings: list[tuple[str, tuple[str, ...], str]] = []
    if resource_type.endswith("_iam_policy"):
        for index, (name, granted) in enumerate(policy_bindings(values.get("policy_data"))):
            bindings.append((name, granted, f"policy_data bindings[{index}]"))
    else:
        members = strings(values.get("members")) or strings(values.get("member"))
        role = values.get("role")
        if isinstance(role, str):
            bindings.append((role, members, "role"))
    facts: list[Fact] = []
    for role, members, where in bindings:
        facts.extend(_role_facts(role, members, level, where, line))
    return facts


def document_facts(values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """The grants of a `google_iam_policy` data source's `binding` blocks."""
    facts: list[Fact] = []
    for index, (role, members) in enumerate(policy_bindings(values)):
        facts.extend(_role_facts(role, members, "policy document", f"binding[{index}]", line))
    return facts


def policy_bindings(policy_data: object) -> list[tuple[str, tuple[str, ...]]]:
    """(role, members) of a `google_iam_policy` document given as JSON or an object."""
    doc: Any = policy_data
    if isinstance(policy_data, str):
        try:
            doc = json.loads(policy_data)
        except json.JSONDecodeError:
            return []
    raw = doc.get("bindings") or doc.get("binding") if isinstance(doc, dict) else None
    found = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("role"), str):
            found.append((item["role"], strings(item.get("members"))))
    return found


def custom_role_facts(values: dict[str, Any], where: str, line: int | None = None) -> list[Fact]:
    """A GCP custom role whose permissions set IAM or act as another identity."""
    risky = [p for p in strings(values.get("permissions")) if _ESCALATION_PERMISSION.search(p)]
    if not risky:
        return []
    return [Fact(AccessKind.PRIVILEGE_ESCALATION, where, f"permissions {listed(risky)}", line)]


def workload_identity_facts(values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """A GCP workload identity provider trusting a shared OIDC issuer for every subject.

    Without an `attribute_condition` (or with one matching any subject), any
    repository or workload that issuer signs tokens for can federate in.
    """
    issuers = [*strings(values.get("issuer_uri"))]
    for oidc in dicts(values.get("oidc")):
        issuers.extend(strings(oidc.get("issuer_uri")))
    shared = [i for i in issuers if any(host in i for host in SHARED_ISSUERS)]
    if not shared:
        return []
    condition = str(values.get("attribute_condition") or "").strip()
    if condition and not _ANY_SUBJECT.search(condition):
        return []
    why = (
        f"attribute_condition {condition!r} matches every subject"
        if condition
        else ("no attribute_condition")
    )
    detail = f"trusts {shared[0]} with {why}: any workload that issuer signs for may federate in"
    return [Fact(AccessKind.PUBLIC_PRINCIPAL, "attribute_condition", detail, line)]


def azure_assignment_facts(values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """An Azure role assignment of a powerful role, by the breadth of its scope."""
    name = str(values.get("role_definition_name") or "").strip().lower()
    role_id = str(values.get("role_definition_id") or "").rsplit("/", 1)[-1].lower()
    role = name or AZURE_ROLES.get(role_id, "")
    if not role:
        return []
    scope = values.get("scope")
    level = azure_scope_level(scope if isinstance(scope, str) else None)
    broad = level in ("tenant root", "management group", "subscription")
    shown = f'role "{role.title()}" at {level} scope' + (
        f" {scope}" if isinstance(scope, str) else ""
    )
    if role == "owner":
        kind = AccessKind.ADMIN_EQUIVALENT if broad else AccessKind.ADMIN_ROLE
    elif role in _AZURE_ESCALATION:
        kind = AccessKind.PRIVILEGE_ESCALATION
    elif role == "contributor" or role.endswith(("administrator", "admin")):
        kind = AccessKind.PRIMITIVE_ROLE if role == "contributor" else AccessKind.ADMIN_ROLE
    else:
        return []
    return [Fact(kind, "role_definition", shown, line)]


def azure_definition_facts(values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """An Azure custom role definition allowing every action, or role assignments."""
    facts = []
    for index, block in enumerate(dicts(values.get("permissions"))):
        actions = strings(block.get("actions"))
        where = f"permissions[{index}]"
        if "*" in actions:
            facts.append(
                Fact(AccessKind.ADMIN_EQUIVALENT, where, f"actions {listed(actions)}", line)
            )
        elif any(a.lower().startswith("microsoft.authorization/") for a in actions):
            facts.append(
                Fact(AccessKind.PRIVILEGE_ESCALATION, where, f"actions {listed(actions)}", line)
            )
    return facts


def azure_scope_level(scope: str | None) -> str:
    """How much an Azure scope covers: tenant root, management group, subscription, …."""
    if scope is None:
        return "unknown (known after apply)"
    parts = [p.lower() for p in scope.strip("/").split("/") if p]
    if not parts:
        return "tenant root"
    if "managementgroups" in parts:
        return "management group"
    if parts[0] == "subscriptions":
        if len(parts) <= 2:
            return "subscription"
        if len(parts) <= 4 and parts[2] == "resourcegroups":
            return "resource group"
        return "resource"
    return "resource"


def _role_facts(
    role: str, members: tuple[str, ...], level: str, where: str, line: int | None
) -> Iterator[Fact]:
    lowered = role.lower()
    to = f" to {listed(members)}" if members else ""
    at = f" on the {level}" if level in HIGH_LEVELS else f" on one {level}"
    detail = f"{role}{to}{at}"
    public = [m for m in members if m.lower() in PUBLIC_MEMBERS]
    if public:
        yield Fact(AccessKind.PUBLIC_PRINCIPAL, where, f"{role} to {listed(public)}{at}", line)
    if lowered == "roles/owner":
        yield Fact(AccessKind.ADMIN_EQUIVALENT, where, detail, line)
    elif lowered in PRIMITIVE_ROLES:
        yield Fact(AccessKind.PRIMITIVE_ROLE, where, detail, line)
    elif lowered in GCP_ESCALATION_ROLES:
        yield Fact(AccessKind.PRIVILEGE_ESCALATION, where, detail, line)
    elif lowered.endswith((".admin", "admin")) and lowered.startswith("roles/"):
        yield Fact(AccessKind.ADMIN_ROLE, where, detail, line)
