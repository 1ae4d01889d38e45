"""Fill a bench's audit store with many earlier decisions, fast; time a review's store work.

`commander review` records one real decision; its rows are then copied N
times in bulk (executemany), spread over the 30 days before the last one,
each with its chain link and its submission row, half of them of the given
actor and half of 49 others. Every other copy approved (its budget use counted,
older than two days, so outside every budget window) and every other
escalated (its escalation still pending, expired long ago), so the store looks
like a busy team's: what `Store.history`, the budget windows, the names
stored for an identity and the superseded escalations read on every
submission. The copies share the real decision's content and their links
carry placeholder digests: a store for measuring reads, not one that `audit
verify` passes.

Run as a script, it times the store's part of in-process reviews at each
size, as the service makes them (idempotent, with a submitter):

    python bench/store_prefill.py [--decisions 1000 100000] [--reviews 40] [--db POSTGRES_URL]

For each store it prints, per review, the process CPU time (reviewers
included: they do the same work at every size), the time spent in the
database driver's execute calls (the reads and writes themselves; on
PostgreSQL the server's work too) and the part of it spent in reads, medians
over the reviews after a warm-up; then the work the last review's reads cost
the database, which no other load on the machine changes: the buffers they
touch on PostgreSQL (EXPLAIN ANALYZE), the virtual-machine steps on SQLite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orchestrator.adapters.base import Submission
from orchestrator.executors.local import LocalExecutor
from orchestrator.gate.identity import InputPlace
from orchestrator.models import Source
from orchestrator.review import ReviewRequest, adapt, prepare, review_proposal
from orchestrator.settings import resolve
from orchestrator.store import Store, database_url
from orchestrator.testing import plan_document, resource_change

_BATCH = 5_000
_PEERS = 49  # other actors sharing the store
_WARMUP = 5


def prefill(db: str, count: int, seed_plan: Path, actor: str, env: dict[str, str]) -> None:
    """Record one decision of `actor` with `commander review`, then `count` copies of it."""
    subprocess.run(
        ["commander", "review", str(seed_plan), "--db", db, "--actor", actor,
         "--source", "automation", "--environment", "dev", "--output", "json"],
        env=env, stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    copy_decisions(db, count, actor)


def copy_decisions(db: str, count: int, actor: str) -> None:
    """Copy the store's one decision `count` times, with links, submissions and gate rows."""
    engine = sa.create_engine(database_url(db))
    meta = sa.MetaData()
    decisions, chain, usage, head, submissions, escalations = (
        sa.Table(name, meta, autoload_with=engine)
        for name in (
            "decisions", "audit_chain", "budget_usage", "chain_head", "change_submissions",
            "escalations",
        )
    )  # fmt: skip
    with engine.begin() as conn:
        seed = conn.execute(sa.select(decisions)).mappings().one()
        top = conn.execute(sa.select(head.c.seq, head.c.hash)).one()
        start = seed["created_at"] - timedelta(days=32)
        step = timedelta(days=30) / max(count, 1)
        prev, seq = top.hash, top.seq
        for first in range(0, count, _BATCH):
            rows: dict[Any, list[dict[str, Any]]] = {
                t: [] for t in (decisions, chain, submissions, usage, escalations)
            }
            for i in range(first, min(first + _BATCH, count)):
                ident, at = f"prefill-{i:09d}", start + step * i
                who = actor if i % 2 == 0 else f"{actor}-peer-{i // 2 % _PEERS}"
                seq += 1
                digest = hashlib.sha256(f"{seq}".encode()).hexdigest()
                rows[decisions].append(dict(seed) | {"decision_id": ident, "created_at": at})
                rows[chain].append(
                    {"seq": seq, "kind": "decision", "ref_id": ident, "actor": who,
                     "payload": None, "payload_digest": digest, "prev_hash": prev,
                     "hash": digest, "created_at": at, "mac": None}
                )  # fmt: skip
                rows[submissions].append(
                    {"decision_id": ident, "change_id": f"prefill-change-{i}",
                     "proposal_digest": seed["proposal_digest"], "submitter": "ci",
                     "created_at": at, "chain_seq": seq}
                )  # fmt: skip
                if i % 4 < 2:
                    rows[usage].append(
                        {"decision_id": ident, "actor": who, "counted_at": at, "deletes": 0,
                         "changed_resources": 3, "blast_radius": 0}
                    )  # fmt: skip
                else:
                    rows[escalations].append(
                        {"decision_id": ident, "change_id": f"prefill-change-{i}",
                         "proposal_digest": seed["proposal_digest"], "actor": who,
                         "source": "automation", "submitter": "ci", "risk_tier": "high",
                         "required_roles": ["senior-engineer"], "status": "pending",
                         "created_at": at, "expires_at": at + timedelta(hours=24)}
                    )  # fmt: skip
                prev = digest
            for table, batch in rows.items():
                if batch:
                    conn.execute(table.insert(), batch)
        conn.execute(head.update().values(seq=seq, hash=prev, mac=None))
    engine.dispose()


def plan(n: int) -> bytes:
    """An ordinary plan, three S3 objects created, its content unique to `n`."""
    changes = [
        resource_change(f'aws_s3_object.bench{n}["{i}"]', ["create"], after={"key": f"{n}/{i}"})
        for i in range(3)
    ]
    return json.dumps(plan_document(changes)).encode()


class _Driver:
    """Seconds spent in the driver's execute calls, summed: all of them, and the reads."""

    def __init__(self) -> None:
        self.seconds = self.reading = 0.0
        self.reads: list[tuple[str, Any]] = []
        self._started, self._read = 0.0, False

    def before(
        self, _conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        self._read = not many and sql.lstrip()[:6].upper() in ("SELECT", "WITH R")
        if self._read:
            self.reads.append((sql, params))
        self._started = time.perf_counter()

    def after(self, *_: Any) -> None:
        spent = time.perf_counter() - self._started
        self.seconds += spent
        self.reading += spent if self._read else 0.0


def work_of(engine: sa.Engine, reads: list[tuple[str, Any]]) -> list[tuple[int, str]]:
    """The database's own work for each read: PostgreSQL's buffers touched, SQLite's VM steps.

    Unlike times, neither depends on what else the machine is running.
    """
    found = []
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for sql, params in reads:
                explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"
                top = conn.exec_driver_sql(explain, params).scalar_one()[0]["Plan"]
                found.append((top["Shared Hit Blocks"] + top["Shared Read Blocks"], sql))
            conn.rollback()
            return found
        raw = conn.connection.driver_connection
        steps = [0]

        def step() -> int:
            steps[0] += 1
            return 0

        raw.set_progress_handler(step, 1)  # type: ignore[union-attr]
        try:
            for sql, params in reads:
                steps[0] = 0
                conn.exec_driver_sql(sql, params).all()
                found.append((steps[0], sql))
        finally:
            raw.set_progress_handler(None, 1)  # type: ignore[union-attr]
        return found


def measure(
    url: str, count: int, reviews: int
) -> tuple[float, float, float, list[tuple[int, str]]]:
    """Per review, on a store of `count` decisions: median CPU, driver, read ms; reads' work."""
    settings = resolve(db=url, environ={})
    setup = prepare(settings)
    executor = LocalExecutor()
    actor = "bench-ci"

    def review(store: Store, n: int) -> None:
        request = ReviewRequest(
            path="plan.json",
            submission=Submission(source=Source.AUTOMATION, actor=actor, environment="dev"),
            settings=settings,
            change_id=f"bench-change-{n}",
            place=InputPlace(path="plan.json"),
            submitter="ci",
        )
        proposal = adapt(setup.config, request, plan(n), "plan.json")
        review_proposal(setup, store, request, proposal, executor=executor, idempotent=True)

    with Store.open(url) as store:
        review(store, 0)  # the seed every copy is made of
    copy_decisions(url, count, actor)
    cpu, driver, reads = [], [], []
    with Store.open(url) as store:
        timer = _Driver()
        engine = store._engine  # the bench times the store's own statements
        sa.event.listen(engine, "before_cursor_execute", timer.before)
        sa.event.listen(engine, "after_cursor_execute", timer.after)
        for n in range(1, reviews + _WARMUP + 1):
            timer.seconds, timer.reading, timer.reads = 0.0, 0.0, []
            started = time.process_time()
            review(store, n)
            if n > _WARMUP:
                cpu.append(time.process_time() - started)
                driver.append(timer.seconds)
                reads.append(timer.reading)
        sa.event.remove(engine, "before_cursor_execute", timer.before)
        work = work_of(engine, timer.reads)
    ms = [statistics.median(m) * 1000 for m in (cpu, driver, reads)]
    return ms[0], ms[1], ms[2], work


@contextmanager
def _database(server: str | None, folder: Path, count: int) -> Iterator[str]:
    """A fresh SQLite file in `folder`, or a fresh database on the PostgreSQL server."""
    if server is None:
        yield f"sqlite:///{folder / f'store-{count}.db'}"
        return
    name = f"prefill_{count}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.make_url(database_url(server))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--reviews", type=int, default=40)
    parser.add_argument("--db", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--explain", action="store_true", help="print each read's work too")
    args = parser.parse_args()
    print(f"{'decisions':>10} {'CPU/review':>11} {'driver/review':>14} {'reads/review':>13} "
          f"{'read work':>10}   store")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.decisions:
            with _database(args.db, Path(tmp), count) as url:
                cpu, driver, reads, work = measure(url, count, args.reviews)
            kind = "PostgreSQL buffers" if args.db else "SQLite VM steps"
            total = sum(w for w, _ in work)
            print(f"{count:>10,} {cpu:>9.2f}ms {driver:>12.2f}ms {reads:>11.2f}ms {total:>10,}   "
                  f"{kind}", flush=True)  # fmt: skip
            for spent, sql in work if args.explain else ():
                print(f"{spent:>58,}   {' '.join(sql.split())[:110]}")
    sys.exit(0)


if __name__ == "__main__":
    main()
