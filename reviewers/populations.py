"""How much of each resource population a proposal touches and destroys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pydantic import JsonValue

from orchestrator.models import Action, Proposal

_EXAMPLES = 20


@dataclass(frozen=True)
class PopulationShare:
    """One resource type: how many exist, how many the change touches and destroys."""

    resource_type: str
    population: int
    touched: int
    destroyed: int
    examples: tuple[str, ...]

    @property
    def destroyed_fraction(self) -> float:
        """Share of the population deleted or replaced."""
        return self.destroyed / self.population if self.population else 0.0

    @property
    def touched_fraction(self) -> float:
        """Share of the population changed in any way."""
        return self.touched / self.population if self.population else 0.0

    def evidence(self) -> dict[str, JsonValue]:
        """The figures, as a finding's evidence."""
        return {
            "resource_type": self.resource_type,
            "population": self.population,
            "touched": self.touched,
            "destroyed": self.destroyed,
            "destroyed_fraction": round(self.destroyed_fraction, 4),
            "touched_fraction": round(self.touched_fraction, 4),
            "destroyed_percent": round(100 * self.destroyed_fraction, 1),
        }


def population_shares(proposal: Proposal, declared: Mapping[str, int]) -> list[PopulationShare]:
    """Shares per resource type of the existing resources the proposal changes.

    The population of a type is the largest of: what the plan's prior state
    counts, what the topology declares (by type or glob), and how many
    existing resources the change itself touches.
    """
    touched: dict[str, int] = {}
    destroyed: dict[str, list[str]] = {}
    for change in proposal.effective_changes:
        if change.action == Action.CREATE or change.mode != "managed":
            continue
        touched[change.type] = touched.get(change.type, 0) + 1
        if change.is_destructive:
            destroyed.setdefault(change.type, []).append(change.address)
    shares = []
    for resource_type in sorted(touched):
        population = max(
            proposal.populations.get(resource_type, 0),
            _declared(declared, resource_type),
            touched[resource_type],
        )
        gone = destroyed.get(resource_type, [])
        shares.append(
            PopulationShare(
                resource_type=resource_type,
                population=population,
                touched=touched[resource_type],
                destroyed=len(gone),
                examples=tuple(sorted(gone)[:_EXAMPLES]),
            )
        )
    return shares


def _declared(declared: Mapping[str, int], resource_type: str) -> int:
    if resource_type in declared:
        return declared[resource_type]
    return max((n for glob, n in declared.items() if fnmatchcase(resource_type, glob)), default=0)
