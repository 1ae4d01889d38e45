"""The one clock: every time the gate records comes from here.

Reviews, sign-offs, freezes, grants and checkpoints read the time at the
edge (the CLI command, the HTTP route, the gate session) through `utc_now`
and hand it down; the store never reads a clock for the gate. Tests pass a
fixed clock instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time as naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso_millis(moment: datetime) -> str:
    """Naive UTC as ISO 8601 with milliseconds and a Z: a decision's `created_at`."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def iso_micros(moment: datetime) -> str:
    """Naive UTC as ISO 8601 with microseconds and a Z: the gate's `now`."""
    return moment.isoformat(timespec="microseconds") + "Z"
