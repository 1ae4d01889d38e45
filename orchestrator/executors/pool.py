"""A pool of reviewer threads, each running one event loop for its whole life.

Starting a thread and an event loop for every reviewer call costs about half
a millisecond each, five reviewers a review: for a service judging hundreds
of changes a second that is much of its CPU. A worker here is a daemon thread
whose loop runs until the pool retires it; a call is a coroutine handed to an
idle worker's loop, and the caller waits on its future with the call's
timeout. A worker whose call timed out may still be burning CPU in a plugin,
so it is never given another call: it is told to stop once its call ends, and
the next call that needs a worker starts a fresh one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from itertools import count

from orchestrator.executors.base import ReviewCall, guarded_review
from orchestrator.models import Verdict

# Idle workers kept beyond this are stopped, so a burst does not leave threads
# behind; enough for serve's default 32 submissions at once of 5 reviewers each,
# so a steady load never stops and restarts workers.
MAX_IDLE = 160


class _Worker:
    """One daemon thread running one event loop until stopped."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.broken = False  # a plugin raised SystemExit or the like through it
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def submit(self, call: ReviewCall) -> concurrent.futures.Future[Verdict]:
        """Start the call on this worker's loop."""
        return asyncio.run_coroutine_threadsafe(self._review(call), self.loop)

    async def _review(self, call: ReviewCall) -> Verdict:
        try:
            return await guarded_review(call)
        except BaseException as exc:  # SystemExit or CancelledError from a plugin
            # still yields a verdict at once instead of a dead loop and a timeout
            self.broken = True
            return Verdict.failed(call.name, f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Stop the loop once what it is running now returns; the thread then ends."""
        self.loop.call_soon_threadsafe(self.loop.stop)


class ReviewerPool:
    """Long-lived reviewer workers, handed out one call at a time."""

    def __init__(self, name: str = "reviewer") -> None:
        self._name = name
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._numbers = count(1)
        self.started = 0  # workers ever started: what a test can watch

    def run_blocking(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Run every call concurrently; one verdict per call, in call order.

        Each call's timeout counts from the moment the batch starts, as all
        calls start together.
        """
        started = time.monotonic()
        running = [(call, *self._start(call)) for call in calls]
        verdicts = []
        for call, worker, future in running:
            left = call.timeout - (time.monotonic() - started)
            try:
                verdict = future.result(timeout=max(left, 0.0))
            except concurrent.futures.TimeoutError:
                worker.stop()  # abandoned: it ends when the runaway call does
                verdicts.append(Verdict.failed(call.name, _timed_out(call)).timed(call.timeout))
                continue
            self._release(worker)
            verdicts.append(verdict)
        return verdicts

    async def run(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Executor.run: the same, awaited from an event loop."""
        return list(await asyncio.gather(*(self._run_one(call) for call in calls)))

    async def _run_one(self, call: ReviewCall) -> Verdict:
        worker, future = self._start(call)
        try:
            # shield: a timeout here must not cancel the call inside the worker's loop
            verdict = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future)), timeout=call.timeout
            )
        except TimeoutError:
            worker.stop()
            return Verdict.failed(call.name, _timed_out(call)).timed(call.timeout)
        self._release(worker)
        return verdict

    def close(self) -> None:
        """Stop the idle workers (busy ones stop when their call ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _start(self, call: ReviewCall) -> tuple[_Worker, concurrent.futures.Future[Verdict]]:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                self.started += 1
                worker = _Worker(f"{self._name}-{next(self._numbers)}")
        return worker, worker.submit(call)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if not worker.broken and len(self._idle) < MAX_IDLE:
                self._idle.append(worker)
                return
        worker.stop()


def _timed_out(call: ReviewCall) -> str:
    return f"timed out after {call.timeout:g} s"
