"""A tool call that changes something, reviewed and recorded like any proposal.

    review_here(call, found, options)                  the CLI: its own store, per call
    review_call(call, found, options, setup=, store=)  the service: loaded once

The only place the guard touches the review path (orchestrator/review.py:
`review_proposal`) and the gate's state (`_earlier` and `_escalation_status`,
two reads the gate package owns), so that coupling has one small home.

The actor is the agent (`--actor`, else the hook's agent name), so freezes
(`commander freeze AGENT`) and action budgets count across its sessions; the
session id is kept in the record. The change id is the actor, the directory
and the command, so the same command again is answered by the decision
already made for it while that decision waits for or has a human answer:
pending, it is asked again without a second escalation; approved, it is
allowed; denied, it is denied.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from orchestrator.adapters.base import Submission
from orchestrator.adapters.commands import build_proposal
from orchestrator.adapters.commands_calls import AGENT_NAMES, Answer, ToolCall
from orchestrator.adapters.masking import scrub_text
from orchestrator.models import Decision, Source

if TYPE_CHECKING:
    from orchestrator.adapters.commands_classify import Effect
    from orchestrator.commands.guard_core import GuardOptions
    from orchestrator.review import ReviewSetup
    from orchestrator.store import Store

_ANSWERS = {"approve": "allow", "escalate": "ask", "reject": "deny"}
_POLL_SECONDS = 1.0


def review_here(call: ToolCall, found: list[Effect], options: GuardOptions) -> Answer:
    """Review in this process: load the policy and graph, open the store, review, close it."""
    from orchestrator.config import load_config  # noqa: PLC0415
    from orchestrator.review import prepare  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415
    from orchestrator.store import Store  # noqa: PLC0415

    settings = resolve(db=options.db, config=options.config, topology=options.topology)
    setup = prepare(settings, load_config(settings.config_dir, cache=settings.cache_dir))
    # A reviewed tool call is a review: it may start the store.
    store = Store.from_settings(settings, create=True)
    try:
        return review_call(call, found, options, setup=setup, store=store)
    finally:
        store.close()


def review_call(
    call: ToolCall,
    found: list[Effect],
    options: GuardOptions,
    *,
    setup: ReviewSetup,
    store: Store,
    submitter: str | None = None,
) -> Answer:
    """Review the call's changes through the gate and record the decision."""
    from orchestrator.review import ReviewRequest, review_proposal  # noqa: PLC0415

    config = setup.config
    actor = options.actor or call.actor or AGENT_NAMES[call.format]
    submission = Submission(
        source=Source(options.source),
        actor=actor,
        intent=options.intent or call.intent or f"run: {scrub_text(call.shown)[:300]}",
        environment=options.environment or call.environment,
    )
    proposal = build_proposal(
        call,
        found,
        submission,
        diff_paths=config.diff_paths,
        max_bytes=config.commander.max_input_bytes,
    )
    command_key = hashlib.sha256(f"{call.cwd}\0{call.shown}".encode()).hexdigest()[:16]
    change_id = f"guard:{actor}:{command_key}"
    request = ReviewRequest(
        path="tool-call",
        kind="command",
        submission=submission,
        settings=setup.settings,
        change_id=change_id,
        submitter=submitter or call.session or actor,
    )
    earlier = _earlier(store, change_id, proposal.digest(), config.policy_version)
    if earlier is not None:
        return earlier
    decision = review_proposal(setup, store, request, proposal).decision
    answer = answer_for(decision, proposal.status.notes)
    if answer.decision == "ask" and options.wait > 0:
        return _wait(store, decision, answer, options.wait)
    return answer


def answer_for(decision: Decision, notes: tuple[str, ...] = ()) -> Answer:
    """The guard's answer to a recorded decision, with one paragraph naming the findings."""
    unseen = f" Cannot be judged in full: {'; '.join(notes[:3])}." if notes else ""
    return Answer(
        _ANSWERS[decision.outcome],
        reason(decision) + unseen,
        outcome=decision.outcome,
        decision_id=decision.decision_id,
    )


_RANK = {"critical": 0, "high": 1, "medium": 2}


def reason(decision: Decision) -> str:
    """The decision's rationale and the findings that carry it, in one paragraph.

    The findings named are the high and critical ones, the hard denials, and
    the medium ones of a reviewer that objects (they are why it objects).
    """
    objecting = {v.reviewer for v in decision.verdicts if v.stance != "approve"}
    findings = sorted(
        {
            (_RANK[f.severity.value], f.rule, f.message)
            for v in decision.verdicts
            for f in v.findings
            if f.severity.value in _RANK
            and (f.severity.value != "medium" or f.hard or v.reviewer in objecting)
        }
    )
    named = "; ".join(f"{rule}: {message}" for _, rule, message in findings[:6])
    more = f" (+{len(findings) - 6} more)" if len(findings) > 6 else ""
    roles = ", ".join(r.role for r in decision.required_approvals)
    how = {
        "approve": "approved",
        "escalate": f"escalated: {roles or 'a human'} must sign off "
        f"(commander approve {decision.decision_id[:13]} --as NAME --role ROLE), then run it again",
        "reject": "rejected",
    }[decision.outcome]
    why = "".join(f" {line.strip().rstrip('.')}." for line in decision.rationale if line.strip())
    listed = f" Findings: {named}{more}." if named else ""
    head = f"commander {how} [{decision.risk_tier.value}; decision {decision.decision_id}]."
    return head + why + listed


def _earlier(store: Store, change_id: str, digest: str, policy: str) -> Answer | None:
    """The same command's escalation, still standing under this policy: its human answer."""
    from orchestrator.clock import utc_now  # noqa: PLC0415
    from orchestrator.gate.idempotency import SubmissionKey, reusable_decision  # noqa: PLC0415

    key = SubmissionKey(change_id=change_id, proposal_digest=digest, policy_version=policy)
    with store.reading("look up an earlier decision for this command") as conn:
        found = reusable_decision(conn, key, utc_now())
    if found is None:
        return None
    status = _escalation_status(store, found)
    same = "the same command under the same policy"
    if status == "approved-by-humans":
        why = f"approved by humans as decision {found}; this is {same}"
        return Answer("allow", why, outcome="escalate", decision_id=found)
    if status == "pending":
        stored = store.get(found).decision
        why = f"still waiting for sign-off ({same}): {reason(stored)}"
        return Answer("ask", why, outcome="escalate", decision_id=found)
    if status == "denied":
        why = f"denied by the human gate as decision {found}; this is {same}"
        return Answer("deny", why, outcome="escalate", decision_id=found)
    return None  # not escalated: judged anew, so each run counts against the budgets


def _escalation_status(store: Store, decision_id: str) -> str | None:
    from orchestrator.store.governance import get_escalation  # noqa: PLC0415

    found = get_escalation(store, decision_id)
    return found.status if found is not None else None


def _wait(store: Store, decision: Decision, answer: Answer, seconds: float) -> Answer:
    """Wait for the human gate: allow once approved, deny once denied, else still ask."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = _escalation_status(store, decision.decision_id)
        if status == "approved-by-humans":
            return Answer(
                "allow",
                f"approved by humans while waiting: {answer.reason}",
                outcome=decision.outcome,
                decision_id=decision.decision_id,
            )
        if status in ("denied", "expired", "cancelled"):
            return Answer(
                "deny",
                f"{status} by the human gate: {answer.reason}",
                outcome=decision.outcome,
                decision_id=decision.decision_id,
            )
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    return answer
