"""The terminal summary `commander review` prints on every run.

Built from rich renderables with markup off: addresses such as
`aws_iam_role.x["k"]` contain square brackets that rich would otherwise read
as style tags. Every string from the input goes through `printable` here,
so a coloured terminal gets rich's styles and nothing else.
"""

from __future__ import annotations

from io import StringIO

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from orchestrator.models import Decision, Finding, Proposal, RiskTier, Verdict, short_id
from orchestrator.render import (
    action_counts,
    approvals_text,
    environment_label,
    join_preview,
    plural,
    supersession_lines,
)
from orchestrator.render.sanitise import printable

WIDTH = 100
# Findings listed per reviewer; `commander explain` shows them all.
MAX_FINDINGS = 20
_OUTCOME_STYLE = {
    "approve": "bold white on green",
    "escalate": "bold black on yellow",
    "reject": "bold white on red",
}
_STANCE_STYLE = {"approve": "green", "concern": "yellow", "block": "bold red"}
_TIER_STYLE = {
    RiskTier.LOW: "green",
    RiskTier.MEDIUM: "cyan",
    RiskTier.HIGH: "yellow",
    RiskTier.CRITICAL: "bold red",
}


def render_text(decision: Decision, proposal: Proposal, *, color: bool) -> str:
    """Render `decision` for a terminal; plain text without ANSI codes unless `color`."""
    out = StringIO()
    console = Console(
        file=out,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=WIDTH,
        markup=False,
        emoji=False,
        highlight=False,
    )
    console.print(_headline(decision))
    console.print(_proposal(decision, proposal), end="\n\n")
    console.print(_verdict_table(decision.verdicts))
    console.line()
    for verdict in decision.verdicts:
        if verdict.findings:
            console.print(_findings(verdict, decision.decision_id))
    console.print(_rationale(decision))
    console.print(
        Text.assemble(
            ("decision  ", "dim"),
            printable(decision.decision_id),
            ("  short ", "dim"),
            printable(short_id(decision.decision_id)),
            ("   policy ", "dim"),
            printable(decision.policy_version),
            ("\ndigest    ", "dim"),
            printable(decision.proposal_digest),
        )
    )
    # rich pads table cells and paddings to the full width; trailing blanks are noise
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _headline(decision: Decision) -> Panel:
    tier = decision.risk_tier
    title = Text.assemble(
        (f" {decision.outcome.upper()} ", _OUTCOME_STYLE[decision.outcome]),
        "  ",
        (f"{tier.value} risk", _TIER_STYLE[tier]),
        "\n",
        ("required approvals: ", "dim"),
        printable(approvals_text(decision)),
    )
    return Panel(title, box=box.HEAVY, expand=False, padding=(0, 2))


def _proposal(decision: Decision, proposal: Proposal) -> Text:
    br = decision.blast_radius
    text = Text.assemble(
        ("proposal  ", "dim"),
        printable(
            f"{proposal.kind} from {proposal.source.value} {proposal.actor!r} to "
            f"{environment_label(proposal)}: "
            f"{plural(len(proposal.changes), 'change')} ({action_counts(proposal)})\n"
        ),
    )
    if proposal.intent:
        text.append("intent    ", "dim")
        text.append(printable(" ".join(proposal.intent.split())) + "\n")
    text.append("reach     ", "dim")
    services = plural(len(br.affected_services), "affected service")
    if br.affected_services:
        services += f" ({printable(join_preview(br.affected_services))})"
    text.append(
        f"score {br.score}, {plural(br.changed_resources, 'changed resource')}, {services}, "
        f"{br.fleet_fraction:.1%} of the fleet\n"
    )
    text.append("dissent   ", "dim")
    text.append(f"{decision.dissent:.2f}")
    return text


def _verdict_table(verdicts: tuple[Verdict, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("reviewer", no_wrap=True)
    table.add_column("stance", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("confidence", justify="right", no_wrap=True)
    table.add_column("findings", justify="right", no_wrap=True)
    table.add_column("error", overflow="fold")
    for v in verdicts:
        table.add_row(
            Text(printable(v.reviewer), "bold"),
            Text(v.stance, _STANCE_STYLE[v.stance]),
            Text(v.risk_tier.value, _TIER_STYLE[v.risk_tier]),
            f"{v.confidence:.2f}",
            str(len(v.findings)),
            Text(printable(v.error or ""), "red"),
        )
    return table


def _finding(finding: Finding) -> Group:
    head = Text.assemble(
        (f"[{finding.severity.value}", _TIER_STYLE[finding.severity]),
        (", hard denial" if finding.hard else "", "bold red"),
        ("]", _TIER_STYLE[finding.severity]),
        " ",
        (printable(finding.rule), "bold"),
        "  ",
        printable(" ".join(finding.message.split())),
    )
    parts: list[Padding] = [Padding(head, (0, 0, 0, 2))]
    if finding.resources:
        resources = Text.assemble(
            ("resources: ", "dim"), printable(join_preview(finding.resources))
        )
        parts.append(Padding(resources, (0, 0, 0, 6)))
    return Group(*parts)


def _findings(verdict: Verdict, decision_id: str) -> Group:
    count = len(verdict.findings)
    title = Text.assemble(
        (printable(verdict.reviewer), "bold"), (f" — {plural(count, 'finding')}", "dim")
    )
    shown = [_finding(f) for f in verdict.findings[:MAX_FINDINGS]]
    if count > MAX_FINDINGS:
        more = printable(
            f"… {plural(count - MAX_FINDINGS, 'more finding')}: commander explain {decision_id}"
        )
        shown.append(Group(Padding(Text(more, "dim"), (0, 0, 0, 2))))
    return Group(title, *shown, Text())


def _rationale(decision: Decision) -> Group:
    lines = decision.rationale or ("(no rationale recorded)",)
    parts: list[Text | Padding] = [Text("why", "bold")]
    parts += [
        Padding(Text("- " + printable(" ".join(line.split()))), (0, 0, 0, 2)) for line in lines
    ]
    if decision.minority_opinion:
        opinion = printable(" ".join(decision.minority_opinion.split()))
        parts.append(Text.assemble(("minority opinion: ", "bold"), opinion))
    parts += [Text(printable(line), "bold") for line in supersession_lines(decision)]
    parts.append(Text())
    return Group(*parts)
