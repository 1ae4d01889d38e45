"""`commander audit verify`: the hash chain, then what tables_audit.py keeps beside it.

The chain walk (chain.verify) covers every link, decision, proposal and the
projections of tables.py. This module then checks, in the same snapshot and in
chain order, that the query projections of every decision still derive from
its record and that every incident row matches the chain event written with
it, so a row edited, added or removed with SQL is named by its chain seq.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, RowMapping, select

from orchestrator.models import Decision
from orchestrator.store import chain
from orchestrator.store.chain import ChainReport
from orchestrator.store.store import Store
from orchestrator.store.tables import AUDIT_CHAIN, DECISIONS, PROPOSALS
from orchestrator.store.tables_audit import INCIDENT_EVENT, INCIDENTS, PROJECTIONS, audit_rows

_BATCH = 500


class _Broken(Exception):
    def __init__(self, seq: int | None, ref_id: str | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.ref_id, self.problem = seq, ref_id, problem


def verify_audit(store: Store) -> ChainReport:
    """Verify the chain and everything it vouches for; name the first row that disagrees."""
    with store.reading("verify the audit record", snapshot=True) as conn:
        report = chain.verify(conn)
        if not report.ok:
            return report
        try:
            _check_projections(conn)
            _check_incidents(conn)
        except _Broken as broken:
            return report.model_copy(
                update={
                    "ok": False,
                    "first_bad_seq": broken.seq,
                    "ref_id": broken.ref_id,
                    "problem": broken.problem,
                    "rows_checked": report.rows_checked
                    if broken.seq is None
                    else min(report.rows_checked, broken.seq - 1),
                }
            )
    return report


def _check_projections(conn: Connection) -> None:
    after = 0
    while links := _rows(
        conn,
        select(AUDIT_CHAIN.c.seq, AUDIT_CHAIN.c.ref_id)
        .where(AUDIT_CHAIN.c.kind == chain.DECISION_KIND, AUDIT_CHAIN.c.seq > after)
        .order_by(AUDIT_CHAIN.c.seq)
        .limit(_BATCH),
    ):
        ids = [link["ref_id"] for link in links]
        records = {
            r["decision_id"]: r
            for r in _rows(
                conn,
                select(
                    DECISIONS.c.decision_id, DECISIONS.c.decision_json, PROPOSALS.c.proposal_json
                )
                .join(PROPOSALS, PROPOSALS.c.digest == DECISIONS.c.proposal_digest)
                .where(DECISIONS.c.decision_id.in_(ids)),
            )
        }
        stored = _stored_projections(conn, ids)
        columns = {t.name: tuple(t.c.keys()) for t in PROJECTIONS}
        for link in links:
            seq, ident = link["seq"], link["ref_id"]
            record = records[ident]  # chain.verify has seen every decision and proposal
            try:
                decision = Decision.model_validate_json(record["decision_json"])
                doc = json.loads(record["proposal_json"])
            except (ValidationError, ValueError):
                raise _Broken(seq, ident, "decision record does not load") from None
            for table, expected in audit_rows(decision, doc):
                name = table.name
                rows = [tuple(r[c] for c in columns[name]) for r in expected]
                if sorted(stored.get((name, ident), [])) != sorted(rows):
                    raise _Broken(seq, ident, f"{name} rows do not match the decision record")
        after = links[-1]["seq"]


def _stored_projections(
    conn: Connection, ids: Sequence[str]
) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """The projection rows of these decisions as value tuples in column order, by table."""
    found: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for table in PROJECTIONS:
        for row in conn.execute(select(table).where(table.c.decision_id.in_(ids))):
            found.setdefault((table.name, row.decision_id), []).append(tuple(row))
    return found


def _check_incidents(conn: Connection) -> None:
    """Every incident row has its event and every incident event its row, alike."""
    events = _rows(
        conn,
        select(AUDIT_CHAIN.c.seq, AUDIT_CHAIN.c.ref_id, AUDIT_CHAIN.c.actor, AUDIT_CHAIN.c.payload)
        .where(AUDIT_CHAIN.c.kind == INCIDENT_EVENT)
        .order_by(AUDIT_CHAIN.c.seq),
    )
    rows = {r["chain_seq"]: r for r in _rows(conn, select(INCIDENTS))}
    for event in events:
        seq, ref = event["seq"], event["ref_id"]
        row = rows.pop(seq, None)
        if row is None:
            raise _Broken(seq, ref, "incident row of this incident.link event is missing")
        if incident_payload(row) != event["payload"] or row["linked_by"] != event["actor"]:
            raise _Broken(seq, ref, "incidents row does not match its incident.link event")
    if rows:
        stray = rows[min(rows)]
        raise _Broken(
            None,
            stray["decision_id"],
            f"incident {stray['incident_id']!r} has no incident.link event in the chain",
        )


def incident_payload(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """The chain payload that vouches for one incident row."""
    return {
        "incident_id": row["incident_id"],
        "decision_id": row["decision_id"],
        "note": row["note"],
        "linked_at": chain.iso_utc(row["linked_at"]),
    }


def _rows(conn: Connection, query: Any) -> Sequence[RowMapping]:
    return conn.execute(query).mappings().all()
