"""Fan a proposal out to the reviewers: stage 1 in parallel, then stage 2.

Stage-1 reviewers never see one another's verdicts. Stage-2 reviewers (the
contrarian) get the stage-1 verdicts in `context.prior_verdicts`, so they
can argue against the consensus. `fan_out` awaits any executor;
`fan_out_blocking` runs the same stages on an executor that can be called
from a plain thread (the local pool), with no event loop of the caller's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence

from orchestrator.executors.base import Executor, ReviewCall
from orchestrator.models import Proposal, Verdict
from orchestrator.registry import LoadedReviewer
from orchestrator.reviewer import ReviewContext

# Yields each stage's calls, is sent their verdicts, returns them all.
_Stages = Generator[list[ReviewCall], list[Verdict], tuple[Verdict, ...]]


async def fan_out(
    proposal: Proposal,
    reviewers: Sequence[LoadedReviewer],
    context: ReviewContext,
    executor: Executor,
    timeout_for: Callable[[str], float],
) -> tuple[Verdict, ...]:
    """Run every reviewer on the proposal and return their verdicts, stage by stage."""
    stages = _stages(proposal, reviewers, context, timeout_for)
    try:
        calls = next(stages)
        while True:
            calls = stages.send(await executor.run(calls))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def fan_out_blocking(
    proposal: Proposal,
    reviewers: Sequence[LoadedReviewer],
    context: ReviewContext,
    run: Callable[[Sequence[ReviewCall]], list[Verdict]],
    timeout_for: Callable[[str], float],
) -> tuple[Verdict, ...]:
    """fan_out, with `run` called from this thread for each stage's calls."""
    stages = _stages(proposal, reviewers, context, timeout_for)
    try:
        calls = next(stages)
        while True:
            calls = stages.send(run(calls))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _stages(
    proposal: Proposal,
    reviewers: Sequence[LoadedReviewer],
    context: ReviewContext,
    timeout_for: Callable[[str], float],
) -> _Stages:
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
        verdicts.extend((yield calls))
    return tuple(verdicts)
