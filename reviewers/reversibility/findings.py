"""The findings of the reversibility reviewer: one per class of changes, with the evidence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import JsonValue

from orchestrator.models import Finding, Proposal, ResourceChange, RiskTier
from reviewers.reversibility.judge import Judgement, Klass
from reviewers.shared import capped, counts

_NOTE_SAMPLE = 10


@dataclass(slots=True)
class Gathered:
    """The changes of one class, gathered for its finding."""

    addresses: list[str] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    restores: Counter[str] = field(default_factory=Counter)
    recoveries: Counter[str] = field(default_factory=Counter)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, change: ResourceChange, judgement: Judgement) -> None:
        self.addresses.append(change.address)
        self.types[change.type] += 1
        self.actions[change.action.value] += 1
        self.restores[judgement.restore] += 1
        if judgement.recovery:
            self.recoveries[judgement.recovery] += 1
        for note in judgement.notes:
            self.notes.setdefault(note, []).append(change.address)


_MESSAGES: dict[Klass, tuple[str, str]] = {
    "irreversible": (
        "destroys state that cannot be brought back",
        "destroy state that cannot be brought back",
    ),
    "costly": ("can be undone only at a cost (re-creation, downtime or a restore window)",) * 2,
    "weakened": (
        "turns a protection off, preparing an irreversible delete",
        "turn a protection off, preparing an irreversible delete",
    ),
}


def class_finding(
    klass: Klass, gathered: Gathered, tier: RiskTier, proposal: Proposal, *, hard: bool
) -> Finding:
    resources, total = capped(gathered.addresses)
    top = ", ".join(
        f"{n} {t}" for t, n in sorted(gathered.types.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    )
    rule = "protection-weakened" if klass == "weakened" else klass
    return Finding(
        rule=f"reversibility.{rule}",
        message=f"{total} change{'s' * (total != 1)} {_MESSAGES[klass][total != 1]}: {top}",
        resources=resources,
        evidence=evidence_of(gathered, total, proposal),
        severity=tier,
        hard=hard,
    )


def removed_finding(
    removed: Gathered,
    reasons: Counter[str],
    proposal: Proposal,
    worst: RiskTier,
) -> Finding:
    resources, total = capped(removed.addresses)
    evidence = evidence_of(removed, total, proposal)
    evidence["action_reasons"] = counts(reasons)
    return Finding(
        rule="reversibility.removed-from-config",
        message=f"{total} resource{'s are' if total != 1 else ' is'} deleted because "
        f"{'they' if total != 1 else 'it'} vanished from the configuration (often an "
        "accident: a renamed module, a bad merge, a shrunk count or for_each)",
        resources=resources,
        evidence=evidence,
        severity=worst,
    )


def evidence_of(gathered: Gathered, total: int, proposal: Proposal) -> dict[str, JsonValue]:
    evidence: dict[str, JsonValue] = {
        "resource_count": total,
        "types": counts(gathered.types),
        "actions": counts(gathered.actions),
        "restore_paths": counts(gathered.restores),
        "environment": proposal.environment.value,
        "source": proposal.source.value,
    }
    if gathered.recoveries:
        evidence["recoveries"] = counts(gathered.recoveries)
    if gathered.notes:
        evidence["attributes"] = {
            note: {"count": len(addrs), "resources": [*sorted(addrs)[:_NOTE_SAMPLE]]}
            for note, addrs in sorted(gathered.notes.items())
        }
    return evidence
