"""The domain models every part shares: a Proposal in, Verdicts, a Decision out.

All models are frozen and reject unknown fields, so a typo in an adapter or a
plugin is an error at construction rather than a silently dropped value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from enum import IntEnum, StrEnum
from functools import cached_property
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, JsonValue

DECISION_SCHEMA = "commander.decision/v1"


class Frozen(BaseModel):
    """Base for every domain model: immutable, strict about its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=Frozen)
# Per model class: every field with its default (a factory's called per model), and the
# fields whose default is a factory, in declared order.
_Template = tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]
_TEMPLATES: dict[type[Frozen], _Template] = {}


def unvalidated(cls: type[M], values: dict[str, Any]) -> M:
    """A model of `values` already known to be valid, built without validating them.

    For adapters of large inputs whose values come from json.loads and were
    checked on the way: validating a `JsonValue` field copies the whole value,
    which for a 10,000-change plan costs a tenth of a second and a second copy
    of the plan in memory. Pydantic's own `model_construct` is slower than
    validating. The model is the one the constructor would build (the tests
    compare the two); fields not given take their defaults.
    """
    template = _TEMPLATES.get(cls)
    if template is None:
        if cls.__private_attributes__:
            raise TypeError(f"{cls.__name__} has private attributes: validate it instead")
        fields = cls.model_fields
        template = _TEMPLATES[cls] = (
            {name: field.default for name, field in fields.items()},
            tuple(
                (name, cast(Callable[[], Any], field.default_factory))
                for name, field in fields.items()
                if field.default_factory is not None
            ),
        )
    defaults, factories = template
    data = {**defaults, **values}  # the fields' order, as validation gives it
    if len(data) != len(defaults):
        raise TypeError(f"not fields of {cls.__name__}: {sorted(data.keys() - defaults.keys())}")
    for name, factory in factories:
        if name not in values:
            data[name] = factory()
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", data)
    object.__setattr__(model, "__pydantic_fields_set__", set(values))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


class Source(StrEnum):
    """Who proposes a change."""

    AI_AGENT = "ai-agent"
    AUTOMATION = "automation"
    HUMAN = "human"


class Environment(StrEnum):
    """Canonical target environments; see `canonical_environment` for aliases."""

    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


_ENVIRONMENT_ALIASES: dict[str, Environment] = {
    "production": Environment.PRODUCTION,
    "prod": Environment.PRODUCTION,
    "prd": Environment.PRODUCTION,
    "staging": Environment.STAGING,
    "stage": Environment.STAGING,
    "stg": Environment.STAGING,
    "development": Environment.DEVELOPMENT,
    "dev": Environment.DEVELOPMENT,
    "preview": Environment.DEVELOPMENT,
    "sandbox": Environment.DEVELOPMENT,
}


def canonical_environment(name: str | None) -> Environment:
    """Map an environment name or alias to its canonical form.

    Unknown and missing names are production: a gate that guesses must guess
    the strict way.
    """
    if not name:
        return Environment.PRODUCTION
    return _ENVIRONMENT_ALIASES.get(name.strip().lower(), Environment.PRODUCTION)


class RiskTier(StrEnum):
    """Risk tiers of DESIGN.md, ordered low to critical (see `tier_rank`)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class _TierRank(IntEnum):
    low = 0
    medium = 1
    high = 2
    critical = 3


def tier_rank(tier: RiskTier) -> int:
    """Order tiers so that max() picks the riskier one."""
    return _TierRank[tier.value].value


def max_tier(*tiers: RiskTier) -> RiskTier:
    """The riskiest of the given tiers (low when none are given)."""
    return max(tiers, key=tier_rank, default=RiskTier.LOW)


class Action(StrEnum):
    """What a change does to one resource, normalised across input kinds."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    READ = "read"
    NOOP = "no-op"
    FORGET = "forget"


DESTRUCTIVE_ACTIONS = frozenset({Action.DELETE, Action.REPLACE})
INERT_ACTIONS = frozenset({Action.READ, Action.NOOP})

ProposalKind = Literal["terraform", "kubernetes", "diff", "sql", "command"]
ReplaceOrder = Literal["delete-before-create", "create-before-destroy"]


def _is_none(value: object) -> bool:
    return value is None


def _is_empty(value: tuple[object, ...] | dict[str, int]) -> bool:
    return not value


class SourceLocation(Frozen):
    """Where something is written: a file and a 1-based line range.

    `path` is None for the reviewed input itself (a manifest, a migration), so
    the same input read from another path is the same proposal; a diff or a
    Terraform configuration names the repository-relative file.
    """

    path: str | None = None
    line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)


class ResourceChange(Frozen):
    """One resource a proposal creates, changes, deletes or reads.

    `before` and `after` are already masked: sensitive values are replaced by
    the adapter before a model is built, so nothing downstream can leak them.
    """

    address: str
    type: str
    action: Action
    name: str | None = None
    provider: str | None = None
    module: str | None = None
    mode: Literal["managed", "data"] = "managed"
    raw_actions: tuple[str, ...] = ()
    replace_order: ReplaceOrder | None = None
    action_reason: str | None = None
    replace_paths: tuple[tuple[str | int, ...], ...] = ()
    previous_address: str | None = None
    importing: bool = False
    before: JsonValue = None
    after: JsonValue = None
    unknown_after: tuple[str, ...] = ()
    sensitive_paths: tuple[str, ...] = ()
    category: str | None = None
    namespace: str | None = None
    # Where the input declares this resource; left out of the document when unknown.
    location: SourceLocation | None = Field(default=None, exclude_if=_is_none)
    # The line of each field a reviewer may point at (dotted paths, as `sensitive_paths`).
    field_lines: dict[str, int] = Field(default_factory=dict, exclude_if=_is_empty)

    @property
    def is_destructive(self) -> bool:
        """Whether the change removes the existing object (delete or replace)."""
        return self.action in DESTRUCTIVE_ACTIONS

    @property
    def is_inert(self) -> bool:
        """Whether the change leaves the resource as it is (read, no-op)."""
        return self.action in INERT_ACTIONS


class Relation(Frozen):
    """An edge the input itself declares: `source` affects `target`."""

    source: str
    target: str
    kind: str


class PlanStatus(Frozen):
    """Whether the input describes everything that will happen."""

    complete: bool = True
    errored: bool = False
    deferred_changes: int = 0
    notes: tuple[str, ...] = ()

    @property
    def judgeable(self) -> bool:
        """A plan that is incomplete, errored or deferred cannot be approved."""
        return self.complete and not self.errored and self.deferred_changes == 0


class Proposal(Frozen):
    """A proposed change as every reviewer sees it, whatever its input format."""

    kind: ProposalKind
    source: Source
    actor: str
    intent: str = ""
    environment: Environment
    environment_name: str
    changes: tuple[ResourceChange, ...]
    populations: dict[str, int] = Field(default_factory=dict)
    relations: tuple[Relation, ...] = ()
    status: PlanStatus = PlanStatus()
    input_name: str = "-"
    format_version: str | None = None
    tool_version: str | None = None
    # The masked input document, kept for the audit record and for policies
    # (Rego) that read the native shape. Excluded from the digest: the digest
    # covers what is reviewed, and masking makes `raw` a function of it anyway.
    raw: JsonValue = Field(default=None, exclude=True, repr=False)

    @cached_property
    def document(self) -> dict[str, Any]:
        """The proposal as JSON-ready data, without `raw`; computed once (plans are big)."""
        return self.model_dump(mode="json")

    @cached_property
    def canonical_json(self) -> str:
        """The document's canonical JSON (sorted keys, no spaces), as the audit store keeps it."""
        return "{" + ",".join(self._members.values()) + "}"

    @cached_property
    def _members(self) -> dict[str, str]:
        # Each top-level `"key":value` of the canonical text, in its order: the digest's
        # text is the same without input_name, so a big document is encoded once.
        doc = self.document
        return {
            key: json.dumps(
                {key: doc[key]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )[1:-1]
            for key in sorted(doc)
        }

    @cached_property
    def _digest(self) -> str:
        members = (text for key, text in self._members.items() if key != "input_name")
        canonical = "{" + ",".join(members) + "}"
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def digest(self) -> str:
        """SHA-256 over the canonical JSON of the proposal's content and metadata.

        The input's file name is left out: the same plan read from another
        path is the same proposal.
        """
        return self._digest

    @property
    def unjudgeable_reason(self) -> str:
        """Why a proposal whose status is not judgeable cannot be approved, in its kind's words."""
        if self.kind == "sql":
            # The adapter's notes name each statement and its line: say which, not just "some".
            named = "; ".join(self.status.notes[:3]) + ("; …" if len(self.status.notes) > 3 else "")
            return (
                "The migration holds statements that cannot be read"
                + (f" ({named})" if named else "")
                + ": what they do is not known, so it cannot be approved unseen."
            )
        return (
            "The plan is incomplete, errored or has deferred changes: "
            "what it will do is not fully known."
        )

    @property
    def effective_changes(self) -> tuple[ResourceChange, ...]:
        """Changes that do something (not reads or no-ops)."""
        return tuple(c for c in self.changes if not c.is_inert)


Stance = Literal["approve", "concern", "block"]


class Finding(Frozen):
    """One thing a reviewer saw, with the evidence a human needs to check it."""

    rule: str
    message: str
    resources: tuple[str, ...] = ()
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    severity: RiskTier = RiskTier.MEDIUM
    # A hard denial: policy says reject, no human may override it.
    hard: bool = False
    # Where the input shows what was found (a file and line), when it has one.
    locations: tuple[SourceLocation, ...] = Field(default=(), exclude_if=_is_empty)


class Verdict(Frozen):
    """One reviewer's judgement of one proposal."""

    # The executor's measured time in float seconds, kept in a slot beside the fields: the
    # decision JSON (whole milliseconds), equality and pickles are unchanged by it.
    __slots__ = ("_seconds",)

    reviewer: str
    stance: Stance
    risk_tier: RiskTier
    confidence: float = Field(ge=0.0, le=1.0)
    findings: tuple[Finding, ...] = ()
    rationale: str = ""
    error: str | None = None
    duration_ms: int = 0

    @classmethod
    def failed(cls, reviewer: str, error: str, *, duration_ms: int = 0) -> Verdict:
        """The verdict of a reviewer that crashed or timed out: it cannot approve."""
        return cls(
            reviewer=reviewer,
            stance="concern",
            risk_tier=RiskTier.HIGH,
            confidence=0.0,
            rationale=f"reviewer failed, so it cannot vouch for this change: {error}",
            error=error,
            duration_ms=duration_ms,
        )

    def timed(self, seconds: float) -> Verdict:
        """This verdict as measured: `duration_ms` rounded for the record, `seconds` exact."""
        stamped = self.model_copy(update={"duration_ms": round(seconds * 1000)})
        object.__setattr__(stamped, "_seconds", seconds)
        return stamped

    @property
    def seconds(self) -> float:
        """How long the reviewer took: the measured float, else the recorded milliseconds."""
        measured: float | None = getattr(self, "_seconds", None)
        return measured if measured is not None else self.duration_ms / 1000

    @property
    def hard_denials(self) -> tuple[Finding, ...]:
        """Findings that reject on their own."""
        return tuple(f for f in self.findings if f.hard)


Outcome = Literal["approve", "escalate", "reject"]


class RequiredApproval(Frozen):
    """A human role that must sign off an escalated decision."""

    role: str


class BlastRadius(Frozen):
    """The summary of what a change reaches, as the decision JSON carries it."""

    score: int = Field(default=0, ge=0, le=100)
    changed_resources: int = 0
    affected_services: tuple[str, ...] = ()
    fleet_fraction: float = Field(default=0.0, ge=0.0, le=1.0)


class TopologyRef(Frozen):
    """The topology a review read: its path as given and the sha256 of its bytes.

    With a Backstage catalog as well, the path is both (`topology + catalog`)
    and the digest covers both files (graph/topology.py, `topology_ref`).
    Replay and backtest compare it with the topology they are given.
    """

    path: str
    digest: str


# Ids are time-ordered (UUIDv7): decisions made close together share their heads. Their
# short display form, which commands accept like any unique part of an id, is the random tail.
SHORT_ID = 8


def short_id(decision_id: str) -> str:
    """An id's short display form: its last 8 hex digits, random."""
    return decision_id[-SHORT_ID:]


class Supersession(Frozen):
    """An open escalation the decision's submission cancelled: the same change, another plan."""

    decision_id: str
    change_id: str


class Decision(Frozen):
    """The commander's decision: the contract of `--output json` and the API."""

    schema_: str = Field(default=DECISION_SCHEMA, alias="schema")
    decision_id: str
    proposal_digest: str
    outcome: Outcome
    risk_tier: RiskTier
    required_approvals: tuple[RequiredApproval, ...] = ()
    dissent: float = Field(ge=0.0, le=1.0)
    blast_radius: BlastRadius = BlastRadius()
    verdicts: tuple[Verdict, ...]
    rationale: tuple[str, ...]
    rules_fired: tuple[str, ...] = ()
    minority_opinion: str | None = None
    policy_version: str
    created_at: str
    # Added in issue 16: None for a review without a topology and for older records.
    topology: TopologyRef | None = None
    # Added in issue 16, left out when empty: records from before read as superseding nothing.
    supersedes: tuple[Supersession, ...] = Field(default=(), exclude_if=_is_empty)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The v1 decision JSON as a plain dict."""
        return self.model_dump(mode="json", by_alias=True)
