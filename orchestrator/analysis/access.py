"""The typed result of the IAM and exposure analyser: what a change grants or exposes.

Every reader of a change's content (a plan's values, an HCL hunk of a diff)
speaks this one vocabulary, so the scope reviewer, SARIF and Markdown cite the
same classification, statement and line whatever the input was.

A `Fact` is something a resource's state grants or exposes (Action "*" on
Resource "*"; ingress from 0.0.0.0/0 on port 22). Comparing the facts of the
state before and after a change tells widening from narrowing: a fact only
after is a widening, a risky fact only before is a narrowing (good news, said
as such), a fact in both is left as it was and says nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import JsonValue

from orchestrator.models import Frozen, SourceLocation

Family = Literal["iam", "exposure"]
Direction = Literal["widens", "narrows", "changes"]


class AccessKind(StrEnum):
    """What a fact means; configs/reviewers/scope.yaml (`access_tiers`) gives each its tier."""

    ADMIN_EQUIVALENT = "admin-equivalent"
    PRIVILEGE_ESCALATION = "privilege-escalation"
    PUBLIC_PRINCIPAL = "public-principal"
    CONDITIONAL_PUBLIC_PRINCIPAL = "conditional-public-principal"
    CROSS_ACCOUNT_TRUST = "cross-account-trust"
    TRUST_CONDITION_CHANGE = "trust-condition-change"
    AUTHORITATIVE_BINDING = "authoritative-binding"
    PRIMITIVE_ROLE = "primitive-role"
    ADMIN_ROLE = "admin-role"
    WILDCARD_ACTION = "wildcard-action"
    WILDCARD_RESOURCE = "wildcard-resource"
    UNKNOWN_POLICY = "unknown-policy"
    IAM_CHANGE = "iam-change"
    WORLD_OPEN_ADMIN_PORT = "world-open-admin-port"
    WORLD_OPEN_ALL_PORTS = "world-open-all-ports"
    WORLD_OPEN_DATABASE_PORT = "world-open-database-port"
    WORLD_OPEN_PORT = "world-open-port"
    PUBLIC_ADDRESS = "public-address"
    PUBLIC_LOAD_BALANCER = "public-load-balancer"
    PUBLIC_ACCESS_BLOCK_OFF = "public-access-block-off"
    PUBLIC_ACL = "public-acl"
    EXPOSURE_CHANGE = "exposure-change"
    NARROWING = "narrowing"


# What each kind says, as a finding's message.
DESCRIPTIONS: dict[AccessKind, str] = {
    AccessKind.ADMIN_EQUIVALENT: "grants administrator-equivalent access",
    AccessKind.PRIVILEGE_ESCALATION: "grants actions that let the holder raise its own access",
    AccessKind.PUBLIC_PRINCIPAL: "grants access to anyone (a public principal)",
    AccessKind.CONDITIONAL_PUBLIC_PRINCIPAL: (
        "grants access to any principal, limited by a condition"
    ),
    AccessKind.CROSS_ACCOUNT_TRUST: "trusts a principal of another account",
    AccessKind.TRUST_CONDITION_CHANGE: "changes the conditions of a federated (OIDC) trust",
    AccessKind.AUTHORITATIVE_BINDING: "sets IAM authoritatively: every other member is removed",
    AccessKind.PRIMITIVE_ROLE: "grants a primitive or broad built-in role",
    AccessKind.ADMIN_ROLE: "grants an administrator role",
    AccessKind.WILDCARD_ACTION: "allows actions by wildcard",
    AccessKind.WILDCARD_RESOURCE: "allows actions on every resource",
    AccessKind.UNKNOWN_POLICY: "holds a policy that cannot be read before apply",
    AccessKind.IAM_CHANGE: "changes IAM",
    AccessKind.WORLD_OPEN_ADMIN_PORT: "opens an administrative port (SSH, RDP) to the internet",
    AccessKind.WORLD_OPEN_ALL_PORTS: "opens every port to the internet",
    AccessKind.WORLD_OPEN_DATABASE_PORT: "opens a database port to the internet",
    AccessKind.WORLD_OPEN_PORT: "opens a port to the internet",
    AccessKind.PUBLIC_ADDRESS: "gives a resource a public IP address",
    AccessKind.PUBLIC_LOAD_BALANCER: "creates or changes an internet-facing load balancer",
    AccessKind.PUBLIC_ACCESS_BLOCK_OFF: "turns an S3 public access block off",
    AccessKind.PUBLIC_ACL: "sets a public ACL",
    AccessKind.EXPOSURE_CHANGE: "changes network exposure",
    AccessKind.NARROWING: "narrows access (good news)",
}

# What to do about each kind: the fix SARIF's help and docs/rules.md show.
FIXES: dict[AccessKind, str] = {
    AccessKind.ADMIN_EQUIVALENT: "Grant the actions the workload uses on the resources it needs; "
    "keep administrator access to break-glass roles.",
    AccessKind.PRIVILEGE_ESCALATION: "Remove iam:PassRole/CreatePolicyVersion/Attach*-style "
    "actions, or scope them to named roles and policies with a condition.",
    AccessKind.PUBLIC_PRINCIPAL: "Name the principals (accounts, roles, services) instead of "
    "`*`; serve public content through a CDN with its own access identity.",
    AccessKind.CONDITIONAL_PUBLIC_PRINCIPAL: "Check that the condition (source account, VPC "
    "endpoint, organisation) really limits who can act; prefer naming the principals.",
    AccessKind.CROSS_ACCOUNT_TRUST: "Confirm the other account is yours or a vetted partner; add "
    "an `sts:ExternalId` or organisation condition.",
    AccessKind.TRUST_CONDITION_CHANGE: "Pin the federated subject (`sub`) to the repository, "
    "branch or environment that may assume the role, and the audience to the expected one.",
    AccessKind.AUTHORITATIVE_BINDING: "Use the additive `*_iam_member` resources, or list every "
    "member the policy or binding must keep.",
    AccessKind.PRIMITIVE_ROLE: "Grant a predefined or custom role with the permissions needed "
    "instead of owner, editor or contributor.",
    AccessKind.ADMIN_ROLE: "Grant a narrower role than the service's administrator role.",
    AccessKind.WILDCARD_ACTION: "List the actions used instead of a wildcard.",
    AccessKind.WILDCARD_RESOURCE: "Name the resources (ARNs) the actions apply to.",
    AccessKind.UNKNOWN_POLICY: "Make the policy known at plan time (a static document or a "
    "data source the plan reads), or review its source by hand.",
    AccessKind.IAM_CHANGE: "Check the change grants what the intent says and nothing more.",
    AccessKind.WORLD_OPEN_ADMIN_PORT: "Reach SSH and RDP through a bastion, VPN or session "
    "manager; allow the administrators' address ranges only.",
    AccessKind.WORLD_OPEN_ALL_PORTS: "Open only the ports the service listens on, to the ranges "
    "that need them.",
    AccessKind.WORLD_OPEN_DATABASE_PORT: "Keep databases on private addresses; allow the "
    "application's security group or subnets only.",
    AccessKind.WORLD_OPEN_PORT: "Confirm the port is meant to be public; otherwise allow the "
    "ranges that need it.",
    AccessKind.PUBLIC_ADDRESS: "Keep the resource private behind a load balancer or NAT unless "
    "it must be reached directly.",
    AccessKind.PUBLIC_LOAD_BALANCER: "Confirm the load balancer is meant to face the internet; "
    "use an internal one otherwise.",
    AccessKind.PUBLIC_ACCESS_BLOCK_OFF: "Keep the four public access block settings on; grant "
    "public reads through a CDN origin access identity instead.",
    AccessKind.PUBLIC_ACL: "Use a private ACL (or disable ACLs) and grant access by policy to "
    "named principals.",
    AccessKind.EXPOSURE_CHANGE: "Check what the changed rule lets in and from where.",
    AccessKind.NARROWING: "Nothing to fix: access is taken away. Check nothing still needs it.",
}


# Kinds whose disappearance is worth saying: removing them narrows access.
RISKY: frozenset[AccessKind] = frozenset(DESCRIPTIONS) - {
    AccessKind.IAM_CHANGE,
    AccessKind.EXPOSURE_CHANGE,
    AccessKind.NARROWING,
    AccessKind.UNKNOWN_POLICY,
    AccessKind.TRUST_CONDITION_CHANGE,
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing a resource's state grants or exposes, before it is compared."""

    kind: AccessKind
    where: str  # the statement or block: 'policy Statement[0] (Sid "All")', 'ingress[1]'
    detail: str  # what it says: 'Allow Action "*" on Resource "*"'
    line: int | None = None
    # What makes it the same fact before and after, when not its whole detail (a statement
    # on every resource stays that when its action list grows).
    identity: str | None = None

    @property
    def key(self) -> tuple[AccessKind, str]:
        """Identity across before and after: the same grant moved in its list is no change."""
        return self.kind, self.identity if self.identity is not None else self.detail


class AccessFinding(Frozen):
    """One classified thing a change grants, exposes or takes away, and where it is written."""

    kind: AccessKind
    family: Family
    direction: Direction
    address: str
    where: str
    detail: str
    location: SourceLocation | None = None

    def evidence(self) -> dict[str, JsonValue]:
        """The finding as a finding's evidence entry."""
        shown: dict[str, JsonValue] = {
            "direction": self.direction,
            "where": self.where,
            "detail": self.detail,
        }
        if self.location is not None and self.location.line is not None:
            shown["line"] = self.location.line
        return shown


def compare(
    before: list[Fact],
    after: list[Fact],
    *,
    address: str,
    family: Family,
    path: str | None = None,
) -> list[AccessFinding]:
    """Widenings (facts only after) and narrowings (risky facts only before) of one resource."""
    seen = {f.key for f in before}
    kept = {f.key for f in after}
    context = (address, family, path)
    found: list[AccessFinding] = []
    for fact in after:
        if fact.key in seen and fact.kind is not AccessKind.UNKNOWN_POLICY:
            continue
        found.append(_from_fact(fact, fact.kind, "widens", fact.detail, context))
    for fact in before:
        if fact.key in kept or fact.kind not in RISKY:
            continue
        detail = f"removes {fact.kind.value}: {fact.detail}"
        found.append(_from_fact(fact, AccessKind.NARROWING, "narrows", detail, context))
    return _unique(found)


def finding(
    kind: AccessKind,
    *,
    address: str,
    family: Family,
    where: str,
    detail: str,
    direction: Direction = "changes",
    path: str | None = None,
    line: int | None = None,
) -> AccessFinding:
    """A finding not drawn from a comparison (a trust condition change, a generic change)."""
    return AccessFinding(
        kind=kind,
        family=family,
        direction=direction,
        address=address,
        where=where,
        detail=detail,
        location=_location(path, line),
    )


def _from_fact(
    fact: Fact, kind: AccessKind, direction: Direction, detail: str, context: _Context
) -> AccessFinding:
    address, family, path = context
    return AccessFinding(
        kind=kind,
        family=family,
        direction=direction,
        address=address,
        where=fact.where,
        detail=detail,
        location=_location(path, fact.line),
    )


_Context = tuple[str, Family, str | None]  # address, family, path


def _location(path: str | None, line: int | None) -> SourceLocation | None:
    if path is None and line is None:
        return None
    return SourceLocation(path=path, line=line)


def _unique(found: list[AccessFinding]) -> list[AccessFinding]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for item in found:
        key = (item.kind.value, item.where, item.detail)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
