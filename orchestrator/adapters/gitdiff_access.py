"""What a diff's HCL and JSON policy files grant and expose, read structurally.

Each hunk's post-image (context and added lines) and pre-image (context and
removed lines) is read as HCL (`orchestrator/analysis/hcl.py`, which repairs
a fragment's brackets under the block git names in the hunk header) or, for
a policy file, as JSON. The blocks a hunk changes go through the one IAM and
exposure analyser as they were before and after, so a widened `actions`
list, a new `0.0.0.0/0` ingress and a removed wildcard are told apart, each
with its file and line.

A file whose hunks cannot be read is left to the line patterns of
configs/diff-paths.yaml (their `fallback` rules); `FileAccess.read` says which.
Hunks that mention nothing IAM or network-like are not parsed at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from orchestrator.adapters.gitdiff_parse import FilePatch, Hunk
from orchestrator.analysis import hcl
from orchestrator.analysis.access import AccessFinding
from orchestrator.analysis.changes import analyse_states
from orchestrator.analysis.resources import POLICY_ATTRIBUTES, reader_for
from orchestrator.models import Action

HCL_FILES: Final = (".tf", ".hcl", ".tofu")
JSON_POLICY: Final = re.compile(r"(?i)(?:^|/)(?:[^/]*[-_])?policy\.json$|(?:^|/)policies/.*\.json$")
# A hunk worth parsing mentions one of these; others cannot grant or expose anything.
RELEVANT: Final = re.compile(
    r"(?i)iam|polic|role|principal|assume|statement|actions?\b|security_group|security_rule|"
    r"ingress|cidr|source_ranges|firewall|network_acl|public|acl\b|_lb\b|_elb\b|_alb\b|_eip\b|"
    r"forwarding_rule|_address\b|member|binding|grant"
)
_ACTION_LIKE: Final = re.compile(r"^(?:\*|[\w${}.-]+:[\w*?]+)$")
_STATEMENT_KEYS: Final = frozenset(
    {"effect", "action", "notaction", "resource", "notresource", "principal", "condition"}
)
_DOCUMENT_KEYS: Final = frozenset(
    {"actions", "not_actions", "resources", "not_resources", "effect", "principals", "condition"}
)


@dataclass(slots=True)
class FileAccess:
    """The access findings of one file, and whether every relevant hunk could be read."""

    findings: list[AccessFinding] = field(default_factory=list)
    read: bool = True


def file_access(patch: FilePatch) -> FileAccess | None:
    """The access findings of one file's hunks; None for a file this reader does not read."""
    path = patch.path
    lowered = path.lower()
    if lowered.endswith(HCL_FILES):
        reader = _hcl_blocks
    elif JSON_POLICY.search(lowered):
        reader = _json_blocks
    else:
        return None
    result = FileAccess()
    for hunk in patch.hunks:
        if not any(marker != " " for marker, _ in hunk.lines):
            continue
        if not RELEVANT.search(hunk.context) and not any(
            RELEVANT.search(body) for _, body in hunk.lines
        ):
            continue
        before, after = reader(hunk, "old"), reader(hunk, "new")
        if before is None or after is None or not _compare(patch, hunk, before, after, result):
            result.read = False
    return result


def _compare(
    patch: FilePatch,
    hunk: Hunk,
    before: list[hcl.Block],
    after: list[hcl.Block],
    result: FileAccess,
) -> bool:
    """Add the findings of the blocks a hunk changes; False when a change lies outside any
    block it can name (a fragment whose enclosing resource the hunk does not show)."""
    added = {n for n, _, changed in hunk.image("new") if changed}
    removed = {n for n, _, changed in hunk.image("old") if changed}
    old = {b.address: b for b in before}
    new = {b.address: b for b in after}
    placed = True
    for address in [*new, *(a for a in old if a not in new)]:
        was, now = old.get(address), new.get(address)
        lines = [n for n in added if now is not None and now.line <= n <= now.end_line]
        lines += [n for n in removed if was is not None and was.line <= n <= was.end_line]
        block = now or was
        if not lines or block is None:
            continue
        if block.type == hcl.FRAGMENT_BLOCK:
            placed = False
            continue
        if reader_for(block.type) is None:
            continue
        action = Action.CREATE if was is None else Action.DELETE if now is None else Action.UPDATE
        if patch.status == "added":
            action = Action.CREATE
        results = analyse_states(
            patch.path,
            block.type,
            action,
            _named(was) if was is not None else None,
            _named(now) if now is not None else None,
            path=patch.path,
            line=min(lines),
        )
        result.findings.extend(
            r.model_copy(update={"where": f"{block.address} {r.where}".strip()}) for r in results
        )
    return placed


def _hcl_blocks(hunk: Hunk, side: str) -> list[hcl.Block] | None:
    image = hunk.image(side)
    if not image:
        return []
    repaired = hcl.repair([body for _, body, _ in image], hunk.context)
    if repaired is None:
        return None
    lines, before = repaired
    first = image[0][0]
    return hcl.read_blocks("\n".join(lines) + "\n", first - before, earliest=first)


def _json_blocks(hunk: Hunk, side: str) -> list[hcl.Block] | None:
    """A policy file's hunk as one pseudo-resource holding the document, if it is JSON."""
    image = hunk.image(side)
    if not image:
        return []
    text = "\n".join(body for _, body, _ in image)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    first, last = image[0][0], image[-1][0]
    return [hcl.Block("file", "aws_iam_policy", "document", first, last, {"policy": document})]


def _named(block: hcl.Block) -> dict[str, Any]:
    """A block's values with the names a fragment's missing lines would have given."""
    values = dict(block.values)
    if block.type == "aws_iam_policy_document":
        statements = values.pop(hcl.FRAGMENT_BLOCK, [])
        if values.keys() & _DOCUMENT_KEYS or hcl.FRAGMENT_LIST in values:
            # the hunk starts inside a statement: its attributes are the statement's
            inner = {
                k: values.pop(k) for k in list(values) if k in _DOCUMENT_KEYS | {hcl.FRAGMENT_LIST}
            }
            statements = [*statements, inner]
        values["statement"] = [_statement(s) for s in (*values.get("statement", []), *statements)]
        return values
    call = values.pop(hcl.FRAGMENT_CALL, None)
    if call is not None and reader_for(block.type) is not None:
        attribute = POLICY_ATTRIBUTES.get(block.type, POLICY_ATTRIBUTES["*"])[0]
        values.setdefault(attribute, _document(call))
    return values


def _statement(values: dict[str, Any]) -> dict[str, Any]:
    items = values.pop(hcl.FRAGMENT_LIST, None)
    if (
        isinstance(items, list)
        and items
        and all(isinstance(i, str) and _ACTION_LIKE.match(i) for i in items)
    ):
        values.setdefault("actions", items)
    return values


def _document(value: Any) -> Any:
    """A jsonencode'd fragment as a policy: statements found under a placeholder name."""
    if isinstance(value, dict):
        items = value.pop(hcl.FRAGMENT_LIST, None)
        if isinstance(items, list) and any(_is_statement(i) for i in items):
            value.setdefault("Statement", items)
        elif _is_statement(value):
            return {"Statement": [value]}
    return value


def _is_statement(value: object) -> bool:
    return isinstance(value, dict) and bool({str(k).lower() for k in value} & _STATEMENT_KEYS)
