"""Running reviewers: isolation, timeouts, verdict order, and the two-stage fan-out."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

import pytest

from orchestrator.executors.base import ReviewCall
from orchestrator.executors.local import LocalExecutor
from orchestrator.executors.pool import ReviewerPool
from orchestrator.fanout import fan_out
from orchestrator.graph import DependencyGraph
from orchestrator.models import Environment, Proposal, RiskTier, Source, Verdict
from orchestrator.registry import LoadedReviewer, validate_reviewer
from orchestrator.reviewer import ReviewContext, Reviewer
from orchestrator.testing import (
    CrashingReviewer,
    SlowReviewer,
    StaticReviewer,
    WrongTypeReviewer,
)

PROPOSAL = Proposal(
    kind="terraform",
    source=Source.AI_AGENT,
    actor="agent-7",
    environment=Environment.PRODUCTION,
    environment_name="prod",
    changes=(),
)
CONTEXT = ReviewContext(graph=DependencyGraph.empty())


class ImpostorReviewer:
    """Returns an approval signed with another reviewer's name."""

    stage = 1

    def __init__(self, name: str = "impostor") -> None:
        self.name = name

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Approve in the name of 'scope'."""
        return Verdict(reviewer="scope", stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


class ExitingReviewer:
    """Calls sys.exit, as a careless plugin might."""

    stage = 1

    def __init__(self, name: str = "exiting") -> None:
        self.name = name

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Exit the interpreter (or try to)."""
        sys.exit(3)


class DelayedReviewer:
    """Approves after a short sleep, so completion order can differ from call order."""

    stage = 1

    def __init__(self, name: str, delay: float) -> None:
        self.name = name
        self._delay = delay

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Sleep, then approve."""
        await asyncio.sleep(self._delay)
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


class PriorEchoReviewer:
    """Reports, in its rationale, exactly which prior verdicts its context held."""

    def __init__(self, name: str, stage: int) -> None:
        self.name = name
        self.stage = stage

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Approve, listing `context.prior_verdicts` as JSON."""
        seen = [v.model_dump(mode="json") for v in context.prior_verdicts]
        return Verdict(
            reviewer=self.name,
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=1.0,
            rationale=json.dumps(seen),
        )


def call(reviewer: Reviewer, timeout: float = 10.0) -> ReviewCall:
    """One call of a reviewer on the shared proposal."""
    return ReviewCall(
        name=reviewer.name, reviewer=reviewer, proposal=PROPOSAL, context=CONTEXT, timeout=timeout
    )


async def test_crashing_reviewer_becomes_an_error_verdict_alone() -> None:
    """A reviewer that raises gets an error verdict; the reviewers beside it are unaffected."""
    verdicts = await LocalExecutor().run(
        [
            call(StaticReviewer("scope")),
            call(CrashingReviewer("crashing")),
            call(StaticReviewer("reversibility", "concern", RiskTier.MEDIUM)),
        ]
    )
    assert [v.reviewer for v in verdicts] == ["scope", "crashing", "reversibility"]
    crashed = verdicts[1]
    assert crashed.error == "RuntimeError: boom"
    assert crashed.stance != "approve"
    assert (verdicts[0].stance, verdicts[0].error) == ("approve", None)
    assert (verdicts[2].stance, verdicts[2].risk_tier, verdicts[2].error) == (
        "concern",
        RiskTier.MEDIUM,
        None,
    )


@pytest.mark.parametrize(
    "slow",
    [
        pytest.param(SlowReviewer("slow", seconds=60.0), id="awaits-forever"),
        pytest.param(SlowReviewer("slow", seconds=4.0, busy=True), id="spins-the-cpu"),
    ],
)
async def test_slow_reviewer_times_out_on_time(slow: SlowReviewer) -> None:
    """A reviewer that sleeps or spins past its timeout fails at the timeout, not when it ends."""
    started = time.monotonic()
    verdicts = await LocalExecutor().run([call(slow, timeout=0.3), call(StaticReviewer("scope"))])
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"the run took {elapsed:.2f} s with a 0.3 s timeout"
    assert verdicts[0].error == "timed out after 0.3 s"
    assert verdicts[0].stance != "approve"
    assert verdicts[0].duration_ms == 300
    assert (verdicts[1].stance, verdicts[1].error) == ("approve", None)


@pytest.mark.parametrize(
    ("reviewer", "error"),
    [
        pytest.param(
            WrongTypeReviewer("wrong-type"), "returned dict, not a Verdict", id="not-a-verdict"
        ),
        pytest.param(
            ImpostorReviewer("impostor"),
            "returned a verdict signed 'scope'",
            id="signed-by-another",
        ),
        pytest.param(ExitingReviewer("exiting"), "SystemExit: 3", id="sys-exit"),
    ],
)
async def test_contract_breaches_become_error_verdicts(reviewer: Reviewer, error: str) -> None:
    """A reviewer that returns the wrong thing or exits gets an error verdict at once."""
    started = time.monotonic()
    [verdict] = await LocalExecutor().run([call(reviewer, timeout=8.0)])
    assert time.monotonic() - started < 4.0, "the breach waited for the timeout"
    assert verdict.reviewer == reviewer.name
    assert verdict.error == error
    assert verdict.stance != "approve"


async def test_verdicts_come_back_in_call_order() -> None:
    """Verdicts are returned in the order of the calls, whatever order the reviewers finish in."""
    names = ["zeta", "alpha", "mu", "beta"]
    reviewers = [DelayedReviewer(n, 0.05 * (len(names) - i)) for i, n in enumerate(names)]
    verdicts = await LocalExecutor().run([call(r) for r in reviewers])
    assert [v.reviewer for v in verdicts] == names
    assert all(v.error is None for v in verdicts)


async def test_empty_batch_gives_no_verdicts() -> None:
    """Running no calls returns an empty list rather than failing."""
    assert await LocalExecutor().run([]) == []


def loaded(reviewer: object) -> LoadedReviewer:
    """Validate a reviewer as the registry would."""
    return validate_reviewer(reviewer, label=f"{getattr(reviewer, 'name', '?')}[test]")


async def test_fan_out_shows_stage_two_exactly_the_stage_one_verdicts() -> None:
    """Stage-1 reviewers see no verdicts; the stage-2 reviewer sees every stage-1 verdict."""
    reviewers = [
        loaded(PriorEchoReviewer("contrarian", stage=2)),
        loaded(PriorEchoReviewer("scope", stage=1)),
        loaded(CrashingReviewer("crashing")),
        loaded(StaticReviewer("blast-radius", "block", RiskTier.HIGH)),
    ]
    timeouts = {"contrarian": 5.0}
    verdicts = await fan_out(
        PROPOSAL, reviewers, CONTEXT, LocalExecutor(), lambda name: timeouts.get(name, 10.0)
    )
    assert [v.reviewer for v in verdicts] == ["scope", "crashing", "blast-radius", "contrarian"]
    stage_one, contrarian = verdicts[:3], verdicts[3]
    assert json.loads(stage_one[0].rationale) == []
    assert json.loads(contrarian.rationale) == [v.model_dump(mode="json") for v in stage_one]


async def test_fan_out_applies_each_reviewers_timeout() -> None:
    """The per-reviewer timeout reaches the executor: a slow stage-1 reviewer fails on time."""
    reviewers = [loaded(SlowReviewer("slow", 60.0)), loaded(PriorEchoReviewer("contrarian", 2))]
    started = time.monotonic()
    verdicts = await fan_out(
        PROPOSAL, reviewers, CONTEXT, LocalExecutor(), lambda name: 0.3 if name == "slow" else 10.0
    )
    assert time.monotonic() - started < 2.0
    assert verdicts[0].error == "timed out after 0.3 s"
    assert json.loads(verdicts[1].rationale)[0]["error"] == "timed out after 0.3 s"


# --- the pool: threads and loops that outlive a review ----------------------------------------


def _names(*reviewers: Reviewer) -> list[ReviewCall]:
    return [
        ReviewCall(name=r.name, reviewer=r, proposal=PROPOSAL, context=CONTEXT, timeout=5.0)
        for r in reviewers
    ]


def test_the_pool_reuses_its_threads_across_reviews() -> None:
    """A hundred reviews of five reviewers start five threads, not five hundred."""
    pool = ReviewerPool()
    reviewers = [StaticReviewer(name=f"r{i}") for i in range(5)]
    before = threading.active_count()
    for _ in range(100):
        verdicts = pool.run_blocking(_names(*reviewers))
        assert [v.reviewer for v in verdicts] == [r.name for r in reviewers]
    assert pool.started == 5
    assert threading.active_count() <= before + 5
    pool.close()


def test_a_timed_out_worker_is_replaced_not_reused() -> None:
    """A call that outlives its timeout gives up its worker; the next call gets a fresh one."""
    pool = ReviewerPool()
    release = threading.Event()

    class Stuck:
        name, stage = "stuck", 1

        async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
            release.wait(10)  # blocks its loop, as CPU-bound plugin code would
            return Verdict(reviewer="stuck", stance="approve", risk_tier=RiskTier.LOW, confidence=1)

    call = ReviewCall(
        name="stuck", reviewer=Stuck(), proposal=PROPOSAL, context=CONTEXT, timeout=0.2
    )
    started = time.monotonic()
    (verdict,) = pool.run_blocking([call])
    assert time.monotonic() - started < 2
    assert verdict.error == "timed out after 0.2 s"
    (after,) = pool.run_blocking(_names(StaticReviewer(name="next")))
    assert after.error is None
    assert pool.started == 2
    release.set()
    pool.close()


def test_an_exiting_plugin_does_not_take_the_pool_down() -> None:
    """sys.exit in a reviewer is that reviewer's error verdict; later reviews still run."""
    pool = ReviewerPool()
    (exited,) = pool.run_blocking(_names(ExitingReviewer()))
    assert exited.error is not None
    assert exited.error.startswith("SystemExit")
    (fine,) = pool.run_blocking(_names(StaticReviewer(name="fine")))
    assert fine.error is None
    pool.close()
