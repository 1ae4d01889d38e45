"""Render a Decision (with the Proposal it judged) for terminals, CI and PR comments.

`render(fmt, decision, proposal, color=...)` is the one entry point. Each
format lives in its own module and is imported only when asked for, so the
JSON and SARIF paths never pay for rich. The small helpers below are shared
by the renderers; they import nothing beyond the models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from orchestrator.models import Decision, Finding, Proposal, RiskTier, Verdict
from orchestrator.reach import SUMMARY_RULE
from orchestrator.render.sanitise import printable

if TYPE_CHECKING:
    from orchestrator.render.locations import Sources

Format = Literal["text", "json", "markdown", "sarif", "junit", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "markdown", "sarif", "junit", "github")
# The formats that also describe many decisions at once (a folder review).
MANY_FORMATS: tuple[Format, ...] = ("sarif", "junit", "github")

# Summary findings describe the change rather than a problem in it: they stay in
# the decision JSON and out of code-scanning alerts, test reports and annotations.
SUMMARY_RULES = frozenset({SUMMARY_RULE})
# How many resources a finding lists before "and N more".
RESOURCE_PREVIEW = 5
CONTRARIAN = "contrarian"


def render(
    fmt: Format,
    decision: Decision,
    proposal: Proposal,
    *,
    color: bool,
    sources: Sources | None = None,
) -> str:
    """Render `decision` in `fmt`; `color` only affects text, `sources` the outputs with lines.

    Whatever the input held, the result carries no control character but
    the format's own newlines (and, with `color`, the text renderer's SGR).
    """
    # Imports are local on purpose: each format pays only for what it uses.
    if fmt == "json":
        from orchestrator.render.jsonout import render_json  # noqa: PLC0415

        return printable(render_json(decision), json=True)
    if fmt in MANY_FORMATS:
        name = proposal.input_name
        return render_many(fmt, [Reviewed(name, decision, proposal)], sources=sources)
    if fmt == "markdown":
        from orchestrator.render.markdown import render_markdown  # noqa: PLC0415

        return printable(render_markdown(decision, proposal))
    if fmt == "text":
        from orchestrator.render.text import render_text  # noqa: PLC0415

        text = render_text(decision, proposal, color=color)
        # With colour, text.py passed each input string through `printable` itself.
        return text if color else printable(text)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Reviewed:
    """One input of a folder's report: its decision and proposal, or why it has none."""

    name: str
    decision: Decision | None = None
    proposal: Proposal | None = None
    error: str | None = None


def render_many(
    fmt: Format, reviewed: Sequence[Reviewed], *, sources: Sources | None = None
) -> str:
    """Several decisions as one report: one SARIF run, one JUnit file, one list of annotations."""
    if fmt == "sarif":
        from orchestrator.render.sarif import render_sarif_many  # noqa: PLC0415

        return printable(render_sarif_many(reviewed, sources=sources), json=True)
    if fmt == "junit":
        from orchestrator.render.junit import render_junit_many  # noqa: PLC0415

        return printable(render_junit_many(reviewed, sources=sources))
    if fmt == "github":
        from orchestrator.render.github import render_github_many  # noqa: PLC0415

        return printable(render_github_many(reviewed, sources=sources))
    raise ValueError(f"--output {fmt} shows one decision; reports: {', '.join(MANY_FORMATS)}")


def alerts(decision: Decision) -> list[tuple[str, Finding]]:
    """(reviewer, finding) of every finding that is an alert, not a summary, in verdict order."""
    return [
        (v.reviewer, f)
        for v in decision.verdicts
        for f in v.findings
        if f.rule not in SUMMARY_RULES
    ]


def severity(finding: Finding) -> RiskTier:
    """The severity an alert reports: a hard denial counts as critical."""
    return RiskTier.CRITICAL if finding.hard else finding.severity


def preview(items: Sequence[str], limit: int = RESOURCE_PREVIEW) -> tuple[list[str], int]:
    """Split `items` into the first `limit` to show and the count left over."""
    shown = list(items[:limit])
    return shown, max(0, len(items) - limit)


def join_preview(items: Sequence[str], limit: int = RESOURCE_PREVIEW) -> str:
    """Join the first `limit` items with commas and say how many more there are."""
    shown, rest = preview(items, limit)
    text = ", ".join(shown)
    return f"{text} and {rest} more" if rest else text


def action_counts(proposal: Proposal) -> str:
    """Describe how many changes of each action the proposal holds ("2 delete, 1 update")."""
    counts = Counter(change.action.value for change in proposal.changes)
    if not counts:
        return "no changes"
    # sorted: the summary must not depend on the order the adapter emitted changes in
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))


def environment_label(proposal: Proposal) -> str:
    """The environment as given, with its canonical name when that differs."""
    given, canonical = proposal.environment_name, proposal.environment.value
    return given if given == canonical else f"{given} ({canonical})"


def plural(n: int, noun: str) -> str:
    """`n` and `noun`, with an s when `n` is not one ("1 service", "3 services")."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def supersession_lines(decision: Decision) -> list[str]:
    """What the decision's submission superseded, one sentence each ("supersedes decision …")."""
    return [
        f"supersedes decision {s.decision_id} for change {s.change_id!r} "
        "(its escalation is cancelled)"
        for s in decision.supersedes
    ]


def approvals_text(decision: Decision) -> str:
    """The required approver roles in words."""
    roles = [a.role for a in decision.required_approvals]
    return ", ".join(roles) if roles else "none"


def contrarian_verdict(decision: Decision) -> Verdict | None:
    """The contrarian's verdict, when it took part."""
    return next((v for v in decision.verdicts if v.reviewer == CONTRARIAN), None)


def contrarian_followed(decision: Decision, verdict: Verdict) -> str:
    """Say whether the outcome went the way the contrarian argued."""
    objected = verdict.stance != "approve"
    if verdict.error is not None:
        return "the contrarian failed, so its silence counted against approval"
    if objected and decision.outcome != "approve":
        return f"the outcome ({decision.outcome}) followed the contrarian's objection"
    if objected:
        return "the outcome overrode the contrarian's objection"
    if decision.outcome == "approve":
        return "the contrarian found no case against approval, and the change was approved"
    return (
        f"the contrarian argued for approval, but the outcome ({decision.outcome}) "
        "followed the other reviewers"
    )
