"""The audit hash chain: appending links and verifying every link and what it covers.

Each row's hash is sha256 over the canonical JSON of (seq, kind, ref_id,
payload_digest, prev_hash). A decision's payload digest is the sha256 of its
canonical decision JSON; an event's covers its actor, time and payload. A
verifier recomputes both from the stored rows, so editing a decision, an event
or a link is found, and the first row that disagrees is named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from sqlalchemy import Connection, RowMapping, Select, insert, select, update

from orchestrator.models import Decision
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

GENESIS = "0" * 64
HEAD_ID = 1
DECISION_KIND = "decision"
_BATCH = 500


class ChainEntry(BaseModel):
    """One appended link, as the caller gets it back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    kind: str
    ref_id: str | None
    actor: str | None
    payload_digest: str
    prev_hash: str
    hash: str
    created_at: str


class ChainReport(BaseModel):
    """The result of verifying the whole chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    ref_id: str | None = None
    problem: str | None = None

    @property
    def message(self) -> str:
        """One line for a person: fine, or where the chain breaks and why."""
        if self.ok:
            return f"chain ok: {self.rows_checked} rows, head {self.head_hash[:12]}…"
        ref = f" ({_short(self.ref_id)})" if self.ref_id else ""
        where = f"at seq {self.first_bad_seq}" if self.first_bad_seq is not None else "outside"
        return f"chain broken {where}{ref}: {self.problem}"


def _short(ref: str) -> str:
    return ref if len(ref) <= 20 else ref[:12] + "…"


def canonical(value: Any) -> str:
    """The canonical JSON text every digest is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def proposal_digest(doc: dict[str, Any]) -> str:
    """Proposal.digest() computed from the proposal's JSON document."""
    return "sha256:" + sha256_hex(canonical({k: v for k, v in doc.items() if k != "input_name"}))


def entry_hash(seq: int, kind: str, ref_id: str | None, payload_digest: str, prev: str) -> str:
    """The hash of one chain row."""
    link = {"seq": seq, "kind": kind, "ref_id": ref_id, "payload_digest": payload_digest}
    return sha256_hex(canonical(link | {"prev_hash": prev}))


def event_digest(actor: str | None, created_at: datetime, payload: JsonValue) -> str:
    """The payload digest of an audit event: who, when and what."""
    return sha256_hex(
        canonical({"actor": actor, "created_at": iso_utc(created_at), "payload": payload})
    )


def parse_utc(text: str) -> datetime:
    """An ISO-8601 timestamp as naive UTC (a zone-less one is taken as UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def iso_utc(moment: datetime) -> str:
    """Naive UTC as ISO-8601 with a Z."""
    return moment.isoformat(timespec="microseconds") + "Z"


def append(
    conn: Connection,
    *,
    kind: str,
    ref_id: str | None,
    actor: str | None,
    payload: JsonValue,
    payload_digest: str,
    created_at: datetime,
) -> ChainEntry:
    """Append one link; the caller's transaction must be the one that writes its subject."""
    # FOR UPDATE serialises writers on PostgreSQL; SQLite already holds BEGIN IMMEDIATE.
    head = conn.execute(
        select(CHAIN_HEAD.c.seq, CHAIN_HEAD.c.hash)
        .where(CHAIN_HEAD.c.id == HEAD_ID)
        .with_for_update()
    ).one()
    seq = head.seq + 1
    link = entry_hash(seq, kind, ref_id, payload_digest, head.hash)
    entry = ChainEntry(
        seq=seq,
        kind=kind,
        ref_id=ref_id,
        actor=actor,
        payload_digest=payload_digest,
        prev_hash=head.hash,
        hash=link,
        created_at=iso_utc(created_at),
    )
    values = entry.model_dump(exclude={"created_at"})
    conn.execute(insert(AUDIT_CHAIN), values | {"payload": payload, "created_at": created_at})
    conn.execute(update(CHAIN_HEAD).where(CHAIN_HEAD.c.id == HEAD_ID).values(seq=seq, hash=link))
    return entry


class _Broken(Exception):
    def __init__(self, seq: int | None, ref_id: str | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.ref_id, self.problem = seq, ref_id, problem


def verify(conn: Connection) -> ChainReport:
    """Check every link, every payload and every projection; stop at the first fault."""
    head = conn.execute(
        select(CHAIN_HEAD.c.seq, CHAIN_HEAD.c.hash).where(CHAIN_HEAD.c.id == HEAD_ID)
    ).one()
    verifier = _Verifier(conn)
    try:
        verifier.run(head.seq, head.hash)
    except _Broken as broken:
        return ChainReport(
            ok=False,
            rows_checked=verifier.checked,
            head_seq=head.seq,
            head_hash=head.hash,
            first_bad_seq=broken.seq,
            ref_id=broken.ref_id,
            problem=broken.problem,
        )
    return ChainReport(
        ok=True, rows_checked=verifier.checked, head_seq=head.seq, head_hash=head.hash
    )


@dataclass
class _Batch:
    """The stored rows that one batch of chain rows covers."""

    decisions: dict[str, RowMapping] = field(default_factory=dict)
    proposals: dict[str, RowMapping] = field(default_factory=dict)
    projections: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


class _Verifier:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.checked = 0
        self.chained: dict[str, int] = {}
        self.proposals_ok: set[str] = set()

    def run(self, head_seq: int, head_hash: str) -> None:
        prev, seq = GENESIS, 1
        # Batches keep memory flat however long the chain grows.
        while rows := self._rows(
            select(AUDIT_CHAIN)
            .where(AUDIT_CHAIN.c.seq >= seq)
            .order_by(AUDIT_CHAIN.c.seq)
            .limit(_BATCH)
        ):
            batch = self._load([r["ref_id"] for r in rows if r["kind"] == DECISION_KIND])
            for row in rows:
                if row["seq"] != seq:
                    raise _Broken(seq, None, f"row is missing (the next row is seq {row['seq']})")
                if seq > head_seq:
                    raise _Broken(
                        seq, row["ref_id"], f"row is past the chain head (seq {head_seq})"
                    )
                self._check_link(row, prev)
                if row["kind"] == DECISION_KIND:
                    self._check_decision(row, batch)
                prev, seq = row["hash"], seq + 1
                self.checked += 1
        if seq - 1 != head_seq or prev != head_hash:
            raise _Broken(seq, None, f"chain ends at seq {seq - 1} but its head is seq {head_seq}")
        linked = select(AUDIT_CHAIN.c.seq).where(
            AUDIT_CHAIN.c.kind == DECISION_KIND, AUDIT_CHAIN.c.ref_id == DECISIONS.c.decision_id
        )
        stray = self.conn.execute(
            select(DECISIONS.c.decision_id)
            .where(~linked.exists())
            .order_by(DECISIONS.c.decision_id)
            .limit(1)
        ).scalar()
        if stray is not None:
            raise _Broken(None, stray, "decision is not in the chain")

    def _rows(self, query: Select[Any]) -> Sequence[RowMapping]:
        return self.conn.execute(query).mappings().all()

    def _check_link(self, row: RowMapping, prev: str) -> None:
        seq, ref = row["seq"], row["ref_id"]
        if row["prev_hash"] != prev:
            raise _Broken(seq, ref, f"prev_hash does not match the hash of seq {seq - 1}")
        link = entry_hash(seq, row["kind"], ref, row["payload_digest"], row["prev_hash"])
        if link != row["hash"]:
            raise _Broken(seq, ref, "row hash does not match the row's fields")
        if row["kind"] != DECISION_KIND and (
            event_digest(row["actor"], row["created_at"], row["payload"]) != row["payload_digest"]
        ):
            raise _Broken(seq, ref, "event content does not match its recorded digest")

    def _check_decision(self, link: RowMapping, batch: _Batch) -> None:
        seq, ref = link["seq"], link["ref_id"]
        if ref in self.chained:
            raise _Broken(seq, ref, f"decision is already chained at seq {self.chained[ref]}")
        self.chained[ref] = seq
        row = batch.decisions.get(ref)
        problem: str | None = "decision row is missing"
        if row is not None:
            proposal = batch.proposals.get(row["proposal_digest"])
            problem = _decision_problem(link, row, batch) or self._proposal_problem(
                link, row["proposal_digest"], proposal
            )
        if problem is not None:
            raise _Broken(seq, ref, problem)

    def _proposal_problem(
        self, link: RowMapping, digest: str, row: RowMapping | None
    ) -> str | None:
        if row is None:
            return f"proposal {digest[:19]}… is missing"
        if link["actor"] != row["actor"]:
            return "chain row's actor does not match the proposal"
        if digest not in self.proposals_ok:
            doc = json.loads(row["proposal_json"])
            if proposal_digest(doc) != digest:
                return "proposal content does not match its digest"
            if any(row[k] != v for k, v in proposal_columns(doc).items()):
                return "proposals columns do not match the proposal JSON"
            self.proposals_ok.add(digest)
        return None

    def _load(self, ids: Sequence[str]) -> _Batch:
        batch = _Batch()
        for row in self._rows(select(DECISIONS).where(DECISIONS.c.decision_id.in_(ids))):
            batch.decisions[row["decision_id"]] = row
        digests = {row["proposal_digest"] for row in batch.decisions.values()}
        fresh = sorted(digests - self.proposals_ok)
        for row in self._rows(select(PROPOSALS).where(PROPOSALS.c.digest.in_(fresh))):
            batch.proposals[row["digest"]] = row
        known = sorted(digests & self.proposals_ok)
        # Content already checked: only the actor is compared again.
        columns = (PROPOSALS.c.digest, PROPOSALS.c.actor)
        for row in self._rows(select(*columns).where(PROPOSALS.c.digest.in_(known))):
            batch.proposals[row["digest"]] = row
        for key, table in _PROJECTIONS.items():
            for row in self._rows(select(table).where(table.c.decision_id.in_(ids))):
                batch.projections.setdefault((key, row["decision_id"]), []).append(dict(row))
        return batch


_PROJECTIONS = {
    "verdicts": VERDICTS,
    "findings": FINDINGS,
    "finding_resources": FINDING_RESOURCES,
}
_DERIVE: dict[str, Callable[[Decision], list[dict[str, Any]]]] = {
    "verdicts": verdict_rows,
    "findings": finding_rows,
    "finding_resources": resource_rows,
}


def _decision_problem(link: RowMapping, row: RowMapping, batch: _Batch) -> str | None:
    """What, if anything, is wrong with one decision row against its link."""
    try:
        doc = json.loads(row["decision_json"])
    except ValueError:
        return "decision JSON does not parse"
    if sha256_hex(canonical(doc)) != link["payload_digest"]:
        return "decision content does not match its recorded digest"
    try:
        decision = Decision.model_validate(doc)
        created_at = parse_utc(decision.created_at)
    except (ValidationError, ValueError):
        return "decision JSON is not a valid decision"
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
            return f"decisions.{column} does not match the decision JSON"
    if link["created_at"] != created_at:
        return "chain row's created_at does not match the decision"
    for key, derive in _DERIVE.items():
        stored = batch.projections.get((key, decision.decision_id), [])
        if _rows_key(stored) != _rows_key(derive(decision)):
            return f"{key} rows do not match the decision JSON"
    return None


def _rows_key(rows: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(canonical(r) for r in rows)
