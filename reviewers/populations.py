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
    """One resource type: how many exist, how many the change touches and destroys.

    `known` is false when neither the plan's prior state nor the topology counts
    the type: `population` is then only what the change itself touches, a lower
    bound, and no share of it is claimed (fractions are 0).
    """

    resource_type: str
    population: int
    touched: int
    destroyed: int
    examples: tuple[str, ...]
    known: bool = True

    @property
    def destroyed_fraction(self) -> float:
        """Share of the population deleted or replaced (0 when the population is unknown)."""
        return self.destroyed / self.population if self.population and self.known else 0.0

    @property
    def touched_fraction(self) -> float:
        """Share of the population changed in any way (0 when the population is unknown)."""
        return self.touched / self.population if self.population and self.known else 0.0

    def evidence(self) -> dict[str, JsonValue]:
        """The figures, as a finding's evidence."""
        if not self.known:
            return {
                "resource_type": self.resource_type,
                "population": None,
                "population_known": False,
                "touched": self.touched,
                "destroyed": self.destroyed,
                "note": "population unknown: the plan has no prior state and the topology "
                "declares no size, so no share is claimed",
            }
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

    The population of a type is known when the plan's prior state or the
    topology (by type or glob) counts it: then it is the largest of those and
    of how many existing resources the change itself touches. Creates are
    never a share of anything: they add to a population, they do not touch it.
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
        counted = max(
            proposal.populations.get(resource_type, 0), _declared(declared, resource_type)
        )
        population = max(counted, touched[resource_type])
        gone = destroyed.get(resource_type, [])
        shares.append(
            PopulationShare(
                resource_type=resource_type,
                population=population,
                touched=touched[resource_type],
                destroyed=len(gone),
                examples=tuple(sorted(gone)[:_EXAMPLES]),
                known=counted > 0,
            )
        )
    return shares


def _declared(declared: Mapping[str, int], resource_type: str) -> int:
    if resource_type in declared:
        return declared[resource_type]
    return max((n for glob, n in declared.items() if fnmatchcase(resource_type, glob)), default=0)
