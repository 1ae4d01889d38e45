"""Replay a recorded decision under today's (or a candidate) policy, topology and reviewers.

A replay feeds the stored proposal (raw input included) through the steps of
the gate session `commander review` runs — `judge`, then `decide` — with the
facts of the decision's own time (the actor's history, the elevations then in
force, the budget use counted before it) and the decision's own id and time.
Reviewers are pure, so under an unchanged policy and topology the replay
reproduces the recorded decision, and any difference is the policy's.

A decision the kill switch made (the actor was frozen) was not judged by
policy at all; its replay judges the change on its merits and says so.

Replays are not recorded: a replay is a question about a past decision, not a
new submission. Recording it would put a second decision on one change into
the actor's history (which reviewers read), into audit queries, budgets and
the scorecard, and would let a replay stand in for the review of a real change.

`replay_one(job, candidate)` is the unit of work: a function of its arguments
alone. For batches (`backtest`) `replay_job(job, spec)` takes the candidate as
a `PolicySpec` (where its files are) instead: jobs and specs pickle, so a map
can ship them to worker processes, each loading a spec once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.agents import Elevation
from orchestrator.config import load_config
from orchestrator.executors.local import LocalExecutor
from orchestrator.gate.session import HISTORY_LIMIT, ActorFacts, Panel, decide, judge
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import topology_ref
from orchestrator.guards import FROZEN_RULE, BudgetRule, BudgetWindow, GateFacts
from orchestrator.models import Decision, Proposal, TopologyRef
from orchestrator.replay_diff import ReplayDiff, TopologyStatus, diff_decisions
from orchestrator.review import build_context
from orchestrator.reviewer import HistoryEntry
from orchestrator.store.chain import iso_utc, parse_utc

if TYPE_CHECKING:
    from orchestrator.store import Store, StoredDecision
    from orchestrator.store.asof import UsageEvent

NO_TOPOLOGY = "<none>"


@dataclass(frozen=True, kw_only=True)
class Candidate(Panel):
    """The panel to replay under: config, the reviewers and their context, and the topology."""

    topology: str  # where the services came from, for the report

    @classmethod
    def load(
        cls, config_dir: Path | None, topology: Path | None, backstage: Path | None = None
    ) -> Candidate:
        """Load a config directory (or the shipped defaults) and the service graph (or none)."""
        config = load_config(config_dir)
        graph = DependencyGraph.load(
            topology, catalog=backstage, owns_by_name=config.commander.backstage.owns
        )
        reviewers, context = build_context(config, graph)
        sources = [str(p) for p in (topology, backstage) if p is not None]
        return cls(
            config=config,
            reviewers=tuple(reviewers),
            context=context,
            topology=" + ".join(sources) or NO_TOPOLOGY,
            topology_ref=topology_ref(topology, backstage),
        )

    @property
    def policy_version(self) -> str:
        """The policy version a replayed decision records."""
        return self.config.policy_version

    @property
    def budget_lookback(self) -> timedelta:
        """The longest budget window of any rule: how far back budget use can matter."""
        budgets = self.config.commander.budgets
        rules = [r for group in (*budgets.kinds.values(), *budgets.actors.values()) for r in group]
        return max((r.window for r in rules), default=timedelta(0))


@dataclass(frozen=True)
class PolicySpec:
    """Where a candidate policy's files are; None means the shipped config, or none."""

    config_dir: Path | None = None
    topology: Path | None = None
    backstage: Path | None = None


@functools.lru_cache(maxsize=8)
def load_candidate(spec: PolicySpec) -> Candidate:
    """The candidate a spec names, loaded once per process (its files are read then)."""
    return Candidate.load(spec.config_dir, spec.topology, spec.backstage)


@dataclass(frozen=True, kw_only=True)
class ReplayJob:
    """One recorded decision with the facts of its time: everything needed to judge it again."""

    proposal: Proposal
    decision: Decision
    history: tuple[HistoryEntry, ...] = ()
    elevations: tuple[Elevation, ...] = ()
    usage: tuple[UsageEvent, ...] = ()

    @property
    def frozen(self) -> bool:
        """Whether the kill switch, not the policy, made the recorded decision."""
        return FROZEN_RULE in self.decision.rules_fired


def replay_one(job: ReplayJob, candidate: Candidate) -> ReplayDiff:
    """Judge the job's proposal under the candidate and compare with the recorded decision."""
    notes = []
    if job.frozen:
        notes.append(
            f"{job.proposal.actor} was frozen when this was decided: the kill switch rejected "
            "it unreviewed; the replay judges the change on its merits"
        )
    if candidate.topology == NO_TOPOLOGY:
        notes.append(
            "no topology was given (--topology or COMMANDER_TOPOLOGY): the replay sees no "
            "services, so blast-radius findings may differ for that reason alone"
        )
    replayed = rejudge(job, candidate)
    status, line = topology_status(job.decision.topology, candidate.topology_ref)
    diff = diff_decisions(job.decision, replayed, actor=job.proposal.actor, notes=notes)
    return diff.model_copy(update={"topology_status": status, "topology_line": line})


def topology_status(
    recorded: TopologyRef | None, given: TopologyRef | None
) -> tuple[TopologyStatus, str]:
    """Whether the replay's topology is the review's: a status word and a line saying so."""
    if recorded is None:
        now = f"this replay {given.path}" if given is not None else "this replay none"
        return "unrecorded", (
            "NOT RECORDED with this decision (made before commander kept it, or reviewed "
            f"without one); {now}: a difference may come from the topology alone"
        )
    used = f"{recorded.path} ({_short(recorded.digest)})"
    if given is None:
        return "none-given", (
            f"NONE GIVEN: the review used {used}; "
            f"pass --topology {recorded.path} to replay like for like"
        )
    if given.digest == recorded.digest:
        return "matches", f"matches the review's: {used}"
    return "differs", (
        f"DIFFERS from the review's: it used {used}, "
        f"this replay {given.path} ({_short(given.digest)})"
    )


def _short(digest: str) -> str:
    return digest[: len("sha256:") + 12]


def replay_job(job: ReplayJob, spec: PolicySpec) -> ReplayDiff:
    """`replay_one` with the candidate named by a picklable spec: the unit a batch maps."""
    return replay_one(job, load_candidate(spec))


def rejudge(job: ReplayJob, candidate: Candidate) -> Decision:
    """The decision the candidate policy gives the job's proposal, with the recorded id and time."""
    proposal, settings = job.proposal, candidate.config.commander
    profile = candidate.context.agents.profile(proposal.actor, proposal.source, job.elevations)
    # The kill switch is not replayed: the change is judged on its merits (see replay_one).
    facts = ActorFacts(profile=profile, history=job.history)
    verdicts = judge(candidate, proposal, facts, LocalExecutor())
    rules = settings.budgets.rules_for(proposal.actor, profile.kind)
    return decide(
        candidate,
        proposal,
        verdicts,
        GateFacts(budgets=budget_windows(job.usage, rules, job.decision.created_at)),
        decision_id=job.decision.decision_id,
        created_at=job.decision.created_at,
    )


def budget_windows(
    usage: Iterable[UsageEvent], rules: Iterable[BudgetRule], created_at: str
) -> tuple[BudgetWindow, ...]:
    """Each budget rule with the use counted in its window ending at the decision's time."""
    at = parse_utc(created_at)
    events = [(parse_utc(u.counted_at), u) for u in usage]
    metric = {
        "deletes": lambda u: u.deletes,
        "changed-resources": lambda u: u.changed_resources,
        "blast-radius": lambda u: u.blast_radius,
    }
    windows = []
    for rule in rules:
        since = at - rule.window
        used = sum(metric[rule.metric](u) for when, u in events if since < when <= at)
        windows.append(BudgetWindow(rule=rule, used=used, since=iso_utc(since), until=iso_utc(at)))
    return tuple(windows)


def load_job(store: Store, stored: StoredDecision, *, lookback: timedelta) -> ReplayJob:
    """The replay job of a recorded decision: its proposal and the facts of its time."""
    # Imported here: SQLAlchemy only for callers that read the store.
    from orchestrator.store.asof import (  # noqa: PLC0415
        elevations_at,
        history_before,
        usage_before,
    )

    proposal, decision = stored.proposal, stored.decision
    at = parse_utc(decision.created_at)
    ident = decision.decision_id
    return ReplayJob(
        proposal=proposal,
        decision=decision,
        history=history_before(store, proposal.actor, ident, limit=HISTORY_LIMIT),
        elevations=elevations_at(store, proposal.actor, at),
        usage=usage_before(store, proposal.actor, ident, at, lookback)
        if lookback > timedelta(0)
        else (),
    )


def replay(store: Store, decision_id: str, candidate: Candidate) -> ReplayDiff:
    """Replay the decision with this id (or unique id prefix) under the candidate."""
    stored = store.find(decision_id)
    return replay_one(load_job(store, stored, lookback=candidate.budget_lookback), candidate)
