"""Run reviewers in this process, each call on a pooled thread with its own timeout.

Reviewers are async, but a reviewer that burns CPU without awaiting would
block a shared event loop and make its timeout meaningless. So each call runs
on a daemon thread of its own with a private loop (executors/pool.py); the
caller waits on its future with the call's timeout, which fires on time
whatever the reviewer is doing, and a runaway daemon thread cannot keep the
process alive after the decision. The threads and their loops outlive the
review: an executor kept for a service's life starts them once.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.executors.base import ReviewCall
from orchestrator.executors.pool import ReviewerPool
from orchestrator.models import Verdict


class LocalExecutor:
    """The default executor: pooled threads in this process."""

    def __init__(self) -> None:
        self.pool = ReviewerPool()

    async def run(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Run every call concurrently; one verdict per call, in call order."""
        return await self.pool.run(calls)

    def run_blocking(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """The same from a plain thread, with no event loop of the caller's."""
        return self.pool.run_blocking(calls)
