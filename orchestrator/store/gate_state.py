"""The gate's tables as the chain builds them, and the first stored row that disagrees.

Every write to a gate table is chained in the same transaction as an event
whose payload holds what was written (or, for a decision's own gate side,
`change.submitted` right after the decision's link). Replaying those events
in chain order gives every row each table should hold:

    change.submitted          change_submissions; escalations (escalate); budget_usage (approve)
    escalation.approval       escalation_approvals
    escalation.denied | .cancelled | .approved-by-humans   escalations (+ budget_usage)
    actor.freeze | actor.thaw freezes
    elevation.grant | .revoke elevations
    incident.link             incidents
    gate.adopted              every gate table as it stood when a store from
                              before revision 0004 was upgraded (events before
                              it only fed those rows, so they are not replayed)

Rows no later event changes (submissions, budget use, signatures,
incidents) are compared as each batch of the walk ends (`flush`), and only
their keys are kept; `compare` then reads the other tables whole, and every
table's keys, and names the row that disagrees first in chain order (a row
no event wrote comes last), with its table, key and column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, DateTime, Table, select

from orchestrator.store.chain import iso_utc, parse_utc
from orchestrator.store.gate_common import person_key
from orchestrator.store.tables_audit import INCIDENT_EVENT, INCIDENTS
from orchestrator.store.tables_governance import (
    BUDGET_USAGE,
    CHANGE_SUBMISSIONS,
    ELEVATIONS,
    ESCALATION_APPROVALS,
    ESCALATIONS,
    FREEZES,
)

SUBMITTED_EVENT = "change.submitted"
ADOPTED_EVENT = "gate.adopted"
# The tables a gate.adopted event holds, in the order it lists them.
GATE_TABLES: tuple[Table, ...] = (
    CHANGE_SUBMISSIONS,
    ESCALATIONS,
    ESCALATION_APPROVALS,
    FREEZES,
    BUDGET_USAGE,
    ELEVATIONS,
)
_CHECKED: tuple[Table, ...] = (*GATE_TABLES, INCIDENTS)
# Written once, never changed by a later event: checked batch by batch, then forgotten.
_SEALED: tuple[Table, ...] = (CHANGE_SUBMISSIONS, BUDGET_USAGE, ESCALATION_APPROVALS, INCIDENTS)
_ORDER = {table.name: i for i, table in enumerate(_CHECKED)}
_IN_LIST = 1000
_LAST = 1 << 62  # where a row that no event wrote sorts: after every seq


class Disagreement(Exception):
    """The first place where the stored gate state and the chain disagree."""

    def __init__(
        self,
        seq: int | None,
        ref_id: str | None,
        problem: str,
        *,
        table: str | None = None,
        row: str | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.seq, self.ref_id, self.problem = seq, ref_id, problem
        self.table, self.row, self.column = table, row, column


@dataclass(frozen=True, kw_only=True)
class LinkedDecision:
    """What the gate's replay needs of a decision link."""

    seq: int
    decision_id: str
    proposal_digest: str
    actor: str
    outcome: str
    risk_tier: str
    required_roles: tuple[str, ...]
    created_at: datetime


@dataclass
class _Row:
    values: dict[str, Any]
    seq: int  # the last event that wrote it
    ref: str | None


def _key(table: Table, values: Mapping[Any, Any]) -> str:
    return "/".join(str(values[name]) for name in _primary_key(table))


@cache
def _primary_key(table: Table) -> tuple[str, ...]:
    """A table's key columns' names: verify builds a key per replayed row (100,000s)."""
    return tuple(c.name for c in table.primary_key.columns)


def to_json_row(table: Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row as JSON data (times as ISO 8601 with a Z), for a gate.adopted event."""
    return _times(table, row, iso_utc)


def from_json_row(table: Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The inverse of `to_json_row`."""
    return _times(table, row, parse_utc)


def _times(table: Table, row: Mapping[Any, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    return {
        c.name: convert(row[c.name])
        if isinstance(c.type, DateTime) and row[c.name] is not None
        else row[c.name]
        for c in table.columns
    }


def adoption_payload(conn: Connection) -> dict[str, Any]:
    """Every gate table's rows (and each proposal's raw-input digest), for gate.adopted."""
    from orchestrator.store.tables import PROPOSALS  # noqa: PLC0415 - migration only

    tables = {}
    for table in GATE_TABLES:
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        tables[table.name] = [to_json_row(table, r) for r in rows]
    raw = conn.execute(
        select(PROPOSALS.c.digest, PROPOSALS.c.raw_sha256)
        .where(PROPOSALS.c.raw_sha256.is_not(None))
        .order_by(PROPOSALS.c.digest)
    )
    return {"tables": tables, "raw": {r.digest: r.raw_sha256 for r in raw}}


@dataclass
class GateState:
    """The gate tables' rows as the chain events seen so far write them."""

    adopted_seq: int | None = None
    last_decision: LinkedDecision | None = None
    rows: dict[str, dict[str, _Row]] = field(default_factory=lambda: {t.name: {} for t in _CHECKED})
    # The keys of the sealed rows already compared.
    sealed: dict[str, set[str]] = field(default_factory=lambda: {t.name: set() for t in _SEALED})
    first: Disagreement | None = None

    def decision(self, linked: LinkedDecision) -> None:
        """A decision link: the next change.submitted event must be about it."""
        self.last_decision = linked

    def event(self, link: Mapping[Any, Any]) -> None:
        """Apply one chain event (a chain row); raise Disagreement when it cannot stand there."""
        kind, seq, ref = link["kind"], link["seq"], link["ref_id"]
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        before_adoption = self.adopted_seq is not None and seq < self.adopted_seq
        if before_adoption and kind != INCIDENT_EVENT:
            return  # the gate.adopted event holds what these wrote
        payload = link["payload"]
        if not isinstance(payload, dict):
            raise Disagreement(seq, ref, f"{kind} event has no payload")
        try:
            handler(self, _Event(seq, kind, ref, link["actor"], link["created_at"], payload))
        except (KeyError, TypeError, ValueError) as exc:
            raise Disagreement(
                seq, ref, f"{kind} event's payload is not one commander writes ({exc})"
            ) from None

    def put(self, table: Table, values: dict[str, Any], seq: int, ref: str | None) -> None:
        """Set a row (all of its columns) as written by the event at `seq`."""
        self.rows[table.name][_key(table, values)] = _Row(values, seq, ref)

    def row(self, table: Table, key: str, event: _Event, what: str) -> _Row:
        """The row an event changes; the event is out of place when the chain never wrote it."""
        found = self.rows[table.name].get(key)
        if found is None:
            raise Disagreement(
                event.seq, event.ref, f"{event.kind} event {what} that the chain never recorded"
            )
        found.seq, found.ref = event.seq, event.ref
        return found

    def flush(self, conn: Connection) -> None:
        """Compare the sealed rows written since the last flush; keep only their keys."""
        for table in _SEALED:
            written = self.rows[table.name]
            if not written:
                continue
            ids = sorted({str(row.values["decision_id"]) for row in written.values()})
            stored: dict[str, dict[str, Any]] = {}
            for start in range(0, len(ids), _IN_LIST):
                chunk = ids[start : start + _IN_LIST]
                stored |= _stored(conn, table, table.c.decision_id.in_(chunk))
            for key, row in written.items():
                self._note(_differs(table, key, stored.get(key), row))
            self.sealed[table.name].update(written)
            written.clear()

    def compare(self, conn: Connection) -> None:
        """Raise the stored row that disagrees with the replayed one first in chain order."""
        self.flush(conn)
        for table in _CHECKED:
            if table in _SEALED:
                known = self.sealed[table.name]
                keys = conn.execute(select(*table.primary_key.columns)).all()
                for key in ("/".join(str(v) for v in values) for values in keys):
                    if key not in known:
                        self._note(_differs(table, key, {}, None))
                continue
            expected = self.rows[table.name]
            unseen = set(expected)
            names = table.c.keys()
            # Streamed: a table of 100,000s of escalations is never held twice.
            for values in conn.execute(select(table).execution_options(yield_per=2000)):
                stored = dict(zip(names, values, strict=True))
                key = _key(table, stored)
                unseen.discard(key)
                self._note(_differs(table, key, stored, expected.get(key)))
            for key in unseen:
                self._note(_differs(table, key, None, expected[key]))
        if self.first is not None:
            raise self.first

    def _note(self, found: Disagreement | None) -> None:
        if found is not None and _rank(found) < _rank(self.first):
            self.first = found


def _stored(conn: Connection, table: Table, where: Any) -> dict[str, dict[str, Any]]:
    """Stored rows of `table` (matching `where`) by key."""
    query = select(table) if where is None else select(table).where(where)
    names = table.c.keys()
    rows = (dict(zip(names, values, strict=True)) for values in conn.execute(query).all())
    return {_key(table, row): row for row in rows}


def _rank(found: Disagreement | None) -> tuple[int, int]:
    """Chain order; at one seq, the order of _CHECKED (an escalation before its signatures)."""
    if found is None:
        return (_LAST + 1, 0)
    seq = _LAST if found.seq is None else found.seq
    return (seq, _ORDER.get(found.table or "", len(_ORDER)))


def _differs(
    table: Table, key: str, stored: Mapping[Any, Any] | None, expected: _Row | None
) -> Disagreement | None:
    """How a stored row (None: missing) differs from the replayed one (None: no event wrote it)."""
    if expected is None:
        if stored is None:
            return None
        return Disagreement(
            None,
            None,
            f"{table.name} row {key} is not in the chain (no event wrote it)",
            table=table.name,
            row=key,
        )
    if stored is None:
        return Disagreement(
            expected.seq,
            expected.ref,
            f"{table.name} row {key} is missing (the chain wrote it at seq {expected.seq})",
            table=table.name,
            row=key,
        )
    if stored == expected.values:
        return None
    for name in table.c.keys():  # noqa: SIM118 - a ColumnCollection, not a dict
        have, want = stored[name], expected.values.get(name)
        if have != want:
            return Disagreement(
                expected.seq,
                expected.ref,
                f"{table.name} row {key}: {name} is {_shown(have)} but the chain says "
                f"{_shown(want)}",
                table=table.name,
                row=key,
                column=name,
            )
    return None


def _shown(value: Any) -> str:
    return repr(iso_utc(value)) if isinstance(value, datetime) else repr(value)


@dataclass(frozen=True)
class _Event:
    seq: int
    kind: str
    ref: str | None
    actor: str | None
    at: datetime
    payload: dict[str, Any]


def _adopted(state: GateState, event: _Event) -> None:
    if event.seq != state.adopted_seq:
        raise Disagreement(event.seq, event.ref, "a second gate.adopted event")
    tables = event.payload["tables"]
    for table in GATE_TABLES:
        state.rows[table.name] = {}
        for row in tables[table.name]:
            state.put(table, from_json_row(table, row), event.seq, event.ref)


def _submitted(state: GateState, event: _Event) -> None:
    linked, payload = state.last_decision, event.payload
    if linked is None or linked.seq != event.seq - 1 or linked.decision_id != event.ref:
        raise Disagreement(event.seq, event.ref, "change.submitted does not follow its decision")
    ident, at = linked.decision_id, linked.created_at
    state.put(
        CHANGE_SUBMISSIONS,
        {
            "decision_id": ident,
            "change_id": payload["change_id"],
            "proposal_digest": linked.proposal_digest,
            "submitter": payload["submitter"],
            "created_at": at,
            "chain_seq": event.seq,
        },
        event.seq,
        ident,
    )
    expires, usage = payload["expires_at"], payload["usage"]
    if (expires is not None) != (linked.outcome == "escalate") or (usage is not None) != (
        linked.outcome == "approve"
    ):
        raise Disagreement(
            event.seq, ident, f"change.submitted does not fit a decision to {linked.outcome}"
        )
    if expires is not None:
        state.put(
            ESCALATIONS,
            {
                "decision_id": ident,
                "change_id": payload["change_id"],
                "proposal_digest": linked.proposal_digest,
                "actor": linked.actor,
                "source": payload["source"],
                "submitter": payload["submitter"],
                "risk_tier": linked.risk_tier,
                "required_roles": list(linked.required_roles),
                "status": "pending",
                "created_at": at,
                "expires_at": parse_utc(expires),
                "closed_at": None,
                "closed_by": None,
                "reason": None,
            },
            event.seq,
            ident,
        )
    if usage is not None:
        _count(state, event, linked.actor, at, usage)


def _count(state: GateState, event: _Event, actor: str, at: datetime, usage: Any) -> None:
    ident = str(event.payload["decision_id"])
    state.put(
        BUDGET_USAGE,
        {
            "decision_id": ident,
            "actor": person_key(actor),
            "counted_at": at,
            "deletes": int(usage["deletes"]),
            "changed_resources": int(usage["changed_resources"]),
            "blast_radius": int(usage["blast_radius"]),
        },
        event.seq,
        ident,
    )


def _closing(status: str) -> Callable[[GateState, _Event], None]:
    def close(state: GateState, event: _Event) -> None:
        ident = str(event.payload["decision_id"])
        row = state.row(ESCALATIONS, ident, event, f"closes escalation {ident}")
        by = event.payload["name"] if status == "denied" else event.actor
        reason = event.payload.get("reason") if status != "approved-by-humans" else None
        row.values |= {"status": status, "closed_at": event.at, "closed_by": by}
        if status != "approved-by-humans":
            row.values["reason"] = reason
        if status == "approved-by-humans":
            _count(state, event, row.values["actor"], event.at, event.payload["usage"])

    return close


def _approval(state: GateState, event: _Event) -> None:
    payload = event.payload
    ident = str(payload["decision_id"])
    state.row(ESCALATIONS, ident, event, f"signs escalation {ident}")
    name = str(payload["name"])
    state.put(
        ESCALATION_APPROVALS,
        {
            "decision_id": ident,
            "role": payload["role"],
            "name": name,
            "name_key": person_key(name),
            "comment": payload["comment"],
            "created_at": event.at,
        },
        event.seq,
        event.ref,
    )


def _freeze(state: GateState, event: _Event) -> None:
    payload = event.payload
    state.put(
        FREEZES,
        {
            "target": payload["target"],
            "frozen_by": payload["frozen_by"],
            "reason": payload["reason"],
            "frozen_at": event.at,
        },
        event.seq,
        event.ref,
    )


def _thaw(state: GateState, event: _Event) -> None:
    target = str(event.payload["target"])
    state.row(FREEZES, target, event, f"lifts a freeze of {target}")
    del state.rows[FREEZES.name][target]


def _grant(state: GateState, event: _Event) -> None:
    p = event.payload
    state.put(
        ELEVATIONS,
        {
            "elevation_id": p["elevation_id"],
            "actor": p["actor"],
            "categories": list(p["categories"]),
            "environments": list(p["environments"]),
            "until": parse_utc(p["until"]),
            "granted_by": p["granted_by"],
            "reason": p["reason"],
            "granted_at": parse_utc(p["granted_at"]),
            "revoked_at": None,
            "revoked_by": None,
            "revoke_reason": None,
        },
        event.seq,
        event.ref,
    )


def _revoke(state: GateState, event: _Event) -> None:
    ident = str(event.payload["elevation_id"])
    row = state.row(ELEVATIONS, ident, event, f"revokes elevation {ident}")
    row.values |= {
        "revoked_at": event.at,
        "revoked_by": event.payload["revoked_by"],
        "revoke_reason": event.payload["reason"],
    }


def _incident(state: GateState, event: _Event) -> None:
    p = event.payload
    state.put(
        INCIDENTS,
        {
            "incident_id": p["incident_id"],
            "decision_id": p["decision_id"],
            "linked_by": event.actor,
            "note": p["note"],
            "linked_at": parse_utc(p["linked_at"]),
            "chain_seq": event.seq,
        },
        event.seq,
        event.ref,
    )


_HANDLERS: dict[str, Callable[[GateState, _Event], None]] = {
    ADOPTED_EVENT: _adopted,
    SUBMITTED_EVENT: _submitted,
    "escalation.approval": _approval,
    "escalation.denied": _closing("denied"),
    "escalation.cancelled": _closing("cancelled"),
    "escalation.approved-by-humans": _closing("approved-by-humans"),
    "actor.freeze": _freeze,
    "actor.thaw": _thaw,
    "elevation.grant": _grant,
    "elevation.revoke": _revoke,
    INCIDENT_EVENT: _incident,
}
