"""GitHub Actions workflow commands: an annotation per finding, on its file and line.

    ::error file=main.tf,line=24,endLine=28,title=scope.category.iam (scope)::1 change touches iam…

Critical and high findings are errors, medium warnings, low notices; one more
annotation states the decision. Values are escaped exactly as GitHub's
toolkit escapes them (`%`, CR and LF in the message; also `:` and `,` in
properties), so no text from a reviewed input can end an annotation early or
issue a command of its own. `github_summary` is the Markdown the CLI appends
to `$GITHUB_STEP_SUMMARY` (the job summary page).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.models import Decision, Finding, Proposal, RiskTier
from orchestrator.render import Reviewed, alerts, approvals_text, severity
from orchestrator.render.locations import Place, Sources, input_place, places, repository_path
from orchestrator.render.sanitise import printable
from orchestrator.rulebook import rulebook

LEVEL = {
    RiskTier.CRITICAL: "error",
    RiskTier.HIGH: "error",
    RiskTier.MEDIUM: "warning",
    RiskTier.LOW: "notice",
}
_OUTCOME_LEVEL = {"reject": "error", "escalate": "warning", "approve": "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    shown = printable(text, keep="\r\n")  # an escape sequence must not reach the job's log
    return shown.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped as GitHub's toolkit does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line; properties that are None are left out."""
    given = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{level}{' ' + given if given else ''}::{escape_data(message)}"


def render_github_many(reviewed: Sequence[Reviewed], *, sources: Sources | None = None) -> str:
    """The annotations of every input, in the order given."""
    sources = sources or Sources()
    lines: list[str] = []
    for item in reviewed:
        if item.decision is None or item.proposal is None:
            name = repository_path(item.name, sources)
            lines.append(command("error", item.error or "not reviewed", title=f"commander: {name}"))
            continue
        lines.extend(_annotations(item.decision, item.proposal, sources))
    return "\n".join(lines) + "\n"


def _annotations(decision: Decision, proposal: Proposal, sources: Sources) -> list[str]:
    found = [_finding(r, f, places(f, proposal, sources)[0]) for r, f in alerts(decision)]
    for verdict in decision.verdicts:
        if verdict.error is not None:
            found.append(
                command("error", verdict.error, title=f"commander: reviewer {verdict.reviewer}")
            )
    where = input_place(proposal, sources)
    outcome = f"{decision.outcome} ({decision.risk_tier.value})"
    if decision.outcome == "escalate":
        outcome += f": needs sign-off by {approvals_text(decision)}"
    message = f"{outcome}. {' '.join(decision.rationale)} Decision {decision.decision_id}."
    found.append(
        command(
            _OUTCOME_LEVEL[decision.outcome],
            message,
            file=None if where.external else where.path,
            title=f"commander: {decision.outcome}",
        )
    )
    return found


def _finding(reviewer: str, finding: Finding, place: Place) -> str:
    resources = list(dict.fromkeys(finding.resources))
    text = " ".join(finding.message.split())
    if resources:
        text += f"\nResources: {', '.join(resources[:20])}"
        if len(resources) > 20:
            text += f" and {len(resources) - 20} more"
    doc = rulebook().describe(finding.rule)
    text += f"\nFix: {doc.fix}\n{doc.help_uri}"
    return command(
        LEVEL[severity(finding)],
        text,
        file=None if place.external else place.path,
        line=place.line,
        endLine=place.end_line,
        title=f"{finding.rule} ({reviewer})",
    )


def github_summary(reviewed: Sequence[Reviewed], sources: Sources | None = None) -> str:
    """The job summary: a table of the inputs, then each decision's PR comment."""
    from orchestrator.render.markdown import md, render_markdown  # noqa: PLC0415

    sources = sources or Sources()
    rows = ["| input | outcome | tier | sign-off |", "|---|---|---|---|"]
    bodies: list[str] = []
    for item in reviewed:
        if item.decision is None or item.proposal is None:
            name = repository_path(item.name, sources)
            rows.append(f"| {md(name)} | failed | - | {md(item.error or '')} |")
            continue
        d = item.decision
        name = input_place(item.proposal, sources).path or "stdin"
        rows.append(
            f"| {md(name)} | **{d.outcome}** | {d.risk_tier.value} | {md(approvals_text(d))} |"
        )
        bodies.append(render_markdown(d, item.proposal))
    parts = ["## commander", "", *rows, "", *bodies] if len(reviewed) > 1 else bodies
    return printable("\n".join(parts).rstrip("\n") + "\n")
