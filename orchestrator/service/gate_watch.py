"""How escalations ended, read from the store: the gate's metrics from every path.

An escalation can end through this service's API, through `commander
approve|deny` on another machine, by expiring, or by being cancelled when a
changed plan is submitted or the actor is frozen. All of them end in the
store's `escalations` table, so the service reads its endings there when
/metrics is scraped, and counts each once: by `decision_id`, over a window
that reaches `LATE` back past the previous scrape (a transaction that took its
time stamp before a scrape but committed after it is still counted).

Endings before the service started are not counted: counters start at zero
with the process, as Prometheus expects. Every replica reads the same table,
so with several replicas aggregate these series with `max`, not `sum`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, or_, select

from orchestrator.store import Store
from orchestrator.store.tables_governance import ESCALATIONS

ENDINGS: Final = ("approved", "denied", "expired", "cancelled")
LATE: Final = timedelta(minutes=5)
_CLOSED: Final = {"approved-by-humans": "approved", "denied": "denied", "cancelled": "cancelled"}


@dataclass(frozen=True)
class Ending:
    """One escalation that ended: how, its tier and source, and how long it had waited."""

    decision_id: str
    ending: str
    risk_tier: str
    source: str
    ended_at: datetime
    waited_seconds: float


def endings_between(store: Store, since: datetime, until: datetime) -> list[Ending]:
    """Escalations that ended in (since, until]: closed then, or expired then while pending."""
    row = ESCALATIONS.c
    closed = and_(row.status.in_(tuple(_CLOSED)), row.closed_at > since, row.closed_at <= until)
    expired = and_(row.status == "pending", row.expires_at > since, row.expires_at <= until)
    query = select(
        row.decision_id,
        row.status,
        row.risk_tier,
        row.source,
        row.created_at,
        row.closed_at,
        row.expires_at,
    ).where(or_(closed, expired))
    with store.reading("read how escalations ended") as conn:
        rows = conn.execute(query).mappings().all()
    found = []
    for r in rows:
        ending = _CLOSED.get(r["status"], "expired")
        ended_at = r["expires_at"] if ending == "expired" else r["closed_at"]
        found.append(
            Ending(
                decision_id=r["decision_id"],
                ending=ending,
                risk_tier=r["risk_tier"],
                source=r["source"],
                ended_at=ended_at,
                waited_seconds=max(0.0, (ended_at - r["created_at"]).total_seconds()),
            )
        )
    return found


class GateWatch:
    """Hands out each escalation's ending once, from the service's start on."""

    def __init__(self, started: datetime) -> None:
        self._floor = started
        self._last = started
        self._seen: dict[str, datetime] = {}

    def new_endings(self, store: Store, now: datetime) -> list[Ending]:
        """The endings not handed out before, up to `now`."""
        since = max(self._floor, self._last - LATE)
        fresh = [e for e in endings_between(store, since, now) if e.decision_id not in self._seen]
        for ending in fresh:
            self._seen[ending.decision_id] = ending.ended_at
        self._last = max(self._last, now)
        cutoff = self._last - LATE
        self._seen = {k: at for k, at in self._seen.items() if at > cutoff}
        return fresh
