"""Load the policy configuration: commander.yaml, reviewer sections, resource types.

A config directory given by the user overrides the shipped defaults file by
file: a team can replace `reviewers/scope.yaml` alone and keep the rest.
The policy version names both the declared version and a digest of every
file used, so a decision records exactly which policy judged it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from orchestrator.errors import ConfigError
from orchestrator.guards import BudgetSettings, GateSettings
from orchestrator.models import Frozen, RiskTier
from orchestrator.shipped import shipped_config_dir as shipped_config_dir  # noqa: PLC0414 re-export
from orchestrator.yamlfile import parse_yaml, preparse, validate_model

TierOutcome = Literal["approve", "approve-unless-objection", "escalate"]


class TierPolicy(Frozen):
    """What a risk tier means when no reviewer objects."""

    outcome: TierOutcome
    approvals: tuple[str, ...] = ()


class AggregationSettings(Frozen):
    """The commander's thresholds (configs/commander.yaml `aggregation`)."""

    # Roles asked when a low or medium change is escalated by an objection.
    objection_approvals: tuple[str, ...] = ("senior-engineer",)
    # What a critical change from an AI agent gets: escalate or reject outright.
    ai_agent_critical: Literal["escalate", "reject"] = "escalate"
    # Roles asked when a plan cannot be judged in full or a reviewer failed.
    fail_closed_approvals: tuple[str, ...] = ("senior-engineer", "team-lead")


class BackstageSettings(Frozen):
    """configs/commander.yaml `backstage`: how a catalog maps to plans without annotations."""

    # Globs an entity owns when it has no commander.dev/owns annotation; {name},
    # {namespace} and {kind} are the entity's (e.g. "module.{name}.*").
    owns: tuple[str, ...] = ()

    @field_validator("owns")
    @classmethod
    def _known_fields(cls, owns: tuple[str, ...]) -> tuple[str, ...]:
        """Refuse a placeholder other than {name}, {namespace} and {kind} when loading."""
        for glob in owns:
            try:
                glob.format(name="n", namespace="ns", kind="Component")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"{glob!r}: use only {{name}}, {{namespace}} and {{kind}} ({exc})"
                ) from None
        return owns


class CommanderSettings(Frozen):
    """configs/commander.yaml."""

    version: str
    max_input_bytes: int = Field(default=1 << 30, gt=0)
    reviewer_timeout_seconds: float = Field(default=10.0, gt=0)
    reviewer_timeouts: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    disabled_reviewers: tuple[str, ...] = ()
    tiers: dict[RiskTier, TierPolicy]
    aggregation: AggregationSettings = AggregationSettings()
    budgets: BudgetSettings = BudgetSettings()
    gate: GateSettings = GateSettings()
    backstage: BackstageSettings = BackstageSettings()

    @field_validator("tiers")
    @classmethod
    def _every_tier(cls, tiers: dict[RiskTier, TierPolicy]) -> dict[RiskTier, TierPolicy]:
        """Require a policy for every tier: the commander looks each one up."""
        missing = [t.value for t in RiskTier if t not in tiers]
        if missing:
            raise ValueError(f"no policy for tier(s) {', '.join(missing)}")
        return tiers

    def timeout_for(self, reviewer: str) -> float:
        """The timeout of one reviewer, in seconds."""
        return self.reviewer_timeouts.get(reviewer, self.reviewer_timeout_seconds)


@dataclass(frozen=True, kw_only=True)
class LoadedConfig:
    """Everything read from a config directory, validated."""

    directory: Path
    commander: CommanderSettings
    reviewer_sections: Mapping[str, tuple[Any, str, str]]  # name -> (data, text, origin)
    resource_types: tuple[Any, str]  # (data, origin)
    policy_version: str
    # policies/*.yaml and policies/*.rego as (relative name, text, origin), sorted by name
    policy_sources: tuple[tuple[str, str, str], ...] = ()
    agents_source: tuple[str, str] | None = None  # agents.yaml as (text, origin)
    # diff-paths.yaml as (data, text, origin): how a git diff's files are categorised
    diff_paths: tuple[Any, str, str] | None = None


def load_config(directory: Path | None = None, *, cache: Path | None = None) -> LoadedConfig:
    """Load and validate a config directory, falling back to the shipped files.

    With `cache` (a directory, see settings.cache_dir), the YAML files' parsed
    forms are kept there and reused while their content stays the same.
    """
    shipped = shipped_config_dir()
    user = directory
    if user is not None and not user.is_dir():
        raise ConfigError(str(user), "config directory does not exist")

    def pick(relative: str) -> Path | None:
        for base in (user, shipped):
            if base is not None and (base / relative).is_file():
                return base / relative
        return None

    digest = hashlib.sha256()
    texts: dict[str, tuple[str, Path]] = {}
    names = {"commander.yaml", "resource-types.yaml", "agents.yaml", "diff-paths.yaml"}
    for base in (shipped, user):
        if base is not None and (base / "reviewers").is_dir():
            names.update(f"reviewers/{p.name}" for p in (base / "reviewers").glob("*.yaml"))
        if base is not None and (base / "policies").is_dir():
            # data.json: the Rego `data` document, as in an OPA bundle
            for pattern in ("*.yaml", "*.rego", "data.json"):
                names.update(f"policies/{p.name}" for p in (base / "policies").glob(pattern))
    for relative in sorted(names):  # sorted: the policy digest must not depend on listing order
        path = pick(relative)
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"cannot read: {exc}") from None
        texts[relative] = (text, path)
        digest.update(relative.encode() + b"\0" + text.encode() + b"\0")

    if cache is not None:
        preparse((t for r, (t, _) in texts.items() if r.endswith(".yaml")), cache)
    if "commander.yaml" not in texts:
        raise ConfigError(str(user or shipped), "no commander.yaml found")
    text, path = texts["commander.yaml"]
    commander = validate_model(
        parse_yaml(text, str(path)) or {}, text, str(path), CommanderSettings
    )

    sections: dict[str, tuple[Any, str, str]] = {}
    for relative, (text, path) in texts.items():
        if relative.startswith("reviewers/"):
            name = relative.removeprefix("reviewers/").removesuffix(".yaml")
            sections[name] = (parse_yaml(text, str(path)) or {}, text, str(path))
    resource_types: tuple[Any, str] = ({}, "<none>")
    if "resource-types.yaml" in texts:
        text, path = texts["resource-types.yaml"]
        resource_types = (parse_yaml(text, str(path)) or {}, str(path))

    return LoadedConfig(
        directory=user or shipped,
        commander=commander,
        reviewer_sections=sections,
        resource_types=resource_types,
        policy_version=f"{commander.version}+{digest.hexdigest()[:12]}",
        policy_sources=tuple(
            (relative, text, str(path))
            for relative, (text, path) in texts.items()
            if relative.startswith("policies/")
        ),
        agents_source=(texts["agents.yaml"][0], str(texts["agents.yaml"][1]))
        if "agents.yaml" in texts
        else None,
        diff_paths=_parsed(texts.get("diff-paths.yaml")),
    )


def _parsed(entry: tuple[str, Path] | None) -> tuple[Any, str, str] | None:
    """(data, text, origin) of an optional YAML file; validated by the part that uses it."""
    if entry is None:
        return None
    text, path = entry
    return parse_yaml(text, str(path)) or {}, text, str(path)


def known_categories(config: LoadedConfig) -> frozenset[str]:
    """Every change category the policy names: the resource catalog's, a diff's and the tiers'.

    What an elevation may grant: a name outside these can never match a change,
    so granting it would be a typo recorded as permission.
    """
    from orchestrator.adapters.gitdiff_rules import load_diff_paths  # noqa: PLC0415
    from orchestrator.catalog import ResourceCatalog  # noqa: PLC0415

    data, origin = config.resource_types
    names = set(ResourceCatalog.from_mapping(data, origin).category_names)
    names.update(load_diff_paths(config.diff_paths).precedence)
    scope = config.reviewer_sections.get("scope")
    tiers = scope[0].get("category_tiers") if scope and isinstance(scope[0], dict) else None
    if isinstance(tiers, dict):
        names.update(str(name) for name in tiers)
    return frozenset(names)
