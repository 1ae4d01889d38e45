"""What the decision, incident and actor pages show, read from the store.

Only the store's own reads are used (find, escalations, incidents, the
scorecard, replay and backtest, budgets, elevations, freezes, audit
queries); the pages and `commander report --html` share these views. What
they hold was masked when the proposal was adapted, before it was stored:
nothing here reads the raw input, and no value of a changed attribute is
shown, only addresses and actions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from orchestrator.agents import ActorRecord
from orchestrator.backtest import BacktestReport, backtest
from orchestrator.errors import DecisionNotFound
from orchestrator.gate.session import Panel
from orchestrator.guards import ALL_AI_AGENTS, BudgetWindow, Freeze
from orchestrator.models import Finding, Proposal, Source, Verdict
from orchestrator.render.explain import evidence_lines
from orchestrator.render.locations import Sources, places
from orchestrator.replay import Candidate, PolicySpec, replay
from orchestrator.replay_diff import ReplayDiff
from orchestrator.service.ui.graph import graph_svg
from orchestrator.service.ui.timeline import Step, timeline
from orchestrator.store import Store, StoredDecision
from orchestrator.store.audit import AuditFilter, query_decisions
from orchestrator.store.budgets import read_budget_windows
from orchestrator.store.chain import iso_utc, parse_utc
from orchestrator.store.elevations import ElevationRecord, list_elevations
from orchestrator.store.escalations import Escalation, get_escalation
from orchestrator.store.freezes import list_freezes, target_of
from orchestrator.store.incidents import IncidentLink, ReviewerScore, list_incidents, scorecard
from orchestrator.store.store import DecisionSummary
from orchestrator.store.tables_audit import dissenting

MAX_CHANGES_SHOWN = 200
RECENT = 25


@dataclass(frozen=True)
class FindingView:
    """One finding as the page lists it."""

    finding: Finding
    places: tuple[str, ...]  # path:line of each source location
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class DecisionView:
    """Everything the decision page shows."""

    stored: StoredDecision
    verdicts: list[Verdict]  # the minority first when there is dissent
    dissenters: frozenset[str]
    findings: list[tuple[str, list[FindingView]]]  # by reviewer
    actions: dict[str, int]
    changes: list[tuple[str, str]]  # (address, action), at most MAX_CHANGES_SHOWN
    graph: Markup
    escalation: Escalation | None
    steps: list[Step]
    incidents: list[IncidentLink]
    replay: ReplayDiff | None


def decision_view(
    store: Store, ident: str, now: datetime, candidate: Candidate | None = None
) -> DecisionView:
    """The decision page's content; with a candidate, its replay under it too."""
    stored = store.find(ident)
    decision, proposal = stored.decision, stored.proposal
    minority = dissenting(decision.verdicts)
    names = frozenset(v.reviewer for v in minority)
    verdicts = [*minority, *(v for v in decision.verdicts if v.reviewer not in names)]
    findings = [
        (v.reviewer, [_finding(f, proposal) for f in v.findings])
        for v in decision.verdicts
        if v.findings
    ]
    escalation = get_escalation(store, decision.decision_id, now=iso_utc(now))
    effective = proposal.effective_changes
    return DecisionView(
        stored=stored,
        verdicts=verdicts,
        dissenters=names,
        findings=findings,
        actions=dict(Counter(c.action.value for c in effective)),
        changes=[(c.address, c.action.value) for c in effective[:MAX_CHANGES_SHOWN]],
        graph=graph_svg(decision, proposal),
        escalation=escalation,
        steps=timeline(store, decision, proposal, escalation, now),
        incidents=list_incidents(store, decision_id=decision.decision_id),
        replay=None if candidate is None else replay(store, decision.decision_id, candidate),
    )


def _finding(finding: Finding, proposal: Proposal) -> FindingView:
    """A finding with where it is written, found as SARIF finds it (render/locations.py)."""
    found = places(finding, proposal, Sources())
    shown = tuple(f"{p.path or 'stdin'}:{p.line}" if p.line else (p.path or "stdin") for p in found)
    return FindingView(finding, shown, tuple(evidence_lines(finding.evidence)))


@dataclass(frozen=True)
class IncidentView:
    """Everything the incident page shows."""

    incident_id: str
    links: list[tuple[IncidentLink, DecisionSummary]]  # oldest decision first
    graphs: dict[str, Markup]  # each linked decision's blast radius
    since: str
    until: str
    scores: list[ReviewerScore]
    backtest: BacktestReport | None
    policy: str


def incident_window(decided: list[datetime], before: timedelta) -> tuple[datetime, datetime]:
    """From `before` ahead of the first linked decision to just after the last."""
    return min(decided) - before, max(decided) + timedelta(microseconds=1)


def incident_view(
    store: Store,
    incident_id: str,
    spec: PolicySpec | None,
    *,
    before: timedelta = timedelta(0),
) -> IncidentView:
    """The incident's linked decisions, scorecard and backtest for its window."""
    links = [x for x in list_incidents(store) if x.incident_id == incident_id]
    if not links:
        raise DecisionNotFound(f"no incident {incident_id!r} is linked to any decision")
    graphs: dict[str, Markup] = {}
    found = summaries_of(store, [x.decision_id for x in links], graphs)
    pairs = sorted(
        ((x, found[x.decision_id]) for x in links if x.decision_id in found),
        key=lambda pair: pair[1].created_at,
    )
    since, until = incident_window([parse_utc(d.created_at) for _, d in pairs], before)
    report = None if spec is None else backtest(store, spec, since=since, until=until)
    return IncidentView(
        incident_id=incident_id,
        links=pairs,
        graphs=graphs,
        since=iso_utc(since),
        until=iso_utc(until),
        scores=scorecard(store, since=since, until=until),
        backtest=report,
        policy=report.policy_version if report else "-",
    )


def summaries_of(
    store: Store, ids: list[str], graphs: dict[str, Markup]
) -> dict[str, DecisionSummary]:
    """Summaries of these decisions by id, each read from its record; their graphs into `graphs`."""
    found: dict[str, DecisionSummary] = {}
    for ident in dict.fromkeys(ids):
        stored = store.get(ident)
        d, p = stored.decision, stored.proposal
        graphs[ident] = graph_svg(d, p)
        found[ident] = DecisionSummary(
            decision_id=d.decision_id,
            proposal_digest=d.proposal_digest,
            outcome=d.outcome,
            risk_tier=d.risk_tier.value,
            dissent=d.dissent,
            actor=p.actor,
            source=p.source.value,
            kind=p.kind,
            environment=p.environment.value,
            intent=p.intent,
            input_name=p.input_name,
            changed_resources=len(p.effective_changes),
            created_at=iso_utc(parse_utc(d.created_at)),
        )
    return found


@dataclass(frozen=True)
class ActorView:
    """Everything the actor page shows."""

    actor: str
    kind: Source
    registered: bool
    record: ActorRecord | None
    elevations: list[ElevationRecord]
    freezes: list[Freeze]
    budgets: list[BudgetWindow]
    recent: list[DecisionSummary]


def actor_view(store: Store, actor: str, panel: Panel | None, now: datetime) -> ActorView:
    """The actor's registry entry, grants, freezes, budget use and recent decisions."""
    recent = query_decisions(store, AuditFilter(actor=actor, limit=RECENT))
    declared = Source(recent[0].source) if recent else Source.HUMAN
    record, registered, kind = None, False, declared
    budgets: list[BudgetWindow] = []
    if panel is not None:
        profile = panel.context.agents.profile(actor, declared)
        record, registered, kind = (
            panel.context.agents.record(actor),
            profile.registered,
            profile.kind,
        )
        rules = panel.config.commander.budgets.rules_for(actor, kind)
        budgets = list(read_budget_windows(store, actor, rules, now=iso_utc(now)))
    wanted = {target_of(actor)} | ({ALL_AI_AGENTS} if kind == Source.AI_AGENT else set())
    return ActorView(
        actor=actor,
        kind=kind,
        registered=registered,
        record=record,
        elevations=list_elevations(store, actor=actor, every=True, now=iso_utc(now)),
        freezes=[f for f in list_freezes(store) if f.target in wanted],
        budgets=budgets,
        recent=recent,
    )
