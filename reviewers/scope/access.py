"""Scope findings from what a change grants and exposes (orchestrator/analysis).

A Terraform plan is analysed here; a diff's files carry what its adapter's
HCL reading found (`after["access"]`). Each kind of access finding becomes
one scope finding, `scope.iam.<kind>` or `scope.exposure.<kind>`, at the tier
`access_tiers` gives it in every environment: the seed matrix puts IAM and
network changes at high or more wherever they go, so these tiers are never
stepped down. A narrowing is said as good news at its own (low) tier.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import JsonValue, ValidationError

from orchestrator.analysis.access import DESCRIPTIONS, AccessFinding, AccessKind
from orchestrator.analysis.changes import analyse_proposal
from orchestrator.models import Finding, Proposal, RiskTier, SourceLocation
from reviewers.scope.rules import ScopeSettings
from reviewers.shared import capped

_DETAILS_CAP = 50
_LOCATIONS_CAP = 50


def access_findings(proposal: Proposal, settings: ScopeSettings) -> list[Finding]:
    """One finding per kind of access finding with a tier in `access_tiers`."""
    if not settings.access_tiers:
        return []
    grouped: dict[tuple[str, AccessKind], list[AccessFinding]] = {}
    for item in _analysed(proposal):
        if item.kind in settings.access_tiers:
            grouped.setdefault((item.family, item.kind), []).append(item)
    # sorted: the verdict must not depend on the order of the changes
    return [
        _finding(kind, sorted(items, key=_order), settings.access_tiers[kind], proposal)
        for (_, kind), items in sorted(grouped.items())
    ]


def _order(item: AccessFinding) -> tuple[str, str, str, str]:
    return item.address, item.where, item.detail, item.direction


def diff_access(proposal: Proposal) -> Iterable[AccessFinding]:
    """The access findings a diff's adapter recorded in each file's summary."""
    for change in proposal.effective_changes:
        summary = change.after
        found = summary.get("access") if isinstance(summary, dict) else None
        for item in found if isinstance(found, list) else ():
            try:
                yield AccessFinding.model_validate(item)
            except ValidationError:
                # Recorded by an older adapter or edited by hand: the signals still stand.
                continue


def _analysed(proposal: Proposal) -> Iterable[AccessFinding]:
    if proposal.kind == "terraform":
        return analyse_proposal(proposal)
    if proposal.kind == "diff":
        return diff_access(proposal)
    return ()


def _finding(
    kind: AccessKind, items: list[AccessFinding], tier: RiskTier, proposal: Proposal
) -> Finding:
    details: dict[str, list[JsonValue]] = {}
    for item in items:
        details.setdefault(item.address, []).append(item.evidence())
    resources, total = capped(details)
    family = items[0].family
    first = items[0]
    count = f"{total} {_noun(proposal)}{'s' * (total != 1)}"
    if kind is AccessKind.NARROWING:
        head = f"{count} narrow{'s' * (total == 1)} access (good news)"
    else:
        head = f"{count} {_verb(DESCRIPTIONS[kind], total)}"
    evidence: dict[str, JsonValue] = {
        "kind": kind.value,
        "family": family,
        "resource_count": total,
        "details": {a: details[a] for a in resources[:_DETAILS_CAP]},
        "environment": proposal.environment.value,
        "source": proposal.source.value,
        "tier_in_every_environment": tier.value,
    }
    return Finding(
        rule=f"scope.{family}.{kind.value}",
        message=f"{head}: {first.address} {first.where}: {first.detail}",
        resources=resources,
        evidence=evidence,
        severity=tier,
        locations=_locations(items),
    )


def _locations(items: list[AccessFinding]) -> tuple[SourceLocation, ...]:
    seen: dict[tuple[str | None, int | None], SourceLocation] = {}
    for item in items:
        where = item.location
        if where is not None and (where.path, where.line) not in seen:
            seen[(where.path, where.line)] = where
    ordered = sorted(seen.values(), key=lambda s: (s.path or "", s.line or 0))
    return tuple(ordered[:_LOCATIONS_CAP])


def _noun(proposal: Proposal) -> str:
    return "file" if proposal.kind == "diff" else "change"


def _verb(description: str, count: int) -> str:
    """'grants …' for one change, 'grant …' for several."""
    if count == 1:
        return description
    verb, _, rest = description.partition(" ")
    plural = {
        "changes": "change",
        "grants": "grant",
        "opens": "open",
        "turns": "turn",
        "trusts": "trust",
        "sets": "set",
        "allows": "allow",
        "holds": "hold",
        "gives": "give",
        "creates": "create",
        "narrows": "narrow",
    }
    return f"{plural.get(verb, verb)} {rest}"
