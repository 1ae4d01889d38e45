"""Action budgets in the store: what an actor used in each rolling window, and counting use.

A change counts against its actor's budgets when it is approved: by the
commander (in the transaction that records the decision) or by humans (in the
transaction whose signature completes the escalation). The usage rows are
keyed by the actor's name trimmed and case folded, and read by identity
(orchestrator/identity.py): a look-alike name (another case, a zero-width
space, a full-width or Cyrillic letter) does not open a fresh budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select

from orchestrator.guards import BudgetRule, BudgetWindow, ChangeFigures
from orchestrator.store.gate_common import iso, moment, person_key, stored_as
from orchestrator.store.store import Store
from orchestrator.store.tables_governance import BUDGET_USAGE

# Built once: a statement built per call costs several times its execution in
# SQLAlchemy's construction and cache-key work, and this one runs twice a review.
_WINDOW_SUMS = select(
    func.coalesce(func.sum(BUDGET_USAGE.c.deletes), 0),
    func.coalesce(func.sum(BUDGET_USAGE.c.changed_resources), 0),
    func.coalesce(func.sum(BUDGET_USAGE.c.blast_radius), 0),
).where(
    BUDGET_USAGE.c.actor.in_(bindparam("keys", expanding=True)),
    # No upper bound: a racing review may have counted at a later time.
    BUDGET_USAGE.c.counted_at > bindparam("since", type_=BUDGET_USAGE.c.counted_at.type),
)


def window_sums(keys: list[str], since: datetime) -> Select[Any]:
    """What the actor stored as `keys` used after `since`: read off ix_budget_usage_actor alone."""
    return _WINDOW_SUMS.params(keys=keys, since=since)


def budget_windows(
    conn: Connection, actor: str, rules: Iterable[BudgetRule], at: datetime
) -> tuple[BudgetWindow, ...]:
    """Each rule with what `actor` used since `at - rule.window`."""
    keys = stored_as(conn, BUDGET_USAGE.c.actor, actor)
    sums: dict[datetime, tuple[int, int, int]] = {}
    windows = []
    for rule in rules:
        since = at - rule.window
        if since not in sums:
            row = conn.execute(_WINDOW_SUMS, {"keys": keys, "since": since}).one()
            sums[since] = (int(row[0]), int(row[1]), int(row[2]))
        deletes, changed, blast = sums[since]
        used = {"deletes": deletes, "changed-resources": changed, "blast-radius": blast}
        windows.append(
            BudgetWindow(
                rule=rule, used=used[rule.metric], since=iso(since) or "", until=iso(at) or ""
            )
        )
    return tuple(windows)


def read_budget_windows(
    store: Store, actor: str, rules: Iterable[BudgetRule], *, now: str | None = None
) -> tuple[BudgetWindow, ...]:
    """Each rule with what `actor` used in its window ending `now`."""
    rules = tuple(rules)
    if not rules:
        return ()
    with store.reading("read an actor's budget use") as conn:
        return budget_windows(conn, actor, rules, moment(now))


def count_usage(
    conn: Connection, decision_id: str, actor: str, figures: ChangeFigures, *, at: datetime
) -> None:
    """Count one approved change against its actor's budgets from `at` on."""
    conn.execute(
        insert(BUDGET_USAGE),
        {"decision_id": decision_id, "actor": person_key(actor), "counted_at": at}
        | figures.usage(),
    )
