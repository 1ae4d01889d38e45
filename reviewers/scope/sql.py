"""Scope findings for a SQL migration: the hazards its statements carry, or the all-clear.

The SQL adapter attaches to each change the hazards the migration analysis
found (`orchestrator/analysis/sql_hazards.py`). Here each kind of hazard
becomes one finding naming what happens, the lock, the safer way and every
statement line, at the kind's severity (or the one `sql.hazard_tiers` in
scope.yaml gives), stepped down outside production like any content
finding. Hazards a newer server avoids are judged for `sql.postgres_version`;
those that exist only inside a transaction the migration tool opens, by
`sql.assume_in_transaction`.

A migration with no hazard gets one low finding saying so and listing what
was checked. When it is also purely additive (it creates tables, indexes,
columns and constraints, and changes nothing that exists), the categories'
tiers may be capped by `sql.safe_additive_tier`: a team can let such
migrations need high-tier sign-off while every other stays critical.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, JsonValue, model_validator

from orchestrator.analysis.sql_catalogue import HAZARD_GROUPS, KINDS
from orchestrator.models import Finding, Frozen, Proposal, RiskTier, SourceLocation, tier_rank
from reviewers.shared import capped, step_down

# The oldest PostgreSQL still supported by the PostgreSQL project (15 since 14's end in 2026).
OLDEST_SUPPORTED_POSTGRES: Final = 15
_LINES_CAP: Final = 50
_SPELLED: Final = 3  # up to this many statements of a kind are told one by one
CHECKED: Final = (
    "lock level and duration of every statement on an existing table",
    "table rewrites (volatile defaults, stored generated columns, type changes)",
    "index builds without CONCURRENTLY, and CONCURRENTLY inside a transaction",
    "constraints validated under lock (NOT VALID / VALIDATE, USING INDEX)",
    "SET/DROP NOT NULL, required columns, renames",
    "dropped tables, columns and databases, TRUNCATE, DELETE/UPDATE without WHERE",
    "GRANT/REVOKE, policies, row-level security, roles",
    "transactions (BEGIN/COMMIT) and statements that cannot be read",
)
_ADDITIVE: Final = frozenset({"add-column", "add-constraint", "validate-constraint", "comment"})


class SqlScope(Frozen):
    """The `sql` section of scope.yaml."""

    # Hazards newer servers avoid are judged for this version (PostgreSQL major version).
    postgres_version: int = Field(default=OLDEST_SUPPORTED_POSTGRES, ge=9, le=40)
    # The tier a migration without hazards that only adds takes at most; None keeps the
    # categories' tiers (schema migrations critical).
    safe_additive_tier: RiskTier | None = None
    # Whether the migration tool runs each file in a transaction of its own (Rails,
    # Django, Alembic, Flyway do): then CONCURRENTLY outside BEGIN fails too.
    assume_in_transaction: bool = False
    # A severity per hazard kind, replacing the analysis's default.
    hazard_tiers: dict[str, RiskTier] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_hazards(self) -> SqlScope:
        """Refuse a tier for a hazard kind the analysis does not know (a typo is no pass)."""
        if unknown := sorted(set(self.hazard_tiers) - KINDS.keys()):
            raise ValueError(f"sql.hazard_tiers: unknown hazards {unknown}")
        return self


def hazards(proposal: Proposal, settings: SqlScope) -> list[dict[str, JsonValue]]:
    """Every hazard the changes carry that the configured server version does not avoid."""
    found = []
    for change in proposal.effective_changes:
        facts = change.after if isinstance(change.after, dict) else {}
        listed = facts.get("hazards")
        for hazard in listed if isinstance(listed, list) else ():
            if not isinstance(hazard, dict):
                continue
            until = hazard.get("until_postgres")
            if isinstance(until, int) and settings.postgres_version >= until:
                continue
            if hazard.get("assumes_tool_transaction") and not settings.assume_in_transaction:
                continue
            found.append(hazard)
    return found


def sql_findings(
    proposal: Proposal, settings: SqlScope, *, steps: int, floor: RiskTier
) -> list[Finding]:
    """One finding per kind of hazard, riskiest first; or the all-clear."""
    found = hazards(proposal, settings)
    by_kind: dict[str, list[dict[str, JsonValue]]] = {}
    for hazard in found:
        by_kind.setdefault(str(hazard["hazard"]), []).append(hazard)
    findings = [_finding(kind, items, settings, steps, floor) for kind, items in by_kind.items()]
    if not any(KINDS[k].group in HAZARD_GROUPS for k in by_kind):
        findings.append(_all_clear(proposal))
    findings.sort(key=lambda f: (-tier_rank(f.severity), f.rule))
    return findings


def safe_additive(proposal: Proposal, settings: SqlScope) -> bool:
    """Whether the migration only adds and the analysis found no hazard in it."""
    if not proposal.status.judgeable:
        return False
    if any(KINDS[str(h["hazard"])].group in HAZARD_GROUPS for h in hazards(proposal, settings)):
        return False
    return all(
        isinstance(c.after, dict)
        and (
            str(c.after.get("operation")).startswith("create-")
            or c.after.get("operation") in _ADDITIVE
        )
        for c in proposal.effective_changes
    )


def _finding(
    kind: str,
    items: list[dict[str, JsonValue]],
    settings: SqlScope,
    steps: int,
    floor: RiskTier,
) -> Finding:
    described = KINDS[kind]
    first = items[0]
    tier = settings.hazard_tiers.get(kind, RiskTier(described.severity))
    severity = step_down(tier, steps, RiskTier.LOW if described.group == "advice" else floor)
    lines = sorted({int(str(h["line"])) for h in items})
    where = f"line {lines[0]}" if len(lines) == 1 else f"lines {', '.join(map(str, lines[:10]))}"
    if len(lines) > 10:
        where += f" … ({len(lines)} statements)"
    if 1 < len(items) <= _SPELLED:
        told = "; ".join(f"line {h['line']}: {h['message']}" for h in items)
    else:
        more = f" (and {len(items) - 1} more like it)" if len(items) > 1 else ""
        told = f"{where}: {first['message']}{more}"
    lock = f" Lock: {first['lock']}." if first.get("lock") else ""
    resources, _ = capped(str(h["table"]) for h in items if h.get("table"))
    evidence: dict[str, JsonValue] = {
        "hazard": kind,
        "group": described.group,
        "lock": first.get("lock"),
        "instead": described.instead,
        "squawk": list[JsonValue](described.squawk),
        "statements": [
            {k: h[k] for k in ("statement", "line", "table", "message", "lock") if k in h}
            for h in items[:_LINES_CAP]
        ],
    }
    return Finding(
        rule=f"scope.sql.{kind}",
        message=f"{told}.{lock} Instead: {described.instead}.",
        resources=resources,
        evidence=evidence,
        severity=severity,
        locations=tuple(
            SourceLocation(
                line=int(str(h["line"])), end_line=int(str(h.get("end_line") or h["line"]))
            )
            for h in items[:_LINES_CAP]
        ),
    )


def _all_clear(proposal: Proposal) -> Finding:
    statements = {
        c.after.get("statement") for c in proposal.effective_changes if isinstance(c.after, dict)
    }
    return Finding(
        rule="scope.sql.no-hazard",
        message=f"no lock or data hazard found in {len(statements)} statement"
        f"{'s' * (len(statements) != 1)}; checked: " + "; ".join(CHECKED),
        evidence={"checked": list[JsonValue](CHECKED)},
        severity=RiskTier.LOW,
    )
