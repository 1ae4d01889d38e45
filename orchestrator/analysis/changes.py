"""What each change of a proposal grants, exposes or takes away: one analyser for every input.

`analyse_proposal` reads the changes of a Terraform plan (their `before` and
`after`); the git-diff adapter reads HCL into the same states
(`orchestrator/analysis/hcl.py`) and calls `analyse_states`. Either way the
facts of the state before and after are compared (`access.compare`), so a
widened grant, a narrowed one and an unchanged one are told apart.

A policy known only after apply (`after_unknown`) is looked up in the
`aws_iam_policy_document` or `google_iam_policy` data sources the plan reads
for it (a `read` change related to it by the configuration); when there is
none, the change holds an unknown policy, which is said, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrator.analysis import iam_aws, iam_cloud
from orchestrator.analysis.access import (
    AccessFinding,
    AccessKind,
    Fact,
    Family,
    compare,
    finding,
)
from orchestrator.analysis.exposure import removed_block_facts
from orchestrator.analysis.plan_documents import referenced_documents
from orchestrator.analysis.resources import (
    DOCUMENT_TYPES,
    TRUST_ATTRIBUTE,
    Reader,
    reader_for,
)
from orchestrator.models import Action, Proposal, ResourceChange

_GENERIC: dict[Family, AccessKind] = {
    "iam": AccessKind.IAM_CHANGE,
    "exposure": AccessKind.EXPOSURE_CHANGE,
}


def analyse_proposal(proposal: Proposal) -> list[AccessFinding]:
    """Every access finding of a plan's effective changes, in change order."""
    documents: dict[str, list[Fact]] | None = None
    found: list[AccessFinding] = []
    for change in proposal.changes:
        if change.is_inert or change.mode != "managed":
            continue
        reader = reader_for(change.type)
        if reader is None:
            continue
        unknown = _unknown_policies(change, reader)
        extra: list[Fact] = []
        if unknown:
            if documents is None:
                documents = _plan_documents(proposal)
            extra = _documents_for(change.address, unknown, proposal, documents, reader.generic)
        found.extend(
            analyse_states(
                change.address,
                change.type,
                change.action,
                change.before if isinstance(change.before, dict) else None,
                change.after if isinstance(change.after, dict) else None,
                reader=reader,
                after_extra=extra,
            )
        )
    return found


def analyse_states(
    address: str,
    resource_type: str,
    action: Action,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    reader: Reader | None = None,
    after_extra: Iterable[Fact] = (),
    path: str | None = None,
    line: int | None = None,
) -> list[AccessFinding]:
    """Findings of one resource going from `before` to `after` (None: it does not exist)."""
    reader = reader or reader_for(resource_type)
    if reader is None:
        return []
    family = reader.family
    old = reader.facts(before, line) if before is not None else []
    if after is not None:
        new = reader.facts(after, line)
    else:
        new = removed_block_facts(resource_type) if action == Action.DELETE else []
    new.extend(after_extra)
    found = compare(old, new, address=address, family=family, path=path)
    if (
        reader.statements is not None
        and before is not None
        and after is not None
        and _policies_differ(reader, before, after)
    ):
        found.extend(
            _trust_findings(address, reader, before=before, after=after, path=path, line=line)
        )
    if action != Action.DELETE and iam_cloud.is_authoritative(resource_type):
        level = iam_cloud.gcp_level(resource_type)
        if level in iam_cloud.HIGH_LEVELS:
            found.append(
                finding(
                    AccessKind.AUTHORITATIVE_BINDING,
                    address=address,
                    family="iam",
                    where=resource_type,
                    detail=f"{resource_type} replaces every member it does not list on the {level}",
                    path=path,
                    line=line,
                )
            )
    if reader.generic or found or _differs(reader, before, after):
        verb = {Action.CREATE: "creates", Action.DELETE: "deletes"}.get(action, "changes")
        found.append(
            finding(
                _GENERIC[family],
                address=address,
                family=family,
                where=resource_type,
                detail=f"{verb} {resource_type}",
                path=path,
                line=line,
            )
        )
    return found


def _policies_differ(reader: Reader, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether any policy a resource holds differs (only then can a trust condition change)."""
    keys = (*reader.policy_attributes, "inline_policy", "statement")
    return any(before.get(k) != after.get(k) for k in keys)


def _differs(reader: Reader, before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Whether a non-generic type's policy attributes differ (a bucket whose policy changes)."""
    if before is None or after is None:
        return False
    return any(before.get(a) != after.get(a) for a in reader.policy_attributes)


def _trust_findings(
    address: str,
    reader: Reader,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    path: str | None,
    line: int | None,
) -> list[AccessFinding]:
    """A changed OIDC claim condition (sub, aud, iss) of any policy the resource holds."""
    assert reader.statements is not None
    old = reader.statements(before)
    new = reader.statements(after)
    claims = iam_aws.trust_claims
    return [
        finding(
            AccessKind.TRUST_CONDITION_CHANGE,
            address=address,
            family="iam",
            where=TRUST_ATTRIBUTE if TRUST_ATTRIBUTE in after else "condition",
            detail=sentence,
            path=path,
            line=line,
        )
        for sentence in iam_aws.trust_changes(claims(old), claims(new))
    ]


def _unknown_policies(change: ResourceChange, reader: Reader) -> list[str]:
    """The policy attributes of a change Terraform knows only after apply."""
    if not change.unknown_after or not reader.policy_attributes:
        return []
    unknown = set(change.unknown_after)
    return [a for a in reader.policy_attributes if a in unknown]


def _plan_documents(proposal: Proposal) -> dict[str, list[Fact]]:
    """Facts of every policy document data source the plan reads, by address."""
    documents: dict[str, list[Fact]] = {}
    for change in proposal.changes:
        if (
            change.mode == "data"
            and change.type in DOCUMENT_TYPES
            and isinstance(change.after, dict)
        ):
            reader = reader_for(change.type)
            if reader is not None:
                label = f"{change.address}: "
                documents[change.address] = [
                    Fact(f.kind, label + f.where, f.detail, f.line)
                    for f in reader.facts(change.after, None)
                ]
    return documents


def _documents_for(
    address: str,
    attributes: list[str],
    proposal: Proposal,
    documents: dict[str, list[Fact]],
    generic: bool,
) -> list[Fact]:
    """The facts of the documents a change's unknown policy is built from, or an unknown fact.

    A bucket, queue or key computes its `policy` when none is configured, so an
    unknown one there is only worth saying when a document explains it.
    """
    sources = sorted(
        r.source for r in proposal.relations if r.target == address and r.source in documents
    )
    if sources:
        return [fact for source in sources for fact in documents[source]]
    document = reader_for("aws_iam_policy_document")
    assert document is not None
    read = [
        Fact(f.kind, f"{attribute} from the prior state's document: {f.where}", f.detail, f.line)
        for attribute in attributes
        for values in referenced_documents(proposal.raw, address, attribute)
        for f in document.facts(values, None)
    ]
    if read or not generic:
        return read
    shown = ", ".join(attributes)
    return [
        Fact(
            AccessKind.UNKNOWN_POLICY,
            shown,
            f"{shown} known only after apply, and no policy document the plan reads explains it",
        )
    ]
