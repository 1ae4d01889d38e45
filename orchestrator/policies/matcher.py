"""Match native policy rules against a proposal and measure what each rule matched.

Only effective changes count (reads and no-ops change nothing). Work is
grouped by (type, action, category) first: a 10,000-change plan holds a few
dozen such groups, so type and category matchers run a few dozen times;
only address globs look at every address, through one compiled pattern.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Action, Proposal, ResourceChange, Source
from orchestrator.policies.rules import Metric, PolicyRule

# Every Terraform and Kubernetes change is infrastructure, whatever its finer category.
INFRA = "infra"
_INFRA_KINDS = frozenset({"terraform", "kubernetes"})


def change_categories(
    kind: str, change: ResourceChange, catalog: ResourceCatalog
) -> frozenset[str]:
    """The categories of one change: its own, its type's in the catalog, and `infra`."""
    found = set(catalog.categories(change.type))
    if change.category:
        found.add(change.category)
    if kind in _INFRA_KINDS:
        found.add(INFRA)
    return frozenset(found)


def type_matches(resource_type: str, globs: Iterable[str]) -> bool:
    """Whether a type (or, for `group/version/Kind`, its Kind) matches any glob."""
    kind = resource_type.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(resource_type, g) or fnmatch.fnmatchcase(kind, g) for g in globs)


@dataclass(frozen=True, kw_only=True)
class RuleHit:
    """One rule that matched: the changes it is about and the figures it was judged on."""

    rule: PolicyRule
    addresses: tuple[str, ...]
    figures: dict[Metric, float]
    types: dict[str, int]
    actions: dict[str, int]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class ChangeGroup:
    """Effective changes of one type and action (and declared category), with their categories."""

    rtype: str
    action: Action
    categories: frozenset[str]
    changes: tuple[ResourceChange, ...]


def group_changes(proposal: Proposal, catalog: ResourceCatalog) -> list[ChangeGroup]:
    """Effective changes grouped by (type, action, declared category)."""
    grouped: dict[tuple[str, Action, str | None], list[ResourceChange]] = {}
    for change in proposal.effective_changes:
        grouped.setdefault((change.type, change.action, change.category), []).append(change)
    return [
        ChangeGroup(
            rtype, action, change_categories(proposal.kind, members[0], catalog), tuple(members)
        )
        for (rtype, action, _), members in grouped.items()
    ]


def evaluate_rules(
    rules: Sequence[PolicyRule],
    proposal: Proposal,
    *,
    source: Source,
    catalog: ResourceCatalog,
    populations: Mapping[str, int],
    groups: list[ChangeGroup] | None = None,
) -> list[RuleHit]:
    """Every rule that matches the proposal, in rule order.

    `source` is the source the actor is judged as (the registry may make it
    stricter than the declared one); `populations` gives the size of each
    resource type's population, for the share figures.
    """
    groups = group_changes(proposal, catalog) if groups is None else groups
    hits: list[RuleHit] = []
    for rule in rules:
        m = rule.match
        if (
            (m.sources and source not in m.sources)
            or (m.environments and proposal.environment not in m.environments)
            or (m.actors and not any(fnmatch.fnmatchcase(proposal.actor, g) for g in m.actors))
        ):
            continue
        selected, categories = _select(rule, groups)
        if not selected:
            continue
        figures = _figures(selected, populations)
        if all(bounds.holds(figures[metric]) for metric, bounds in rule.when.items()):
            hits.append(_hit(rule, selected, figures, categories))
    return hits


def _select(rule: PolicyRule, groups: list[ChangeGroup]) -> tuple[list[ResourceChange], set[str]]:
    m = rule.match
    pattern = (
        # brackets are literal, as in topology `owns`: addresses carry them (`x["k"]`, `x[0]`)
        re.compile("|".join(f"(?:{fnmatch.translate(g.replace('[', '[[]'))})" for g in m.addresses))
        if m.addresses
        else None
    )
    selected: list[ResourceChange] = []
    categories: set[str] = set()
    for group in groups:
        if m.actions and group.action not in m.actions:
            continue
        if m.categories and group.categories.isdisjoint(m.categories):
            continue
        if m.types and not type_matches(group.rtype, m.types):
            continue
        before = len(selected)
        if pattern is None:
            selected.extend(group.changes)
        else:
            selected.extend(c for c in group.changes if pattern.match(c.address))
        if len(selected) > before:
            categories.update(group.categories)
    return selected, categories


def _figures(changes: list[ResourceChange], populations: Mapping[str, int]) -> dict[Metric, float]:
    actions = Counter(c.action for c in changes)
    touched: Counter[str] = Counter()
    destroyed: Counter[str] = Counter()
    for change in changes:
        if change.action == Action.CREATE or change.mode != "managed":
            continue
        touched[change.type] += 1
        if change.is_destructive:
            destroyed[change.type] += 1

    def share(counts: Counter[str]) -> float:
        shares = [n / max(populations.get(t, 0), touched[t]) for t, n in counts.items()]
        return round(max(shares, default=0.0), 4)

    return {
        "changes": len(changes),
        "creates": actions[Action.CREATE],
        "updates": actions[Action.UPDATE],
        "deletes": actions[Action.DELETE],
        "replaces": actions[Action.REPLACE],
        "destroyed": actions[Action.DELETE] + actions[Action.REPLACE],
        "destroyed_share": share(destroyed),
        "touched_share": share(touched),
    }


def _hit(
    rule: PolicyRule,
    changes: list[ResourceChange],
    figures: dict[Metric, float],
    categories: set[str],
) -> RuleHit:
    types = Counter(c.type for c in changes)
    actions = Counter(c.action.value for c in changes)
    return RuleHit(
        rule=rule,
        addresses=tuple(c.address for c in changes),
        figures=figures,
        types=dict(types),
        actions=dict(actions),
        categories=tuple(sorted(categories)),
    )
