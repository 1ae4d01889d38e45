"""Who the actors are: the agent registry's records and time-bound elevations.

The registry (`configs/agents.yaml`) says what kind each actor is, what it
exists for (its purposes: change categories such as docs, tests, app-code,
dependencies, infra) and which environments it may touch. Elevations are
stored grants ("refactor-bot may touch staging IAM until 18:00, granted by
alice because …"). Reviewers get an `ActorProfile` in their context, with
only the elevations in force at review time: the clock is read at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from orchestrator.errors import ConfigError
from orchestrator.models import Frozen, Source
from orchestrator.policies.rules import Enforcement, environment_name
from orchestrator.policies.yamlcheck import validate
from orchestrator.yamlfile import parse_yaml

# How restricted each kind is: an actor is judged as the most restricted of
# what it declares and what the registry says (an AI agent claiming to be a
# person is still judged as an AI agent).
_RESTRICTION = {Source.HUMAN: 0, Source.AUTOMATION: 1, Source.AI_AGENT: 2}

ActorName = Annotated[str, StringConstraints(pattern=r"^\S+$")]
Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]


def stricter(a: Source, b: Source) -> Source:
    """The more restricted of two kinds (ai-agent > automation > human)."""
    return a if _RESTRICTION[a] >= _RESTRICTION[b] else b


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
    purposes: tuple[Purpose, ...] = ()
    environments: tuple[str, ...] = ()
    description: str = ""

    @field_validator("environments")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        """Refuse unknown environment names: in a registry they are typos, not production."""
        unknown = [n for n in names if environment_name(n) is None]
        if unknown:
            raise ValueError(
                f"unknown environment(s) {unknown}: "
                "use production, staging, development or an alias"
            )
        return names


class ActorProfile(Frozen):
    """What the reviewers know of the proposing actor at review time."""

    actor: str
    registered: bool
    kind: Source
    purposes: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    elevations: tuple[Elevation, ...] = Field(default_factory=tuple)


class AgentsFile(Frozen):
    """configs/agents.yaml."""

    # The kind an actor missing from `actors` is judged as (at least its declared source).
    unknown_actors: Source = Source.AI_AGENT
    # How an AI agent outside its purposes or environments counts (Sentinel levels).
    enforcement: Enforcement = "soft-mandatory"
    actors: dict[ActorName, ActorRecord] = Field(default_factory=dict)


class AgentRegistry:
    """Who the actors are (read-only): kinds, purposes and environments by name."""

    __slots__ = ("_actors", "configured", "enforcement", "origin", "unknown_actors")

    def __init__(self, parsed: AgentsFile, *, origin: str, configured: bool = True) -> None:
        self._actors = dict(parsed.actors)
        self.unknown_actors = parsed.unknown_actors
        self.enforcement: Enforcement = parsed.enforcement
        self.origin = origin
        self.configured = configured

    @classmethod
    def none(cls) -> AgentRegistry:
        """No registry: every actor is judged by its declared source alone."""
        return cls(AgentsFile(unknown_actors=Source.HUMAN), origin="<none>", configured=False)

    @classmethod
    def from_text(cls, text: str, origin: str) -> AgentRegistry:
        """Validate agents.yaml text; a typo is a ConfigError naming file and line."""
        data = parse_yaml(text, origin)
        return cls(validate(data, text, origin, AgentsFile), origin=origin)

    @classmethod
    def load(cls, path: Path) -> AgentRegistry:
        """Read an agents.yaml file."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"cannot read: {exc}") from None
        return cls.from_text(text, str(path))

    def record(self, actor: str) -> ActorRecord | None:
        """The registry entry of one actor, if it has one."""
        return self._actors.get(actor)

    def profile(
        self, actor: str, declared_source: Source, elevations: Iterable[Elevation] = ()
    ) -> ActorProfile:
        """What the reviewers know of `actor`: its judged kind, lanes and elevations.

        An unregistered actor is judged as `unknown_actors` (or its declared
        source when that is stricter), with no purposes and no environments.
        """
        record = self._actors.get(actor)
        own = tuple(e for e in elevations if e.actor == actor)
        if record is None:
            return ActorProfile(
                actor=actor,
                registered=False,
                kind=stricter(self.unknown_actors, declared_source),
                elevations=own,
            )
        return ActorProfile(
            actor=actor,
            registered=True,
            kind=stricter(record.kind, declared_source),
            purposes=record.purposes,
            environments=tuple(
                e.value for name in record.environments if (e := environment_name(name))
            ),
            elevations=own,
        )

    def __repr__(self) -> str:
        return f"AgentRegistry(origin={self.origin!r}, actors={len(self._actors)})"
