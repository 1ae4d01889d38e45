"""The reversibility reviewer: can this be undone, and how?

Every change that does something is classed as reversible (a create, an
update, a forget), costly (it can be undone, but only by re-creating,
with downtime, or inside a soft-delete window) or irreversible (stateful
data, keys, zones or prefixes destroyed with no evidence of a way back).
An update that turns a protection off is costly too: it prepares an
irreversible delete. Each class carries the restore path it would need.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import JsonValue

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from orchestrator.models import (
    Action,
    Environment,
    Finding,
    Proposal,
    ResourceChange,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
)
from orchestrator.reviewer import ReviewContext
from reviewers._reversibility_judge import (
    CLASS_TIER,
    Judgement,
    Klass,
    TypeFacts,
    judge,
    type_facts,
)
from reviewers._reversibility_rules import ReversibilitySettings
from reviewers._shared import capped, counts, load_shipped, step_down

__all__ = ["ReversibilityReviewer", "ReversibilitySettings", "assess"]

_NOTE_SAMPLE = 10


class ReversibilityReviewer:
    """Judges whether each change can be undone, and what undoing it would take."""

    name = "reversibility"
    stage = 1
    settings_model = ReversibilitySettings

    @classmethod
    def load_default_settings(cls) -> ReversibilitySettings:
        """The settings shipped in configs/reviewers/reversibility.yaml."""
        return load_shipped(cls.name, ReversibilitySettings)

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Class every change as reversible, costly or irreversible."""
        settings = context.settings_for(self.name) or self.load_default_settings()
        return assess(proposal, context.catalog, settings)


@dataclass(slots=True)
class _Class:
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


def assess(
    proposal: Proposal, catalog: ResourceCatalog, settings: ReversibilitySettings
) -> Verdict:
    """The reversibility verdict; a plain function so batch callers can skip the event loop."""
    changes = proposal.effective_changes
    if not changes:
        return Verdict(
            reviewer="reversibility",
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=0.9,
            rationale="No change in this proposal does anything, so there is nothing to undo.",
        )
    unknown = sorted(set(settings.restore_paths) - {"default", *catalog.category_names})
    if catalog.category_names and unknown:
        raise ConfigError(
            "reversibility settings",
            f"restore_paths names categories the resource catalog ({catalog.origin}) does not "
            f"define: {', '.join(unknown)}",
        )
    facts: dict[str, TypeFacts] = {}
    classes: dict[Klass, _Class] = {k: _Class() for k in CLASS_TIER}
    removed = _Class()
    removed_classes: set[Klass] = set()
    reasons: Counter[str] = Counter()
    destructive = unknown_destructive = 0
    for change in changes:
        tf = facts.get(change.type)
        if tf is None:
            tf = facts[change.type] = type_facts(change.type, catalog, settings)
        judgement = judge(change, tf)
        classes[judgement.klass].add(change, judgement)
        if change.is_destructive:
            destructive += 1
            unknown_destructive += not tf.categories
        if (
            change.action is Action.DELETE
            and change.action_reason in settings.removed_from_config_reasons
        ):
            removed.add(change, judgement)
            removed_classes.add(judgement.klass)
            reasons[change.action_reason] += 1

    env, source = proposal.environment, proposal.source
    steps = 0 if env is Environment.PRODUCTION else settings.non_production_step_down
    tiers = {k: step_down(t, steps, RiskTier.LOW) for k, t in CLASS_TIER.items()}
    present = [k for k in CLASS_TIER if classes[k].addresses]
    tier = max_tier(*(tiers[k] for k in present))
    hard = settings.hard_deny_irreversible.covers(source, env)

    findings: list[Finding] = []
    for klass in ("irreversible", "costly", "weakened"):
        if classes[klass].addresses:
            findings.append(
                _class_finding(
                    klass,
                    classes[klass],
                    tiers[klass],
                    proposal,
                    hard=hard and klass == "irreversible",
                )
            )
    if removed.addresses:
        worst = max_tier(*(tiers[k] for k in removed_classes))
        findings.append(_removed_finding(removed, reasons, proposal, worst))

    stance: Stance = "approve"
    if classes["irreversible"].addresses:
        stance = "block"
    elif classes["costly"].addresses or classes["weakened"].addresses:
        stance = "concern"
    known = 1 - (unknown_destructive / destructive if destructive else 0)
    return Verdict(
        reviewer="reversibility",
        stance=stance,
        risk_tier=tier,
        confidence=round(0.5 + 0.4 * known, 3),
        findings=tuple(findings),
        rationale=_rationale(classes, len(changes), proposal, hard=hard),
    )


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


def _class_finding(
    klass: Klass, gathered: _Class, tier: RiskTier, proposal: Proposal, *, hard: bool
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
        evidence=_evidence(gathered, total, proposal),
        severity=tier,
        hard=hard,
    )


def _removed_finding(
    removed: _Class,
    reasons: Counter[str],
    proposal: Proposal,
    worst: RiskTier,
) -> Finding:
    resources, total = capped(removed.addresses)
    evidence = _evidence(removed, total, proposal)
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


def _evidence(gathered: _Class, total: int, proposal: Proposal) -> dict[str, JsonValue]:
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


def _rationale(classes: dict[Klass, _Class], total: int, proposal: Proposal, *, hard: bool) -> str:
    """One or two sentences: how many changes fall in each class, and the worst one's way back."""
    n = {k: len(c.addresses) for k, c in classes.items()}
    env = proposal.environment.value
    head = (
        f"Of {total} change{'s' * (total != 1)} to {env}, {n['irreversible']} cannot "
        f"be undone, {n['costly']} only at a cost, {n['weakened']} weaken a protection and "
        f"{n['reversible']} are reversible."
    )
    irreversible = classes["irreversible"]
    if not irreversible.addresses:
        return head
    # ties broken by text: the rationale must not depend on the order of changes
    restore = min(irreversible.restores.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    who = proposal.source.value
    verdict = (
        f"{who} sources may not destroy such state in {env} (hard denial)"
        if hard
        else "a human must accept the loss"
    )
    return f"{head} Undoing them would need: {restore}; {verdict}."
