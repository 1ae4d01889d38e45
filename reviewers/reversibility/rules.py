"""The reversibility reviewer's settings and the attribute tests they are made of.

Attribute paths are dotted, with list indexes as numbers, as Terraform
writes nested blocks: `settings.0.backup_configuration.0.enabled`.
"""

from __future__ import annotations

import re
import string
from functools import cache
from typing import Annotated, Literal

from pydantic import Field, JsonValue, StringConstraints, model_validator

from orchestrator.models import Environment, Frozen, RiskTier, Source
from reviewers.shared import type_matches

Predicate = Literal["true", "false", "not-true", "set", "unset", "positive", "not-positive", "zero"]
Scalar = str | int | float | bool
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Glob = Annotated[str, StringConstraints(pattern=r"^\S+$")]
Path = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")]

_ON = frozenset({"true", "enabled", "on"})
_OFF = frozenset({"false", "disabled", "suspended", "off"})
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s?$")
_MISSING = object()


def value_at(document: JsonValue, path: str) -> object:
    """The value at a dotted path, or a private sentinel when it is not there."""
    node: object = document
    for part in _parts(path):
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


@cache
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def number(value: object) -> float | None:
    """A number, also from duration strings such as '86400s' (None otherwise)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        return float(m.group(1))
    return None


def _is_on(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _ON)


def holds(predicate: Predicate, value: object) -> bool:
    """Whether a value (possibly missing) satisfies a predicate."""
    match predicate:
        case "true":
            return _is_on(value)
        case "not-true":
            return not _is_on(value)
        case "false":
            return value is False or (isinstance(value, str) and value.strip().lower() in _OFF)
        case "set":
            return value not in (None, "", _MISSING) and value not in ([], {})
        case "unset":
            return not holds("set", value)
        case "positive":
            return (n := number(value)) is not None and n > 0
        case "not-positive":
            return (n := number(value)) is None or n <= 0
        case "zero":
            return number(value) == 0
    return False  # pragma: no cover - Literal is exhaustive


class Condition(Frozen):
    """A test on one attribute: a predicate (`is`) or a value (`equals` / `not_equals`)."""

    path: Path
    is_: Predicate | None = Field(default=None, alias="is")
    equals: Scalar | None = None
    not_equals: Scalar | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [x for x in (self.is_, self.equals, self.not_equals) if x is not None]
        if len(given) != 1:
            raise ValueError(
                f"condition on {self.path!r}: give exactly one of is, equals, not_equals"
            )
        return self

    def holds(self, document: JsonValue) -> bool:
        """Whether the attribute in `document` passes the test."""
        value = value_at(document, self.path)
        if self.is_ is not None:
            return holds(self.is_, value)
        if self.equals is not None:
            return value == self.equals
        return value != self.not_equals


class _Typed(Frozen):
    types: tuple[Glob, ...] = ()

    def applies(self, resource_type: str) -> bool:
        """Whether this entry concerns a resource type (no `types`: every type)."""
        return not self.types or type_matches(resource_type, self.types)


class ProtectionCheck(_Typed):
    """An update that turns a protection off: it prepares an irreversible delete."""

    id: RuleId
    path: Path
    before: Predicate
    after: Predicate
    note: str = Field(min_length=1)


class Recovery(_Typed):
    """Evidence that a destroyed object can still be brought back (soft delete, snapshot)."""

    id: RuleId
    when: tuple[Condition, ...] = ()
    window_path: Path | None = None
    window_default: float | None = Field(default=None, ge=0)
    window_unit: Literal["days", "seconds"] = "days"
    name_path: Path | None = None
    restore: str = Field(min_length=1)

    @model_validator(mode="after")
    def _placeholders(self) -> Recovery:
        used = {f for _, f, _, _ in string.Formatter().parse(self.restore) if f is not None}
        allowed = {"window"} if self.window_path or self.window_default is not None else set()
        allowed |= {"name"} if self.name_path else set()
        if used - allowed:
            raise ValueError(
                f"recovery {self.id!r}: restore uses {sorted(used - allowed)}, "
                f"available: {sorted(allowed)}"
            )
        return self

    def restore_path(self, before: JsonValue) -> str | None:
        """The restore path for this destroyed state, or None when it does not apply."""
        if not all(c.holds(before) for c in self.when):
            return None
        fields: dict[str, str] = {}
        if self.window_path or self.window_default is not None:
            raw = value_at(before, self.window_path) if self.window_path else _MISSING
            window = number(raw) if raw not in (None, _MISSING) else self.window_default
            if window is None or window <= 0:
                return None
            days = window / 86400 if self.window_unit == "seconds" else window
            fields["window"] = f"{days:g}"
        if self.name_path:
            fields["name"] = str(value_at(before, self.name_path))
        return self.restore.format_map(fields)


class Aggravation(_Typed):
    """An attribute of a destroyed object that makes its loss worse."""

    when: Condition
    note: str = Field(min_length=1)


class SourceScope(Frozen):
    """Which proposers in which environments a setting concerns."""

    sources: tuple[Source, ...] = (Source.AI_AGENT,)
    environments: tuple[Environment, ...] = (Environment.PRODUCTION,)

    @model_validator(mode="after")
    def _not_lenient(self) -> SourceScope:
        if Source.HUMAN in self.sources and Source.AI_AGENT not in self.sources:
            # DESIGN.md: an AI agent is never reviewed more leniently than a person.
            raise ValueError("sources: naming human requires naming ai-agent too")
        return self

    def covers(self, source: Source, environment: Environment) -> bool:
        """Whether a proposal from `source` to `environment` is in scope."""
        return source in self.sources and environment in self.environments


class SqlOperation(Frozen):
    """How one SQL operation (orchestrator/analysis/sql_facts.py) is undone, and what it costs."""

    klass: Literal["irreversible", "costly", "reversible"] = Field(alias="class")
    restore: str = Field(min_length=1)


class DiffFiles(Frozen):
    """How the files of a git diff are undone (a revert, except where noted)."""

    # category -> tier of the finding a deleted file gets; `default` for the others
    deleted_file_tiers: dict[str, RiskTier] = Field(default_factory=dict)
    # category -> what deleting such a file does beyond the repository
    deleted_file_notes: dict[str, str] = Field(default_factory=dict)
    # category or signal -> the restore path of a change a revert does not undo
    costly_categories: dict[str, str] = Field(default_factory=dict)
    costly_signals: dict[str, str] = Field(default_factory=dict)

    def deleted_tier(self, category: str | None) -> RiskTier:
        """The tier of a deleted file of this category."""
        found = self.deleted_file_tiers.get(category or "")
        return found or self.deleted_file_tiers.get("default", RiskTier.MEDIUM)


class ReversibilitySettings(Frozen):
    """configs/reviewers/reversibility.yaml."""

    non_production_step_down: int = Field(default=1, ge=0, le=3)
    # Where a costly change (re-create; what depends on it breaks meanwhile) is an objection;
    # elsewhere it is evidence at its tier (a development teardown is what development is for).
    costly_objects_in: tuple[Environment, ...] = (Environment.PRODUCTION, Environment.STAGING)
    hard_deny_irreversible: SourceScope = SourceScope()
    removed_from_config_reasons: tuple[str, ...] = ()
    restore_paths: dict[str, str]
    protection_checks: tuple[ProtectionCheck, ...] = ()
    protection_types: tuple[Glob, ...] = ()
    recoveries: tuple[Recovery, ...] = ()
    aggravations: tuple[Aggravation, ...] = ()
    sql_operations: dict[str, SqlOperation] = Field(default_factory=dict)
    diff_files: DiffFiles = DiffFiles()

    @model_validator(mode="after")
    def _complete(self) -> ReversibilitySettings:
        if "default" not in self.restore_paths:
            raise ValueError("restore_paths: needs a 'default' entry")
        for kind, ids in (
            ("protection_checks", [c.id for c in self.protection_checks]),
            ("recoveries", [r.id for r in self.recoveries]),
        ):
            if dupes := sorted({i for i in ids if ids.count(i) > 1}):
                raise ValueError(f"{kind}: duplicate ids {dupes}")
        return self

    def restore_for(self, categories: frozenset[str]) -> str:
        """The restore path of the first listed category the type belongs to."""
        for category, path in self.restore_paths.items():
            if category in categories:
                return path
        return self.restore_paths["default"]
