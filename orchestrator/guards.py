"""Gate facts the commander weighs besides verdicts: a freeze in force, action budgets.

Everything here is pure data and arithmetic. The store reads the facts (who is
frozen, what an actor used in each rolling window) at the edge, at the
decision's time, and hands them to `aggregate`; the same facts always give
the same decision.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, JsonValue

from orchestrator import identity
from orchestrator.models import BlastRadius, Frozen, Proposal, Source

# The decision rules the gate's state fires (rather than the plan's content).
FROZEN_RULE = "actor-frozen"
BUDGET_RULE_PREFIX = "budget-exceeded:"

_DURATION = re.compile(r"(?P<n>\d+)\s*(?P<unit>[smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Least trusted first: a gate that must pick a kind picks the stricter one.
_KIND_ORDER = (Source.AI_AGENT, Source.AUTOMATION, Source.HUMAN)


def parse_duration(value: Any) -> Any:
    """Read "90s", "30m", "24h", "7d", "1h30m" or plain seconds as a timedelta."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 30m, 24h, 7d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    pos, total = 0, 0
    for match in _DURATION.finditer(text):
        if text[pos : match.start()].strip():
            break
        total += int(match["n"]) * _UNIT_SECONDS[match["unit"]]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"{value!r} is not a duration: write e.g. 90s, 30m, 24h, 7d or 1h30m")
    return timedelta(seconds=total)


def show_duration(span: timedelta) -> str:
    """A timedelta as the shortest of "10s", "30m", "24h", "7d" (or a mix)."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[Duration, Field(gt=timedelta(0))]


def stricter_kind(*kinds: Source | None) -> Source:
    """The least trusted of the given kinds (human when none is known)."""
    known = [k for k in kinds if k is not None]
    return min(known, key=_KIND_ORDER.index, default=Source.HUMAN)


# --- action budgets ---------------------------------------------------------------------------

BudgetMetric = Literal["deletes", "changed-resources", "blast-radius"]


class BudgetRule(Frozen):
    """At most `limit` of one metric in any rolling `window`, per actor."""

    metric: BudgetMetric
    limit: int = Field(ge=0)
    window: PositiveDuration

    @property
    def label(self) -> str:
        """How the rule reads in a message: "deletes per 1h"."""
        return f"{self.metric} per {show_duration(self.window)}"

    @property
    def rule_id(self) -> str:
        """The name of the decision rule this budget fires: "budget-exceeded:deletes-per-1h"."""
        return f"{BUDGET_RULE_PREFIX}{self.metric}-per-{show_duration(self.window)}"


class BudgetSettings(Frozen):
    """configs/commander.yaml `budgets`: rules by actor kind, replaced per actor."""

    kinds: dict[Source, tuple[BudgetRule, ...]] = Field(default_factory=dict)
    actors: dict[str, tuple[BudgetRule, ...]] = Field(default_factory=dict)

    def rules_for(self, actor: str, kind: Source) -> tuple[BudgetRule, ...]:
        """The actor's own rules when it has some (by identity), else those of its kind."""
        if actor in self.actors:
            return self.actors[actor]
        for name in identity.among(actor, self.actors):
            return self.actors[name]
        return self.kinds.get(kind, ())


class ChangeFigures(Frozen):
    """What one change adds to each budget metric."""

    deletes: int = 0
    changed_resources: int = 0
    blast_radius: int = 0

    def of(self, metric: BudgetMetric) -> int:
        """This change's amount of one metric."""
        return {
            "deletes": self.deletes,
            "changed-resources": self.changed_resources,
            "blast-radius": self.blast_radius,
        }[metric]

    def usage(self) -> dict[str, JsonValue]:
        """The figures as a chain event's payload holds them."""
        return {
            "deletes": self.deletes,
            "changed_resources": self.changed_resources,
            "blast_radius": self.blast_radius,
        }


def change_figures(proposal: Proposal, blast: BlastRadius) -> ChangeFigures:
    """Deletes (replacements destroy too), changed resources and the blast-radius score."""
    effective = proposal.effective_changes
    return ChangeFigures(
        deletes=sum(1 for c in effective if c.is_destructive),
        changed_resources=len(effective),
        blast_radius=blast.score,
    )


class BudgetWindow(Frozen):
    """One budget rule with what the actor used in its window ending at the decision."""

    rule: BudgetRule
    used: int = Field(ge=0)
    since: str  # ISO 8601 UTC, exclusive
    until: str  # ISO 8601 UTC: the decision's time


class BudgetOverrun(Frozen):
    """A budget this change would exceed, with the window's figures."""

    window: BudgetWindow
    this_change: int

    def reason(self, actor: str) -> str:
        """The rationale line: which budget, the figures and the window."""
        w = self.window
        total = w.used + self.this_change
        return (
            f"Action budget exceeded: {actor} may make at most {w.rule.limit} {w.rule.label}; "
            f"{w.used} already approved between {w.since} and {w.until}, "
            f"{self.this_change} in this change, {total} in all."
        )


def budget_overruns(
    windows: tuple[BudgetWindow, ...], figures: ChangeFigures
) -> tuple[BudgetOverrun, ...]:
    """Every budget that the used amount plus this change would exceed."""
    return tuple(
        BudgetOverrun(window=w, this_change=figures.of(w.rule.metric))
        for w in windows
        if w.used + figures.of(w.rule.metric) > w.rule.limit
    )


# --- freezes and the facts handed to the commander -------------------------------------------

# The freeze target meaning every AI agent: declared, registered, or judged as one.
ALL_AI_AGENTS = "*all-ai-agents*"


class Freeze(Frozen):
    """A freeze in force: one actor, or every AI agent."""

    target: str  # the actor's name, or ALL_AI_AGENTS
    frozen_by: str
    reason: str
    frozen_at: str  # ISO 8601 UTC

    def reason_for(self, actor: str) -> str:
        """The rationale line of a decision rejected because of this freeze."""
        whom = (
            f"{actor}: every AI agent is frozen"
            if self.target == ALL_AI_AGENTS
            else f"{actor} is frozen"
        )
        return (
            f"{whom} (by {self.frozen_by} at {self.frozen_at}: {self.reason}); "
            "rejected before any reviewer ran."
        )


class GateFacts(Frozen):
    """What the store knows about the actor at the decision's time."""

    freeze: Freeze | None = None
    budgets: tuple[BudgetWindow, ...] = ()


class GateSettings(Frozen):
    """configs/commander.yaml `gate`: escalation expiry, approvers, elevation limits."""

    escalation_expiry: PositiveDuration = timedelta(hours=24)
    # name -> roles that person may sign for; empty: any human may sign any role.
    approvers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    max_elevation: PositiveDuration = timedelta(days=7)
