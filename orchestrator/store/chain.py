"""The audit hash chain: how a link is hashed, keyed and appended.

Each row's hash is sha256 over the canonical JSON of (seq, kind, ref_id,
payload_digest, prev_hash). A decision's payload digest covers its canonical
decision JSON and the sha256 of its stored raw input; an event's covers its
actor, time and payload. `verify.py` recomputes all of them from the stored
rows and names the first row that disagrees.

Anyone who can write the database can also recompute every hash, so two
anchors live outside it: signed checkpoints of the head (checkpoints.py), and
an optional chain key. With a key, every link and the head carry an HMAC
(`mac`) that nobody without the key can recompute.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue
from sqlalchemy import Connection, bindparam, insert, select, update

from orchestrator.errors import StoreError
from orchestrator.store.tables import AUDIT_CHAIN, CHAIN_HEAD

try:
    from _json import make_encoder as _c_make_encoder  # what json.dumps runs, when built
except ImportError:  # pragma: no cover - CPython always builds it
    _c_make_encoder = None  # type: ignore[assignment, misc]

GENESIS = "0" * 64
HEAD_ID = 1
DECISION_KIND = "decision"
# The execution option by which a store's write transaction carries its chain key.
KEY_OPTION = "commander_chain_key"


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
    """The result of verifying the whole record: fine, or the first row that disagrees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    ref_id: str | None = None
    problem: str | None = None
    # The stored row that disagrees, when it is a row of a table other than the chain.
    table: str | None = None
    row: str | None = None
    column: str | None = None
    checkpoints: int = 0  # signed checkpoints the chain was proved to extend
    keyed: bool = False  # whether every link's HMAC was checked with the chain key
    note: str | None = None  # what could not be checked, and why

    @property
    def message(self) -> str:
        """One line for a person: fine, or where the record breaks and why."""
        if self.ok:
            extra = []
            if self.checkpoints:
                extra.append(f"extends {self.checkpoints} signed checkpoint(s)")
            if self.keyed:
                extra.append("every key-protected link checked")
            if self.note:
                extra.append(self.note)
            more = f" ({'; '.join(extra)})" if extra else ""
            return f"chain ok: {self.rows_checked} rows, head {self.head_hash[:12]}…{more}"
        ref = f" ({_short(self.ref_id)})" if self.ref_id else ""
        where = f"at seq {self.first_bad_seq}" if self.first_bad_seq is not None else "outside"
        return f"chain broken {where}{ref}: {self.problem}"


def _short(ref: str) -> str:
    return ref if len(ref) <= 20 else ref[:12] + "…"


def canonical(value: Any) -> str:
    """The canonical JSON text every digest is taken over.

    Exactly `json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` (a test holds them equal), which runs this same C
    encoder after three layers of Python: `audit verify` calls it for every
    event and proposal, and a small payload's call costs 40% less this way.
    """
    if _c_make_encoder is None:  # no C accelerator: json.dumps is the reference
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str):
        return _string(value)
    # A fresh encoder per call, as json.dumps makes: its markers catch circular values.
    encode = _c_make_encoder({}, _not_json, _string, None, ":", ",", True, False, True)
    return "".join(encode(value, 0))


def _not_json(value: Any) -> Any:
    """What json.dumps does with a value JSON cannot hold."""
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _string(text: str) -> str:
    """One JSON string, exactly as `canonical` (json.dumps, ensure_ascii=False) writes it."""
    return encode_basestring(text)


def sha256_hex(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def proposal_digest(doc: dict[str, Any]) -> str:
    """Proposal.digest() computed from the proposal's JSON document."""
    return "sha256:" + sha256_hex(canonical({k: v for k, v in doc.items() if k != "input_name"}))


def entry_hash(seq: int, kind: str, ref_id: str | None, payload_digest: str, prev: str) -> str:
    """The hash of one chain row: sha256 of canonical({seq, kind, ref_id, payload_digest, prev}).

    The canonical text is written out, keys in sorted order, rather than
    json.dumps'd: verify computes one per row (a test keeps the two equal).
    """
    ref = "null" if ref_id is None else _string(ref_id)
    return sha256_hex(
        f'{{"kind":{_string(kind)},"payload_digest":{_string(payload_digest)},'
        f'"prev_hash":{_string(prev)},"ref_id":{ref},"seq":{int(seq)}}}'
    )


def event_digest(actor: str | None, created_at: datetime, payload: JsonValue) -> str:
    """The payload digest of an audit event: sha256 of canonical({actor, created_at, payload})."""
    who = "null" if actor is None else _string(actor)
    return sha256_hex(
        f'{{"actor":{who},"created_at":"{iso_utc(created_at)}","payload":{canonical(payload)}}}'
    )


def decision_digest(decision_sha: str, raw_sha: str | None) -> str:
    """The payload digest of a decision link: its decision JSON's sha256 and its raw input's.

    Links recorded before revision 0004 carry no payload, and their digest is
    the decision JSON's sha256 alone.
    """
    raw = "null" if raw_sha is None else f'"{raw_sha}"'
    # Written out rather than json.dumps'd: verify computes one per decision.
    return sha256_hex(f'{{"decision":"{decision_sha}","raw":{raw}}}')


def link_mac(key: bytes, link_hash: str) -> str:
    """The HMAC of one link under the chain key."""
    return hmac.new(key, b"link:" + link_hash.encode("ascii"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, head_hash: str) -> str:
    """The HMAC of the chain head: a head moved back to an older link needs the key."""
    message = f"head:{seq}:{head_hash}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
    head = conn.execute(_HEAD).one()
    key: bytes | None = conn.get_execution_options().get(KEY_OPTION)
    _check_head_key(key, head.seq, head.hash, head.mac)
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
    keyed = {"mac": None if key is None else link_mac(key, link)}
    conn.execute(_LINK, values | keyed | {"payload": payload, "created_at": created_at})
    moved = {
        "to_seq": seq,
        "to_hash": link,
        "to_mac": None if key is None else head_mac(key, seq, link),
    }
    conn.execute(_ADVANCE, moved)
    return entry


# Built once: every decision appends one link or more, and a statement built per call
# costs SQLAlchemy more than running it (store/budgets.py). FOR UPDATE serialises
# writers on PostgreSQL; SQLite already holds BEGIN IMMEDIATE.
_HEAD = (
    select(CHAIN_HEAD.c.seq, CHAIN_HEAD.c.hash, CHAIN_HEAD.c.mac)
    .where(CHAIN_HEAD.c.id == HEAD_ID)
    .with_for_update()
)
_LINK = insert(AUDIT_CHAIN)
_ADVANCE = (
    update(CHAIN_HEAD)
    .where(CHAIN_HEAD.c.id == HEAD_ID)
    .values(seq=bindparam("to_seq"), hash=bindparam("to_hash"), mac=bindparam("to_mac"))
)


def _check_head_key(key: bytes | None, seq: int, head_hash: str, mac: str | None) -> None:
    """Refuse to append unkeyed to a keyed chain, or with a key the chain was not keyed with."""
    if mac is None:
        return  # unkeyed so far: a key, if given, protects every link from here on
    if key is None:
        raise StoreError(
            "the audit chain is keyed: set COMMANDER_CHAIN_KEY (or COMMANDER_CHAIN_KEY_FILE) "
            "to the chain key to write to it"
        )
    if not hmac.compare_digest(mac, head_mac(key, seq, head_hash)):
        raise StoreError(
            "the chain key given does not match the key this audit chain is keyed with "
            "(or its head was moved): run `commander audit verify`; nothing written"
        )
