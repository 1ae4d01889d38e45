"""What every gate operation shares: refusals, the writers' lock, the clock, identities.

Gate operations (approve, deny, freeze, thaw, elevate) run in one write
transaction each. They first take the chain head's lock, so on PostgreSQL
they read and write in turn with every other writer (SQLite's BEGIN IMMEDIATE
already serialises them), and they append their audit event in that same
transaction: the gate's state and its record change together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from pydantic import JsonValue
from sqlalchemy import Column, Connection, Select, func, select

from orchestrator import identity
from orchestrator.clock import utc_now
from orchestrator.errors import Refused, UsageError
from orchestrator.models import Source
from orchestrator.store import chain
from orchestrator.store.chain import ChainEntry
from orchestrator.store.tables import CHAIN_HEAD

MACHINE_KINDS = frozenset({Source.AI_AGENT, Source.AUTOMATION})


def lock_writers(conn: Connection) -> None:
    """Wait for, then hold, the writers' turn until this transaction ends."""
    conn.execute(_LOCK).one()


# Built once: every recorded decision takes the lock (store/budgets.py says why).
_LOCK = select(CHAIN_HEAD.c.seq).where(CHAIN_HEAD.c.id == chain.HEAD_ID).with_for_update()


def moment(now: str | None) -> datetime:
    """`now` (ISO 8601) as naive UTC; a read given none asks the one clock."""
    if now is None:
        return utc_now()
    try:
        return chain.parse_utc(now)
    except ValueError:
        raise UsageError(f"{now!r} is not an ISO 8601 time") from None


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO 8601 with a Z (None stays None)."""
    return None if value is None else chain.iso_utc(value)


def person_key(name: str) -> str:
    """A name as the key columns store it (trimmed, case folded), for display and replay.

    Comparisons use `identity.key`, which also folds look-alikes; the stored
    form stays what it always was, so chains written before still verify.
    """
    return name.strip().casefold()


def person(value: str, flag: str) -> str:
    """A required person's name as typed, refused when blank or of mixed scripts."""
    return identity.checked(value, flag)


def stored_as(conn: Connection, column: Column[str], name: str) -> list[str]:
    """The distinct values of a name column that are the same identity as `name`."""
    return identity.among(name, distinct_names(conn, column))


def distinct_names(conn: Connection, column: Column[str]) -> list[str]:
    """Every distinct value of a name column, in the column's order.

    The column must lead an index. `SELECT DISTINCT` reads every row's index
    entry (10.75 ms at 100,000 budget_usage rows of 50 actors, growing with the
    table); this steps from each name to the next greater one, `MIN(col) WHERE
    col > last`, one index seek each (a loose index scan: 0.68 ms there), so it
    costs the number of names, not of rows, on SQLite and PostgreSQL alike.
    The keys are compared here, not stored: they depend on ICU's confusables
    data, which a newer ICU may change.
    """
    where = (column.table.name, column.name)
    query = _NAMES.get(where)
    if query is None:
        # Built once per column: building this CTE costs six times running it.
        query = _NAMES[where] = names_query(column)
    return [str(v) for v in conn.execute(query).scalars()]


_NAMES: dict[tuple[str, str], Select[tuple[str]]] = {}


def names_query(column: Column[str]) -> Select[tuple[str]]:
    """The loose index scan `distinct_names` runs: a recursive CTE, one step per name."""
    names = select(func.min(column).label("name")).cte("names", recursive=True)
    following = select(func.min(column)).where(column > names.c.name).scalar_subquery()
    names = names.union_all(select(following).where(names.c.name.is_not(None)))
    return select(names.c.name).where(names.c.name.is_not(None))


def named(value: str, flag: str) -> str:
    """A required name or text, stripped; blank is a usage error naming the flag."""
    text = value.strip()
    if not text:
        raise UsageError(f"{flag} must not be blank")
    return text


def chain_event(
    conn: Connection,
    kind: str,
    *,
    ref_id: str | None,
    actor: str | None,
    payload: dict[str, JsonValue],
    at: datetime,
) -> ChainEntry:
    """Append one audit event in the caller's transaction."""
    return chain.append(
        conn,
        kind=kind,
        ref_id=ref_id,
        actor=actor,
        payload=payload,
        payload_digest=chain.event_digest(actor, at, payload),
        created_at=at,
    )


def _empty() -> Mapping[str, Source]:
    return MappingProxyType({})


def _no_approvers() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Identities:
    """Who is who at the gate: registered kinds (agents.yaml) and configured approvers."""

    kinds: Mapping[str, Source] = field(default_factory=_empty)
    # name -> roles that person may sign; empty: anyone not a machine signs any role.
    approvers: Mapping[str, tuple[str, ...]] = field(default_factory=_no_approvers)

    @classmethod
    def of(
        cls, kinds: Mapping[str, Source], approvers: Mapping[str, tuple[str, ...]]
    ) -> Identities:
        """Index both by each name's identity key: a look-alike is the same person."""
        return cls(
            kinds=MappingProxyType({identity.key(k): v for k, v in kinds.items()}),
            approvers=MappingProxyType({identity.key(k): v for k, v in approvers.items()}),
        )

    def kind_of(self, name: str) -> Source | None:
        """The registered kind of a name, None when it is not registered."""
        return self.kinds.get(identity.key(name))

    def ai_agents(self) -> frozenset[str]:
        """Identity keys of every actor registered as an AI agent."""
        return frozenset(k for k, v in self.kinds.items() if v == Source.AI_AGENT)

    def refuse_machine(self, name: str, doing: str) -> None:
        """Refuse an identity registered as an AI agent or automation."""
        kind = self.kind_of(name)
        if kind in MACHINE_KINDS:
            raise Refused(f"{name} is registered as {kind}; AI agents and automation {doing}")

    def roles_of(self, name: str) -> tuple[str, ...] | None:
        """The roles a configured approver may sign; None when approvers are not configured."""
        if not self.approvers:
            return None
        return self.approvers.get(identity.key(name), ())
