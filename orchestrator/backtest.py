"""Backtest a candidate policy: replay every decision in a window, report what would flip.

The batch is a replay mapped over the window's decisions, in their order. In
`backtest` the map is a parameter: the default runs in this process, one
decision at a time; a process pool can pass its own map, since the unit
(`replay_job`) depends on its job and the candidate's spec alone, and both
pickle. `backtest_on_ray` spreads the replays over a Ray cluster; there the
unit carries the loaded candidate itself, put into the object store once, so
no node needs the candidate's files. Both give the same report. A decision
that cannot be replayed (its record no longer loads) is reported, never skipped
in silence; one the kill switch made is listed apart (no policy made it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from pydantic import Field

from orchestrator.errors import CommanderError
from orchestrator.models import Frozen
from orchestrator.replay import (
    Candidate,
    PolicySpec,
    ReplayJob,
    load_candidate,
    load_job,
    replay_job,
    replay_one,
)
from orchestrator.replay_diff import ReplayDiff

if TYPE_CHECKING:
    from orchestrator.store import Store

BACKTEST_SCHEMA = "commander.backtest/v1"
# A map of the unit over jobs: builtins.map runs here; a process pool's map spreads them.
Mapper = Callable[[Callable[[ReplayJob], ReplayDiff], Iterable[ReplayJob]], Iterable[ReplayDiff]]
# How a backtest replays its jobs in order, given the loaded candidate.
ReplayAll = Callable[[Candidate, Iterable[ReplayJob]], Iterable[ReplayDiff]]


class Unreplayable(Frozen):
    """A decision in the window whose record could not be replayed, and why."""

    decision_id: str
    error: str


class BacktestReport(Frozen):
    """The outcome of replaying a window of decisions under a candidate policy."""

    policy_version: str
    topology: str
    since: str | None
    until: str | None
    replayed: int
    changed: int
    flips: tuple[ReplayDiff, ...]
    transitions: dict[str, int]  # "approve -> escalate": how many decisions
    unreplayable: tuple[Unreplayable, ...] = ()
    frozen: tuple[str, ...] = ()  # decided by the kill switch while the actor was frozen: skipped
    # How many replays ran on the review's own topology ("matches"), another ("differs"),
    # none though the review had one ("none-given"), or one the decision does not record.
    topology_match: dict[str, int] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, object]:
        """The report as JSON data (`--output json`)."""
        data = self.model_dump(mode="json", exclude={"flips"})
        return {
            "schema": BACKTEST_SCHEMA,
            **data,
            "flipped": len(self.flips),
            "flips": [f.to_json_dict() for f in self.flips],
        }


def backtest(
    store: Store,
    spec: PolicySpec,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    mapper: Mapper = map,
) -> BacktestReport:
    """Replay every decision recorded in [since, until) under the candidate `spec` names."""
    return _backtest(
        store, spec, since, until, lambda _, jobs: mapper(partial(replay_job, spec=spec), jobs)
    )


def backtest_on_ray(
    store: Store,
    spec: PolicySpec,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    address: str | None = None,
) -> BacktestReport:
    """`backtest`, with the replays run as Ray tasks on the cluster at `address`.

    The loaded candidate (config, graph, reviewers) travels once, by Ray's
    pickler, which copes with the read-only mappings of the context that the
    standard pickler refuses. A replay that fails, or whose worker dies,
    fails the backtest (ReviewRunError): a report is never silently partial.
    """
    try:
        from orchestrator.executors.ray import map_reviews  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        from orchestrator.executors import ray_missing  # noqa: PLC0415

        raise ray_missing(exc) from exc

    def on_ray(candidate: Candidate, jobs: Iterable[ReplayJob]) -> list[ReplayDiff]:
        return map_reviews(jobs, partial(replay_one, candidate=candidate), address=address)

    return _backtest(store, spec, since, until, on_ray)


def _backtest(
    store: Store,
    spec: PolicySpec,
    since: datetime | None,
    until: datetime | None,
    replay_all: ReplayAll,
) -> BacktestReport:
    """Load the candidate, replay the window's jobs with `replay_all`, sum up the report."""
    from orchestrator.store.audit import decision_ids  # noqa: PLC0415 - SQLAlchemy only here

    candidate = load_candidate(spec)  # here, so a bad candidate fails before any work
    unreplayable: list[Unreplayable] = []
    frozen: list[str] = []

    def jobs() -> Iterator[ReplayJob]:
        for ident in decision_ids(store, since=since, until=until):
            try:
                job = load_job(store, store.get(ident), lookback=candidate.budget_lookback)
            except CommanderError as exc:
                unreplayable.append(Unreplayable(decision_id=ident, error=str(exc)))
                continue
            # The kill switch, not a policy, decided these: no candidate policy flips them.
            if job.frozen:
                frozen.append(ident)
            else:
                yield job

    replayed, changed = 0, 0
    flips: list[ReplayDiff] = []
    transitions: Counter[str] = Counter()
    topology: Counter[str] = Counter()
    for diff in replay_all(candidate, jobs()):
        replayed += 1
        changed += diff.changed
        topology[diff.topology_status] += 1
        if diff.flipped:
            flips.append(diff)
            transitions[f"{diff.outcome_before} -> {diff.outcome_after}"] += 1
    return BacktestReport(
        policy_version=candidate.policy_version,
        topology=candidate.topology,
        since=None if since is None else since.isoformat() + "Z",
        until=None if until is None else until.isoformat() + "Z",
        replayed=replayed,
        changed=changed,
        flips=tuple(flips),
        transitions=dict(sorted(transitions.items())),
        unreplayable=tuple(unreplayable),
        frozen=tuple(frozen),
        topology_match=dict(sorted(topology.items())),
    )
