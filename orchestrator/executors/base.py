"""The executor seam: `Executor.run(calls) -> list[Verdict]`, one verdict per call.

Whatever runs the calls, each one is isolated: a reviewer that raises, hangs
or returns something that is not a Verdict becomes an error verdict for that
reviewer alone, and the commander reads an error verdict as "cannot approve".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.models import Proposal, Verdict
from orchestrator.reviewer import ReviewContext, Reviewer


@dataclass(frozen=True, kw_only=True)
class ReviewCall:
    """One reviewer to run on one proposal, with its time limit."""

    name: str
    reviewer: Reviewer
    proposal: Proposal
    context: ReviewContext
    timeout: float


class Executor(Protocol):
    """Runs a batch of independent reviewer calls."""

    async def run(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Return one verdict per call, in the order of the calls; never raise."""
        ...


async def guarded_review(call: ReviewCall) -> Verdict:
    """Run a reviewer and turn anything but a well-formed verdict into an error verdict."""
    started = time.perf_counter()
    try:
        verdict = await call.reviewer.review(call.proposal, call.context)
    except Exception as exc:  # isolate: one reviewer's crash must not sink the others
        failed = Verdict.failed(call.name, f"{type(exc).__name__}: {exc}")
        return failed.timed(time.perf_counter() - started)
    return checked_verdict(call.name, verdict).timed(time.perf_counter() - started)


def checked_verdict(name: str, verdict: object) -> Verdict:
    """Accept a reviewer's return value only if it is its own, well-formed verdict."""
    if not isinstance(verdict, Verdict):
        return Verdict.failed(name, f"returned {type(verdict).__name__}, not a Verdict")
    if verdict.reviewer != name:
        return Verdict.failed(name, f"returned a verdict signed {verdict.reviewer!r}")
    return verdict
