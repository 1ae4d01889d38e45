"""Run reviewers in this process, each in its own thread with its own timeout.

Reviewers are async, but a reviewer that burns CPU without awaiting would
block a shared event loop and make its timeout meaningless. So each call runs
on a daemon thread with a private loop; the caller waits on a future with
`asyncio.wait_for`, which fires on time whatever the reviewer is doing, and
a runaway daemon thread cannot keep the process alive after the decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence

from orchestrator.executors.base import ReviewCall, guarded_review
from orchestrator.models import Verdict


class LocalExecutor:
    """The default executor: threads in this process."""

    async def run(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Run every call concurrently; one verdict per call, in call order."""
        return list(await asyncio.gather(*(self._run_one(call) for call in calls)))

    async def _run_one(self, call: ReviewCall) -> Verdict:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Verdict] = loop.create_future()

        def deliver(verdict: Verdict) -> None:
            if not future.done():
                future.set_result(verdict)

        def work() -> None:
            try:
                verdict = asyncio.run(guarded_review(call))
            except BaseException as exc:  # SystemExit or CancelledError from a plugin
                # still yields a verdict at once instead of a silent thread and a timeout
                verdict = Verdict.failed(call.name, f"{type(exc).__name__}: {exc}")
            # The caller's loop may have closed after a timeout; nothing to tell then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, verdict)

        threading.Thread(target=work, name=f"reviewer-{call.name}", daemon=True).start()
        try:
            return await asyncio.wait_for(future, timeout=call.timeout)
        except TimeoutError:
            timed_out = Verdict.failed(call.name, f"timed out after {call.timeout:g} s")
            return timed_out.timed(call.timeout)
