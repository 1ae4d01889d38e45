"""Who the actors are: the agent registry's records and time-bound elevations.

The registry (`configs/agents.yaml`) says what kind each actor is, what it
exists for (its purposes: change categories such as docs, tests, app-code,
dependencies, infra) and which environments it may touch. Elevations are
stored grants ("refactor-bot may touch staging IAM until 18:00, granted by
alice because …"). Reviewers get an `ActorProfile` in their context, with
only the elevations in force at review time: the clock is read at the edge.
"""

from __future__ import annotations

from pydantic import Field

from orchestrator.models import Frozen, Source


class Elevation(Frozen):
    """A time-bound grant widening what one actor may touch."""

    elevation_id: str
    actor: str
    categories: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    until: str  # ISO 8601 UTC
    granted_by: str
    reason: str
    granted_at: str


class ActorRecord(Frozen):
    """One actor as configs/agents.yaml declares it."""

    kind: Source
    purposes: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    description: str = ""


class ActorProfile(Frozen):
    """What the reviewers know of the proposing actor at review time."""

    actor: str
    registered: bool
    kind: Source
    purposes: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    elevations: tuple[Elevation, ...] = Field(default_factory=tuple)
