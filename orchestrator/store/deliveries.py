"""Platform deliveries: record each once, remember how it was answered, list the waiting ones.

    claim_delivery    record a delivery before acting on it; a replay gets the earlier row
    finish_delivery   what it did and what was answered (or that the answer failed)
    waiting_deliveries  deployments still waiting for the gate

A claim holds the writers' lock, so two copies of one delivery arriving at
once are served in turn: the second finds the first's row and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update

from orchestrator.store.gate_common import lock_writers, moment
from orchestrator.store.store import Store
from orchestrator.store.tables_deliveries import PLATFORM_DELIVERIES

DeliveryStatus = Literal["received", "waiting", "answered", "unanswered"]


@dataclass(frozen=True)
class Delivery:
    """One recorded delivery."""

    delivery_id: str
    kind: str
    status: DeliveryStatus
    decision_id: str | None
    callback: dict[str, Any] | None
    answer: str | None


def claim_delivery(store: Store, delivery_id: str, kind: str, *, now: str) -> Delivery | None:
    """Record `delivery_id` as received; None when new, else the row an earlier copy left."""
    with store.writing(f"record delivery {delivery_id}") as conn:
        lock_writers(conn)
        earlier = _get(conn, delivery_id)
        if earlier is not None:
            return earlier
        conn.execute(
            insert(PLATFORM_DELIVERIES),
            {
                "delivery_id": delivery_id,
                "kind": kind,
                "received_at": moment(now),
                "status": "received",
            },
        )
    return None


def finish_delivery(
    store: Store,
    delivery_id: str,
    *,
    status: DeliveryStatus,
    now: str,
    decision_id: str | None = None,
    callback: dict[str, Any] | None = None,
    answer: str | None = None,
) -> None:
    """Record what a delivery did, and what was answered (status `answered`) or is owed."""
    values: dict[str, Any] = {"status": status, "answer": answer}
    if decision_id is not None:
        values["decision_id"] = decision_id
    if callback is not None:
        values["callback"] = callback
    if status == "answered":
        values["answered_at"] = moment(now)
    with store.writing(f"record how delivery {delivery_id} was answered") as conn:
        conn.execute(
            update(PLATFORM_DELIVERIES)
            .where(PLATFORM_DELIVERIES.c.delivery_id == delivery_id)
            .values(**values)
        )


def waiting_deliveries(store: Store, kind: str) -> list[Delivery]:
    """Deliveries of `kind` still waiting for the gate, oldest first."""
    row = PLATFORM_DELIVERIES.c
    query = (
        select(PLATFORM_DELIVERIES)
        .where(row.status == "waiting", row.kind == kind)
        .order_by(row.received_at, row.delivery_id)
    )
    with store.reading("list waiting deliveries") as conn:
        return [_delivery(r) for r in conn.execute(query).mappings()]


def get_delivery(store: Store, delivery_id: str) -> Delivery | None:
    """One delivery's row, or None."""
    with store.reading(f"read delivery {delivery_id}") as conn:
        return _get(conn, delivery_id)


def _get(conn: Connection, delivery_id: str) -> Delivery | None:
    found = (
        conn.execute(
            select(PLATFORM_DELIVERIES).where(PLATFORM_DELIVERIES.c.delivery_id == delivery_id)
        )
        .mappings()
        .first()
    )
    return None if found is None else _delivery(found)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        kind=row["kind"],
        status=row["status"],
        decision_id=row["decision_id"],
        callback=row["callback"],
        answer=row["answer"],
    )


def release_delivery(store: Store, delivery_id: str) -> None:
    """Forget a delivery nothing was done for (the store failed), so a redelivery acts."""
    with store.writing(f"release delivery {delivery_id}") as conn:
        conn.execute(
            delete(PLATFORM_DELIVERIES).where(
                PLATFORM_DELIVERIES.c.delivery_id == delivery_id,
                PLATFORM_DELIVERIES.c.status == "received",
            )
        )
