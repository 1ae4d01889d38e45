"""Plain-text tables for the audit and post-incident commands: query, scorecard, replay, backtest.

Every function is pure: data in, text out. JSON output is the models' own
`model_dump`/`to_json_dict`; these are for people at a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.replay_diff import ReplayDiff, VerdictChange, VerdictView

if TYPE_CHECKING:
    from orchestrator.backtest import BacktestReport
    from orchestrator.store import DecisionSummary
    from orchestrator.store.incidents import ReviewerScore

MAX_CELL = 48


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart; long cells end in an ellipsis."""
    cells = [[_cut(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in cells]
    return "\n".join(lines) + "\n"


def _cut(cell: str) -> str:
    flat = " ".join(cell.split())
    return flat if len(flat) <= MAX_CELL else flat[: MAX_CELL - 1] + "…"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def decisions_table(found: Sequence[DecisionSummary]) -> str:
    """The decisions an audit query found, newest first."""
    if not found:
        return "no decisions match\n"
    rows = [
        [
            d.created_at[:19].replace("T", " "),
            d.decision_id,
            d.outcome,
            d.risk_tier,
            d.actor,
            d.environment,
            str(d.changed_resources),
            d.intent or "-",
        ]
        for d in found
    ]
    headers = ["time (UTC)", "decision", "outcome", "tier", "actor", "env", "changes", "intent"]
    return table(headers, rows) + f"{len(found)} decision{'s' if len(found) != 1 else ''}\n"


def scorecard_table(scores: Sequence[ReviewerScore], definitions: dict[str, str]) -> str:
    """Per reviewer: alarms against incidents, with every figure defined below the table."""
    if not scores:
        return "no verdicts recorded in this window\n"
    rows = [
        [
            s.reviewer,
            str(s.judged),
            str(s.flagged),
            str(s.caught),
            str(s.missed),
            str(s.false_alarms),
            _share(s.precision),
            _share(s.recall),
            _share(s.false_alarm_rate),
            str(s.failed),
        ]
        for s in scores
    ]
    headers = [
        "reviewer", "judged", "flagged", "caught", "missed", "false_alarms",
        "precision", "recall", "false_alarm_rate", "failed",
    ]  # fmt: skip
    notes = [f"  {k}: {v}" for k, v in definitions.items()]
    return table(headers, rows) + "\n" + "\n".join(notes) + "\n(n/a: nothing to divide by)\n"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def replay_text(diff: ReplayDiff) -> str:
    """What a replay changed, decision first, then verdict by verdict."""
    lines = [
        f"Replay of {diff.decision_id} (recorded {diff.created_at}, actor {diff.actor!r})",
        *([f"  topology {diff.topology_line}"] if diff.topology_line else []),
        f"  policy   {_arrow(diff.policy_before, diff.policy_after)}",
        f"  outcome  {_arrow(diff.outcome_before, diff.outcome_after)}"
        + ("   FLIPPED" if diff.flipped else ""),
        f"  tier     {_arrow(diff.tier_before.value, diff.tier_after.value)}",
        f"  roles    {_arrow(_roles(diff.roles_before), _roles(diff.roles_after))}",
        f"  dissent  {_arrow(f'{diff.dissent_before:.2f}', f'{diff.dissent_after:.2f}')}",
    ]
    if diff.rules_added or diff.rules_removed:
        lines.append(f"  rules    {_rule_delta(diff.rules_added, diff.rules_removed)}")
    lines += ["", "Verdict by verdict:"]
    width = max((len(v.reviewer) for v in diff.verdicts), default=0)
    for change in diff.verdicts:
        lines += _verdict_lines(change, width)
    lines += [f"note: {n}" for n in diff.notes]
    summary = "no change" if not diff.changed else ("outcome flips" if diff.flipped else "changed")
    lines.append(f"\n{summary}")
    return "\n".join(lines) + "\n"


def _verdict_lines(change: VerdictChange, width: int) -> list[str]:
    name = change.reviewer.ljust(width)
    if not change.changed:
        return [f"  {name}  unchanged ({_view(change.before)})"]
    line = f"  {name}  {_view(change.before)} → {_view(change.after)}"
    if change.rules_added or change.rules_removed:
        line += f"; findings {_rule_delta(change.rules_added, change.rules_removed)}"
    elif "findings" in change.changed:
        line += "; findings on other resources"
    lines = [line]
    if change.after is not None and change.after.error:
        lines.append(f"  {' ' * width}  error: {change.after.error}")
    elif change.after is not None and {"stance", "risk_tier"} & set(change.changed):
        lines.append(f"  {' ' * width}  now: {_cut(change.after.rationale or '(no rationale)')}")
    return lines


def _view(view: VerdictView | None) -> str:
    if view is None:
        return "(did not take part)"
    failed = " FAILED" if view.error else ""
    return f"{view.stance} {view.risk_tier.value} {view.confidence:.2f}{failed}"


def _arrow(before: str, after: str) -> str:
    return before if before == after else f"{before} → {after}"


def _roles(roles: Sequence[str]) -> str:
    return ", ".join(roles) or "(none)"


def _rule_delta(added: Sequence[str], removed: Sequence[str]) -> str:
    return " ".join([*(f"+{r}" for r in added), *(f"-{r}" for r in removed)])


def backtest_text(report: BacktestReport) -> str:
    """The decisions that would flip under the candidate policy, and the totals."""
    window = f"{report.since or 'the beginning'} to {report.until or 'now'}"
    lines = [
        f"Backtest of policy {report.policy_version} (topology {report.topology})",
        f"over decisions from {window}: {report.replayed} replayed, "
        f"{report.changed} changed, {len(report.flips)} would flip",
        *_topology_match(report),
        "",
    ]
    if report.flips:
        rows = [
            [
                f.created_at[:19].replace("T", " "),
                f.decision_id,
                f.actor,
                _arrow(f.outcome_before, f.outcome_after),
                _arrow(f.tier_before.value, f.tier_after.value),
                ", ".join(v.reviewer for v in f.verdicts if v.changed) or "-",
            ]
            for f in report.flips
        ]
        headers = ["time (UTC)", "decision", "actor", "outcome", "tier", "verdicts changed"]
        lines.append(table(headers, rows))
        lines += [f"  {k.replace(' -> ', ' → ')}: {n}" for k, n in report.transitions.items()]
    if report.frozen:
        lines.append(
            f"skipped {len(report.frozen)} decided while their actor was frozen "
            "(the kill switch, not a policy, decided them)"
        )
    for bad in report.unreplayable:
        lines.append(f"could not replay {bad.decision_id}: {bad.error}")
    return "\n".join(lines).rstrip("\n") + "\n"


_MATCH_WORDS = {
    "matches": "the review's own",
    "differs": "a different one",
    "none-given": "none, though the review had one",
    "unrecorded": "not recorded with the decision",
}


def _topology_match(report: BacktestReport) -> list[str]:
    """One line: on which topology the replays ran, against the one each review used."""
    counts = report.topology_match
    if not counts or set(counts) == {"matches"}:
        return ["topology: every replay ran on its review's own"] if counts else []
    parts = [f"{counts[k]} {_MATCH_WORDS[k]}" for k in _MATCH_WORDS if counts.get(k)]
    return ["topology of the replays: " + "; ".join(parts) + " (changes may come from it)"]
