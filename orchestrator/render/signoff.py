"""The human part of a decision's story: who signed, who denied, and what became of the contrarian.

Pure text from a `Decision` and its `Escalation` (orchestrator/store/governance),
for `commander explain`. An escalation the store does not know (a decision
recorded before the gate existed) is said to be unknown, never guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.models import Decision, Verdict

if TYPE_CHECKING:
    from orchestrator.store.governance import Escalation


def signoff_lines(decision: Decision, escalation: Escalation | None) -> list[str]:
    """What happened at the human gate, one fact a line."""
    if decision.outcome != "escalate":
        return []
    if escalation is None:
        return ["no escalation is recorded for this decision, so nobody has signed it"]
    lines = [f"status: {_status(escalation)}"]
    for approval in escalation.approvals:
        said = f': "{approval.comment}"' if approval.comment else ""
        lines.append(f"signed by {approval.name} as {approval.role} at {approval.created_at}{said}")
    if escalation.denial is not None:
        denial = escalation.denial
        lines.append(f"denied by {denial.name} at {denial.created_at}: {denial.reason}")
    missing = escalation.missing_roles
    if missing and escalation.status == "pending":
        lines.append(f"still to sign: {', '.join(missing)} (expires {escalation.expires_at})")
    elif missing and escalation.status in ("expired", "cancelled"):
        lines.append(f"never signed: {', '.join(missing)}")
    return lines


def _status(escalation: Escalation) -> str:
    status = escalation.status
    if status == "pending":
        return f"pending since {escalation.created_at}"
    closed = f" at {escalation.closed_at}" if escalation.closed_at else ""
    reason = f": {escalation.reason}" if escalation.reason and status != "denied" else ""
    return f"{status}{closed}{reason}"


def contrarian_outcome(
    decision: Decision, verdict: Verdict, escalation: Escalation | None
) -> str | None:
    """Whether humans overruled or upheld the contrarian, and who; None when no human acted."""
    if verdict.error is not None or decision.outcome != "escalate" or escalation is None:
        return None
    objected = verdict.stance != "approve"
    signers = ", ".join(f"{a.name} ({a.role})" for a in escalation.approvals)
    if escalation.status == "approved-by-humans":
        if objected:
            return f"overruled by the humans who signed the change off: {signers}"
        return f"the humans sided with the contrarian and signed the change off: {signers}"
    if escalation.status == "denied" and escalation.denial is not None:
        who = escalation.denial.name
        if objected:
            return f"upheld: {who} denied the change ({escalation.denial.reason})"
        return f"the contrarian's case for approval was rejected: {who} denied the change"
    if escalation.status == "pending":
        return "the humans have not decided yet"
    return f"nobody overruled it: the escalation was {escalation.status}"
