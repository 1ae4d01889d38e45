"""Read what a diff's lines say: content rules, credentials, binary content.

A signal is one fact with its evidence (`id`, the category it implies, the
first lines that show it, masked, and how many there were). Signals are
facts, not judgements: the scope reviewer decides what each is worth
(configs/reviewers/scope.yaml, `content_tiers`).

Built-in signals, beside the configured content rules:

* `credential-added`: an added line holds a credential (a key format such as
  an AWS access key id or a PEM private key, or a secret-named assignment of
  a quoted literal); the line is masked in the evidence.
* `binary-content`: the file's content is binary, so nobody can review it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from pydantic import JsonValue

from orchestrator.adapters.gitdiff_parse import FilePatch
from orchestrator.adapters.gitdiff_rules import ContentRule, DiffPaths
from orchestrator.adapters.masking import scrub_text

EVIDENCE_LINES: Final = 5
_EXCERPT: Final = 200
_KEY_FORMATS: Final = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"
    r"|-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY"
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}|\b[rs]k_live_[0-9A-Za-z]{20,}"
)
# `password = "hunter22"`, `"api_key": "…"`, `SECRET_TOKEN: '…'`: a secret-named key given a
# literal. References (`var.x`, `${{ secrets.X }}`, `{{ .Values.x }}`) are not literals.
_LITERAL_ASSIGNMENT: Final = re.compile(
    r"(?i)(?:password|passwd|passphrase|secret|token|api_?key|access_?key|private_?key)"
    r"[\w.-]{0,40}[\"']?\s*[:=]\s*[\"'](?![$<{%])[^\"'\s]{6,}[\"']"
)


@dataclass(slots=True)
class Signal:
    """One fact a file's diff shows, with up to EVIDENCE_LINES masked lines."""

    id: str
    description: str
    category: str | None
    lines: list[JsonValue] = field(default_factory=list)
    count: int = 0

    def add(self, number: int, text: str, side: str) -> None:
        """Count one matching line; keep the first few as evidence, masked and cut short."""
        self.count += 1
        if len(self.lines) < EVIDENCE_LINES:
            excerpt = scrub_text(text.strip())
            if len(excerpt) > _EXCERPT:
                excerpt = excerpt[:_EXCERPT] + "…"
            self.lines.append({"line": number, "side": side, "text": excerpt})

    def evidence(self) -> dict[str, JsonValue]:
        """The signal as JSON for the change's `after` document."""
        return {
            "id": self.id,
            "description": self.description,
            "category": self.category,
            "count": self.count,
            "lines": self.lines,
        }


def file_signals(
    patch: FilePatch, path_category: str, rules: DiffPaths, *, structured: bool = False
) -> list[Signal]:
    """Every signal one file's diff shows, in rule order, built-ins last.

    `structured`: the file was read structurally (gitdiff_access), so the
    `fallback` rules, which only guess at the same facts line by line, are skipped.
    """
    found: list[Signal] = []
    path = patch.path
    for rule in rules.content:
        if structured and rule.fallback:
            continue
        if rule.in_categories and path_category not in rule.in_categories:
            continue
        if rule.file_regex is not None and not rule.file_regex.match(path):
            continue
        signal = _apply(rule, patch)
        if signal is not None:
            found.append(signal)
    credential = Signal("credential-added", "an added line holds a credential", "secrets")
    for number, text in patch.added:
        if _KEY_FORMATS.search(text) or _LITERAL_ASSIGNMENT.search(text):
            credential.add(number, text, "added")
    if credential.count:
        found.append(credential)
    if patch.binary:
        found.append(
            Signal(
                "binary-content",
                "the file's content is binary and cannot be reviewed",
                None,
                count=1,
            )
        )
    return found


def _apply(rule: ContentRule, patch: FilePatch) -> Signal | None:
    signal = Signal(rule.id, rule.description, rule.category)
    search = rule.regex.search
    if rule.lines in ("added", "changed", "net-removed"):
        added = [(n, t) for n, t in patch.added if search(t)]
    else:
        added = []
    removed = [(n, t) for n, t in patch.removed if search(t)] if rule.lines != "added" else []
    if rule.lines == "net-removed":
        # moved or rewritten in place is not removed: only more removals than additions count
        if len(removed) <= len(added):
            return None
        added = []
    for number, text in added:
        signal.add(number, text, "added")
    for number, text in removed:
        signal.add(number, text, "removed")
    return signal if signal.count else None
