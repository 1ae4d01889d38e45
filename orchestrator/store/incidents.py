"""Incidents and the reviewer scorecard: which reviewer saw the problem coming.

`link_incident` records that a decided change caused an incident: an
`incidents` row and an `incident.link` chain event, in one transaction, so the
finding is as tamper-evident as the decision. `scorecard` then compares each
reviewer's alarms with the changes that did and did not cause incidents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, case, func, insert, select

from orchestrator.clock import utc_now
from orchestrator.errors import DecisionNotFound, UsageError
from orchestrator.models import Frozen
from orchestrator.store import chain
from orchestrator.store.store import Store
from orchestrator.store.tables import DECISIONS, VERDICTS
from orchestrator.store.tables_audit import INCIDENT_EVENT, INCIDENTS

MAX_INCIDENT_ID = 200


class IncidentLink(Frozen):
    """One recorded "decision D let through the change that caused incident I"."""

    incident_id: str
    decision_id: str
    linked_by: str | None
    note: str
    linked_at: str
    chain_seq: int


class ReviewerScore(Frozen):
    """How one reviewer's alarms lined up with later incidents (see `SCORE_DEFINITIONS`)."""

    reviewer: str
    judged: int
    flagged: int
    caught: int
    missed: int
    false_alarms: int
    quiet: int
    failed: int
    precision: float | None
    recall: float | None
    false_alarm_rate: float | None


SCORE_DEFINITIONS: dict[str, str] = {
    "judged": "decisions the reviewer gave a verdict on (failed verdicts not counted)",
    "flagged": "of those, decisions it raised concern about or blocked",
    "caught": "flagged decisions whose change later caused an incident",
    "missed": "decisions it approved whose change later caused an incident",
    "false_alarms": "flagged decisions whose change caused no recorded incident",
    "quiet": "decisions it approved that caused no recorded incident",
    "failed": "decisions on which the reviewer crashed or timed out",
    "precision": "caught / flagged: how often an alarm from it was right",
    "recall": "caught / (caught + missed): share of incident-causing changes it flagged",
    "false_alarm_rate": "false_alarms / (false_alarms + quiet): share of harmless changes "
    "it flagged",
}


def link_incident(
    store: Store,
    incident_id: str,
    decision_id: str,
    *,
    linked_by: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> tuple[IncidentLink, bool]:
    """Record that `decision_id`'s change caused `incident_id`; (link, newly recorded).

    Linking the same pair again records nothing and returns the first link.
    """
    incident_id = incident_id.strip()
    if not incident_id or len(incident_id) > MAX_INCIDENT_ID or "\n" in incident_id:
        raise UsageError(
            f"incident id must be one line of 1 to {MAX_INCIDENT_ID} characters, "
            f"not {incident_id!r}"
        )
    moment = utc_now() if now is None else now.astimezone(UTC).replace(tzinfo=None)
    with store.writing(f"link incident {incident_id}") as conn:
        known = select(DECISIONS.c.decision_id).where(DECISIONS.c.decision_id == decision_id)
        if conn.execute(known).first() is None:
            raise DecisionNotFound(f"no decision {decision_id!r} in the audit store")
        existing = (
            conn.execute(
                select(INCIDENTS).where(
                    INCIDENTS.c.incident_id == incident_id, INCIDENTS.c.decision_id == decision_id
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            return _link(existing), False
        row = {
            "incident_id": incident_id,
            "decision_id": decision_id,
            "linked_by": linked_by,
            "note": note,
            "linked_at": moment,
        }
        payload = incident_payload(row)
        entry = chain.append(
            conn,
            kind=INCIDENT_EVENT,
            ref_id=decision_id,
            actor=linked_by,
            payload=payload,
            payload_digest=chain.event_digest(linked_by, moment, payload),
            created_at=moment,
        )
        conn.execute(insert(INCIDENTS), row | {"chain_seq": entry.seq})
    return IncidentLink(**payload, linked_by=linked_by, chain_seq=entry.seq), True


def incident_payload(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """The chain payload that vouches for one incident row."""
    return {
        "incident_id": row["incident_id"],
        "decision_id": row["decision_id"],
        "note": row["note"],
        "linked_at": chain.iso_utc(row["linked_at"]),
    }


def list_incidents(store: Store, *, decision_id: str | None = None) -> list[IncidentLink]:
    """Every recorded incident link (of one decision), oldest first."""
    query = select(INCIDENTS).order_by(INCIDENTS.c.chain_seq)
    if decision_id is not None:
        query = query.where(INCIDENTS.c.decision_id == decision_id)
    with store.reading("list incidents") as conn:
        return [_link(row) for row in conn.execute(query).mappings()]


def scorecard(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> list[ReviewerScore]:
    """Per reviewer, how its alarms matched the incidents linked to decisions in the window."""
    caused = (
        select(INCIDENTS.c.decision_id)
        .where(INCIDENTS.c.decision_id == VERDICTS.c.decision_id)
        .exists()
    )
    failed = case((VERDICTS.c.error.is_(None), 0), else_=1)
    flagged = case((VERDICTS.c.stance == "approve", 0), else_=1)
    incident = case((caused, 1), else_=0)
    query = (
        select(
            VERDICTS.c.reviewer,
            failed.label("failed"),
            flagged.label("flagged"),
            incident.label("caused"),
            func.count().label("n"),
        )
        .join(DECISIONS, DECISIONS.c.decision_id == VERDICTS.c.decision_id)
        .group_by(VERDICTS.c.reviewer, failed, flagged, incident)
    )
    if since is not None:
        query = query.where(DECISIONS.c.created_at >= since)
    if until is not None:
        query = query.where(DECISIONS.c.created_at < until)
    with store.reading("compute the scorecard") as conn:
        rows = conn.execute(query).all()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        tally = counts.setdefault(row.reviewer, {})
        key = "failed" if row.failed else _cell(bool(row.flagged), bool(row.caused))
        tally[key] = tally.get(key, 0) + row.n
    return [_score(name, counts[name]) for name in sorted(counts)]


def _cell(flagged: bool, caused: bool) -> str:
    if flagged:
        return "caught" if caused else "false_alarms"
    return "missed" if caused else "quiet"


def _score(reviewer: str, tally: dict[str, int]) -> ReviewerScore:
    caught, missed = tally.get("caught", 0), tally.get("missed", 0)
    false_alarms, quiet = tally.get("false_alarms", 0), tally.get("quiet", 0)
    return ReviewerScore(
        reviewer=reviewer,
        judged=caught + missed + false_alarms + quiet,
        flagged=caught + false_alarms,
        caught=caught,
        missed=missed,
        false_alarms=false_alarms,
        quiet=quiet,
        failed=tally.get("failed", 0),
        precision=_ratio(caught, caught + false_alarms),
        recall=_ratio(caught, caught + missed),
        false_alarm_rate=_ratio(false_alarms, false_alarms + quiet),
    )


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _link(row: RowMapping) -> IncidentLink:
    return IncidentLink(
        incident_id=row["incident_id"],
        decision_id=row["decision_id"],
        linked_by=row["linked_by"],
        note=row["note"],
        linked_at=chain.iso_utc(row["linked_at"]),
        chain_seq=row["chain_seq"],
    )
