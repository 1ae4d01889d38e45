"""What changed between a recorded decision and its replay, verdict by verdict.

Pure comparison of two `Decision`s of the same proposal. A reviewer's verdict
changed when its stance, tier, confidence, error or findings (rule, severity,
hardness, resources) differ; timings and wording are not changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

from orchestrator.models import Decision, Finding, Frozen, Outcome, RiskTier, Stance, Verdict

CONFIDENCE_EPSILON = 1e-9
TopologyStatus = Literal["matches", "differs", "unrecorded", "none-given"]


class VerdictView(Frozen):
    """The parts of one verdict a replay compares."""

    stance: Stance
    risk_tier: RiskTier
    confidence: float
    error: str | None
    rules: tuple[str, ...]
    rationale: str

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictView:
        """The comparable view of a verdict."""
        return cls(
            stance=verdict.stance,
            risk_tier=verdict.risk_tier,
            confidence=verdict.confidence,
            error=verdict.error,
            rules=tuple(f.rule for f in verdict.findings),
            rationale=verdict.rationale,
        )


class VerdictChange(Frozen):
    """One reviewer, before and after; `before` or `after` is None when it took no part."""

    reviewer: str
    before: VerdictView | None
    after: VerdictView | None
    changed: tuple[str, ...]  # stance, risk_tier, confidence, error, findings, presence
    rules_added: tuple[str, ...] = ()
    rules_removed: tuple[str, ...] = ()


class ReplayDiff(Frozen):
    """A recorded decision against the decision today's (or a candidate) policy gives."""

    decision_id: str
    created_at: str
    actor: str
    policy_before: str
    policy_after: str
    outcome_before: Outcome
    outcome_after: Outcome
    tier_before: RiskTier
    tier_after: RiskTier
    roles_before: tuple[str, ...]
    roles_after: tuple[str, ...]
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    dissent_before: float
    dissent_after: float
    verdicts: tuple[VerdictChange, ...]
    notes: tuple[str, ...] = ()
    # Whether the replay's topology is the review's (replay.topology_status).
    topology_status: TopologyStatus = "unrecorded"
    topology_line: str = ""

    @property
    def flipped(self) -> bool:
        """Whether the outcome itself would differ."""
        return self.outcome_before != self.outcome_after

    @property
    def changed(self) -> bool:
        """Whether anything the decision says would differ."""
        return (
            self.flipped
            or self.tier_before != self.tier_after
            or self.roles_before != self.roles_after
            or bool(self.rules_added or self.rules_removed)
            or abs(self.dissent_before - self.dissent_after) > CONFIDENCE_EPSILON
            or any(v.changed for v in self.verdicts)
        )

    def to_json_dict(self) -> dict[str, object]:
        """The diff as JSON data, with the derived flags spelled out."""
        return {**self.model_dump(mode="json"), "flipped": self.flipped, "changed": self.changed}


def diff_decisions(
    recorded: Decision, replayed: Decision, *, actor: str, notes: Iterable[str] = ()
) -> ReplayDiff:
    """Compare a recorded decision with its replay."""
    added, removed = _multiset_diff(recorded.rules_fired, replayed.rules_fired)
    return ReplayDiff(
        decision_id=recorded.decision_id,
        created_at=recorded.created_at,
        actor=actor,
        policy_before=recorded.policy_version,
        policy_after=replayed.policy_version,
        outcome_before=recorded.outcome,
        outcome_after=replayed.outcome,
        tier_before=recorded.risk_tier,
        tier_after=replayed.risk_tier,
        roles_before=tuple(a.role for a in recorded.required_approvals),
        roles_after=tuple(a.role for a in replayed.required_approvals),
        rules_added=added,
        rules_removed=removed,
        dissent_before=recorded.dissent,
        dissent_after=replayed.dissent,
        verdicts=verdict_changes(recorded.verdicts, replayed.verdicts),
        notes=tuple(notes),
    )


def verdict_changes(
    before: Iterable[Verdict], after: Iterable[Verdict]
) -> tuple[VerdictChange, ...]:
    """One entry per reviewer in either decision, sorted by name."""
    old = {v.reviewer: v for v in before}
    new = {v.reviewer: v for v in after}
    return tuple(_change(name, old.get(name), new.get(name)) for name in sorted(old.keys() | new))


def _change(name: str, old: Verdict | None, new: Verdict | None) -> VerdictChange:
    if old is None or new is None:
        return VerdictChange(
            reviewer=name,
            before=None if old is None else VerdictView.of(old),
            after=None if new is None else VerdictView.of(new),
            changed=("presence",),
        )
    changed = [
        aspect
        for aspect, differs in (
            ("stance", old.stance != new.stance),
            ("risk_tier", old.risk_tier != new.risk_tier),
            ("confidence", abs(old.confidence - new.confidence) > CONFIDENCE_EPSILON),
            ("error", old.error != new.error),
            ("findings", _finding_keys(old.findings) != _finding_keys(new.findings)),
        )
        if differs
    ]
    added, removed = _multiset_diff([f.rule for f in old.findings], [f.rule for f in new.findings])
    return VerdictChange(
        reviewer=name,
        before=VerdictView.of(old),
        after=VerdictView.of(new),
        changed=tuple(changed),
        rules_added=added,
        rules_removed=removed,
    )


def _finding_keys(findings: Iterable[Finding]) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    return sorted((f.rule, f.severity.value, f.hard, f.resources) for f in findings)


def _multiset_diff(
    before: Iterable[str], after: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    old, new = Counter(before), Counter(after)
    return tuple(sorted((new - old).elements())), tuple(sorted((old - new).elements()))
