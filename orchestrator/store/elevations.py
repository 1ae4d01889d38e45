"""Time-bound elevations: "agent X may touch staging IAM until 18:00, granted by Y because Z".

Grants and revocations are stored with who made them and chained as events.
A review hands the reviewers only the elevations in force at its own time
(`active_elevations`), inside the actor's profile. Actor names match exactly:
a differently spelled name gets no elevation, which fails safe (grants do not
follow look-alikes; freezes, budgets and separation of duties do).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update

from orchestrator import identity
from orchestrator.agents import Elevation
from orchestrator.errors import Refused, UsageError
from orchestrator.guards import parse_duration, show_duration
from orchestrator.models import Frozen, canonical_environment
from orchestrator.store.gate_common import (
    Identities,
    chain_event,
    iso,
    lock_writers,
    moment,
    named,
    person,
)
from orchestrator.store.store import Store
from orchestrator.store.tables_governance import ELEVATIONS

_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_CLOCK = re.compile(r"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)")
_KNOWN_ENVIRONMENTS = frozenset(
    ("production", "prod", "prd", "staging", "stage", "stg", "development", "dev", "preview")
) | {"sandbox"}

ElevationStatus = Literal["active", "expired", "revoked"]


class ElevationRecord(Frozen):
    """A stored elevation with its state at the time asked."""

    elevation: Elevation
    status: ElevationStatus
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


def resolve_until(text: str, now: datetime) -> datetime:
    """`--until` as naive UTC: an ISO time, HH:MM later today (UTC), or a span like 2h."""
    value = text.strip()
    clock = _CLOCK.fullmatch(value)
    if clock:
        return now.replace(hour=int(clock["h"]), minute=int(clock["m"]), second=0, microsecond=0)
    try:
        return moment(value)
    except UsageError:
        pass
    try:
        span: timedelta = parse_duration(value.removeprefix("+"))
    except ValueError:
        raise UsageError(
            f"--until {text!r}: give an ISO 8601 time, HH:MM (UTC, today) or a span like 2h"
        ) from None
    return now + span


def grant_elevation(
    store: Store,
    actor: str,
    *,
    categories: Iterable[str],
    environments: Iterable[str],
    until: str,
    by: str,
    reason: str,
    identities: Identities,
    max_span: timedelta,
    now: str,
) -> Elevation:
    """Store a time-bound grant for `actor`, made by a person who is not that actor."""
    actor, by, reason = person(actor, "ACTOR"), person(by, "--as"), named(reason, "--reason")
    at = moment(now)
    end = resolve_until(until, at)
    cats = _categories(categories)
    envs = _environments(environments)
    if not cats and not envs:
        raise UsageError("an elevation names at least one of --categories and --environments")
    if end <= at:
        raise UsageError(f"--until {until!r} is already past ({iso(end)})")
    if end - at > max_span:
        raise UsageError(
            f"--until {until!r} is more than gate.max_elevation ({show_duration(max_span)}) away"
        )
    identities.refuse_machine(by, "grant nothing")
    if identity.same(by, actor):
        raise Refused(f"{by} cannot elevate themselves")
    row = {
        "elevation_id": "elv-" + uuid.uuid4().hex[:16],
        "actor": actor,
        "categories": list(cats),
        "environments": list(envs),
        "until": end,
        "granted_by": by,
        "reason": reason,
        "granted_at": at,
        "revoked_at": None,
        "revoked_by": None,
        "revoke_reason": None,
    }
    elevation = _elevation(row)
    with store.writing(f"elevate {actor}") as conn:
        lock_writers(conn)
        conn.execute(insert(ELEVATIONS), row)
        chain_event(
            conn,
            "elevation.grant",
            ref_id=elevation.elevation_id,
            actor=by,
            payload=elevation.model_dump(mode="json"),
            at=at,
        )
    return elevation


def revoke_elevation(
    store: Store,
    elevation_id: str,
    *,
    by: str,
    reason: str,
    identities: Identities,
    now: str,
) -> ElevationRecord:
    """End a grant before its time; AI agents and automation cannot."""
    by, reason = person(by, "--as"), named(reason, "--reason")
    at = moment(now)
    identities.refuse_machine(by, "revoke nothing")
    with store.writing(f"revoke {elevation_id}") as conn:
        lock_writers(conn)
        where = ELEVATIONS.c.elevation_id == elevation_id.strip()
        row = conn.execute(select(ELEVATIONS).where(where)).mappings().first()
        if row is None:
            raise Refused(f"no elevation {elevation_id!r}")
        record = _record(row, at)
        if record.status != "active":
            raise Refused(f"{elevation_id} is already {record.status}")
        conn.execute(
            update(ELEVATIONS)
            .where(where)
            .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
        )
        chain_event(
            conn,
            "elevation.revoke",
            ref_id=elevation_id,
            actor=by,
            payload={"elevation_id": elevation_id, "revoked_by": by, "reason": reason},
            at=at,
        )
        return _record(conn.execute(select(ELEVATIONS).where(where)).mappings().one(), at)


def list_elevations(
    store: Store, *, actor: str | None = None, every: bool = False, now: str | None = None
) -> list[ElevationRecord]:
    """Elevations in force at `now` (all of them when `every`), oldest grant first."""
    at = moment(now)
    with store.reading("list elevations") as conn:
        return _listed(conn, actor, every=every, at=at)


def active_elevations(store: Store, actor: str, *, now: str | None = None) -> tuple[Elevation, ...]:
    """The grants in force for `actor` at `now`, as reviewers see them."""
    return tuple(r.elevation for r in list_elevations(store, actor=actor, now=now))


def elevations_in_force(conn: Connection, actor: str, at: datetime) -> tuple[Elevation, ...]:
    """active_elevations in the caller's transaction, at `at` (naive UTC)."""
    rows = conn.execute(_IN_FORCE, {"actor": actor.strip(), "at": at}).mappings()
    return tuple(_record(r, at).elevation for r in rows)


def _listed(
    conn: Connection, actor: str | None, *, every: bool, at: datetime
) -> list[ElevationRecord]:
    query = _LISTED
    if actor is not None:
        query = query.where(ELEVATIONS.c.actor == actor.strip())
    if not every:
        query = query.where(*_NOT_ENDED).params(at=at)
    return [_record(r, at) for r in conn.execute(query).mappings()]


_LISTED = select(ELEVATIONS).order_by(ELEVATIONS.c.granted_at, ELEVATIONS.c.elevation_id)
# What every review reads, built once (store/budgets.py says why).
# In force at `at`: not yet expired, not revoked.
_NOT_ENDED = (
    ELEVATIONS.c.until > bindparam("at", type_=ELEVATIONS.c.until.type),
    ELEVATIONS.c.revoked_at.is_(None),
)
_IN_FORCE = _LISTED.where(ELEVATIONS.c.actor == bindparam("actor"), *_NOT_ENDED)


def _categories(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if not _CATEGORY.fullmatch(name):
                raise UsageError(f"--categories: {part.strip()!r} is not a category name")
            if name not in found:
                found.append(name)
    return tuple(found)


def _environments(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            # Unknown names would silently mean production: refuse them instead.
            if name not in _KNOWN_ENVIRONMENTS:
                raise UsageError(
                    f"--environments: {part.strip()!r} is not production, staging or "
                    "development (or one of their aliases)"
                )
            canonical = canonical_environment(name).value
            if canonical not in found:
                found.append(canonical)
    return tuple(found)


def _elevation(row: RowMapping | Mapping[str, Any]) -> Elevation:
    return Elevation(
        elevation_id=row["elevation_id"],
        actor=row["actor"],
        categories=tuple(row["categories"]),
        environments=tuple(row["environments"]),
        until=iso(row["until"]) or "",
        granted_by=row["granted_by"],
        reason=row["reason"],
        granted_at=iso(row["granted_at"]) or "",
    )


def _record(row: RowMapping | Mapping[str, Any], at: datetime) -> ElevationRecord:
    status: ElevationStatus = "active"
    if row["revoked_at"] is not None:
        status = "revoked"
    elif row["until"] <= at:
        status = "expired"
    return ElevationRecord(
        elevation=_elevation(row),
        status=status,
        revoked_at=iso(row["revoked_at"]),
        revoked_by=row["revoked_by"],
        revoke_reason=row["revoke_reason"],
    )
