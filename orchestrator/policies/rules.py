"""The native policy language: one YAML file holds rules, each a match, an effect and a level.

A rule says *who* (`sources`, `actors`), *where* (`environments`), *what*
(`types`, `addresses`, `actions`, `categories`) and *how much* (`when`:
bounds on counts and population shares of the changes it matched). Its
`effect` is what it asks for — `deny` (reject), `require-approval` (escalate,
with a `tier` and/or named `roles`) or `warn` (a finding only) — and its
`enforcement` says how far that request goes, in Sentinel's sense:

* `advisory`: the rule reports what it would have decided and decides nothing
  (shadow mode for a new rule);
* `soft-mandatory`: a failed rule may be overridden by people: it escalates;
* `hard-mandatory`: a failed `deny` rejects and no one can override it.

Every field is checked when the file loads; a misspelt key is an error that
names the file and line, never a rule that silently matches nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from orchestrator.models import (
    INERT_ACTIONS,
    Action,
    Environment,
    Frozen,
    RiskTier,
    Source,
    canonical_environment,
)

Effect = Literal["deny", "require-approval", "warn"]
Enforcement = Literal["advisory", "soft-mandatory", "hard-mandatory"]
Metric = Literal[
    "changes",
    "creates",
    "updates",
    "deletes",
    "replaces",
    "destroyed",
    "destroyed_share",
    "touched_share",
]

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
# A glob is one token: no surrounding blanks, nothing empty.
Glob = Annotated[str, StringConstraints(pattern=r"^\S+$")]
# Which Rego the settings apply to: a package, a package glob (`terraform.*`, `*`)
# or a file name (`scope.rego`).
RegoSelector = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[A-Za-z_*][\w*]*(?:\.[A-Za-z_*][\w*]*)*|[\w.-]+\.rego)$"),
]
RegoRuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]\w*$")]


def environment_name(name: str) -> Environment | None:
    """The canonical environment of a registry or elevation name; None when unknown."""
    known = canonical_environment(name)
    # canonical_environment maps unknown names to production; a registry must not guess
    return known if name.strip().lower() in _ALIASES_OF[known] else None


_ALIASES_OF: dict[Environment, frozenset[str]] = {
    Environment.PRODUCTION: frozenset({"production", "prod", "prd"}),
    Environment.STAGING: frozenset({"staging", "stage", "stg"}),
    Environment.DEVELOPMENT: frozenset({"development", "dev", "preview", "sandbox"}),
}


def _known_environment(value: object) -> object:
    """Map an alias to its canonical name; an unknown name stays and fails validation.

    Proposals with unknown names count as production, but a rule file naming an
    environment that does not exist is a typo, not a guess to make.
    """
    if isinstance(value, str):
        known = environment_name(value)
        if known is None:
            raise ValueError(
                f"unknown environment {value!r}: use production, staging, development or an alias"
            )
        return known.value
    return value


EnvironmentName = Annotated[Environment, BeforeValidator(_known_environment)]

# Finding ids the policy reviewer emits itself; a configured rule may not take them.
RESERVED_PREFIXES = ("policy.agent.", "policy.rego.", "rego.")


class Bounds(Frozen):
    """Bounds on one figure; every bound given must hold."""

    at_least: float | None = None
    more_than: float | None = None
    at_most: float | None = None
    less_than: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bounds:
        if all(b is None for b in (self.at_least, self.more_than, self.at_most, self.less_than)):
            raise ValueError("give at least one of at_least, more_than, at_most, less_than")
        return self

    def holds(self, value: float) -> bool:
        """Whether `value` lies within every bound given."""
        return (
            (self.at_least is None or value >= self.at_least)
            and (self.more_than is None or value > self.more_than)
            and (self.at_most is None or value <= self.at_most)
            and (self.less_than is None or value < self.less_than)
        )


class Match(Frozen):
    """Which proposals and changes a rule is about; an empty matcher matches anything."""

    sources: tuple[Source, ...] = ()
    actors: tuple[Glob, ...] = ()
    environments: tuple[EnvironmentName, ...] = ()
    types: tuple[Glob, ...] = ()
    addresses: tuple[Glob, ...] = ()
    actions: tuple[Action, ...] = ()
    categories: tuple[Name, ...] = ()

    @property
    def selects_changes(self) -> bool:
        """Whether any change-level matcher is given (else every effective change counts)."""
        return bool(self.types or self.addresses or self.actions or self.categories)


class PolicyRule(Frozen):
    """One native rule."""

    id: RuleId
    message: str = Field(min_length=1)
    description: str = ""
    effect: Effect
    # required: a rule that silently defaulted to advisory would decide nothing
    enforcement: Enforcement
    tier: RiskTier | None = None
    roles: tuple[Name, ...] = ()
    match: Match = Match()
    when: dict[Metric, Bounds] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyRule:
        if self.effect == "require-approval" and self.tier is None and not self.roles:
            raise ValueError(f"rule {self.id!r}: require-approval needs a tier or roles")
        if self.effect != "require-approval" and self.roles:
            raise ValueError(f"rule {self.id!r}: roles only go with require-approval")
        if inert := sorted(a.value for a in set(self.match.actions) & INERT_ACTIONS):
            raise ValueError(f"rule {self.id!r}: actions {inert} change nothing and never match")
        if Source.HUMAN in self.match.sources and Source.AI_AGENT not in self.match.sources:
            # DESIGN.md: an AI agent is never reviewed more leniently than a person.
            raise ValueError(f"rule {self.id!r}: a rule for human sources must also name ai-agent")
        if self.id.startswith(RESERVED_PREFIXES):
            raise ValueError(f"rule {self.id!r}: ids under {RESERVED_PREFIXES} are reserved")
        return self


class RegoPackageSettings(Frozen):
    """How a Rego package is queried and how its failures count.

    `deny`, `warn` and `allow` name the rules queried (conftest's entry
    points). Unset, `deny` is every `deny`, `violation`, `deny_*` and
    `violation_*` rule and `warn` every `warn` and `warn_*`; `allow` rules
    (none unless named) must be `true`: false or undefined is a denial, as
    `opa exec --decision pkg/allow` would fail the change.
    """

    enforcement: Enforcement = "hard-mandatory"
    tier: RiskTier = RiskTier.CRITICAL
    deny: tuple[RegoRuleName, ...] | None = None
    warn: tuple[RegoRuleName, ...] | None = None
    allow: tuple[RegoRuleName, ...] = ()


class PolicyFile(Frozen):
    """One configs/policies/*.yaml file."""

    description: str = ""
    rules: tuple[PolicyRule, ...] = ()
    rego: dict[RegoSelector, RegoPackageSettings] = Field(default_factory=dict)
    # conftest's --namespace: the packages whose rules are queried (globs; default all)
    rego_namespaces: tuple[RegoSelector, ...] = ()
