"""The reads every submission makes use an index, on SQLite and on PostgreSQL.

An actor's history and a budget window's sums are read for every review, so
their cost must not grow with the store: the history comes off
ix_audit_chain_actor_history in order (no temporary B-tree, no Sort node),
the sums off ix_budget_usage_actor alone (no table scan). PostgreSQL plans a
seq scan and a sort for tables this small whatever the indexes, so there the
test turns both off and checks that a plan without them exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Select

from orchestrator.store import Store
from orchestrator.store.budgets import window_sums
from orchestrator.store.store import history_query
from tests.databases import DIALECTS, fresh_database
from tests.gate_support import make_decision, make_proposal


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
