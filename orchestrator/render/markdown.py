"""A pull-request comment: the outcome first, then who said what and why.

Everything that comes from the proposal or a reviewer is escaped: an intent
or a finding message must not be able to break the table, open HTML or end
the Mermaid fence of the comment it is shown in.
"""

from __future__ import annotations

import html
import re

from orchestrator import __version__
from orchestrator.models import Decision, Finding, Proposal, Verdict
from orchestrator.render import (
    action_counts,
    approvals_text,
    environment_label,
    plural,
    preview,
    supersession_lines,
)
from orchestrator.render.mermaid import render_mermaid

# A reviewer with more findings than this gets a collapsed <details> block.
COLLAPSE_AFTER = 3
# GitHub refuses comments over 65,536 characters: list fewer findings per
# reviewer until the comment fits, down to counts alone.
MAX_COMMENT = 60_000
FINDING_LIMITS = (25, 5, 0)
MAX_TEXT = 500
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#~])")
_HTML = {"<": "&lt;", ">": "&gt;"}


def md(text: str) -> str:
    """Escape free text for one line of GitHub markdown (table cells included)."""
    flat = " ".join(text.split())
    if len(flat) > MAX_TEXT:
        flat = flat[:MAX_TEXT] + "…"
    return _MD_SPECIAL.sub(lambda m: _HTML.get(m.group(1), "\\" + m.group(1)), flat)


def code(text: str) -> str:
    """Show `text` as an inline code span, however many backticks it holds."""
    flat = " ".join(text.split())
    runs = [len(r) for r in re.findall(r"`+", flat)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def render_markdown(decision: Decision, proposal: Proposal) -> str:
    """Render `decision` as a GitHub-flavoured markdown PR comment that fits GitHub's limit."""
    for limit in FINDING_LIMITS:
        comment = _comment(decision, proposal, limit)
        if len(comment) <= MAX_COMMENT:
            break
    return comment


def _comment(decision: Decision, proposal: Proposal, max_findings: int) -> str:
    lines = [
        f"## commander: **{decision.outcome.upper()}** — {decision.risk_tier.value} risk",
        "",
        f"**Required approvals:** {md(approvals_text(decision))}  ",
        f"**Proposal:** {md(proposal.kind)} change by {md(proposal.source.value)} "
        f"{code(proposal.actor)} to {md(environment_label(proposal))}: "
        f"{plural(len(proposal.changes), 'change')} "
        f"({md(action_counts(proposal))})  ",
    ]
    if proposal.intent:
        lines.append(f"**Intent:** {md(proposal.intent)}  ")
    br = decision.blast_radius
    lines += [
        f"**Blast radius:** score {br.score}, {plural(br.changed_resources, 'changed resource')}, "
        f"{plural(len(br.affected_services), 'affected service')}, "
        f"{br.fleet_fraction:.1%} of the fleet; dissent {decision.dissent:.2f}",
        "",
        *_verdict_table(decision.verdicts),
        "",
    ]
    if any(v.findings for v in decision.verdicts):
        lines += ["### Findings", ""]
        for verdict in decision.verdicts:
            lines += _findings(verdict, max_findings, decision.decision_id)
    lines += ["### Why", ""]
    lines += [f"- {md(line)}" for line in decision.rationale] or ["- (no rationale recorded)"]
    lines.append("")
    if decision.minority_opinion:
        lines += [f"**Minority opinion:** {md(decision.minority_opinion)}", ""]
    lines += [f"**{md(line[0].upper() + line[1:])}.**" for line in supersession_lines(decision)]
    if decision.supersedes:
        lines.append("")
    lines += [
        "### What it touches",
        "",
        "```mermaid",
        render_mermaid(decision, proposal).rstrip("\n"),
        "```",
        "",
        f"<sub>decision {code(decision.decision_id)} · proposal {code(decision.proposal_digest)}"
        f" · policy {code(decision.policy_version)} · commander {md(__version__)}</sub>",
    ]
    return "\n".join(lines) + "\n"


def _verdict_table(verdicts: tuple[Verdict, ...]) -> list[str]:
    rows = [
        "| Reviewer | Stance | Tier | Confidence | Findings | Error |",
        "|---|---|---|---:|---:|---|",
    ]
    for v in verdicts:
        error = md(v.error) if v.error else ""
        rows.append(
            f"| {md(v.reviewer)} | {md(v.stance)} | {md(v.risk_tier.value)} | "
            f"{v.confidence:.2f} | {len(v.findings)} | {error} |"
        )
    return rows


def _finding(finding: Finding) -> list[str]:
    hard = " (hard denial)" if finding.hard else ""
    out = [
        f"- **{finding.severity.value.upper()}**{hard} {code(finding.rule)} — {md(finding.message)}"
    ]
    if finding.resources:
        shown, rest = preview(finding.resources)
        more = f" and {rest} more" if rest else ""
        out.append(f"  Resources: {', '.join(code(r) for r in shown)}{more}")
    if finding.locations:
        places = [f"{loc.path or 'input'}:{loc.line}" for loc in finding.locations if loc.line]
        shown, rest = preview(places)
        more = f" and {rest} more" if rest else ""
        if shown:
            out.append(f"  Where: {', '.join(code(p) for p in shown)}{more}")
    return out


def _findings(verdict: Verdict, limit: int, decision_id: str) -> list[str]:
    if not verdict.findings:
        return []
    body = [line for f in verdict.findings[:limit] for line in _finding(f)]
    count = len(verdict.findings)
    if count > limit:
        body.append(
            f"- … {plural(count - limit, 'more finding')}: "
            f"run {code(f'commander explain {decision_id}')} for all of them"
        )
    noun = plural(count, "finding")
    if count > COLLAPSE_AFTER:
        # <summary> is HTML, not markdown: escape for HTML there. The blank lines
        # let GitHub render the markdown inside the block.
        summary = f"<b>{html.escape(verdict.reviewer)}</b> — {noun}"
        return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]
    return [f"#### {md(verdict.reviewer)} — {noun}", "", *body, ""]
