"""The audit store: one narrow class, one transaction per operation, append-only.

SQLite is the zero-set-up default; PostgreSQL (psycopg 3) serves a team. Writers
take turns on the hash chain: on SQLite the threads of one process queue on a
lock per file (migrate.writers_lock) and transactions that write begin
IMMEDIATE; on PostgreSQL the chain head row is locked FOR UPDATE.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from pydantic_core import to_json
from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.clock import utc_now
from orchestrator.errors import (
    AmbiguousDecisionId,
    DecisionNotFound,
    NoStore,
    StoreError,
    UsageError,
)
from orchestrator.models import Decision, Proposal, short_id
from orchestrator.reviewer import HistoryEntry
from orchestrator.store import chain
from orchestrator.store.chain import ChainEntry, ChainReport
from orchestrator.store.migrate import (
    WRITE,
    connect,
    ensure_schema,
    holds_store,
    redact,
    store_url,
    writers_lock,
)
from orchestrator.store.tables import (
    AUDIT_CHAIN,
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
from orchestrator.store.tables_audit import audit_rows

if TYPE_CHECKING:
    from orchestrator.settings import Settings

# An id may be given by a unique prefix or suffix of at least this many characters.
MIN_PREFIX = 6
_EVENT_KIND = re.compile(r"[a-z][a-z0-9_.-]{0,49}")
# Fast zlib: raw plans reach hundreds of MB and are stored on the review path.
_ZLIB_LEVEL = 1


class StoredDecision(BaseModel):
    """A recorded decision with the proposal it judged and its place in the chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    proposal: Proposal
    seq: int
    chain_hash: str


class DecisionSummary(BaseModel):
    """One line of an audit listing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str
    proposal_digest: str
    outcome: str
    risk_tier: str
    dissent: float
    actor: str
    source: str
    kind: str
    environment: str
    intent: str
    input_name: str
    changed_resources: int
    created_at: str


_DECISION_JOIN = PROPOSALS.c.digest == DECISIONS.c.proposal_digest


# The columns of a decision listing (recent, audit queries), in DecisionSummary's terms.
SUMMARY_COLUMNS = (
    DECISIONS.c.decision_id,
    DECISIONS.c.proposal_digest,
    DECISIONS.c.outcome,
    DECISIONS.c.risk_tier,
    DECISIONS.c.dissent,
    DECISIONS.c.created_at,
    PROPOSALS.c.actor,
    PROPOSALS.c.source,
    PROPOSALS.c.kind,
    PROPOSALS.c.environment,
    PROPOSALS.c.intent,
    PROPOSALS.c.input_name,
    PROPOSALS.c.change_count,
)


def summary_of(row: Any) -> DecisionSummary:
    """A DecisionSummary from a row (mapping) of SUMMARY_COLUMNS."""
    return DecisionSummary(
        **{k: v for k, v in row.items() if k not in ("created_at", "change_count")},
        changed_resources=row["change_count"],
        created_at=chain.iso_utc(row["created_at"]),
    )


def history_query(actor: str | BindParameter[str]) -> Select[Any]:
    """The actor's decisions, newest first, with what reviewers are shown of each.

    Read from the decisions' chain links, whose actor and time `audit verify`
    checks against the proposal and the decision: the index
    ix_audit_chain_actor_history yields them in this order, so the newest
    `limit` cost a few index steps however many the actor has.
    """
    return (
        select(
            DECISIONS.c.decision_id,
            DECISIONS.c.outcome,
            DECISIONS.c.risk_tier,
            DECISIONS.c.created_at,
            PROPOSALS.c.change_count,
            PROPOSALS.c.destructive_count,
        )
        .select_from(AUDIT_CHAIN)
        .join(DECISIONS, DECISIONS.c.decision_id == AUDIT_CHAIN.c.ref_id)
        .join(PROPOSALS, _DECISION_JOIN)
        .where(AUDIT_CHAIN.c.actor == actor, AUDIT_CHAIN.c.kind == chain.DECISION_KIND)
        # ref_id (the decision id) breaks ties: reviewers see the same history on every replay.
        .order_by(AUDIT_CHAIN.c.created_at.desc(), AUDIT_CHAIN.c.ref_id.desc())
    )


# Every review reads it: built once (store/budgets.py says why).
_HISTORY = history_query(bindparam("actor")).limit(bindparam("limit"))


def read_history(conn: Connection, actor: str, *, limit: int) -> tuple[HistoryEntry, ...]:
    """Store.history in the caller's transaction."""
    found = conn.execute(_HISTORY, {"actor": actor, "limit": _positive(limit)})
    return history_entries(found.all())


def history_entries(rows: Iterable[Any]) -> tuple[HistoryEntry, ...]:
    """History entries from rows with outcome, tier, counts and time."""
    return tuple(
        HistoryEntry(
            decision_id=r.decision_id,
            outcome=r.outcome,
            risk_tier=r.risk_tier,
            changed_resources=r.change_count,
            destructive_changes=r.destructive_count,
            created_at=chain.iso_utc(r.created_at),
        )
        for r in rows
    )


class Store:
    """The audit record: decisions, the proposals they judged, and audit events."""

    def __init__(self, engine: Engine, shown_url: str, *, chain_key: bytes | None = None) -> None:
        self._engine = engine
        self._writers = writers_lock(engine)
        self.url = shown_url
        # Never stored: it protects the chain only while it lives outside the database.
        self._chain_key = chain_key

    @classmethod
    def open(
        cls,
        url: str,
        *,
        chain_key: bytes | None = None,
        create: bool = True,
        own_folder: Path | None = None,
        make_folders: bool = True,
    ) -> Store:
        """Connect to the database at `url` (or a SQLite file's path) and bring its schema to head.

        `chain_key`, when given, keys every link this store appends (chain.py).
        `create`: a command that writes may create the store (migrate.connect
        holds the rule); one that reads gets `NoStore` where there is none.
        Commands open it with `from_settings`, which makes no folder but the
        default store's.
        """
        url = store_url(url)
        shown = redact(url)
        engine = connect(url, create=create, own_folder=own_folder, make_folders=make_folders)
        try:
            if not create and not holds_store(engine):
                raise NoStore(
                    f"no store at {shown}: the database holds no audit store (`commander "
                    "migrate` creates one)"
                )
            ensure_schema(engine)
        except (StoreError, NoStore):
            engine.dispose()
            raise
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the audit store at {shown}: {_reason(exc)}") from exc
        return cls(engine, shown, chain_key=chain_key)

    @classmethod
    def from_settings(cls, settings: Settings, *, create: bool = False) -> Store:
        """The store the settings name: how every command opens it; only writers `create`."""
        return cls.open(
            settings.database_url,
            chain_key=settings.chain_key,
            create=create,
            own_folder=settings.store_folder,
            make_folders=False,
        )

    @property
    def chain_key(self) -> bytes | None:
        """The key this store's links are appended with, if any."""
        return self._chain_key

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def record(
        self,
        proposal: Proposal,
        decision: Decision,
        *,
        within: Callable[[Connection], None] | None = None,
    ) -> None:
        """Store a decision, its proposal, verdicts and findings, and chain it: all or nothing.

        `within` runs in the same transaction, right after the decision's chain
        link: what it writes (the gate's side of the decision, with its own
        chain event) lands with the decision or not at all.
        """
        ident = decision.decision_id
        try:
            rows = _Rows.of(proposal, decision)
        except UnicodeEncodeError:
            raise StoreError(
                f"decision {ident}: holds text that is not valid Unicode; not recorded"
            ) from None
        with self._write(f"record decision {ident}") as conn:
            if conn.execute(_TAKEN, {"decision_id": ident}).first() is not None:
                raise StoreError(f"decision {ident} is already recorded; the store is append-only")
            write_decision(conn, rows, proposal.actor)
            if within is not None:
                within(conn)

    def get(self, decision_id: str) -> StoredDecision:
        """The decision with exactly this id, with its proposal (raw input included)."""
        with self._read("read a decision") as conn:
            row = conn.execute(
                select(
                    DECISIONS.c.decision_json,
                    PROPOSALS.c.proposal_json,
                    PROPOSALS.c.raw_zlib,
                    AUDIT_CHAIN.c.seq,
                    AUDIT_CHAIN.c.hash,
                )
                .join(PROPOSALS, _DECISION_JOIN)
                .join(AUDIT_CHAIN, AUDIT_CHAIN.c.ref_id == DECISIONS.c.decision_id)
                .where(DECISIONS.c.decision_id == decision_id)
                .where(AUDIT_CHAIN.c.kind == chain.DECISION_KIND)
            ).first()
        if row is None:
            raise DecisionNotFound(f"no decision {decision_id!r} in the audit store")
        return _stored(decision_id, row)

    def find(self, ident: str) -> StoredDecision:
        """The decision whose id is `ident`, or the only one it starts or ends (short id) with."""
        ident = ident.strip()
        try:
            return self.get(ident)
        except DecisionNotFound:
            if len(ident) < MIN_PREFIX:
                raise DecisionNotFound(
                    f"no decision {ident!r}; give at least {MIN_PREFIX} characters of its id"
                ) from None
        with self._read("look up a decision") as conn:
            ids = matching_ids(conn, DECISIONS.c.decision_id, ident)
        if not ids:
            raise DecisionNotFound(f"no decision id starts or ends with {ident!r}")
        if len(ids) > 1:
            raise AmbiguousDecisionId(ambiguous(ident, ids, "decisions"))
        return self.get(ids[0])

    def recent(self, *, actor: str | None = None, limit: int = 50) -> list[DecisionSummary]:
        """The newest decisions, optionally of one actor, newest first."""
        query = (
            select(*SUMMARY_COLUMNS)
            .join(PROPOSALS, _DECISION_JOIN)
            .order_by(DECISIONS.c.created_at.desc(), DECISIONS.c.decision_id.desc())
            .limit(_positive(limit))
        )
        if actor is not None:
            query = query.where(PROPOSALS.c.actor == actor)
        with self._read("list decisions") as conn:
            rows = conn.execute(query).mappings().all()
        return [summary_of(r) for r in rows]

    def history(self, actor: str, *, limit: int = 100) -> tuple[HistoryEntry, ...]:
        """The actor's earlier decisions, newest first, as reviewers see them."""
        with self._read("read an actor's history") as conn:
            return read_history(conn, actor, limit=limit)

    def append_event(
        self,
        kind: str,
        payload: dict[str, JsonValue],
        *,
        actor: str | None = None,
        ref_id: str | None = None,
    ) -> ChainEntry:
        """Chain an audit event (freeze, thaw, approval, …) with its payload."""
        if kind == chain.DECISION_KIND or not _EVENT_KIND.fullmatch(kind):
            raise ValueError(f"event kind {kind!r} must be a lower-case name other than 'decision'")
        # Events, unlike decisions, arrive without a time: the one clock's.
        created_at = utc_now()
        try:
            digest = chain.event_digest(actor, created_at, payload)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"event {kind!r}: payload is not JSON: {exc}") from None
        with self._write(f"append a {kind} event") as conn:
            return chain.append(
                conn,
                kind=kind,
                ref_id=ref_id,
                actor=actor,
                payload=payload,
                payload_digest=digest,
                created_at=created_at,
            )

    def verify_chain(self) -> ChainReport:
        """Recompute every link and what it covers; name the first row that disagrees."""
        from orchestrator.store.verify import verify  # noqa: PLC0415 - only verifiers pay for it

        with self._read("verify the audit chain", snapshot=True) as conn:
            return verify(conn, key=self._chain_key)

    def writing(self, action: str) -> AbstractContextManager[Connection]:
        """One serialised write transaction; `action` names it in errors ("approve X")."""
        return self._write(action)

    def reading(self, action: str, *, snapshot: bool = False) -> AbstractContextManager[Connection]:
        """One read transaction (a single snapshot when `snapshot`)."""
        return self._read(action, snapshot=snapshot)

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        try:
            with self._writers, self._engine.connect() as conn:
                conn.execution_options(**WRITE, **{chain.KEY_OPTION: self._chain_key})
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"audit store {self.url}: cannot {action}: {_reason(exc)}") from exc

    @contextmanager
    def _read(self, action: str, *, snapshot: bool = False) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                if snapshot and conn.dialect.name == "postgresql":
                    # One snapshot for the whole walk; SQLite's read transaction is one already.
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"audit store {self.url}: cannot {action}: {_reason(exc)}") from exc


@dataclass(frozen=True)
class _Rows:
    """Everything one decision writes, prepared before the write lock is taken."""

    proposal: dict[str, Any]
    decision: dict[str, Any]
    projections: tuple[tuple[Table, list[dict[str, Any]]], ...]
    decision_sha: str  # sha256 of the canonical decision JSON

    @property
    def digest_of(self) -> str:
        """The proposal's digest."""
        return str(self.proposal["digest"])

    @classmethod
    def of(cls, proposal: Proposal, decision: Decision) -> _Rows:
        ident = decision.decision_id
        doc = proposal.document
        digest = proposal.digest()
        if digest != decision.proposal_digest:
            raise StoreError(
                f"decision {ident} judged proposal {decision.proposal_digest}, "
                f"but the proposal given has digest {digest}"
            )
        try:
            created_at = chain.parse_utc(decision.created_at)
        except ValueError:
            raise StoreError(
                f"decision {ident}: created_at {decision.created_at!r} is not an ISO-8601 time"
            ) from None
        decision_json = chain.canonical(decision.to_json_dict())
        raw_zlib = _compress(proposal.raw)
        return cls(
            proposal={
                "digest": digest,
                **proposal_columns(doc),
                "created_at": created_at,
                "proposal_json": proposal.canonical_json,
                "raw_zlib": raw_zlib,
                "raw_sha256": None if raw_zlib is None else hashlib.sha256(raw_zlib).hexdigest(),
            },
            decision={
                "decision_id": ident,
                "proposal_digest": digest,
                "outcome": decision.outcome,
                "risk_tier": decision.risk_tier.value,
                "dissent": decision.dissent,
                "policy_version": decision.policy_version,
                "created_at": created_at,
                "decision_json": decision_json,
            },
            projections=(
                (VERDICTS, verdict_rows(decision)),
                (FINDINGS, finding_rows(decision)),
                (FINDING_RESOURCES, resource_rows(decision)),
                *audit_rows(decision, doc),
            ),
            decision_sha=chain.sha256_hex(decision_json),
        )


def matching_ids(conn: Connection, column: Any, ident: str, *, limit: int = 10) -> list[str]:
    """Ids in `column` starting or ending (a short id) with `ident`, at most `limit`, sorted."""
    found = conn.execute(
        select(column)
        .where(
            or_(column.startswith(ident, autoescape=True), column.endswith(ident, autoescape=True))
        )
        .order_by(column)
        .limit(limit)
    ).scalars()
    # SQLite's LIKE ignores case; ids do not.
    return [i for i in found if i.startswith(ident) or i.endswith(ident)]


def ambiguous(ident: str, ids: list[str], what: str) -> str:
    """The message for an id that names several: the candidates, by full and short id."""
    listed = ", ".join(f"{i} ({short_id(i)})" for i in ids[:5]) + (", …" if len(ids) > 5 else "")
    return f"{ident!r} matches several {what}: {listed}; give more of the id"


def write_decision(conn: Connection, rows: _Rows, actor: str) -> ChainEntry:
    """Write one decision's rows and chain it, in the caller's write transaction."""
    raw_sha = rows.proposal["raw_sha256"]
    # The same content submitted twice is one proposal judged twice: its first raw stays.
    if not conn.execute(_insert_new(conn.dialect.name), rows.proposal).rowcount:
        raw_sha = conn.execute(
            select(PROPOSALS.c.raw_sha256).where(PROPOSALS.c.digest == rows.digest_of)
        ).scalar_one()
    conn.execute(_INSERT[DECISIONS], rows.decision)
    for table, projected in rows.projections:
        if projected:
            conn.execute(_INSERT[table], projected)
    return chain.append(
        conn,
        kind=chain.DECISION_KIND,
        ref_id=rows.decision["decision_id"],
        actor=actor,
        payload={"raw": raw_sha},
        payload_digest=chain.decision_digest(rows.decision_sha, raw_sha),
        created_at=rows.decision["created_at"],
    )


class _Inserts(dict[Table, Insert]):
    """One INSERT statement per table, built when first used and kept (store/budgets.py: why)."""

    def __missing__(self, table: Table) -> Insert:
        built = self[table] = insert(table)
        return built


_INSERT = _Inserts()
_TAKEN = select(DECISIONS.c.decision_id).where(DECISIONS.c.decision_id == bindparam("decision_id"))


@functools.cache
def _insert_new(dialect: str) -> Insert:
    """INSERT of a proposal that leaves an existing row with the same key as it is."""
    # Imported here: each process needs only its own database's dialect.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        return postgresql.insert(PROPOSALS).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415

    return sqlite.insert(PROPOSALS).on_conflict_do_nothing()


def _compress(raw: JsonValue) -> bytes | None:
    """zlib of the raw input's JSON text, which `_stored` reads back as the same value.

    No digest covers these bytes, so they need no canonical form: pydantic-core
    writes a 10,000-change plan in a sixth of the time `json.dumps` takes to
    sort and escape it. A string it cannot write as UTF-8 (a lone surrogate,
    which a JSON `\\u` escape can hold) takes the ASCII-escaping path instead.
    """
    if raw is None:
        return None
    try:
        text = to_json(raw, inf_nan_mode="constants")
    except ValueError:
        text = json.dumps(raw, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return zlib.compress(text, _ZLIB_LEVEL)


def _stored(decision_id: str, row: Row[str, str, bytes | None, int, str]) -> StoredDecision:
    try:
        raw = None if row.raw_zlib is None else json.loads(zlib.decompress(row.raw_zlib))
        proposal = Proposal.model_validate_json(row.proposal_json).model_copy(update={"raw": raw})
        return StoredDecision(
            decision=Decision.model_validate_json(row.decision_json),
            proposal=proposal,
            seq=row.seq,
            chain_hash=row.hash,
        )
    except (ValidationError, ValueError, zlib.error) as exc:
        raise StoreError(
            f"decision {decision_id}: stored record does not load ({type(exc).__name__}); "
            "verify the audit chain"
        ) from exc


def _positive(limit: int) -> int:
    if limit < 1:
        raise UsageError(f"limit must be at least 1, not {limit}")
    return limit


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message, without SQLAlchemy's decoration."""
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__
