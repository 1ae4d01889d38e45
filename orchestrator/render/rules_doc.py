"""The rule reference (docs/rules.md), generated from the rule registry.

    python -m orchestrator.render.rules_doc > docs/rules.md

SARIF's `helpUri` links to the headings written here, so the page is
generated rather than written: a test fails when the checked-in copy is
stale.
"""

from __future__ import annotations

import sys

from orchestrator.rulebook import Rulebook, RuleDoc, rulebook, sarif_name

_REVIEWERS = ("scope", "blast-radius", "reversibility", "contrarian", "policy")
_HEADER = """\
# Rule reference

<!-- Generated from orchestrator/rulebook.yaml by
     `python -m orchestrator.render.rules_doc > docs/rules.md`; do not edit by hand. -->

Every rule commander reports: the findings of each reviewer, then the
decision rules the commander fires (`rules_fired` in the decision JSON). An
id ending in `*` is a family whose last part comes from configuration (a
category, an environment, a tier, the finding a decision rule is about).
SARIF names each rule in PascalCase (`blast-radius.fan-out` is
`BlastRadiusFanOut`) and links its help here.
"""


def render_rules_doc(book: Rulebook | None = None) -> str:
    """The whole reference as Markdown, reviewers in the order of the review."""
    book = book or rulebook()
    parts = [_HEADER]
    groups = [*_REVIEWERS, *sorted({e.reviewer for e in book.entries} - {*_REVIEWERS})]
    for reviewer in groups:
        entries = [e for e in book.entries if e.reviewer == reviewer and e.id != "*"]
        if not entries:
            continue
        title = "Decision rules" if reviewer == "commander" else f"Reviewer `{reviewer}`"
        parts.append(f"## {title}\n")
        parts.extend(_entry(e) for e in entries)
    catch_all = [e for e in book.entries if e.id == "*"]
    if catch_all:
        parts.append("## Other rules\n")
        parts.append(_body(catch_all[0]))
    return "\n".join(parts).rstrip("\n") + "\n"


def _entry(entry: RuleDoc) -> str:
    return f"### `{entry.id}`\n\n{_body(entry)}"


def _body(entry: RuleDoc) -> str:
    name = "" if entry.family else f" (SARIF name `{sarif_name(entry.id)}`)"
    return f"**{entry.summary}**{name}\n\n{entry.description}\n\n**Fix:** {entry.fix}\n"


if __name__ == "__main__":
    sys.stdout.write(render_rules_doc())
