"""Class one change as reversible, costly, irreversible or protection-weakening."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Action, ResourceChange, RiskTier
from reviewers.reversibility.rules import (
    Aggravation,
    ProtectionCheck,
    Recovery,
    ReversibilitySettings,
    holds,
    value_at,
)
from reviewers.shared import type_matches

Klass = Literal["irreversible", "costly", "weakened", "reversible"]
CLASS_TIER: dict[Klass, RiskTier] = {
    "irreversible": RiskTier.CRITICAL,
    "costly": RiskTier.HIGH,
    "weakened": RiskTier.HIGH,
    "reversible": RiskTier.LOW,
}


@dataclass(frozen=True, slots=True)
class TypeFacts:
    """What the settings and the catalog say about one resource type."""

    categories: frozenset[str]
    stateful: bool
    disposable: bool
    protection: bool
    restore: str
    # only the entries that concern this type, so a 10,000-change plan matches globs once per type
    checks: tuple[ProtectionCheck, ...]
    recoveries: tuple[Recovery, ...]
    aggravations: tuple[Aggravation, ...]


@dataclass(frozen=True, slots=True)
class Judgement:
    """The class of one change and the way back it would need."""

    klass: Klass
    restore: str
    notes: tuple[str, ...] = ()
    recovery: str | None = None


def type_facts(rtype: str, catalog: ResourceCatalog, settings: ReversibilitySettings) -> TypeFacts:
    """Gather once per type what judging its changes needs."""
    categories = catalog.categories(rtype)
    traits = catalog.traits(rtype)
    return TypeFacts(
        categories=categories,
        stateful="stateful" in traits,
        disposable="disposable" in traits,
        protection=type_matches(rtype, settings.protection_types),
        restore=settings.restore_for(categories),
        checks=tuple(c for c in settings.protection_checks if c.applies(rtype)),
        recoveries=tuple(r for r in settings.recoveries if r.applies(rtype)),
        aggravations=tuple(a for a in settings.aggravations if a.applies(rtype)),
    )


def judge(change: ResourceChange, tf: TypeFacts) -> Judgement:
    """Class one change and name the restore path it would need."""
    action = change.action
    if action is Action.CREATE:
        return Judgement("reversible", "destroy it")
    if action is Action.FORGET:
        return Judgement("reversible", "import it back into state (the object was left running)")
    if action is Action.UPDATE:
        notes = _weakened(change, tf.checks)
        if notes:
            return Judgement(
                "weakened", "turn the protection back on before anything is deleted", notes
            )
        return Judgement("reversible", "re-apply the previous configuration")
    # delete or replace: the existing object goes away
    before = change.before
    notes = tuple(a.note for a in tf.aggravations if a.when.holds(before))
    if tf.protection and action is Action.DELETE:
        return Judgement(
            "weakened",
            "re-create it from the previous configuration",
            (f"{change.type} deleted: the protection it provides is gone", *notes),
        )
    if tf.disposable:
        return Judgement("reversible", "re-create it from configuration", notes)
    if tf.stateful:
        for recovery in tf.recoveries:
            path = recovery.restore_path(before)
            if path is not None:
                return Judgement("costly", path, notes, recovery.id)
        return Judgement("irreversible", tf.restore, notes)
    if action is Action.REPLACE and change.replace_order == "create-before-destroy":
        return Judgement("reversible", "re-apply the previous configuration", notes)
    return Judgement("costly", tf.restore, notes)


def _weakened(change: ResourceChange, checks: tuple[ProtectionCheck, ...]) -> tuple[str, ...]:
    """Notes of every protection this update turns off (unknown values never count)."""
    before, after = change.before, change.after
    if not checks or not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    unknown = _unknown_paths(change.unknown_after)
    notes: list[str] = []
    for check in checks:
        old, new = value_at(before, check.path), value_at(after, check.path)
        if old == new or _is_unknown(check.path, unknown):
            continue
        if holds(check.before, old) and holds(check.after, new):
            notes.append(check.note)
    return tuple(notes)


def _unknown_paths(paths: tuple[str, ...]) -> tuple[str, ...]:
    # normalise `a[0].b` and `a.0.b` to one form
    return tuple(p.replace("[", ".").replace("]", "").replace('"', "").strip(".") for p in paths)


def _is_unknown(path: str, unknown: tuple[str, ...]) -> bool:
    return any(path == u or path.startswith(u + ".") for u in unknown)


# (one change, several changes)
