"""The whole story of one decision, for `commander explain ID` and post-incident review.

Plain text that reads top to bottom: what was proposed, what each reviewer
said and on what evidence, what the contrarian argued and whether the outcome
followed it, which rules decided, and who must sign off. `color` adds bold
headings and a coloured outcome, nothing else.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import TYPE_CHECKING

from pydantic import JsonValue

from orchestrator.models import Decision, Finding, Proposal, Verdict, short_id
from orchestrator.render import (
    action_counts,
    approvals_text,
    contrarian_followed,
    contrarian_verdict,
    environment_label,
    join_preview,
    plural,
    supersession_lines,
)
from orchestrator.render.sanitise import printable
from orchestrator.render.signoff import contrarian_outcome, signoff_lines

if TYPE_CHECKING:
    from orchestrator.store.governance import Escalation

WIDTH = 100
# Evidence is cut to these sizes: enough to check a claim, not a data dump.
MAX_ITEMS = 10
MAX_KEYS = 20
MAX_STRING = 300
MAX_DEPTH = 4
MAX_EVIDENCE_LINES = 40
# Evidence sits 8 columns in; a value that fits the rest of the page stays on one line.
COMPACT_WIDTH = WIDTH - 8
_OUTCOME_SGR = {"approve": "1;32", "escalate": "1;33", "reject": "1;31"}
# A heading is a whole line in capitals; every line from the input is indented.
_HEADING = re.compile(r"^[A-Z][A-Z ]+$", re.MULTILINE)


def render_explain(
    decision: Decision,
    proposal: Proposal,
    *,
    color: bool,
    escalation: Escalation | None = None,
) -> str:
    """Tell the story of `decision`: the proposal, every verdict, the rules, the approvals.

    `escalation` is what the human gate made of an escalated decision: who
    signed or denied it, and so whether the contrarian was overruled.
    """

    def heading(text: str) -> str:
        return "\n" + text.upper()

    outcome = decision.outcome.upper()
    lines = [
        f"Decision {decision.decision_id} (short {short_id(decision.decision_id)}): {outcome} "
        f"({decision.risk_tier.value} risk)",
        f"recorded {decision.created_at} under policy {decision.policy_version}",
        f"proposal {decision.proposal_digest}",
        heading("The proposal"),
        *_proposal(proposal),
        heading("What each reviewer said"),
    ]
    for verdict in decision.verdicts:
        lines += _verdict(verdict)
    if not decision.verdicts:
        lines.append("  no verdicts were recorded")
    lines.append(heading("The contrarian"))
    lines += _contrarian(decision, escalation)
    lines.append(heading("How the commander decided"))
    lines += _decided(decision)
    lines.append(heading("Who must sign off"))
    lines.append(f"  {_sign_off(decision)}")
    for fact in signoff_lines(decision, escalation):
        lines += _wrap(fact, "    ", first="  ")
    # Sanitised whole, then coloured: only commander's own styles reach the terminal.
    text = printable("\n".join(lines) + "\n")
    return _colored(text, decision.outcome) if color else text


def _colored(text: str, outcome: str) -> str:
    """Bold headings and the outcome in its colour, on text already made printable."""
    first, rest = text.split("\n", 1)
    word = outcome.upper()
    first = first.replace(f": {word} (", f": \x1b[{_OUTCOME_SGR[outcome]}m{word}\x1b[0m (", 1)
    return first + "\n" + _HEADING.sub(lambda m: f"\x1b[1m{m.group()}\x1b[0m", rest)


def _sign_off(decision: Decision) -> str:
    if decision.required_approvals:
        return approvals_text(decision)
    if decision.outcome == "approve":
        return "nobody: the change was approved without a human"
    if decision.outcome == "reject":
        return "nobody can: the change was rejected and must be changed and submitted again"
    return "no roles were recorded for this escalation"


def _wrap(text: str, indent: str, *, first: str | None = None) -> list[str]:
    """Wrap free text to the page width under `indent` (`first` leads the first line)."""
    flat = " ".join(text.split())
    lead = indent if first is None else first
    # no breaks on hyphens: rule ids and service names must stay whole
    wrapped = textwrap.wrap(
        flat, WIDTH, initial_indent=lead, subsequent_indent=indent, break_on_hyphens=False
    )
    return wrapped or [lead]


def _proposal(proposal: Proposal) -> list[str]:
    status = proposal.status
    if status.judgeable:
        plan = "complete"
    else:
        gaps = [
            *(["incomplete"] if not status.complete else []),
            *(["errored"] if status.errored else []),
            *([f"{status.deferred_changes} deferred changes"] if status.deferred_changes else []),
        ]
        plan = ", ".join(gaps)
    lines = [
        f"  kind         {proposal.kind}",
        f"  source       {proposal.source.value} (actor {proposal.actor!r})",
        *_wrap(proposal.intent or "(none stated)", " " * 15, first="  intent       "),
        f"  environment  {environment_label(proposal)}",
        f"  input        {_input(proposal.input_name)}",
        f"  changes      {len(proposal.changes)}: {action_counts(proposal)}",
        f"  plan         {plan}",
    ]
    lines += [f"               note: {' '.join(n.split())}" for n in status.notes]
    return lines


def _input(name: str) -> str:
    return "standard input" if name.strip() in ("", "-", "<stdin>") else name


def _verdict(verdict: Verdict) -> list[str]:
    lines = [
        "",
        f"  {verdict.reviewer}: {verdict.stance}, {verdict.risk_tier.value} risk, "
        f"confidence {verdict.confidence:.2f}, {verdict.duration_ms} ms",
    ]
    if verdict.error:
        lines += _wrap(f"error: {verdict.error}", "    ")
    lines += _wrap(f"rationale: {verdict.rationale or '(none given)'}", "    ")
    total = len(verdict.findings)
    for i, finding in enumerate(verdict.findings, 1):
        lines += _finding(finding, f"{i}/{total}")
    return lines


def _finding(finding: Finding, position: str) -> list[str]:
    hard = ", hard denial" if finding.hard else ""
    lines = _wrap(
        f"finding {position} [{finding.severity.value}{hard}] {finding.rule}: {finding.message}",
        "    ",
    )
    if finding.resources:
        lines += _wrap(f"resources: {join_preview(finding.resources, 10)}", "      ")
    if finding.evidence:
        lines.append("      evidence:")
        lines += [f"        {line}" for line in evidence_lines(finding.evidence)]
    return lines


def evidence_lines(evidence: dict[str, JsonValue]) -> list[str]:
    """Pretty JSON of `evidence`, trimmed so that one finding stays readable."""
    lines = _pretty(_trim(evidence, 0), 0)
    if len(lines) > MAX_EVIDENCE_LINES:
        rest = len(lines) - MAX_EVIDENCE_LINES
        lines = [*lines[:MAX_EVIDENCE_LINES], f"… {rest} more lines"]
    return lines


def _pretty(value: JsonValue, indent: int, lead: int = 0) -> list[str]:
    """Indented JSON lines that keep any value fitting on one line on one line.

    `indent` is the depth of the line the value starts on, `lead` the width of
    the key printed before it there.
    """
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    fits = indent + lead + len(compact) < COMPACT_WIDTH  # one column for a comma
    if fits or not isinstance(value, list | dict) or not value:
        return [compact]
    pad = " " * (indent + 2)
    if isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
        return _packed(value, indent)
    if isinstance(value, list):
        items = [_pretty(v, indent + 2) for v in value]
        opener, closer = "[", "]"
    else:
        keys = {k: f"{json.dumps(k, ensure_ascii=False)}: " for k in value}
        items = [_prefix(keys[k], _pretty(v, indent + 2, len(keys[k]))) for k, v in value.items()]
        opener, closer = "{", "}"
    lines = [opener]
    for i, item in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines += (
            [pad + item[0], *item[1:-1], item[-1] + comma]
            if len(item) > 1
            else [pad + item[0] + comma]
        )
    return [*lines, " " * indent + closer]


def _packed(items: list[JsonValue], indent: int) -> list[str]:
    """A list of scalars, as many items to a line as fit."""
    pad = " " * (indent + 2)
    lines, line = ["["], pad
    for i, item in enumerate(items):
        token = json.dumps(item, ensure_ascii=False) + ("," if i < len(items) - 1 else "")
        if line != pad and len(line) + 1 + len(token) > COMPACT_WIDTH:
            lines.append(line)
            line = pad
        line += token if line == pad else " " + token
    return [*lines, line, " " * indent + "]"]


def _prefix(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + lines[0], *lines[1:]]


def _trim(value: JsonValue, depth: int) -> JsonValue:
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + "…"
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return f"… {len(value)} items"
        items = [_trim(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more")
        return items
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"… {len(value)} keys"
        keys = list(value)[:MAX_KEYS]
        trimmed: dict[str, JsonValue] = {k: _trim(value[k], depth + 1) for k in keys}
        if len(value) > MAX_KEYS:
            trimmed["…"] = f"{len(value) - MAX_KEYS} more keys"
        return trimmed
    return value


def _contrarian(decision: Decision, escalation: Escalation | None) -> list[str]:
    verdict = contrarian_verdict(decision)
    if verdict is None:
        return ["  no contrarian took part in this decision"]
    lines = [
        f"  stance {verdict.stance}, {verdict.risk_tier.value} risk, "
        f"confidence {verdict.confidence:.2f}",
        *_wrap(f"its case: {verdict.rationale or '(none given)'}", "  "),
    ]
    if verdict.findings:
        lines.append(f"  evidence: {join_preview([f.rule for f in verdict.findings], 10)}")
    lines += _wrap(f"so: {contrarian_followed(decision, verdict)}", "  ")
    humans = contrarian_outcome(decision, verdict, escalation)
    if humans is not None:
        lines += _wrap(f"then: {humans}", "  ")
    return lines


def _decided(decision: Decision) -> list[str]:
    br = decision.blast_radius
    fired = ", ".join(decision.rules_fired) or "(none recorded)"
    lines = [
        *_wrap(f"rules fired: {fired}", "  "),
        *(line for reason in decision.rationale for line in _wrap(f"- {reason}", "  ")),
        f"  dissent {decision.dissent:.2f}; blast radius score {br.score}, "
        f"{plural(br.changed_resources, 'changed resource')}, "
        f"{plural(len(br.affected_services), 'service')}, "
        f"{br.fleet_fraction:.1%} of the fleet",
    ]
    if br.affected_services:
        lines += _wrap(f"services reached: {join_preview(br.affected_services, 20)}", "  ")
    if decision.minority_opinion:
        lines += _wrap(f"minority opinion: {decision.minority_opinion}", "  ")
    else:
        lines.append("  minority opinion: none (no reviewer stood apart)")
    lines += [part for line in supersession_lines(decision) for part in _wrap(line, "  ")]
    return lines
