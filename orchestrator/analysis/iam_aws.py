"""AWS policy documents: read every statement and say what it grants.

A document arrives as a plan writes it (a JSON string in `policy`,
`assume_role_policy`, `inline_policy[].policy`; the `statement` blocks of an
`aws_iam_policy_document` data source) or as HCL writes it (`jsonencode({...})`,
a heredoc, a `statement {}` block). All become `Statement`s, which are
classified into facts:

* admin-equivalent: Allow `*` (or NotAction) on every resource;
* privilege-escalation: actions that let the holder raise its own access
  (`iam:CreatePolicyVersion`, `iam:Attach*Policy`, `iam:PassRole` on `*`, …),
  matched through wildcards (`iam:*`, `iam:Put*`, `${svc}:*`);
* public-principal: Allow to `*` or `AWS: "*"` without a condition, and a
  federated (OIDC) trust of a shared issuer without a `sub` condition;
* cross-account-trust: an AWS account or role principal;
* wildcard-action / wildcard-resource: `s3:*`, `s3:Get*`, `${var}:BatchGet*`, `Resource: "*"`.

`trust_changes` compares the OIDC conditions (`sub`, `aud`, `iss`) of a trust
policy before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from orchestrator.analysis.access import AccessKind, Fact
from orchestrator.analysis.values import UNKNOWN, as_int, dicts, listed, strings

# Actions that let whoever holds them raise their own access (after Rhino Security
# Labs' list of IAM escalation paths, as Cloudsplaining and Parliament also use it).
ESCALATION_ACTIONS: Final = (
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:attachuserpolicy",
    "iam:attachgrouppolicy",
    "iam:attachrolepolicy",
    "iam:putuserpolicy",
    "iam:putgrouppolicy",
    "iam:putrolepolicy",
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:addusertogroup",
    "iam:updateassumerolepolicy",
    "iam:putuserpermissionsboundary",
    "iam:putrolepermissionsboundary",
    "iam:deleterolepermissionsboundary",
    "iam:deleteuserpermissionsboundary",
)
# Escalations only with every resource: passing or assuming any role at all.
ESCALATION_ON_ANY: Final = ("iam:passrole", "sts:assumerole")
# Condition keys that tie a `*` principal to something specific.
_LIMITING_KEYS: Final = (
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:resourceorgid",
    "aws:userid",
)
# OIDC issuers many tenants share: trusting one without a `sub` condition trusts all of them.
SHARED_ISSUERS: Final = (
    "token.actions.githubusercontent.com",
    "app.terraform.io",
    "gitlab.com",
    "accounts.google.com",
    "oidc.circleci.com",
    "api.bitbucket.org",
    "vstoken.actions.githubusercontent.com",
)
_TRUST_CLAIMS: Final = ("sub", "aud", "iss", "amr", "job_workflow_ref", "repository")
_INTERPOLATION: Final = re.compile(r"\$\{[^}]*\}")
_REFERENCE: Final = re.compile(r"\$\{[^{}]*\}")
_ACCOUNT: Final = re.compile(r"^(?:\d{12}|arn:aws[\w-]*:iam::(\d{12}|\*):.*)$")
# Managed policies whose name says what they grant.
MANAGED_POLICIES: Final = {
    "AdministratorAccess": AccessKind.ADMIN_EQUIVALENT,
    "IAMFullAccess": AccessKind.PRIVILEGE_ESCALATION,
    "PowerUserAccess": AccessKind.ADMIN_ROLE,
}


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, normalised from any of the shapes a policy is written in."""

    index: int
    sid: str
    allow: bool
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...] | None  # None: not given (a trust policy) or unknown
    not_resources: bool
    principals: tuple[tuple[str, str], ...]  # (type, identifier); ("*", "*") for "*"
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)
    line: int | None = None

    @property
    def where(self) -> str:
        """The statement as a person finds it in the document."""
        return f"Statement[{self.index}]" + (f' (Sid "{self.sid}")' if self.sid else "")


class Unreadable(ValueError):
    """A policy that is present but not a document (not JSON, not an object)."""


def read_document(value: object, *, line: int | None = None) -> list[Statement] | None:
    """The statements of a policy given as a JSON string or an object; None when there is none.

    Raises `Unreadable` for a value that should be a policy and is not one.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str) and _REFERENCE.fullmatch(value.strip()):
        # `data.aws_iam_policy_document.x.json` in HCL: the document is read where it is written
        return None
    doc: Any = value
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            raise Unreadable(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise Unreadable("not a JSON object")
    raw = _get(doc, "statement")
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    return [
        _json_statement(i, item, line) for i, item in enumerate(items) if isinstance(item, dict)
    ]


def read_statement_blocks(blocks: object, *, line: int | None = None) -> list[Statement]:
    """Statements of an `aws_iam_policy_document` (its `statement` blocks, plan or HCL)."""
    found = []
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        if not isinstance(block, dict):
            continue
        principals = _block_principals(block.get("principals"))
        conditions = tuple(
            (
                str(c.get("test") or ""),
                str(c.get("variable") or "").lower(),
                strings(c.get("values")),
            )
            for c in dicts(block.get("condition"))
        )
        not_actions = strings(block.get("not_actions"))
        not_resources = strings(block.get("not_resources"))
        resources = block.get("resources")
        found.append(
            Statement(
                index=index,
                sid=str(block.get("sid") or ""),
                allow=str(block.get("effect") or "Allow").lower() != "deny",
                actions=not_actions or strings(block.get("actions")),
                not_actions=bool(not_actions),
                resources=not_resources
                or (None if resources is None else strings(resources, unknown=True)),
                not_resources=bool(not_resources),
                principals=principals,
                conditions=conditions,
                line=as_int(block.get("__line__")) or line,
            )
        )
    return found


def statement_facts(statements: Iterable[Statement], *, label: str) -> list[Fact]:
    """What each Allow statement grants, as facts named `label Statement[i]`."""
    facts: list[Fact] = []
    for st in statements:
        if st.allow:
            facts.extend(_facts(st, f"{label} {st.where}"))
    return facts


def managed_policy_facts(arns: Iterable[str], *, where: str, line: int | None = None) -> list[Fact]:
    """Facts of attaching AWS managed policies by ARN (AdministratorAccess, IAMFullAccess, …)."""
    facts = []
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        kind = MANAGED_POLICIES.get(name)
        if kind is None and name.endswith("FullAccess") and ":aws:policy/" in arn:
            kind = AccessKind.WILDCARD_ACTION
        if kind is not None:
            facts.append(Fact(kind, where, f"attaches the managed policy {arn}", line))
    return facts


def trust_claims(statements: Iterable[Statement]) -> dict[str, tuple[str, ...]]:
    """The OIDC claim conditions of Allow statements: `<issuer host>:<claim>` -> values.

    An issuer's keys are named by its host (`token.actions.githubusercontent.com:sub`),
    which AWS's own keys (`aws:SourceArn`, `s3:prefix`) never are.
    """
    claims: dict[str, set[str]] = {}
    for st in statements:
        if not st.allow:
            continue
        for _, key, values in st.conditions:
            issuer, _, claim = key.rpartition(":")
            if claim in _TRUST_CLAIMS and "." in issuer:
                claims.setdefault(key, set()).update(values)
    return {k: tuple(sorted(v)) for k, v in sorted(claims.items())}


def trust_changes(
    before: dict[str, tuple[str, ...]], after: dict[str, tuple[str, ...]]
) -> Iterator[str]:
    """One sentence per OIDC claim condition that differs between before and after."""
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if new is None:
            yield f"removes the {key} condition (was {listed(old or ())})"
        elif old is None:
            yield f"adds the {key} condition {listed(new)}"
        else:
            wider = sum(v.count("*") for v in new) > sum(v.count("*") for v in old)
            verb = "widens" if wider or len(new) > len(old) else "changes"
            yield f"{verb} the {key} condition from {listed(old)} to {listed(new)}"


def _facts(st: Statement, where: str) -> Iterator[Fact]:
    line = st.line
    # `${var.svc}:*` is every action of some service, not every action
    every_action = st.not_actions or any(a.strip() in ("*", "*:*") for a in st.actions)
    resources = st.resources
    every_resource = resources is None or st.not_resources or "*" in resources
    principal_text = _principal_text(st.principals)
    on = (
        "on every resource but " + listed(resources or ())
        if st.not_resources
        else f"on Resource {listed(resources)}"
        if resources
        else ""
    )
    what = ("NotAction " if st.not_actions else "Action ") + listed(st.actions)
    grant = " ".join(p for p in ("Allow", principal_text, what, on) if p)
    if st.principals:
        yield from _principal_facts(st, where, grant)
    if every_action and every_resource and not st.principals:
        yield Fact(AccessKind.ADMIN_EQUIVALENT, where, grant, line)
        return
    any_resource = resources is not None and "*" in resources
    # IAM actions act on IAM resources: `*` on one bucket cannot create a policy version
    iam_resource = any_resource or any(
        r.startswith("arn:aws:iam::") or "${" in r or r == UNKNOWN for r in resources or ()
    )
    escalations = sorted(
        {
            e
            for e in ESCALATION_ACTIONS + (ESCALATION_ON_ANY if any_resource else ())
            if any(_covers(a, e) for a in st.actions)
        }
    )
    if escalations and iam_resource and not st.not_actions and not st.principals:
        shown = ", ".join(escalations[:6]) + (" …" if len(escalations) > 6 else "")
        identity = "escalates: " + ",".join(escalations)
        yield Fact(
            AccessKind.PRIVILEGE_ESCALATION, where, f"{grant}: includes {shown}", line, identity
        )
    if not (every_action and every_resource):
        for action in st.actions:
            if "*" in action or "?" in action or _INTERPOLATION.search(action):
                yield Fact(AccessKind.WILDCARD_ACTION, where, f'Allow Action "{action}"', line)
    if resources is not None and "*" in resources and not st.principals:
        detail = f'Allow {what} on Resource "*"'
        yield Fact(AccessKind.WILDCARD_RESOURCE, where, detail, line, f"{where} on every resource")


def _principal_facts(st: Statement, where: str, grant: str) -> Iterator[Fact]:
    limited = [k for _, k, _ in st.conditions if k in _LIMITING_KEYS]
    for ptype, ident in st.principals:
        if ident == "*" and ptype in ("*", "aws", "canonicaluser"):
            if limited:
                detail = f"{grant}, limited by {', '.join(sorted(set(limited)))}"
                yield Fact(AccessKind.CONDITIONAL_PUBLIC_PRINCIPAL, where, detail, st.line)
            else:
                yield Fact(AccessKind.PUBLIC_PRINCIPAL, where, grant, st.line)
        elif ptype == "aws" and _ACCOUNT.match(ident):
            yield Fact(
                AccessKind.CROSS_ACCOUNT_TRUST,
                where,
                f"{grant} (account principal {ident}: another account unless it is this one)",
                st.line,
            )
        elif ptype == "federated":
            yield from _federated_facts(st, ident, where, grant)


def _federated_facts(st: Statement, issuer: str, where: str, grant: str) -> Iterator[Fact]:
    host = issuer.rsplit("oidc-provider/", 1)[-1].lower()
    subs = [v for _, k, vals in st.conditions if k == f"{host}:sub" for v in vals]
    if not any(host.startswith(shared) for shared in SHARED_ISSUERS):
        return
    if not subs:
        yield Fact(
            AccessKind.PUBLIC_PRINCIPAL,
            where,
            f"{grant} with no {host}:sub condition: "
            "any workload that issuer signs for may assume it",
            st.line,
        )
    elif any(v.strip("*:") in ("", "repo") for v in subs):
        yield Fact(
            AccessKind.PUBLIC_PRINCIPAL,
            where,
            f"{grant} with {host}:sub {listed(subs)}: matches every subject",
            st.line,
        )


def _json_statement(index: int, item: dict[str, Any], line: int | None) -> Statement:
    not_actions = strings(_get(item, "notaction"))
    not_resources = strings(_get(item, "notresource"))
    resource = _get(item, "resource")
    principal = _get(item, "principal")
    not_principal = _get(item, "notprincipal")
    principals = _json_principals(principal)
    if not_principal is not None:
        # Allow to everyone but these principals is a grant to everyone else.
        principals = (*principals, ("*", "*"))
    conditions: list[tuple[str, str, tuple[str, ...]]] = []
    raw_conditions = _get(item, "condition")
    for operator, pairs in (raw_conditions if isinstance(raw_conditions, dict) else {}).items():
        for key, values in (pairs if isinstance(pairs, dict) else {}).items():
            conditions.append((str(operator), str(key).lower(), strings(values)))
    return Statement(
        index=index,
        sid=str(_get(item, "sid") or ""),
        allow=str(_get(item, "effect") or "Allow").lower() != "deny",
        actions=not_actions or strings(_get(item, "action")),
        not_actions=bool(not_actions),
        resources=not_resources or (None if resource is None else strings(resource, unknown=True)),
        not_resources=bool(not_resources),
        principals=principals,
        conditions=tuple(conditions),
        line=as_int(item.get("__line__")) or line,
    )


def _json_principals(principal: object) -> tuple[tuple[str, str], ...]:
    if principal is None:
        return ()
    if isinstance(principal, str):
        return (("*", principal),) if principal == "*" else (("aws", principal),)
    found: list[tuple[str, str]] = []
    for ptype, idents in (principal if isinstance(principal, dict) else {}).items():
        found.extend((str(ptype).lower(), i) for i in strings(idents))
    return tuple(found)


def _block_principals(blocks: object) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for block in dicts(blocks):
        ptype = str(block.get("type") or "").lower()
        found.extend((ptype, i) for i in strings(block.get("identifiers")))
    return tuple(found)


def _principal_text(principals: tuple[tuple[str, str], ...]) -> str:
    if not principals:
        return ""
    shown = [i if t == "*" else f"{t}:{i}" for t, i in principals[:3]]
    return "to " + ", ".join(shown) + (" …" if len(principals) > 3 else "")


def _covers(pattern: str, action: str) -> bool:
    """Whether an action pattern (wildcards, `${…}` as anything) grants `action`."""
    return fnmatchcase(action, _bare(pattern).lower())


def _bare(action: str) -> str:
    return _INTERPOLATION.sub("*", action.strip())


def _get(doc: dict[str, Any], key: str) -> Any:
    """A policy key, case-insensitively (`Statement`, `statement`)."""
    if key in doc:
        return doc[key]
    for name, value in doc.items():
        if isinstance(name, str) and name.lower() == key:
            return value
    return None
