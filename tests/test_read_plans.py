"""The reads every submission makes use an index, on SQLite and on PostgreSQL.

An actor's history and a budget window's sums are read for every review, so
their cost must not grow with the store: the history comes off
ix_audit_chain_actor_history in order (no temporary B-tree, no Sort node),
the sums off ix_budget_usage_actor alone (no table scan), the names stored
for an identity by a loose index scan. PostgreSQL plans a seq scan and a sort
for tables this small whatever the indexes, so there the test turns both off
and checks that a plan without them exists. On SQLite, whose plans do not
depend on the tables' sizes, every read of whole submissions is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Select, event

from orchestrator.executors.local import LocalExecutor
from orchestrator.gate import ChangeSubmission, GateSession
from orchestrator.review import prepare
from orchestrator.settings import resolve
from orchestrator.store import Store
from orchestrator.store.budgets import window_sums
from orchestrator.store.gate_common import distinct_names, names_query
from orchestrator.store.governance import freeze
from orchestrator.store.store import history_query
from orchestrator.store.tables import METADATA
from orchestrator.store.tables_governance import BUDGET_USAGE, ESCALATIONS
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.gate_support import make_decision, make_proposal, people, wall


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store holding a few decisions of two actors."""
    with fresh_database(request.param, tmp_path) as url, Store.open(url) as opened:
        for i in range(6):
            proposal = make_proposal("bot-a" if i % 2 else "bot-b", tag=f"t{i}")
            opened.record(proposal, make_decision(proposal))
        yield opened


def plan_of(conn: Connection, query: Select[Any]) -> str:
    """The database's plan for `query`, as one text."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_history_is_read_in_index_order(store: Store) -> None:
    """An actor's newest decisions come off the history index, with no sort step."""
    with store.reading("explain") as conn:
        plan = plan_of(conn, history_query("bot-a").limit(100))
        if conn.dialect.name == "postgresql":
            assert "Sort" not in plan, plan
            assert "Seq Scan on audit_chain" not in plan, plan
        else:
            assert "TEMP B-TREE" not in plan, plan
    assert "ix_audit_chain_actor_history" in plan, plan
    # All made at one time: the decision id breaks the tie, newest (largest) first.
    ids = [h.decision_id for h in store.history("bot-a")]
    assert len(ids) == 3
    assert ids == sorted(ids, reverse=True)


def test_budget_sums_read_the_index_alone(store: Store) -> None:
    """A budget window's sums are a range of the covering index, never a table scan."""
    with store.reading("explain") as conn:
        plan = plan_of(conn, window_sums(["bot-a"], datetime(2026, 1, 1)))
        if conn.dialect.name == "postgresql":
            assert "Index Only Scan using ix_budget_usage_actor" in plan, plan
            assert "Seq Scan" not in plan, plan
        else:
            assert "USING COVERING INDEX ix_budget_usage_actor" in plan, plan


def test_stored_names_are_read_by_seeks_not_a_scan(store: Store) -> None:
    """The names of a name column come one index seek each: no scan, no sort, no hash of rows."""
    with store.reading("explain") as conn:
        plan = plan_of(conn, names_query(BUDGET_USAGE.c.actor))
        if conn.dialect.name == "postgresql":
            assert "Index Only Scan using ix_budget_usage_actor" in plan, plan
            assert "Seq Scan" not in plan, plan
            assert "Aggregate" not in plan.replace("Result", ""), plan
        else:
            assert "SCAN budget_usage" not in plan, plan
            assert "USING COVERING INDEX ix_budget_usage_actor (actor>?)" in plan, plan


@pytest.mark.parametrize("dialect", DIALECTS)
def test_distinct_names_is_every_stored_name_once(dialect: str, tmp_path: Path) -> None:
    """Every name stored, each once, in order: what SELECT DISTINCT returned, sorted."""
    with fresh_database(dialect, tmp_path) as url, Store.open(url) as opened:
        names = ["ｂｏｔ", "bot", "Bot", "bot", "a\u200bbot", "z", "bot", "Z"]
        for i, name in enumerate(names):
            proposal = make_proposal(name, tag=f"n{i}")
            opened.record(proposal, make_decision(proposal, outcome="approve"))
            run_sql(
                url,
                "INSERT INTO budget_usage (decision_id, actor, counted_at, deletes, "
                "changed_resources, blast_radius) SELECT decision_id, :actor, created_at, 0, 0, 0 "
                "FROM decisions WHERE decision_id NOT IN (SELECT decision_id FROM budget_usage)",
                actor=name,
            )
        with opened.reading("names") as conn:
            found = distinct_names(conn, BUDGET_USAGE.c.actor)
            assert sorted(found) == sorted(set(names))
            assert len(found) == len(set(names))
            assert distinct_names(conn, ESCALATIONS.c.actor) == []


# Sorts bounded by one key's rows, not the store: an actor's grants in force, one
# decision's signatures.
_SMALL_SORTS = frozenset({"elevations", "escalation_approvals"})


def test_every_read_of_a_submission_seeks_an_index(tmp_path: Path) -> None:
    """Reviews, a replay, a resubmission, a re-planned change, a frozen actor: no read scans.

    Every SELECT the gate runs for them is a SEARCH of an index: no stored table
    is scanned (not even a covering index from end to end) and no sort step
    holds more than one key's rows, so per-review store time stays flat as
    decisions, events and budget use pile up.
    """
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    session = GateSession(Store.open(url), prepare(resolve(db=url, environ={})))

    def submit(tag: str, actor: str, change: str, submitter: str, deletes: int = 0) -> None:
        proposal = make_proposal(actor, tag=tag, deletes=deletes)
        submission = ChangeSubmission(
            proposal=proposal, change_id=change, submitter=submitter, idempotent=True
        )
        session.review(submission, LocalExecutor)

    for i in range(6):
        submit(f"t{i}", ("refactor-bot", "deploy-bot")[i % 2], f"change-{i}", "ci", deletes=i % 3)
    freeze(session.store, "deploy-bot", by="alice", reason="r", identities=people(), now=wall())
    reads: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        if not many and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            reads.append((sql, params))

    engine = session.store._engine  # the statements the store really runs
    event.listen(engine, "before_cursor_execute", keep)
    submit("new", "refactor-bot", "change-new", "ci", deletes=2)  # reviewed, recorded
    submit("new", "refactor-bot", "change-new", "ci-retry")  # handed back, resubmission chained
    submit("replanned", "refactor-bot", "change-new", "ci", deletes=1)  # supersedes the first
    submit("human", "alice", "change-h", "ci")
    submit("frozen", "deploy-bot", "change-f", "ci")
    event.remove(engine, "before_cursor_execute", keep)

    tables = set(METADATA.tables)
    read = " ".join(sql for sql, _ in reads)
    gate = ("audit_chain", "decisions", "budget_usage", "escalations", "freezes", "elevations")
    for table in gate:
        assert f"FROM {table}" in read, f"no read of {table} was caught"
    assert "FROM change_submissions" in read
    with session.store.reading("explain") as conn:
        for sql, params in reads:
            lines = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            plan = "\n".join(lines)
            scanned = [ln for ln in lines if ln.startswith("SCAN ") and ln.split()[1] in tables]
            assert not scanned, f"{sql}\n{plan}"
            searched = {ln.split()[1] for ln in lines if ln.startswith("SEARCH ")}
            if "TEMP B-TREE" in plan:
                assert searched <= _SMALL_SORTS, f"{sql}\n{plan}"
    session.store.close()
