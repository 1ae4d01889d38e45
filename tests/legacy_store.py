"""Stores as an older commander left them, for the upgrade tests.

The schema is built by the real migrations up to an older revision, and the
rows are written the way that commander wrote them: decision links without a
raw-input digest, gate rows whose events did not carry everything the rows
hold (no change.submitted, no budget figures). Opening such a store with
`Store.open` then runs the real upgrade on what is really out there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import command

from orchestrator.models import Decision, Proposal
from orchestrator.store import chain
from orchestrator.store.migrate import WRITE, alembic_config, connect
from orchestrator.store.store import _Rows
from orchestrator.store.tables import AUDIT_CHAIN, DECISIONS, PROPOSALS
from orchestrator.store.tables_audit import PROJECTIONS


def at_revision(url: str, revision: str) -> None:
    """Create the schema of `revision` in the empty database at `url`."""
    engine = connect(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                config = alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
    finally:
        engine.dispose()


class LegacyWriter:
    """Writes rows as commander did before revision 0004, in one transaction per call."""

    def __init__(self, url: str, *, projections: bool = True) -> None:
        self.engine = connect(url)
        # Revision 0002 had no query projections (decision_resources, …).
        self.projections = projections

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def decision(
        self, proposal: Proposal, decision: Decision, *sql: tuple[str, dict[str, Any]]
    ) -> int:
        """Record a decision as Store.record did, running `sql` (the gate's rows) beside it."""
        rows = _Rows.of(proposal, decision)
        audit_tables = {t.name for t in PROJECTIONS}
        with self.engine.begin() as conn:
            legacy_proposal = {k: v for k, v in rows.proposal.items() if k != "raw_sha256"}
            conn.execute(sa.insert(PROPOSALS), legacy_proposal)
            conn.execute(sa.insert(DECISIONS), rows.decision)
            for table, projected in rows.projections:
                if projected and (self.projections or table.name not in audit_tables):
                    conn.execute(sa.insert(table), projected)
            for statement, params in sql:
                conn.execute(sa.text(statement), params)
            return _link(
                conn,
                kind=chain.DECISION_KIND,
                ref_id=decision.decision_id,
                actor=proposal.actor,
                payload=None,
                digest=rows.decision_sha,
                at=rows.decision["created_at"],
            )

    def event(
        self,
        kind: str,
        payload: dict[str, Any],
        *sql: tuple[str, dict[str, Any]],
        ref_id: str | None,
        actor: str | None,
        at: datetime,
    ) -> int:
        """Chain an event as the gate did, running `sql` (the rows it wrote) beside it."""
        with self.engine.begin() as conn:
            for statement, params in sql:
                conn.execute(sa.text(statement), params)
            return _link(
                conn,
                kind=kind,
                ref_id=ref_id,
                actor=actor,
                payload=payload,
                digest=chain.event_digest(actor, at, payload),
                at=at,
            )


def _link(
    conn: sa.Connection,
    *,
    kind: str,
    ref_id: str | None,
    actor: str | None,
    payload: Any,
    digest: str,
    at: datetime,
) -> int:
    head = conn.execute(sa.text("SELECT seq, hash FROM chain_head WHERE id = 1")).one()
    seq = head.seq + 1
    link = chain.entry_hash(seq, kind, ref_id, digest, head.hash)
    conn.execute(
        sa.insert(AUDIT_CHAIN),
        {
            "seq": seq,
            "kind": kind,
            "ref_id": ref_id,
            "actor": actor,
            "payload": payload,
            "payload_digest": digest,
            "prev_hash": head.hash,
            "hash": link,
            "created_at": at,
        },
    )
    conn.execute(
        sa.text("UPDATE chain_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": link}
    )
    return seq
