"""SQL migrations through the reviewers: what cannot be undone and what stalls a table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Proposal, RiskTier, Source, Verdict, tier_rank
from reviewers import reversibility, scope
from reviewers.blast_radius.rollouts import rollout_findings
from reviewers.scope.sql import SqlScope

FIXTURES = Path(__file__).parent / "fixtures" / "sql"
CATALOG = ResourceCatalog.load_default()
REVERSIBILITY = reversibility.ReversibilityReviewer.load_default_settings()
SCOPE = scope.ScopeReviewer.load_default_settings()


def migration(name: str, source: Source = Source.HUMAN, environment: str = "prod") -> Proposal:
    return load_proposal(
        (FIXTURES / name).read_bytes(),
        name,
        Submission(source=source, actor="t", environment=environment),
    )


def attributes(verdict: Verdict, rule: str) -> set[str]:
    finding = next(f for f in verdict.findings if f.rule == rule)
    notes = finding.evidence["attributes"]
    assert isinstance(notes, dict)
    return {note.split(": ")[1] for note in notes}


def test_destructive_migration_is_irreversible_and_denied_to_ai_agents() -> None:
    """DROP TABLE, DROP COLUMN, DELETE without WHERE and TRUNCATE lose data for good."""
    verdict = reversibility.assess(
        migration("destructive.sql", Source.AI_AGENT), CATALOG, REVERSIBILITY
    )
    assert verdict.stance == "block"
    assert attributes(verdict, "reversibility.irreversible") == {
        "drop-table",
        "drop-column",
        "delete-rows",
        "truncate",
    }
    assert all(f.hard for f in verdict.findings if f.rule == "reversibility.irreversible")
    human = reversibility.assess(migration("destructive.sql"), CATALOG, REVERSIBILITY)
    assert not any(f.hard for f in human.findings)
    assert human.risk_tier == RiskTier.CRITICAL


def test_locking_migration_is_costly_and_stalls_the_table() -> None:
    """A type change, a rename and a NOT NULL column without default cost a way back; a plain
    index build, SET NOT NULL and the type change stall every query at once (a rename breaks
    clients instead: the scope reviewer's finding)."""
    proposal = migration("locking.sql")
    verdict = reversibility.assess(proposal, CATALOG, REVERSIBILITY)
    assert attributes(verdict, "reversibility.costly") == {
        "alter-column-type",
        "rename-column",
        "add-column",
    }
    assert attributes(verdict, "reversibility.irreversible") == {"update-rows"}  # no WHERE
    (lock,) = rollout_findings(proposal)
    assert lock.rule == "blast-radius.table-lock"
    operations = lock.evidence["operations"]
    assert isinstance(operations, list)
    assert {o["operation"] for o in operations if isinstance(o, dict)} == {
        "create-index",
        "alter-column-type",
        "set-not-null",
    }
    assert lock.resources == ("shop.orders",)
    named = {f.rule for f in scope.assess(proposal, CATALOG, SCOPE).findings}
    assert {
        "scope.sql.index-blocks-writes",
        "scope.sql.column-type-change",
        "scope.sql.set-not-null-scans-table",
        "scope.sql.rename-breaks-clients",
        "scope.sql.required-column",
        "scope.sql.update-without-where",
    } <= named


def test_safe_additive_migration_is_reversible_and_locks_nothing() -> None:
    """CREATE TABLE, nullable or defaulted columns and a concurrent index: all reversible."""
    proposal = migration("additive.sql", Source.AI_AGENT)
    verdict = reversibility.assess(proposal, CATALOG, REVERSIBILITY)
    assert (verdict.stance, verdict.risk_tier, verdict.findings) == ("approve", RiskTier.LOW, ())
    assert rollout_findings(proposal) == []
    scoped = scope.assess(proposal, CATALOG, SCOPE)
    assert scoped.risk_tier == RiskTier.CRITICAL  # a schema migration, per DESIGN.md
    assert not any(f.hard for f in scoped.findings)
    sql = {f.rule: f for f in scoped.findings if f.rule.startswith("scope.sql.")}
    # advice only (a serial key, no lock_timeout), all low: nothing that makes it unsafe
    assert {f.severity for r, f in sql.items() if r != "scope.sql.no-hazard"} == {RiskTier.LOW}
    clear = sql["scope.sql.no-hazard"]
    assert clear.message.startswith("no lock or data hazard found in 4 statements; checked: ")
    assert "index builds without CONCURRENTLY" in clear.message


@pytest.mark.parametrize(
    ("fixture", "tier"),
    [("additive.sql", RiskTier.HIGH), ("locking.sql", RiskTier.CRITICAL)],
)
def test_a_team_can_set_safe_additive_migrations_to_high(fixture: str, tier: RiskTier) -> None:
    """sql.safe_additive_tier caps the tier of migrations that only add and carry no hazard;
    every other migration keeps the seed matrix's critical."""
    settings = SCOPE.model_copy(
        update={"sql": SCOPE.sql.model_copy(update={"safe_additive_tier": RiskTier.HIGH})}
    )
    assert scope.assess(migration(fixture), CATALOG, settings).risk_tier == tier
    assert scope.assess(migration(fixture), CATALOG, SCOPE).risk_tier == RiskTier.CRITICAL


def test_hazard_findings_carry_their_lines_and_step_down_outside_production() -> None:
    """Each hazard finding names its statement lines; in staging it is a step lower."""
    production = scope.assess(migration("locking.sql"), CATALOG, SCOPE)
    staging = scope.assess(migration("locking.sql", environment="staging"), CATALOG, SCOPE)
    found = {f.rule: f for f in production.findings}
    index = found["scope.sql.index-blocks-writes"]
    assert [loc.line for loc in index.locations] == [2]
    assert index.message.startswith("line 2: CREATE INDEX orders_email_idx without CONCURRENTLY")
    assert "Lock: SHARE. Instead: CREATE INDEX CONCURRENTLY" in index.message
    assert index.severity == RiskTier.HIGH
    lowered = {f.rule: f.severity for f in staging.findings}
    assert lowered["scope.sql.index-blocks-writes"] == RiskTier.MEDIUM
    assert lowered["scope.sql.update-without-where"] == RiskTier.HIGH


@pytest.mark.parametrize(
    ("statement", "locked"),
    [
        ("CREATE INDEX i ON t (x);", True),
        ("CREATE INDEX CONCURRENTLY i ON t (x);", False),
        ("-- dialect: mysql\nCREATE INDEX i ON t (x);", False),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0) NOT VALID;", False),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);", True),
        ("ALTER TABLE t ADD COLUMN y int;", False),
        ("CREATE TABLE t (x int); CREATE INDEX i ON t (x);", False),
    ],
)
def test_lock_findings_follow_the_dialect(statement: str, locked: bool) -> None:
    """PostgreSQL index builds lock writes unless CONCURRENTLY; MySQL builds them online."""
    proposal = load_proposal(
        statement.encode(), "l.sql", Submission(source=Source.HUMAN, actor="t")
    )
    assert bool(rollout_findings(proposal)) is locked


def test_an_ai_agent_is_never_judged_more_leniently_than_a_person() -> None:
    """For every SQL fixture, an AI agent's tier and stance are at least a person's."""
    order = ("approve", "concern", "block")
    for path in sorted(FIXTURES.glob("*.sql")):
        if path.name == "unreadable.sql":
            continue
        for assess, settings in ((scope.assess, SCOPE), (reversibility.assess, REVERSIBILITY)):
            agent = assess(migration(path.name, Source.AI_AGENT), CATALOG, settings)  # type: ignore[operator]
            human = assess(migration(path.name, Source.HUMAN), CATALOG, settings)  # type: ignore[operator]
            assert order.index(agent.stance) >= order.index(human.stance), path.name
            assert tier_rank(agent.risk_tier) >= tier_rank(human.risk_tier), path.name


def test_a_tier_for_an_unknown_hazard_is_a_configuration_error() -> None:
    """sql.hazard_tiers naming a hazard the analysis does not know is refused, not ignored."""
    with pytest.raises(ValidationError, match="unknown hazards"):
        SqlScope.model_validate({"hazard_tiers": {"index-blocks-write": "low"}})
    assert SqlScope.model_validate({"hazard_tiers": {"missing-timeouts": "medium"}})
