"""Judging changes whose way back depends on their kind: diff files, SQL, applied manifests.

* A diff's file is undone by a revert, except a migration (reverting the
  file does not undo a migration that ran) and an added credential (it stays
  in git history and must be rotated). A deleted file is also reported on
  its own (`deleted_file_finding`): what it did may go with it.
* A SQL step is classed by its operation in `sql_operations` of
  reversibility.yaml (the facts the SQL analysis read: orchestrator/analysis/
  sql_facts.py); a DELETE or UPDATE without WHERE, TRUNCATE … CASCADE and a
  NOT NULL column without a default (generated, identity and serial columns
  have one) are judged as their own variants (`delete-rows-unfiltered`, ...).
* An applied Kubernetes object is read for state an apply cannot take back:
  a PersistentVolumeClaim (its storage only grows), a PersistentVolume that
  deletes its disk when released, a StatefulSet's volume claim templates.
  Deletions go through the common judge (stateful kinds are irreversible).
"""

from __future__ import annotations

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import as_dict, as_list
from orchestrator.models import Action, Finding, Proposal, ResourceChange, RiskTier, max_tier
from reviewers.reversibility.judge import Judgement
from reviewers.reversibility.rules import ReversibilitySettings
from reviewers.shared import capped, step_down

_REVERT = "revert the commit"


def kind_judgement(
    kind: str, change: ResourceChange, settings: ReversibilitySettings
) -> Judgement | None:
    """The judgement of a change its kind decides, or None to use the common judge."""
    if kind == "diff":
        return _diff(change, settings)
    if kind == "sql":
        return _sql(change, settings)
    if kind == "kubernetes" and change.action is Action.UPDATE:
        return _applied(change)
    return None


def _summary(change: ResourceChange) -> dict[str, JsonValue]:
    return change.after if isinstance(change.after, dict) else {}


def _diff(change: ResourceChange, settings: ReversibilitySettings) -> Judgement:
    files = settings.diff_files
    signals = _summary(change).get("signals")
    for signal in signals if isinstance(signals, list) else ():
        name = signal.get("id") if isinstance(signal, dict) else None
        if isinstance(name, str) and name in files.costly_signals:
            return Judgement("costly", files.costly_signals[name], (f"signal {name}",))
    if change.category in files.costly_categories and change.action is not Action.DELETE:
        return Judgement("costly", files.costly_categories[change.category])
    if change.action is Action.DELETE:
        return Judgement("reversible", "restore the file from git history (revert the commit)")
    return Judgement("reversible", _REVERT)


def deleted_file_finding(
    proposal: Proposal, settings: ReversibilitySettings, steps: int
) -> Finding | None:
    """One finding naming every file a diff deletes, as risky as the riskiest such file."""
    files = settings.diff_files
    deleted = [c for c in proposal.effective_changes if c.action is Action.DELETE]
    if proposal.kind != "diff" or not deleted:
        return None
    by_category: dict[str, list[str]] = {}
    for change in deleted:
        by_category.setdefault(change.category or "unknown", []).append(change.address)
    tiers = {cat: step_down(files.deleted_tier(cat), steps, RiskTier.LOW) for cat in by_category}
    worst = max_tier(*tiers.values())
    resources, total = capped(c.address for c in deleted)
    notes: dict[str, JsonValue] = {
        cat: files.deleted_file_notes[cat]
        for cat in sorted(by_category)
        if cat in files.deleted_file_notes
    }
    return Finding(
        rule="reversibility.file-deleted",
        message=f"{total} file{'s are' if total != 1 else ' is'} deleted: "
        + ", ".join(f"{len(a)} {cat}" for cat, a in sorted(by_category.items())),
        resources=resources,
        evidence={
            "categories": {cat: sorted(a)[:50] for cat, a in sorted(by_category.items())},
            "tiers": {cat: t.value for cat, t in sorted(tiers.items())},
            "effects": notes,
            "restore": "restore the files from git history (revert the commit)",
        },
        severity=worst,
    )


def _sql(change: ResourceChange, settings: ReversibilitySettings) -> Judgement | None:
    facts = _summary(change)
    operation = str(facts.get("operation") or "")
    variant = operation
    if operation in ("delete-rows", "update-rows") and facts.get("where") is False:
        variant = f"{operation}-unfiltered"
    elif operation == "truncate" and facts.get("cascade") is True:
        variant = "truncate-cascade"
    elif (
        operation in ("add-column", "alter-column-type")
        and facts.get("not_null") is True
        and not any(facts.get(k) for k in ("default", "generated", "identity", "serial"))
    ):
        variant = f"{operation}-not-null-without-default"
    entry = settings.sql_operations.get(variant) or settings.sql_operations.get(operation)
    if entry is None:
        return None
    where = f"statement {facts.get('statement')} (line {facts.get('line')}): {operation}"
    if isinstance(facts.get("within"), str):
        where += f" in {facts['within']}"
    return Judgement(entry.klass, entry.restore, (where,))


def _applied(change: ResourceChange) -> Judgement | None:
    obj = change.after if isinstance(change.after, dict) else {}
    spec = as_dict(obj.get("spec"))
    kind = change.type
    if kind == "PersistentVolumeClaim":
        return Judgement(
            "costly",
            "a claim's storage only grows and its class cannot change: undoing a wrong claim "
            "means restoring its data into a new one",
            ("PersistentVolumeClaim holds data",),
        )
    if kind == "PersistentVolume" and spec.get("persistentVolumeReclaimPolicy") == "Delete":
        return Judgement(
            "weakened",
            "set persistentVolumeReclaimPolicy to Retain before the claim is released",
            ("persistentVolumeReclaimPolicy Delete: releasing the claim deletes the disk",),
        )
    if kind == "StatefulSet" and as_list(spec.get("volumeClaimTemplates")):
        policy = as_dict(spec.get("persistentVolumeClaimRetentionPolicy"))
        deleting = sorted(k for k in ("whenDeleted", "whenScaled") if policy.get(k) == "Delete")
        if deleting:
            return Judgement(
                "weakened",
                "set persistentVolumeClaimRetentionPolicy to Retain before scaling or deleting",
                tuple(
                    f"persistentVolumeClaimRetentionPolicy.{k} Delete: its volumes are "
                    "deleted with the pods"
                    for k in deleting
                ),
            )
        return Judgement(
            "costly",
            "volumeClaimTemplates cannot be changed in place: the claims they made keep their "
            "size and class, and changing them means re-creating the StatefulSet",
            ("StatefulSet volumeClaimTemplates create claims that outlive it",),
        )
    return None
