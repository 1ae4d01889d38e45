"""The decisions list: the filter form read into an AuditFilter, one page, and its cursor.

The query is `audit query`'s (orchestrator/store/audit.py) with a keyset
cursor: the next page starts below the last row shown, on the created_at
index, so page 500 costs what page 1 does. A filter the form cannot read is
shown back to the reader as one line naming the field, never a 500.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy import select

from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.audit import AuditFilter, query_decisions
from orchestrator.store.chain import parse_utc
from orchestrator.store.escalations import Escalation, load
from orchestrator.store.store import DecisionSummary
from orchestrator.store.tables_audit import DECISION_DISSENTERS
from orchestrator.store.tables_governance import ESCALATIONS

PAGE_SIZE = 50
# The form's fields, in the order the page shows them.
FIELDS = (
    "actor",
    "source",
    "environment",
    "resource",
    "service",
    "outcome",
    "gate_state",
    "tier",
    "dissenter",
    "since",
    "until",
)


@dataclass(frozen=True)
class Row:
    """One decision as the list shows it."""

    summary: DecisionSummary
    dissenters: tuple[str, ...]
    escalation: Escalation | None

    @property
    def signed_by(self) -> tuple[str, ...]:
        """'name (role)' for each signature on its escalation."""
        found = self.escalation.approvals if self.escalation else ()
        return tuple(f"{a.name} ({a.role})" for a in found)


@dataclass(frozen=True)
class Page:
    """One page of the list, what was asked, and where the next page starts."""

    rows: list[Row]
    asked: dict[str, str]
    next_cursor: str | None
    error: str | None = None


def read_filter(params: dict[str, str], now: datetime) -> AuditFilter:
    """The form's values as an AuditFilter; UsageError names the field that does not read."""
    values: dict[str, Any] = {k: v.strip() for k, v in params.items() if k in FIELDS and v.strip()}
    for name in ("since", "until"):
        if name in values:
            try:
                values[name] = parse_utc(values[name])
            except ValueError:
                raise UsageError(f"{name}: not a time (2026-05-01 or 2026-05-01T10:00Z)") from None
    cursor = params.get("after", "").strip()
    if cursor:
        values["older_than"] = decode_cursor(cursor)
    try:
        return AuditFilter.model_validate({**values, "limit": PAGE_SIZE + 1, "now": now})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"{first['loc'][0]}: {first['msg']}") from None


def list_page(store: Store, params: dict[str, str], now: datetime) -> Page:
    """The page of decisions the form asks for, newest first."""
    asked = {k: params.get(k, "") for k in FIELDS}
    try:
        wanted = read_filter(params, now)
    except UsageError as exc:
        return Page([], asked, None, error=str(exc))
    found = query_decisions(store, wanted)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    ids = [d.decision_id for d in found]
    dissent, escalations = _facets(store, ids, now)
    rows = [
        Row(d, tuple(dissent.get(d.decision_id, ())), escalations.get(d.decision_id)) for d in found
    ]
    cursor = encode_cursor(found[-1]) if more and found else None
    return Page(rows, asked, cursor)


def _facets(
    store: Store, ids: list[str], now: datetime
) -> tuple[dict[str, list[str]], dict[str, Escalation]]:
    """Dissenters and escalations (with signatures) of the page's decisions: two lookups."""
    if not ids:
        return {}, {}
    dissent: dict[str, list[str]] = {}
    with store.reading("read the list's dissent and sign-off") as conn:
        query = (
            select(DECISION_DISSENTERS.c.decision_id, DECISION_DISSENTERS.c.reviewer)
            .where(DECISION_DISSENTERS.c.decision_id.in_(ids))
            .order_by(DECISION_DISSENTERS.c.reviewer)
        )
        for ident, reviewer in conn.execute(query):
            dissent.setdefault(ident, []).append(reviewer)
        found = load(conn, ESCALATIONS.c.decision_id.in_(ids), now)
    return dissent, {e.decision_id: e for e in found}


def encode_cursor(last: DecisionSummary) -> str:
    """The next page's cursor: the last row's time and id, URL-safe."""
    raw = f"{last.created_at}|{last.decision_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """A cursor back into (time, id); UsageError when it was not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, ident = raw.split("|", 1)
        return parse_utc(at.removesuffix("Z")), ident
    except ValueError:
        raise UsageError("after: not a page cursor from this list") from None


def next_link(asked: dict[str, str], cursor: str) -> str:
    """The query string of the next page: the same filters, the new cursor."""
    kept = {k: v for k, v in asked.items() if v}
    return "?" + urlencode({**kept, "after": cursor})
