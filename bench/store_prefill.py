"""Fill a bench's audit store with many earlier decisions of one actor, fast.

`commander review` records one real decision; its rows are then copied N
times in bulk (executemany), spread over the 30 days before the last one,
each with its chain link and its budget use (all older than two days, so
outside every budget window), so the store looks like a
busy actor's long history: what `Store.history` and the budget windows read
on every submission. The copies share the real decision's content and their
links carry placeholder digests: a store for measuring reads, not one that
`audit verify` passes.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orchestrator.store import database_url

_BATCH = 5_000


def prefill(db: str, count: int, seed_plan: Path, actor: str, env: dict[str, str]) -> None:
    """Record one decision of `actor` with `commander review`, then `count` copies of it."""
    subprocess.run(
        ["commander", "review", str(seed_plan), "--db", db, "--actor", actor,
         "--source", "automation", "--environment", "dev", "--output", "json"],
        env=env, stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    engine = sa.create_engine(database_url(db))
    meta = sa.MetaData()
    decisions, chain, usage, head = (
        sa.Table(name, meta, autoload_with=engine)
        for name in ("decisions", "audit_chain", "budget_usage", "chain_head")
    )
    with engine.begin() as conn:
        seed = conn.execute(sa.select(decisions)).mappings().one()
        top = conn.execute(sa.select(head.c.seq, head.c.hash)).one()
        start = seed["created_at"] - timedelta(days=32)
        step = timedelta(days=30) / max(count, 1)
        prev, seq = top.hash, top.seq
        for first in range(0, count, _BATCH):
            rows: list[dict[str, Any]] = []
            links: list[dict[str, Any]] = []
            used: list[dict[str, Any]] = []
            for i in range(first, min(first + _BATCH, count)):
                ident, at = f"prefill-{i:09d}", start + step * i
                seq += 1
                digest = hashlib.sha256(f"{seq}".encode()).hexdigest()
                rows.append(dict(seed) | {"decision_id": ident, "created_at": at})
                links.append(
                    {"seq": seq, "kind": "decision", "ref_id": ident, "actor": actor,
                     "payload": None, "payload_digest": digest, "prev_hash": prev,
                     "hash": digest, "created_at": at, "mac": None}
                )  # fmt: skip
                used.append(
                    {"decision_id": ident, "actor": actor, "counted_at": at, "deletes": 0,
                     "changed_resources": 3, "blast_radius": 0}
                )  # fmt: skip
                prev = digest
            conn.execute(decisions.insert(), rows)
            conn.execute(chain.insert(), links)
            conn.execute(usage.insert(), used)
        conn.execute(head.update().values(seq=seq, hash=prev, mac=None))
    engine.dispose()
