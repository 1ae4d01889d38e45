"""`commander audit verify`: one walk of the chain checks everything it vouches for.

In chain order, in batches (memory stays flat however long the chain grows):

* every link: its seq, its prev_hash, its hash, and its HMAC when the chain key
  is given (chain.py); every event: its payload digest;
* every decision: its JSON against its link's digest, its columns and each of
  its projections (tables.py, tables_audit.py) against the JSON, its proposal
  against the proposal's digest, and the proposal's raw input against the
  digest the link holds;
* signed checkpoints (checkpoints.py): the row at each one's seq has its hash;
* the gate: the events are replayed (gate_state.py) into the rows every gate
  table should hold, which are then compared with the stored ones.

The first fault stops the walk; the report names its seq and, for a table
row, the table, the row's key and the column.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, RowMapping, Table, bindparam, func, select

from orchestrator.models import Decision
from orchestrator.store import chain
from orchestrator.store.chain import ChainReport
from orchestrator.store.gate_state import (
    ADOPTED_EVENT,
    Disagreement,
    GateState,
    LinkedDecision,
)
from orchestrator.store.tables import (
    AUDIT_CHAIN,
    CHAIN_HEAD,
    DECISIONS,
    FINDING_RESOURCES,
    FINDINGS,
    PROPOSALS,
    VERDICTS,
    finding_rows,
    proposal_columns,
    resource_rows,
    verdict_rows,
)
from orchestrator.store.tables_audit import (
    DECISION_DISSENTERS,
    DECISION_RESOURCES,
    DECISION_SERVICES,
    decision_dissenter_rows,
    decision_resource_rows,
    decision_service_rows,
)

_BATCH = 1000
Derive = Callable[[Decision, dict[str, Any]], list[dict[str, Any]]]
# Each projection with how it derives from the decision (and its proposal's document),
# and the word its problem uses for the record it must match.
_PROJECTIONS: tuple[tuple[Table, Derive, str], ...] = (
    (VERDICTS, lambda d, _: verdict_rows(d), "decision JSON"),
    (FINDINGS, lambda d, _: finding_rows(d), "decision JSON"),
    (FINDING_RESOURCES, lambda d, _: resource_rows(d), "decision JSON"),
    (DECISION_RESOURCES, lambda d, doc: decision_resource_rows(d.decision_id, doc), "record"),
    (DECISION_SERVICES, lambda d, _: decision_service_rows(d), "record"),
    (DECISION_DISSENTERS, lambda d, _: decision_dissenter_rows(d), "record"),
)
# A derived row (a dict) as the tuple a stored row reads as: every column, in table order.
_AS_STORED = {table.name: itemgetter(*table.c.keys()) for table, _, _ in _PROJECTIONS}


@dataclass(frozen=True)
class Anchor:
    """A signed checkpoint, already checked against its signature: seq N had this hash."""

    seq: int
    hash: str
    name: str  # where it came from, for the report


def verify(
    conn: Connection, *, key: bytes | None = None, anchors: Sequence[Anchor] = ()
) -> ChainReport:
    """Check the whole record in one snapshot; stop at the first fault."""
    head = conn.execute(
        select(CHAIN_HEAD.c.seq, CHAIN_HEAD.c.hash, CHAIN_HEAD.c.mac).where(
            CHAIN_HEAD.c.id == chain.HEAD_ID
        )
    ).one()
    walker = _Walker(conn, key, anchors)
    base = {"head_seq": head.seq, "head_hash": head.hash}
    try:
        walker.run(head.seq, head.hash, head.mac)
    except Disagreement as broken:
        checked = walker.checked if broken.seq is None else min(walker.checked, broken.seq - 1)
        return ChainReport(
            ok=False,
            rows_checked=checked,
            first_bad_seq=broken.seq,
            ref_id=broken.ref_id,
            problem=broken.problem,
            table=broken.table,
            row=broken.row,
            column=broken.column,
            **base,
        )
    note = None
    if key is None and walker.saw_mac:
        note = "the chain is keyed; its HMACs were not checked without the chain key"
    return ChainReport(
        ok=True,
        rows_checked=walker.checked,
        checkpoints=len(anchors),
        keyed=key is not None and walker.saw_mac,
        note=note,
        **base,
    )


@dataclass
class _Batch:
    """The stored rows that one batch of chain rows covers."""

    decisions: dict[str, RowMapping] = field(default_factory=dict)
    proposals: dict[str, RowMapping] = field(default_factory=dict)
    projections: dict[tuple[str, str], list[tuple[Any, ...]]] = field(default_factory=dict)


class _Walker:
    def __init__(self, conn: Connection, key: bytes | None, anchors: Sequence[Anchor]) -> None:
        self.conn = conn
        self.key = key
        self.anchors = {a.seq: a for a in anchors}
        self.checked = 0
        self.saw_mac = False
        self.keyed_from: int | None = None
        self.chained: dict[str, int] = {}
        # proposal digest -> sha256 of its stored raw input, once its content is checked
        self.proposals_ok: dict[str, str | None] = {}
        # raw digests of proposals judged by links from before revision 0004
        self.legacy_raw: dict[str, str | None] = {}
        adopted = conn.execute(
            select(func.min(AUDIT_CHAIN.c.seq)).where(AUDIT_CHAIN.c.kind == ADOPTED_EVENT)
        ).scalar()
        self.gate = GateState(adopted_seq=adopted)
        # Built once: each batch binds its own digests.
        digests = PROPOSALS.c.digest.in_(bindparam("digests", expanding=True))
        self._fresh_proposals = select(PROPOSALS).where(digests)
        without_raw = [c for c in PROPOSALS.c if c.name != "raw_zlib"]
        self._known_proposals = select(*without_raw).where(digests)

    def run(self, head_seq: int, head_hash: str, head_mac: str | None) -> None:
        prev, seq = chain.GENESIS, 1
        while rows := self._rows(
            select(AUDIT_CHAIN)
            .where(AUDIT_CHAIN.c.seq >= seq)
            .order_by(AUDIT_CHAIN.c.seq)
            .limit(_BATCH)
        ):
            batch = self._load(rows[0]["seq"], rows[-1]["seq"])
            for row in rows:
                if row["seq"] != seq:
                    raise Disagreement(
                        seq, None, f"row is missing (the next row is seq {row['seq']})"
                    )
                if seq > head_seq:
                    raise Disagreement(
                        seq, row["ref_id"], f"row is past the chain head (seq {head_seq})"
                    )
                self._check_link(row, prev)
                if row["kind"] == chain.DECISION_KIND:
                    self._check_decision(row, batch)
                else:
                    self._check_event(row)
                prev, seq = row["hash"], seq + 1
                self.checked += 1
            self.gate.flush(self.conn)
        if seq - 1 != head_seq or prev != head_hash:
            raise Disagreement(
                seq, None, f"chain ends at seq {seq - 1} but its head is seq {head_seq}"
            )
        self._check_head_mac(head_seq, head_hash, head_mac)
        self._check_anchors_reached(head_seq)
        self._check_strays()
        self.gate.compare(self.conn)

    def _rows(self, query: Any, params: dict[str, Any] | None = None) -> Sequence[RowMapping]:
        return self.conn.execute(query, params).mappings().all()

    def _check_link(self, row: RowMapping, prev: str) -> None:
        seq, ref = row["seq"], row["ref_id"]
        if row["prev_hash"] != prev:
            raise Disagreement(seq, ref, f"prev_hash does not match the hash of seq {seq - 1}")
        link = chain.entry_hash(seq, row["kind"], ref, row["payload_digest"], row["prev_hash"])
        if link != row["hash"]:
            raise Disagreement(seq, ref, "row hash does not match the row's fields")
        anchor = self.anchors.get(seq)
        if anchor is not None and anchor.hash != link:
            raise Disagreement(
                seq,
                ref,
                f"row hash differs from signed checkpoint {anchor.name}: the chain was "
                f"rewritten at or before seq {seq}",
            )
        self._check_mac(seq, ref, row["hash"], row["mac"])

    def _check_mac(self, seq: int, ref: str | None, link: str, mac: str | None) -> None:
        if mac is not None:
            self.saw_mac = True
        if self.key is None:
            return
        if mac is None:
            if self.keyed_from is not None:
                raise Disagreement(
                    seq,
                    ref,
                    f"row has no HMAC, though the chain is keyed from seq {self.keyed_from}",
                )
            return
        if not hmac.compare_digest(mac, chain.link_mac(self.key, link)):
            raise Disagreement(
                seq, ref, "row HMAC does not match: rewritten without the chain key, or another key"
            )
        self.keyed_from = self.keyed_from or seq

    def _check_head_mac(self, seq: int, head_hash: str, mac: str | None) -> None:
        if self.key is None or seq == 0:
            return
        if self.keyed_from is None:
            raise Disagreement(
                None,
                None,
                "no row carries an HMAC: this store was never written with the "
                "chain key given, or its HMACs were removed",
            )
        if mac is None or not hmac.compare_digest(mac, chain.head_mac(self.key, seq, head_hash)):
            raise Disagreement(
                seq, None, "chain head HMAC does not match: the head was moved (a truncated chain?)"
            )

    def _check_anchors_reached(self, head_seq: int) -> None:
        beyond = [a for a in self.anchors.values() if a.seq > head_seq]
        if beyond:
            anchor = min(beyond, key=lambda a: a.seq)
            raise Disagreement(
                head_seq + 1,
                None,
                f"chain ends at seq {head_seq}, before signed checkpoint {anchor.name} "
                f"(seq {anchor.seq}): rows were removed",
            )

    def _check_strays(self) -> None:
        linked = select(AUDIT_CHAIN.c.seq).where(
            AUDIT_CHAIN.c.kind == chain.DECISION_KIND,
            AUDIT_CHAIN.c.ref_id == DECISIONS.c.decision_id,
        )
        stray = self.conn.execute(
            select(DECISIONS.c.decision_id)
            .where(~linked.exists())
            .order_by(DECISIONS.c.decision_id)
            .limit(1)
        ).scalar()
        if stray is not None:
            raise Disagreement(None, stray, "decision is not in the chain")

    def _check_event(self, row: RowMapping) -> None:
        seq, ref, payload = row["seq"], row["ref_id"], row["payload"]
        if chain.event_digest(row["actor"], row["created_at"], payload) != row["payload_digest"]:
            raise Disagreement(seq, ref, "event content does not match its recorded digest")
        if row["kind"] == ADOPTED_EVENT:
            self._check_adopted_raw(seq, payload)
        self.gate.event(row)

    def _check_adopted_raw(self, seq: int, payload: Any) -> None:
        """Raw inputs judged before revision 0004 are vouched for by the upgrade's event."""
        raw = payload.get("raw") if isinstance(payload, dict) else None
        if not isinstance(raw, dict):
            raise Disagreement(seq, None, "gate.adopted event has no raw-input digests")
        for digest, actual in sorted(self.legacy_raw.items()):
            if raw.get(digest) != actual:
                raise Disagreement(
                    seq,
                    None,
                    f"proposal {digest[:19]}…: raw input does not match its digest",
                    table="proposals",
                    row=digest,
                    column="raw_zlib",
                )
        self.legacy_raw.clear()

    def _check_decision(self, link: RowMapping, batch: _Batch) -> None:
        seq, ref = link["seq"], link["ref_id"]
        if ref in self.chained:
            raise Disagreement(seq, ref, f"decision is already chained at seq {self.chained[ref]}")
        self.chained[ref] = seq
        row = batch.decisions.get(ref)
        if row is None:
            raise Disagreement(seq, ref, "decision row is missing")
        decision = self._decision(link, row)
        proposal = batch.proposals.get(row["proposal_digest"])
        if proposal is None:
            raise Disagreement(seq, ref, f"proposal {row['proposal_digest'][:19]}… is missing")
        doc = self._proposal(link, proposal)
        for table, derive, record in _PROJECTIONS:
            expected = list(map(_AS_STORED[table.name], derive(decision, doc)))
            stored = batch.projections.get((table.name, ref), [])
            # Rows usually come back in the order they were written; sorting is the fallback.
            if stored != expected and sorted(stored) != sorted(expected):
                raise Disagreement(
                    seq,
                    ref,
                    f"{table.name} rows do not match the decision {record}",
                    table=table.name,
                    row=ref,
                )
        self.gate.decision(
            LinkedDecision(
                seq=seq,
                decision_id=ref,
                proposal_digest=decision.proposal_digest,
                actor=proposal["actor"],
                outcome=decision.outcome,
                risk_tier=decision.risk_tier.value,
                required_roles=tuple(r.role for r in decision.required_approvals),
                created_at=row["created_at"],
            )
        )

    def _decision(self, link: RowMapping, row: RowMapping) -> Decision:
        """The decision a link covers, checked against the link and its own columns."""
        seq, ref = link["seq"], link["ref_id"]
        text: str = row["decision_json"]
        decision_sha = chain.sha256_hex(text)
        payload = link["payload"]
        if payload is None:
            adopted = self.gate.adopted_seq
            if adopted is None or seq > adopted:
                raise Disagreement(seq, ref, "decision link holds no digest of its raw input")
            digest = decision_sha
        elif not isinstance(payload, dict) or "raw" not in payload:
            raise Disagreement(seq, ref, "decision link payload is not one commander writes")
        else:
            digest = chain.decision_digest(decision_sha, payload["raw"])
        if digest != link["payload_digest"]:
            raise Disagreement(seq, ref, "decision content does not match its recorded digest")
        try:
            decision = Decision.model_validate_json(text)
            created_at = chain.parse_utc(decision.created_at)
        except (ValidationError, ValueError):
            raise Disagreement(seq, ref, "decision JSON is not a valid decision") from None
        expected = {
            "proposal_digest": decision.proposal_digest,
            "outcome": decision.outcome,
            "risk_tier": decision.risk_tier.value,
            "dissent": decision.dissent,
            "policy_version": decision.policy_version,
            "created_at": created_at,
        }
        for column, value in expected.items():
            if row[column] != value:
                raise Disagreement(
                    seq,
                    ref,
                    f"decisions.{column} does not match the decision JSON",
                    table="decisions",
                    row=ref,
                    column=column,
                )
        if link["created_at"] != created_at:
            raise Disagreement(seq, ref, "chain row's created_at does not match the decision")
        return decision

    def _proposal(self, link: RowMapping, row: RowMapping) -> dict[str, Any]:
        """The proposal's document, its content and raw input checked once per digest."""
        seq, ref, digest = link["seq"], link["ref_id"], row["digest"]
        if link["actor"] != row["actor"]:
            raise Disagreement(seq, ref, "chain row's actor does not match the proposal")
        doc: dict[str, Any] = json.loads(row["proposal_json"])
        if digest not in self.proposals_ok:
            if chain.proposal_digest(doc) != digest:
                raise Disagreement(seq, ref, "proposal content does not match its digest")
            if any(row[k] != v for k, v in proposal_columns(doc).items()):
                raise Disagreement(seq, ref, "proposals columns do not match the proposal JSON")
            raw = row["raw_zlib"]
            actual = None if raw is None else hashlib.sha256(raw).hexdigest()
            self._check_raw(link, digest, actual)
            if row["raw_sha256"] != actual:
                raise Disagreement(
                    seq,
                    ref,
                    "proposals.raw_sha256 does not match the stored raw input",
                    table="proposals",
                    row=digest,
                    column="raw_sha256",
                )
            self.proposals_ok[digest] = actual
        else:
            self._check_raw(link, digest, self.proposals_ok[digest])
        return doc

    def _check_raw(self, link: RowMapping, digest: str, actual: str | None) -> None:
        """The raw input must be the one its link vouches for (the upgrade's event, if older)."""
        payload = link["payload"]
        if payload is None:
            self.legacy_raw[digest] = actual
        elif payload["raw"] != actual:
            raise Disagreement(
                link["seq"],
                link["ref_id"],
                "proposal's raw input does not match the digest its decision's link holds",
                table="proposals",
                row=digest,
                column="raw_zlib",
            )

    def _load(self, first: int, last: int) -> _Batch:
        """The rows the decisions linked at seq `first`..`last` cover (the batch's chain rows)."""
        batch = _Batch()
        # The ids as a subquery, not a list of 1,000 bound values: a list costs SQLAlchemy a
        # literal coerced and a parameter rendered per id, per table, per batch. Every ref of
        # the batch's rows: a filter on kind would make SQLite walk its kind index (every
        # decision) rather than a seq range; an event's ref only loads rows nobody looks up.
        ids = (
            select(AUDIT_CHAIN.c.ref_id)
            .where(AUDIT_CHAIN.c.seq.between(first, last))
            .where(AUDIT_CHAIN.c.ref_id.is_not(None))
            .scalar_subquery()
        )
        for row in self._rows(select(DECISIONS).where(DECISIONS.c.decision_id.in_(ids))):
            batch.decisions[row["decision_id"]] = row
        digests = {row["proposal_digest"] for row in batch.decisions.values()}
        fresh = sorted(digests - self.proposals_ok.keys())
        for row in self._rows(self._fresh_proposals, {"digests": fresh}):
            batch.proposals[row["digest"]] = row
        # Raw input already checked: its bytes are not read again.
        known = sorted(digests & self.proposals_ok.keys())
        for row in self._rows(self._known_proposals, {"digests": known}):
            batch.proposals[row["digest"]] = row
        for table, _, _ in _PROJECTIONS:
            query = select(table).where(table.c.decision_id.in_(ids))
            for stored in self.conn.execute(query).all():
                batch.projections.setdefault((table.name, stored.decision_id), []).append(
                    tuple(stored)
                )
        return batch
