"""Fan a proposal out to the reviewers: stage 1 in parallel, then stage 2.

Stage-1 reviewers never see one another's verdicts. Stage-2 reviewers (the
contrarian) get the stage-1 verdicts in `context.prior_verdicts`, so they
can argue against the consensus.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from orchestrator.executors.base import Executor, ReviewCall
from orchestrator.models import Proposal, Verdict
from orchestrator.registry import LoadedReviewer
from orchestrator.reviewer import ReviewContext


async def fan_out(
    proposal: Proposal,
    reviewers: Sequence[LoadedReviewer],
    context: ReviewContext,
    executor: Executor,
    timeout_for: Callable[[str], float],
) -> tuple[Verdict, ...]:
    """Run every reviewer on the proposal and return their verdicts, stage by stage."""
    verdicts: list[Verdict] = []
    for stage in (1, 2):
        members = [r for r in reviewers if r.stage == stage]
        if not members:
            continue
        staged = dataclasses.replace(context, prior_verdicts=tuple(verdicts))
        calls = [
            ReviewCall(
                name=r.name,
                reviewer=r.reviewer,
                proposal=proposal,
                context=staged,
                timeout=timeout_for(r.name),
            )
            for r in members
        ]
        verdicts.extend(await executor.run(calls))
    return tuple(verdicts)
