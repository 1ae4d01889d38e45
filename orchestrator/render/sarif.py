"""SARIF 2.1.0 for GitHub code scanning: one run, one result per finding.

GitHub tracks an alert across runs by rule id and fingerprint, so the
fingerprint covers only what identifies the issue (reviewer, rule, sorted
resources), never the decision id, the time or the line (which moves when a
file is edited). Each result sits where the finding is written (see
`render.locations`): the file and line of the reviewer's location, of the
resource's object or statement, or of its Terraform block; else the input
file. Paths are relative to the repository (`uriBaseId` SRCROOT). Resource
addresses travel as logical locations. A folder review is one run with the
results of every file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from orchestrator import __version__
from orchestrator.models import Decision, Finding, Proposal, RiskTier, tier_rank
from orchestrator.render import Reviewed, alerts, join_preview, severity
from orchestrator.render.locations import Place, Sources, places
from orchestrator.rulebook import PROJECT_URL, rulebook, sarif_name

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "commanderFinding/v1"
SRCROOT = "SRCROOT"
# Logical locations listed per result; the fingerprint still covers them all.
MAX_LOGICAL_LOCATIONS = 100
_SECURITY_SEVERITY = {
    RiskTier.CRITICAL: "9.5",
    RiskTier.HIGH: "8.0",
    RiskTier.MEDIUM: "5.0",
    RiskTier.LOW: "2.0",
}
LEVEL = {
    RiskTier.CRITICAL: "error",
    RiskTier.HIGH: "error",
    RiskTier.MEDIUM: "warning",
    RiskTier.LOW: "note",
}


def fingerprint(reviewer: str, finding: Finding) -> str:
    """A stable id for the issue a finding describes, the same in every run that sees it."""
    identity = json.dumps(
        [reviewer, finding.rule, sorted(set(finding.resources))],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def render_sarif(decision: Decision, proposal: Proposal, *, sources: Sources | None = None) -> str:
    """Render `decision` as a SARIF 2.1.0 log, indented, with a trailing newline."""
    return render_sarif_many([Reviewed(proposal.input_name, decision, proposal)], sources=sources)


def render_sarif_many(reviewed: Sequence[Reviewed], *, sources: Sources | None = None) -> str:
    """One SARIF run holding the results of every decision (a folder review's files)."""
    sources = sources or Sources()
    judged = [(i.decision, i.proposal) for i in reviewed if i.decision and i.proposal]
    found = [(d, p, r, f) for d, p in judged for r, f in alerts(d)]
    rule_ids = sorted({f.rule for *_, f in found})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [_rule(rule, [(r, f) for _, _, r, f in found if f.rule == rule]) for rule in rule_ids]
    results = [
        _result(r, f, index[f.rule], places(f, p, sources), d.decision_id) for d, p, r, f in found
    ]
    failed = [
        {
            "level": "error",
            "message": {"text": f"reviewer {v.reviewer}: {v.error}"},
            "properties": {"decisionId": d.decision_id},
        }
        for d, _ in judged
        for v in d.verdicts
        if v.error is not None
    ]
    failed += [
        {"level": "error", "message": {"text": i.error or f"{i.name}: not reviewed"}}
        for i in reviewed
        if i.decision is None
    ]
    summaries = [_summary(d) for d, _ in judged]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "commander",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URL,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": not failed,
                "toolExecutionNotifications": failed,
            }
        ],
        "results": results,
        "properties": summaries[0] if len(summaries) == 1 else {"decisions": summaries},
    }
    if sources.root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": sources.root.resolve().as_uri() + "/"}}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "riskTier": decision.risk_tier.value,
        "requiredApprovals": [a.role for a in decision.required_approvals],
        "dissent": decision.dissent,
        "decisionId": decision.decision_id,
        "proposalDigest": decision.proposal_digest,
        "policyVersion": decision.policy_version,
    }


def _rule(rule: str, pairs: list[tuple[str, Finding]]) -> dict[str, Any]:
    worst = max((severity(f) for _, f in pairs), key=tier_rank)
    reviewers = sorted({r for r, _ in pairs})
    doc = rulebook().describe(rule)
    return {
        "id": rule,
        "name": sarif_name(rule),
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.description},
        "help": {
            "text": f"{doc.description} Fix: {doc.fix}",
            "markdown": f"**{doc.summary}**\n\n{doc.description}\n\n**Fix:** {doc.fix}\n\n"
            f"[Rule reference]({doc.help_uri})",
        },
        "helpUri": doc.help_uri,
        "defaultConfiguration": {"level": LEVEL[worst]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[worst],
            "tags": sorted({"security", "infrastructure", "commander", *reviewers}),
        },
    }


def _physical(place: Place) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": place.uri}
    if place.path is not None and not place.external:
        artifact["uriBaseId"] = SRCROOT
    region: dict[str, Any] = {"startLine": place.line or 1}
    if place.line and place.end_line and place.end_line > place.line:
        region["endLine"] = place.end_line
    return {"artifactLocation": artifact, "region": region}


def _result(
    reviewer: str, finding: Finding, rule_index: int, where: list[Place], decision_id: str
) -> dict[str, Any]:
    level = severity(finding)
    resources = list(dict.fromkeys(finding.resources))
    location: dict[str, Any] = {"physicalLocation": _physical(where[0])}
    if resources:
        location["logicalLocations"] = [
            {"name": r, "fullyQualifiedName": r, "kind": "resource"}
            for r in resources[:MAX_LOGICAL_LOCATIONS]
        ]
    text = " ".join(finding.message.split())
    if resources:
        text = f"{text} (resources: {join_preview(resources)})"
    digest = fingerprint(reviewer, finding)
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[level],
        "message": {"text": text},
        "locations": [location],
        # primaryLocationLineHash is ours too: GitHub's would change whenever the line
        # moves or merge findings that share a line.
        "partialFingerprints": {FINGERPRINT_KEY: digest, "primaryLocationLineHash": digest},
        "properties": {
            "reviewer": reviewer,
            "severity": finding.severity.value,
            "hardDenial": finding.hard,
            "resourceCount": len(resources),
            "decisionId": decision_id,
        },
    }
    if len(where) > 1:
        result["relatedLocations"] = [
            {"id": n, "physicalLocation": _physical(p)} for n, p in enumerate(where[1:], start=1)
        ]
    return result
