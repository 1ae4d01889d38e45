"""SARIF 2.1.0 for GitHub code scanning: one run, one result per finding.

GitHub tracks an alert across runs by rule id and fingerprint, so the
fingerprint covers only what identifies the issue (reviewer, rule, sorted
resources), never the decision id or time. A finding that carries source
locations (a diff's file and line) points at them; any other points at the
input file at line 1, and its resource addresses travel as logical locations.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from orchestrator import __version__
from orchestrator.models import Decision, Finding, Proposal, RiskTier, tier_rank
from orchestrator.reach import SUMMARY_RULE
from orchestrator.render import join_preview

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# Summary findings describe the change rather than a problem in it: they
# stay in the decision JSON and out of code-scanning alerts.
SUMMARY_RULES = frozenset({SUMMARY_RULE})
FINGERPRINT_KEY = "commanderFinding/v1"
# Logical locations listed per result; the fingerprint still covers them all.
MAX_LOGICAL_LOCATIONS = 100
_SECURITY_SEVERITY = {
    RiskTier.CRITICAL: "9.5",
    RiskTier.HIGH: "8.0",
    RiskTier.MEDIUM: "5.0",
    RiskTier.LOW: "2.0",
}
_LEVEL = {
    RiskTier.CRITICAL: "error",
    RiskTier.HIGH: "error",
    RiskTier.MEDIUM: "warning",
    RiskTier.LOW: "note",
}
_STDIN_NAMES = frozenset({"", "-", "<stdin>"})


def severity(finding: Finding) -> RiskTier:
    """The severity SARIF reports: a hard denial counts as critical."""
    return RiskTier.CRITICAL if finding.hard else finding.severity


def fingerprint(reviewer: str, finding: Finding) -> str:
    """A stable id for the issue a finding describes, the same in every run that sees it."""
    identity = json.dumps(
        [reviewer, finding.rule, sorted(set(finding.resources))],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def artifact_uri(input_name: str, base: Path | None = None) -> str:
    """The proposal's input as a URI reference relative to `base` (the working directory)."""
    if input_name.strip() in _STDIN_NAMES:
        return "stdin"
    path = Path(input_name)
    if path.is_absolute():
        try:
            path = path.relative_to(base or Path.cwd())
        except ValueError:
            return path.as_uri()
    posix = PurePosixPath(path.as_posix().replace("\\", "/"))
    return quote(str(posix), safe="/")


def render_sarif(decision: Decision, proposal: Proposal, *, base: Path | None = None) -> str:
    """Render `decision` as a SARIF 2.1.0 log, indented, with a trailing newline."""
    uri = artifact_uri(proposal.input_name, base)
    pairs = [
        (v.reviewer, f)
        for v in decision.verdicts
        for f in v.findings
        if f.rule not in SUMMARY_RULES
    ]
    rule_ids = sorted({f.rule for _, f in pairs})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [_rule(rule, [(r, f) for r, f in pairs if f.rule == rule]) for rule in rule_ids]
    results = [_result(reviewer, f, index[f.rule], uri) for reviewer, f in pairs]
    failed = [v for v in decision.verdicts if v.error is not None]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "commander",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": not failed,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"reviewer {v.reviewer}: {v.error}"}}
                    for v in failed
                ],
            }
        ],
        "results": results,
        "properties": {
            "outcome": decision.outcome,
            "riskTier": decision.risk_tier.value,
            "requiredApprovals": [a.role for a in decision.required_approvals],
            "dissent": decision.dissent,
            "decisionId": decision.decision_id,
            "proposalDigest": decision.proposal_digest,
            "policyVersion": decision.policy_version,
        },
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: str, pairs: list[tuple[str, Finding]]) -> dict[str, Any]:
    worst = max((severity(f) for _, f in pairs), key=tier_rank)
    reviewers = sorted({r for r, _ in pairs})
    example = min(f.message for _, f in pairs)
    return {
        "id": rule,
        "name": rule,
        "shortDescription": {"text": f"{rule} (reviewer {', '.join(reviewers)})"},
        "fullDescription": {
            "text": f"Raised by the {', '.join(reviewers)} reviewer of commander. "
            f"For example: {example}"
        },
        "defaultConfiguration": {"level": _LEVEL[worst]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[worst],
            "tags": sorted({"security", "infrastructure", "commander", *reviewers}),
        },
    }


def _result(reviewer: str, finding: Finding, rule_index: int, uri: str) -> dict[str, Any]:
    level = severity(finding)
    resources = list(dict.fromkeys(finding.resources))
    places = [
        (quote(loc.path) if loc.path else uri, loc.line or 1) for loc in finding.locations
    ] or [(uri, 1)]
    locations: list[dict[str, Any]] = [
        {"physicalLocation": {"artifactLocation": {"uri": u}, "region": {"startLine": n}}}
        for u, n in places[:MAX_LOGICAL_LOCATIONS]
    ]
    location = locations[0]
    if resources:
        location["logicalLocations"] = [
            {"name": r, "fullyQualifiedName": r, "kind": "resource"}
            for r in resources[:MAX_LOGICAL_LOCATIONS]
        ]
    text = " ".join(finding.message.split())
    if resources:
        text = f"{text} (resources: {join_preview(resources)})"
    digest = fingerprint(reviewer, finding)
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[level],
        "message": {"text": text},
        "locations": locations,
        # primaryLocationLineHash is ours too: every result sits on line 1 of the
        # same file, so a hash GitHub computed from that line would merge them all.
        "partialFingerprints": {FINGERPRINT_KEY: digest, "primaryLocationLineHash": digest},
        "properties": {
            "reviewer": reviewer,
            "severity": finding.severity.value,
            "hardDenial": finding.hard,
            "resourceCount": len(resources),
        },
    }
