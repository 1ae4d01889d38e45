"""The reversibility reviewer: can this be undone, and how?

Every change that does something is classed as reversible (a create, an
update, a forget), costly (it can be undone, but only by re-creating,
with downtime, or inside a soft-delete window) or irreversible (stateful
data, keys, zones or prefixes destroyed with no evidence of a way back).
An update that turns a protection off is costly too: it prepares an
irreversible delete. Each class carries the restore path it would need.
Diff files, SQL operations and applied manifests are judged by their kind
first (`kinds`).
"""

from __future__ import annotations

from collections import Counter

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from orchestrator.models import (
    Action,
    Environment,
    Finding,
    Proposal,
    RiskTier,
    Stance,
    Verdict,
    max_tier,
    tier_rank,
)
from orchestrator.reviewer import ReviewContext
from reviewers.reversibility.findings import Gathered, class_finding, removed_finding
from reviewers.reversibility.judge import CLASS_TIER, Klass, TypeFacts, judge, type_facts
from reviewers.reversibility.kinds import deleted_file_finding, kind_judgement
from reviewers.reversibility.rules import ReversibilitySettings
from reviewers.shared import load_shipped, step_down

__all__ = ["ReversibilityReviewer", "ReversibilitySettings", "assess"]


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
    classes: dict[Klass, Gathered] = {k: Gathered() for k in CLASS_TIER}
    removed = Gathered()
    removed_classes: set[Klass] = set()
    reasons: Counter[str] = Counter()
    destructive = unknown_destructive = 0
    by_kind = proposal.kind != "terraform"  # plans are judged by type alone: skip the call
    for change in changes:
        tf = facts.get(change.type)
        if tf is None:
            tf = facts[change.type] = type_facts(change.type, catalog, settings)
        judgement = (by_kind and kind_judgement(proposal.kind, change, settings)) or judge(
            change, tf
        )
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
                class_finding(
                    klass,
                    classes[klass],
                    tiers[klass],
                    proposal,
                    hard=hard and klass == "irreversible",
                )
            )
    if removed.addresses:
        worst = max_tier(*(tiers[k] for k in removed_classes))
        findings.append(removed_finding(removed, reasons, proposal, worst))
    deleted = deleted_file_finding(proposal, settings, steps)
    if deleted is not None:
        findings.append(deleted)
        tier = max_tier(tier, deleted.severity)

    stance: Stance = "approve"
    if classes["irreversible"].addresses:
        stance = "block"
    elif (
        (classes["costly"].addresses and env in settings.costly_objects_in)
        or classes["weakened"].addresses
        or (deleted is not None and tier_rank(deleted.severity) >= tier_rank(RiskTier.MEDIUM))
    ):
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


def _rationale(
    classes: dict[Klass, Gathered], total: int, proposal: Proposal, *, hard: bool
) -> str:
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
