"""Small helpers the scope and reversibility reviewers share."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, JsonValue

from orchestrator.config import shipped_config_dir
from orchestrator.models import RiskTier, Stance, tier_rank
from orchestrator.yamlfile import load_model

RESOURCE_CAP = 50
COUNT_CAP = 50
TIERS = (RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL)
STANCES: tuple[Stance, ...] = ("approve", "concern", "block")

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def step_down(tier: RiskTier, steps: int, floor: RiskTier) -> RiskTier:
    """Lower a tier by `steps`, never below `floor`."""
    lowered = TIERS[max(0, tier_rank(tier) - steps)]
    return lowered if tier_rank(lowered) >= tier_rank(floor) else floor


def stricter(a: Stance, b: Stance) -> Stance:
    """The stricter of two stances (approve < concern < block)."""
    return a if STANCES.index(a) >= STANCES.index(b) else b


def capped(addresses: Iterable[str]) -> tuple[tuple[str, ...], int]:
    """Sorted unique addresses, at most RESOURCE_CAP, and how many there were."""
    unique = sorted(set(addresses))
    return tuple(unique[:RESOURCE_CAP]), len(unique)


def counts(counter: Counter[str]) -> dict[str, JsonValue]:
    """A count per key, largest first then by name, capped (the rest summed as '…')."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    listed: dict[str, JsonValue] = dict(ranked[:COUNT_CAP])
    rest = sum(n for _, n in ranked[COUNT_CAP:])
    if rest:
        listed["…"] = rest
    return listed


def type_matches(resource_type: str, globs: Iterable[str]) -> bool:
    """Whether a type (or, for `group/version/Kind`, its Kind) matches any glob."""
    kind = resource_type.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(resource_type, g) or fnmatch.fnmatchcase(kind, g) for g in globs)


def load_shipped(name: str, model: type[SettingsT]) -> SettingsT:
    """Read configs/reviewers/<name>.yaml as shipped with commander."""
    return _load_shipped(name, model)  # type: ignore[return-value]


@cache
def _load_shipped(name: str, model: type[BaseModel]) -> BaseModel:
    # cached: the shipped file cannot change while commander runs
    return load_model(shipped_config_dir() / "reviewers" / f"{name}.yaml", model)
