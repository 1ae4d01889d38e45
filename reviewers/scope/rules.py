"""The scope reviewer's settings: the risk-tier matrix and the ordered rule list.

A rule names who (`sources`), where (`environments`) and what (`categories`,
`traits`, `types`, `actions`); an empty matcher matches anything, a list
matches any of its entries, and every given matcher must match. Every rule
that matches applies; the list's order is the order of the findings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from orchestrator.analysis.access import AccessKind
from orchestrator.models import (
    INERT_ACTIONS,
    Action,
    Environment,
    Frozen,
    ProposalKind,
    RiskTier,
    Source,
)
from reviewers.scope.kubernetes import FACTS
from reviewers.scope.pod_security import PodSecuritySettings
from reviewers.scope.sql import SqlScope
from reviewers.shared import type_matches

Effect = Literal["deny", "require-approval", "warn"]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
Glob = Annotated[str, StringConstraints(pattern=r"^\S+$")]
# A fact read inside a change: `kubernetes.<fact>` (reviewers/scope/kubernetes.py) or
# `diff.<signal>` (a signal of configs/diff-paths.yaml).
FactId = Annotated[str, StringConstraints(pattern=r"^(?:kubernetes|diff)\.[a-z0-9-]+$")]

# Finding ids the reviewer itself emits; a configured rule may not take them.
RESERVED_PREFIXES = (
    "scope.category.",
    "scope.environment.",
    "scope.catalog.",
    "scope.kubernetes.",
    "scope.diff.",
    "scope.sql.",
    "scope.iam.",
    "scope.exposure.",
)


class ScopeRule(Frozen):
    """One explicit rule: who may do what, where."""

    id: RuleId
    effect: Effect
    message: str = Field(min_length=1)
    tier: RiskTier | None = None
    sources: tuple[Source, ...] = ()
    environments: tuple[Environment, ...] = ()
    categories: tuple[Name, ...] = ()
    traits: tuple[Name, ...] = ()
    types: tuple[Glob, ...] = ()
    actions: tuple[Action, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ScopeRule:
        if self.effect == "require-approval" and self.tier is None:
            raise ValueError(f"rule {self.id!r}: require-approval needs a tier")
        if inert := sorted(a.value for a in set(self.actions) & INERT_ACTIONS):
            raise ValueError(f"rule {self.id!r}: actions {inert} change nothing and never match")
        if Source.HUMAN in self.sources and Source.AI_AGENT not in self.sources:
            # DESIGN.md: an AI agent is never reviewed more leniently than a person.
            raise ValueError(f"rule {self.id!r}: a rule for human sources must also name ai-agent")
        if self.id.startswith(RESERVED_PREFIXES):
            raise ValueError(f"rule {self.id!r}: ids under {RESERVED_PREFIXES} are reserved")
        return self

    @property
    def effective_tier(self) -> RiskTier | None:
        """The tier a match raises the verdict to (deny is critical unless told)."""
        if self.effect == "deny":
            return self.tier or RiskTier.CRITICAL
        return self.tier

    @property
    def severity(self) -> RiskTier:
        """The severity of the rule's finding."""
        return self.effective_tier or RiskTier.MEDIUM

    def applies_to(self, source: Source, environment: Environment) -> bool:
        """Whether the rule concerns this proposer and target environment."""
        return (not self.sources or source in self.sources) and (
            not self.environments or environment in self.environments
        )

    def matches(
        self,
        resource_type: str,
        action: Action,
        categories: frozenset[str],
        traits: frozenset[str],
    ) -> bool:
        """Whether one change (type, action, its categories and traits) matches."""
        return (
            (not self.actions or action in self.actions)
            and (not self.categories or not categories.isdisjoint(self.categories))
            and (not self.traits or not traits.isdisjoint(self.traits))
            and (not self.types or type_matches(resource_type, self.types))
        )


class ScopeSettings(Frozen):
    """configs/reviewers/scope.yaml."""

    environment_floor: dict[Environment, RiskTier]
    # Floors for input kinds that are not deploys (a diff is code on its way to review).
    kind_environment_floor: dict[ProposalKind, dict[Environment, RiskTier]] = Field(
        default_factory=dict
    )
    category_tiers: dict[Name, RiskTier] = Field(default_factory=dict)
    content_tiers: dict[FactId, RiskTier] = Field(default_factory=dict)
    # What a change grants or exposes (orchestrator/analysis): one tier per kind, the
    # same in every environment (never stepped down).
    access_tiers: dict[AccessKind, RiskTier] = Field(default_factory=dict)
    pod_security: PodSecuritySettings = PodSecuritySettings()
    non_production_step_down: int = Field(default=1, ge=0, le=3)
    rules: tuple[ScopeRule, ...] = ()
    # SQL migrations: the server version hazards are judged for, hazard tiers, safe additive tier.
    sql: SqlScope = SqlScope()

    @model_validator(mode="after")
    def _complete(self) -> ScopeSettings:
        missing = sorted(e.value for e in Environment if e not in self.environment_floor)
        if missing:
            raise ValueError(f"environment_floor: no tier for {missing}")
        for kind, floors in self.kind_environment_floor.items():
            if gaps := sorted(e.value for e in Environment if e not in floors):
                raise ValueError(f"kind_environment_floor.{kind}: no tier for {gaps}")
        unknown = sorted(
            fact
            for fact in self.content_tiers
            if fact.startswith("kubernetes.") and fact.removeprefix("kubernetes.") not in FACTS
        )
        if unknown:
            # a fact that is never found would silently judge nothing
            raise ValueError(f"content_tiers: no such Kubernetes fact {unknown}")
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rules: duplicate id {rule.id!r}")
            seen.add(rule.id)
        return self

    def floor(self, kind: ProposalKind, environment: Environment) -> RiskTier:
        """The least tier of any change of this kind to this environment."""
        floors = self.kind_environment_floor.get(kind, self.environment_floor)
        return floors[environment]

    def unknown_names(self, categories: frozenset[str], traits: frozenset[str]) -> list[str]:
        """Category and trait names these settings use that a catalog does not define."""
        named = {f"category {c!r}" for c in self.category_tiers if c not in categories}
        for rule in self.rules:
            named.update(
                f"category {c!r} (rule {rule.id})" for c in rule.categories if c not in categories
            )
            named.update(f"trait {t!r} (rule {rule.id})" for t in rule.traits if t not in traits)
        return sorted(named)
