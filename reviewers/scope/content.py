"""Scope findings from what is inside the changes, not only their types.

Kubernetes objects are read for the powers they grant and what they expose
(`kubernetes`), with the file lines that show it; a diff's files carry the
signals its adapter found (configs/diff-paths.yaml); a SQL migration's
changes carry the hazards of its statements (`sql`); what a plan or a diff
grants and exposes comes from the one IAM and exposure analyser (`access`,
whose tiers apply in every environment).
Each fact with a tier in `content_tiers` becomes one finding listing every
change that shows it; facts without a tier only describe (they may still
have raised a diff file's category). Tiers step down outside production like
category tiers, and a finding of medium or more is an objection.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import JsonValue

from orchestrator.models import Finding, Proposal, ResourceChange, RiskTier, tier_rank
from reviewers.scope.access import access_findings
from reviewers.scope.kubernetes import FACTS, kubernetes_facts, lines, sorted_locations
from reviewers.scope.rules import ScopeSettings
from reviewers.scope.sql import sql_findings
from reviewers.shared import capped, step_down

_DETAILS_CAP = 50


def content_findings(
    proposal: Proposal, settings: ScopeSettings, *, steps: int, floor: RiskTier
) -> list[Finding]:
    """One finding per fact with a tier and per kind of access found, riskiest first."""
    if proposal.kind == "sql":
        return sql_findings(proposal, settings.sql, steps=steps, floor=floor)
    findings = access_findings(proposal, settings)
    if not settings.content_tiers or proposal.kind not in ("kubernetes", "diff"):
        findings.sort(key=lambda f: (-tier_rank(f.severity), f.rule))
        return findings
    details: dict[str, dict[str, JsonValue]] = {}
    described: dict[str, str] = {}
    written: dict[str, list[int]] = {}
    for change in proposal.effective_changes:
        for fact, detail, description, where in _facts(proposal.kind, change):
            if fact not in settings.content_tiers:
                continue
            details.setdefault(fact, {})[change.address] = detail
            described.setdefault(fact, description)
            written.setdefault(fact, []).extend(where)
    for fact, found in details.items():
        tier = step_down(settings.content_tiers[fact], steps, floor)
        resources, total = capped(found)
        evidence: dict[str, JsonValue] = {
            "resource_count": total,
            "details": {a: found[a] for a in resources[:_DETAILS_CAP]},
            "environment": proposal.environment.value,
            "source": proposal.source.value,
        }
        findings.append(
            Finding(
                rule=f"scope.{fact}",
                message=f"{total} {_noun(proposal)}{'s' * (total != 1)}: {described[fact]}",
                resources=resources,
                evidence=evidence,
                severity=tier,
                locations=sorted_locations(written[fact]),
            )
        )
    findings.sort(key=lambda f: (-tier_rank(f.severity), f.rule))
    return findings


def objects(findings: list[Finding]) -> bool:
    """Whether content findings are an objection (any of medium or more)."""
    return any(tier_rank(f.severity) >= tier_rank(RiskTier.MEDIUM) for f in findings)


def _noun(proposal: Proposal) -> str:
    return "file" if proposal.kind == "diff" else "object"


def _facts(kind: str, change: ResourceChange) -> Iterator[tuple[str, JsonValue, str, list[int]]]:
    if kind == "kubernetes":
        for fact, detail, paths in kubernetes_facts(change):
            yield f"kubernetes.{fact}", detail, FACTS[fact], lines(change, paths)
        return
    summary = change.after
    if not isinstance(summary, dict):
        return
    signals = summary.get("signals")
    for signal in signals if isinstance(signals, list) else ():
        if isinstance(signal, dict) and isinstance(signal.get("id"), str):
            shown: JsonValue = {"count": signal.get("count"), "lines": signal.get("lines")}
            described = str(signal.get("description") or signal["id"])
            yield f"diff.{signal['id']}", shown, described, []
