"""The kill switch: freeze an actor (or every AI agent), thaw it, ask who is frozen.

A freeze takes effect in its own transaction: the actor's open escalations are
cancelled there, so nobody approves them by mistake, and reviews check it
before any reviewer runs and again in the transaction that records their
decision. Names are compared by identity (orchestrator/identity.py):
"Refactor-Bot", "refactor\u200b-bot" and full-width "ｒｅｆａｃｔｏｒ-bot" are
frozen with "refactor-bot". The stored target is the name as first frozen,
trimmed and case folded; every lookup matches targets by identity key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, bindparam, delete, insert, or_, select

from orchestrator import identity
from orchestrator.errors import Refused
from orchestrator.guards import ALL_AI_AGENTS, Freeze
from orchestrator.models import Frozen, Source
from orchestrator.store.escalations import cancel_open
from orchestrator.store.gate_common import (
    Identities,
    chain_event,
    distinct_names,
    iso,
    lock_writers,
    moment,
    named,
    person,
    person_key,
    stored_as,
)
from orchestrator.store.store import Store
from orchestrator.store.tables_governance import ESCALATIONS, FREEZES


class FreezeResult(Frozen):
    """A freeze in force, whether this call made it, and the escalations it cancelled."""

    freeze: Freeze
    created: bool
    cancelled: tuple[str, ...] = ()


def target_of(actor: str | None) -> str:
    """The freeze target a new freeze stores: the actor's name folded, or every AI agent."""
    return ALL_AI_AGENTS if actor is None else person_key(person(actor, "ACTOR"))


# Built once: every review reads it twice (store/budgets.py says why).
_OF_TARGETS = select(FREEZES).where(FREEZES.c.target.in_(bindparam("targets", expanding=True)))


def active_freeze(conn: Connection, actor: str, *, ai_agent: bool) -> Freeze | None:
    """The freeze stopping `actor` now, its own before the all-AI-agents one."""
    own = _frozen_target(conn, actor)
    targets = ([own] if own is not None else []) + ([ALL_AI_AGENTS] if ai_agent else [])
    if not targets:
        return None
    rows = conn.execute(_OF_TARGETS, {"targets": targets}).mappings().all()
    for target in targets:
        for row in rows:
            if row["target"] == target:
                return _freeze(row)
    return None


def _frozen_target(conn: Connection, actor: str) -> str | None:
    """The stored target of a freeze on `actor` or a look-alike of it, if any."""
    matches = [t for t in stored_as(conn, FREEZES.c.target, actor) if t != ALL_AI_AGENTS]
    return matches[0] if matches else None


def current_freeze(store: Store, actor: str, *, ai_agent: bool) -> Freeze | None:
    """The freeze stopping `actor` now, if any."""
    with store.reading("check for a freeze") as conn:
        return active_freeze(conn, actor, ai_agent=ai_agent)


def list_freezes(store: Store) -> list[Freeze]:
    """Every freeze in force, oldest first."""
    with store.reading("list freezes") as conn:
        rows = conn.execute(select(FREEZES).order_by(FREEZES.c.frozen_at, FREEZES.c.target))
        return [_freeze(r) for r in rows.mappings()]


def freeze(
    store: Store,
    actor: str | None,
    *,
    by: str,
    reason: str,
    identities: Identities,
    now: str,
) -> FreezeResult:
    """Freeze one actor (None: every AI agent) and cancel its open escalations."""
    target = target_of(actor)
    by, reason = person(by, "--as"), named(reason, "--reason")
    at = moment(now)
    with store.writing(f"freeze {target}") as conn:
        lock_writers(conn)
        stored = target if target == ALL_AI_AGENTS else _frozen_target(conn, target)
        found = conn.execute(select(FREEZES).where(FREEZES.c.target == stored)).mappings()
        existing = found.first()
        if existing is not None:
            return FreezeResult(freeze=_freeze(existing), created=False)
        row = {"target": target, "frozen_by": by, "reason": reason, "frozen_at": at}
        conn.execute(insert(FREEZES), row)
        whom = "every AI agent was" if target == ALL_AI_AGENTS else f"{target} was"
        cancelled = cancel_open(
            conn,
            _escalations_of(conn, target, identities),
            reason=f"{whom} frozen by {by}: {reason}",
            by=by,
            at=at,
        )
        chain_event(
            conn,
            "actor.freeze",
            ref_id=target,
            actor=by,
            payload={
                "target": target,
                "frozen_by": by,
                "reason": reason,
                "cancelled": list(cancelled),
            },
            at=at,
        )
    return FreezeResult(freeze=_freeze(row), created=True, cancelled=tuple(cancelled))


def thaw(
    store: Store,
    actor: str | None,
    *,
    by: str,
    reason: str = "",
    identities: Identities,
    now: str,
) -> Freeze:
    """Lift a freeze; AI agents, automation and the frozen actor itself cannot."""
    asked = target_of(actor)
    by = person(by, "--as")
    at = moment(now)
    identities.refuse_machine(by, "thaw nothing")
    if asked != ALL_AI_AGENTS and identity.same(by, asked):
        raise Refused(f"{by} is the frozen actor; nobody thaws themselves")
    with store.writing(f"thaw {asked}") as conn:
        lock_writers(conn)
        target = asked if asked == ALL_AI_AGENTS else (_frozen_target(conn, asked) or asked)
        row = conn.execute(select(FREEZES).where(FREEZES.c.target == target)).mappings().first()
        if row is None:
            also = ""
            if target != ALL_AI_AGENTS and active_freeze(conn, target, ai_agent=True):
                also = " (every AI agent is frozen: thaw --all-ai-agents lifts that)"
            raise Refused(f"{actor or 'every AI agent'} is not frozen{also}")
        lifted = _freeze(row)
        conn.execute(delete(FREEZES).where(FREEZES.c.target == target))
        chain_event(
            conn,
            "actor.thaw",
            ref_id=target,
            actor=by,
            payload={
                "target": target,
                "thawed_by": by,
                "reason": reason,
                "frozen_by": lifted.frozen_by,
                "frozen_at": lifted.frozen_at,
                "frozen_reason": lifted.reason,
            },
            at=at,
        )
    return lifted


def _escalations_of(conn: Connection, target: str, identities: Identities) -> ColumnElement[bool]:
    """Which escalations a freeze of `target` stops: its own and its look-alikes'."""
    actor = ESCALATIONS.c.actor
    if target != ALL_AI_AGENTS:
        return actor.in_(stored_as(conn, actor, target))
    agents = identities.ai_agents()
    registered = [n for n in distinct_names(conn, actor) if identity.key(n) in agents]
    return or_(ESCALATIONS.c.source == Source.AI_AGENT.value, actor.in_(registered))


def _freeze(row: RowMapping | Mapping[str, Any]) -> Freeze:
    return Freeze(
        target=row["target"],
        frozen_by=row["frozen_by"],
        reason=row["reason"],
        frozen_at=iso(row["frozen_at"]) or "",
    )
