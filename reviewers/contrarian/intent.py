"""Intent against effect: does the change stay within what its stated intent accounts for?

The intent's words name categories (`intent_categories` in contrarian.yaml:
"readme" and "typo" name docs, "permission" names iam ...). A change that
touches a watched category the intent names nothing of is challenged, with
the changes of each such category and, for diffs, the signals they carry
(a widened IAM action, a changed deploy target) as evidence. An intent that
names no category is not judged here: nothing can be compared. Everything
is keyword and category lookups, so the same input always gives the same
challenge.
"""

from __future__ import annotations

import re

from pydantic import JsonValue

from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Finding, Proposal, ResourceChange, RiskTier, max_tier

_EXAMPLES = 20


def intent_effect_finding(
    proposal: Proposal,
    catalog: ResourceCatalog,
    intent_categories: dict[str, tuple[str, ...]],
    watched: dict[str, RiskTier],
) -> Finding | None:
    """The challenge of a change that reaches beyond its stated intent, or None."""
    words = set(re.findall(r"[a-z0-9]+", proposal.intent.lower()))
    named: dict[str, list[str]] = {}
    for category, keywords in intent_categories.items():
        hits = sorted(words & {k.lower() for k in keywords})
        if hits:
            named[category] = hits
    if not named:
        return None
    beyond: dict[str, list[ResourceChange]] = {}
    for change in proposal.effective_changes:
        categories = set(catalog.categories(change.type))
        if change.category:
            categories.add(change.category)
        if categories & named.keys():
            continue  # the intent accounts for this change under one of its categories
        for category in sorted(categories & watched.keys()):
            beyond.setdefault(category, []).append(change)
    if not beyond:
        return None
    unexpected: dict[str, JsonValue] = {}
    for category, changes in sorted(beyond.items()):
        entry: dict[str, JsonValue] = {
            "count": len(changes),
            "resources": list[JsonValue](sorted({c.address for c in changes})[:_EXAMPLES]),
        }
        signals = _signals(changes)
        if signals:
            entry["signals"] = signals
        unexpected[category] = entry
    resources = sorted({c.address for changes in beyond.values() for c in changes})
    described = ", ".join(f"{category} ({len(beyond[category])})" for category in sorted(beyond))
    return Finding(
        rule="contrarian.intent-effect",
        message=f"The stated intent ({proposal.intent!r}) speaks of {', '.join(sorted(named))}, "
        f"but the change also touches {described}.",
        resources=tuple(resources[:50]),
        evidence={
            "intent": proposal.intent,
            "intent_categories": {c: list[JsonValue](w) for c, w in sorted(named.items())},
            "unexpected": unexpected,
        },
        severity=max_tier(*(watched[c] for c in beyond)),
    )


def _signals(changes: list[ResourceChange]) -> dict[str, JsonValue]:
    """What a diff's files show beyond their category: signal id -> where, first line.

    What a file grants or exposes (its `access` findings) counts as a signal
    `<family>.<kind>`, with its line.
    """
    found: dict[str, JsonValue] = {}
    for change in changes:
        summary = change.after if isinstance(change.after, dict) else {}
        access = summary.get("access")
        for item in access if isinstance(access, list) else ():
            if isinstance(item, dict) and item.get("direction") == "widens":
                where = item.get("location")
                line = where.get("line") if isinstance(where, dict) else None
                shown: JsonValue = {"line": line, "text": item.get("detail")}
                found.setdefault(
                    f"{item.get('family')}.{item.get('kind')}",
                    {"file": change.address, "line": shown},
                )
        signals = summary.get("signals")
        for signal in signals if isinstance(signals, list) else ():
            if not isinstance(signal, dict) or not isinstance(signal.get("id"), str):
                continue
            lines = signal.get("lines")
            first = lines[0] if isinstance(lines, list) and lines else None
            found.setdefault(str(signal["id"]), {"file": change.address, "line": first})
    return found
