"""The findings the scope reviewer builds: per rule, per category, the floor, the unknown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import JsonValue

from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Action, Finding, Proposal, RiskTier
from reviewers.scope.rules import ScopeRule
from reviewers.shared import capped, counts


class Hits:
    """The changes one finding is about, gathered group by group."""

    __slots__ = ("actions", "addresses", "categories", "types")

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.types: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.categories: set[str] = set()

    def add(self, rtype: str, action: Action, cats: Iterable[str], addresses: list[str]) -> None:
        self.addresses.extend(addresses)
        self.types[rtype] += len(addresses)
        self.actions[action.value] += len(addresses)
        self.categories.update(cats)

    def summary(self, proposal: Proposal) -> tuple[tuple[str, ...], int, dict[str, JsonValue]]:
        """The capped resources, their number and the evidence common to every finding."""
        resources, total = capped(self.addresses)
        categories: list[JsonValue] = [*sorted(self.categories)]
        evidence: dict[str, JsonValue] = {
            "resource_count": total,
            "types": counts(self.types),
            "actions": counts(self.actions),
            "categories": categories,
            "environment": proposal.environment.value,
            "source": proposal.source.value,
        }
        return resources, total, evidence


def rule_finding(rule: ScopeRule, hits: Hits, proposal: Proposal) -> Finding:
    resources, total, evidence = hits.summary(proposal)
    evidence["effect"] = rule.effect
    return Finding(
        rule=rule.id,
        message=f"{rule.message} ({total} change{'s' * (total != 1)})",
        resources=resources,
        evidence=evidence,
        severity=rule.severity,
        hard=rule.effect == "deny",
    )


def category_finding(
    category: str, tier: RiskTier, hits: Hits, proposal: Proposal, catalog: ResourceCatalog
) -> Finding:
    resources, total, evidence = hits.summary(proposal)
    evidence["description"] = catalog.description(category)
    return Finding(
        rule=f"scope.category.{category}",
        message=f"{total} change{'s' * (total != 1)} touch{'es' * (total == 1)} {category}: "
        f"{tier.value} in "
        f"{proposal.environment.value}",
        resources=resources,
        evidence=evidence,
        severity=tier,
    )


def floor_finding(floor: RiskTier, hits: Hits, proposal: Proposal) -> Finding:
    resources, total, evidence = hits.summary(proposal)
    env = proposal.environment.value
    return Finding(
        rule=f"scope.environment.{env}",
        message=f"{total} change{'s' * (total != 1)} to {env} "
        f"(named {proposal.environment_name!r}): at least {floor.value}",
        resources=resources,
        evidence=evidence,
        severity=floor,
    )


def unclassified_finding(hits: Hits, proposal: Proposal, catalog: ResourceCatalog) -> Finding:
    resources, total, evidence = hits.summary(proposal)
    evidence["catalog"] = catalog.origin
    return Finding(
        rule="scope.catalog.unclassified",
        message=f"{total} change{'s' * (total != 1)} of {len(hits.types)} type"
        f"{'s' * (len(hits.types) != 1)} the resource catalog does not know were judged "
        "by environment and rules alone",
        resources=resources,
        evidence=evidence,
        severity=RiskTier.LOW,
    )
