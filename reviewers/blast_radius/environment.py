"""How critical the reached services are where the change goes.

The topology's criticality describes production, and applies to production
changes. A change to staging or development is judged by that environment's
own criticality: the topology's `environments` entry when it has one, else
the environment's floor (`environment_criticality` in blast-radius.yaml); the
evidence says which, so nobody reads production's criticality into it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import JsonValue

from orchestrator.graph import DependencyGraph
from orchestrator.graph.build import RANK, TIERS
from orchestrator.models import Environment, RiskTier
from reviewers.blast_radius.limits import BlastRadiusSettings
from reviewers.blast_radius.reach import Reach

_CRITICAL = RANK[RiskTier.CRITICAL]


@dataclass(frozen=True)
class Criticality:
    """The reached services' criticality in one environment."""

    environment: Environment
    rank_counts: list[int]  # reached services per criticality rank, low first
    critical: list[int]  # critical services an irreversible change can reach
    source: str  # "topology" (production), "topology environments", or "floor"
    floor: RiskTier | None = None

    @property
    def tier(self) -> RiskTier:
        """The criticality of the most critical service reached (low when none is)."""
        return TIERS[max((r for r, n in enumerate(self.rank_counts) if n), default=0)]

    @property
    def note(self) -> str:
        """A sentence for the rationale when production's criticality does not apply."""
        if self.environment is Environment.PRODUCTION:
            return ""
        if self.source == "floor" and self.floor is not None:
            return (
                f"Production criticality does not apply in {self.environment.value}: "
                f"services count at its floor, {self.floor.value}."
            )
        return f"Criticality as the topology gives it for {self.environment.value}."

    def evidence(self) -> dict[str, JsonValue]:
        """What the summary finding records about the criticality it used."""
        shown: dict[str, JsonValue] = {
            "environment": self.environment.value,
            "production_criticality_applies": self.environment is Environment.PRODUCTION,
            "from": self.source,
        }
        if self.floor is not None:
            shown["floor"] = self.floor.value
        return shown


def in_environment(
    reach: Reach, graph: DependencyGraph, environment: Environment, settings: BlastRadiusSettings
) -> Criticality:
    """The criticality of what `reach` reaches, as it is in `environment`."""
    if environment is Environment.PRODUCTION:
        return Criticality(environment, reach.rank_counts, reach.irreversible_critical, "topology")
    floor = settings.environment_criticality.get(environment, RiskTier.MEDIUM)
    rank = graph.ranks_in(environment.value, RANK[floor])
    counts = [0] * len(TIERS)
    for service in reach.services:
        counts[rank(service)] += 1
    came = reach.irreversible_from
    critical = (
        [s for s in reach.services if came[s] >= 0 and rank(s) == _CRITICAL]
        if reach.irreversible
        else []
    )
    declared = environment.value in graph.environments
    return Criticality(
        environment,
        counts,
        critical,
        "topology environments" if declared else "floor",
        None if declared and graph.environments[environment.value][0] is not None else floor,
    )
