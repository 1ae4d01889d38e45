"""Unified git diffs and `git format-patch` mailboxes as Proposals: one change per file.

Each file is a ResourceChange: its address is its path (the new one; the old
one for a deletion, and `previous_address` for a rename), its action create,
update or delete, and its type and `category` the category the path rules and
content rules of configs/diff-paths.yaml give it (docs, tests, app-code,
dependencies, ci-cd, infra, iam-policy, migrations, secrets). `after` holds
what the diff shows of the file, not the file: its status, kind, line
counts and signals (`gitdiff_content`), with every quoted line masked.

A binary file's content cannot be read, so a diff with one is incomplete
(`status.complete` is false) and cannot be approved unseen. Without
`--intent`, the subjects of a mailbox's patches are the stated intent.
"""

from __future__ import annotations

from pydantic import JsonValue

from orchestrator.adapters.base import AdapterOptions, Submission
from orchestrator.adapters.gitdiff_access import file_access
from orchestrator.adapters.gitdiff_content import file_signals
from orchestrator.adapters.gitdiff_parse import FilePatch, parse_diff_text
from orchestrator.adapters.gitdiff_rules import DiffPaths, load_diff_paths
from orchestrator.adapters.masking import Masker
from orchestrator.errors import InputError
from orchestrator.models import (
    Action,
    PlanStatus,
    Proposal,
    ResourceChange,
    canonical_environment,
)

_ACTIONS = {
    "added": Action.CREATE,
    "copied": Action.CREATE,
    "deleted": Action.DELETE,
    "modified": Action.UPDATE,
    "renamed": Action.UPDATE,
}
# When one path appears in several patches of a series, the strongest status describes it.
_STATUS_RANK = ("deleted", "added", "copied", "renamed", "modified")


def parse_diff(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """Build the Proposal of a diff: every file it touches, categorised."""
    del document, sensitive_keys  # a diff is text; credentials are found by content
    rules = load_diff_paths(options.diff_paths if options is not None else None)
    parsed = parse_diff_text(text, origin)
    if not parsed.files:
        raise InputError(origin, "the diff changes no file")
    patches = _merged(parsed.files)
    changes = tuple(_change(patch, rules) for patch in patches)
    binary = sorted(p.path for p in patches if p.binary)
    notes = tuple(f"binary content cannot be reviewed: {path}" for path in binary)
    intent = submission.intent or "; ".join(parsed.subjects)
    scrub = Masker().scrub
    return Proposal(
        kind="diff",
        source=submission.source,
        actor=submission.actor,
        intent=intent,
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=changes,
        status=PlanStatus(complete=not binary, notes=notes),
        input_name=origin,
        format_version="format-patch" if parsed.mailbox else "unified",
        raw="\n".join(scrub(line) for line in text.split("\n")),
    )


def _merged(files: list[FilePatch]) -> list[FilePatch]:
    """One patch per path, in first-seen order (a series may touch a file twice)."""
    by_path: dict[str, FilePatch] = {}
    for patch in files:
        seen = by_path.get(patch.path)
        if seen is None:
            by_path[patch.path] = patch
            continue
        seen.added.extend(patch.added)
        seen.removed.extend(patch.removed)
        seen.hunks.extend(patch.hunks)
        seen.binary = seen.binary or patch.binary
        seen.new_mode = patch.new_mode or seen.new_mode
        if _STATUS_RANK.index(patch.status) < _STATUS_RANK.index(seen.status):
            seen.status = patch.status
    return list(by_path.values())


def _change(patch: FilePatch, rules: DiffPaths) -> ResourceChange:
    path_category, kind = rules.classify(patch.path)
    if patch.binary:
        kind = rules.binary_kind
    access = None if patch.binary else file_access(patch)
    # Line patterns stand in for the structured reading only where it could not read.
    signals = file_signals(
        patch, path_category, rules, structured=access is not None and access.read
    )
    category = path_category
    for signal in signals:
        if signal.category is not None and signal.category in rules.precedence:
            category = rules.stronger(category, signal.category)
    findings = access.findings if access is not None else []
    for family, raised in (("iam", "iam-policy"), ("exposure", "infra")):
        if raised in rules.precedence and any(f.family == family for f in findings):
            category = rules.stronger(category, raised)
    summary: dict[str, JsonValue] = {
        "path": patch.path,
        "status": patch.status,
        "file_kind": kind,
        "path_category": path_category,
        "added_lines": len(patch.added),
        "removed_lines": len(patch.removed),
        "binary": patch.binary,
        "signals": [s.evidence() for s in signals],
    }
    if findings:
        summary["access"] = [f.model_dump(mode="json") for f in findings]
    if patch.old_path and patch.old_path != patch.path:
        summary["old_path"] = patch.old_path
    if patch.old_mode and patch.new_mode and patch.old_mode != patch.new_mode:
        summary["mode"] = {"old": patch.old_mode, "new": patch.new_mode}
    if patch.similarity is not None:
        summary["similarity"] = patch.similarity
    renamed = patch.status == "renamed" and patch.old_path != patch.path
    return ResourceChange(
        address=patch.path,
        type=category,
        action=_ACTIONS[patch.status],
        name=patch.path.rsplit("/", 1)[-1],
        raw_actions=(patch.status,),
        previous_address=patch.old_path if renamed else None,
        after=summary,
        sensitive_paths=("signals",) if any(s.id == "credential-added" for s in signals) else (),
        category=category,
    )
