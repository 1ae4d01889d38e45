"""Find, load and validate reviewer plugins from the `commander.reviewers` entry points.

Three steps, as flake8 does it: find the entry points, load each one, then
validate it into a typed record. The built-in reviewers are entry points of
this very package, so they travel the same road as any third-party plugin.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel

from orchestrator.errors import ConfigError, PluginError
from orchestrator.reviewer import Reviewer
from orchestrator.yamlfile import validate_model

GROUP = "commander.reviewers"


@dataclass(frozen=True, kw_only=True)
class LoadedReviewer:
    """A validated reviewer plugin, ready to run."""

    name: str
    reviewer: Reviewer
    stage: int
    settings_model: type[BaseModel] | None
    origin: str


def find_entry_points() -> list[EntryPoint]:
    """Every reviewer entry point, sorted by name."""
    # sorted: decisions must not depend on plugin install order
    return sorted(entry_points(group=GROUP), key=lambda ep: (ep.name, ep.value))


def load_entry_point(ep: EntryPoint) -> LoadedReviewer:
    """Import one entry point and validate what it names."""
    label = f"{ep.name}[{ep.value}]"
    try:
        target = ep.load()
    except Exception as exc:  # a broken plugin must name itself, whatever it raised
        raise PluginError(label, f"cannot be imported: {type(exc).__name__}: {exc}") from None
    return validate_reviewer(target, label=label, expected_name=ep.name)


def validate_reviewer(
    target: Any, *, label: str, expected_name: str | None = None
) -> LoadedReviewer:
    """Check a reviewer class or instance against the contract in reviewer.py."""
    if inspect.isclass(target):
        try:
            target = target()
        except Exception as exc:
            raise PluginError(label, f"cannot be instantiated without arguments: {exc}") from None
    name = getattr(target, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(label, "has no 'name' string attribute")
    if expected_name is not None and name != expected_name:
        raise PluginError(label, f"entry point name {expected_name!r} differs from name {name!r}")
    review = getattr(target, "review", None)
    if review is None or not callable(review):
        raise PluginError(label, "has no review() method")
    if not inspect.iscoroutinefunction(review):
        raise PluginError(label, "review() must be async")
    stage = getattr(target, "stage", 1)
    if stage not in (1, 2):
        raise PluginError(label, f"stage must be 1 or 2, not {stage!r}")
    settings_model = getattr(target, "settings_model", None)
    if settings_model is not None and not (
        inspect.isclass(settings_model) and issubclass(settings_model, BaseModel)
    ):
        raise PluginError(label, "settings_model must be a pydantic model class")
    return LoadedReviewer(
        name=name, reviewer=target, stage=stage, settings_model=settings_model, origin=label
    )


def discover(*, disabled: Iterable[str] = ()) -> list[LoadedReviewer]:
    """Load every installed reviewer; names must be unique."""
    skip = set(disabled)
    loaded: list[LoadedReviewer] = []
    seen: dict[str, str] = {}
    for ep in find_entry_points():
        if ep.name in skip:
            continue
        if ep.name in seen:
            raise PluginError(
                f"{ep.name}[{ep.value}]", f"name already registered by {seen[ep.name]}"
            )
        record = load_entry_point(ep)
        seen[ep.name] = record.origin
        loaded.append(record)
    if not loaded:
        raise ConfigError(GROUP, "no reviewer is installed (is commander installed with pip?)")
    return loaded


def parse_settings(
    reviewers: Iterable[LoadedReviewer],
    sections: Mapping[str, tuple[Any, str, str]],
    *,
    known: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate each reviewer's config section with its settings model, at load time.

    A section for no installed reviewer (`known` adds disabled ones) is an
    error: a misspelt file name must not silently leave a reviewer on defaults.
    """
    reviewers = list(reviewers)
    names = {r.name for r in reviewers} | set(known)
    for name, (_, _, origin) in sorted(sections.items()):
        if name not in names:
            raise ConfigError(
                origin,
                f"no installed reviewer is named {name!r} (installed: {', '.join(sorted(names))})",
            )
    settings: dict[str, Any] = {}
    for record in reviewers:
        if record.settings_model is None:
            if record.name in sections:
                settings[record.name] = sections[record.name][0]
            continue
        data, text, origin = sections.get(record.name, ({}, "", f"reviewers/{record.name}.yaml"))
        settings[record.name] = validate_model(data, text, origin, record.settings_model)
    return settings
