"""Validate configs/commands.yaml and compile it (with diff-paths.yaml) into plain JSON.

Only `commands_catalog.load_catalog` calls this, when its cache has no entry
for the files' content; the guard's fast path never imports pydantic or YAML.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from orchestrator.adapters.gitdiff_rules import DiffPaths, glob_regex
from orchestrator.errors import ConfigError
from orchestrator.models import Frozen
from orchestrator.yamlfile import parse_yaml, validate_model

Glob = Annotated[str, StringConstraints(min_length=1)]
Verdict = Literal["read-only", "local", "ask"]


class _Program(Frozen):
    default: Verdict
    read_only: tuple[Glob, ...] = ()
    local: tuple[Glob, ...] = ()
    ask: tuple[Glob, ...] = ()


class _Kubernetes(Frozen):
    kinds: dict[str, str] = Field(default_factory=dict)
    cluster_scoped: tuple[str, ...] = ()


class _Cloud(Frozen):
    delete_verbs: tuple[Glob, ...] = ()
    create_verbs: tuple[Glob, ...] = ()
    iam_verbs: tuple[Glob, ...] = ()
    id_flags: tuple[str, ...] = ()
    filter_flags: tuple[str, ...] = ()
    prefixes: dict[str, str] = Field(default_factory=dict)
    types: dict[str, str] = Field(default_factory=dict)


class CommandsFile(Frozen):
    """configs/commands.yaml."""

    version: str
    unknown: Literal["ask", "allow", "deny"] = "ask"
    unreviewed_apply: Literal["escalate", "plan-first"] = "escalate"
    protected_branches: tuple[Glob, ...] = ()
    protected_paths: tuple[Glob, ...] = ()
    units: tuple[Glob, ...] = ()
    review_file_categories: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    local: tuple[str, ...] = ()
    programs: dict[str, _Program] = Field(default_factory=dict)
    tools: dict[str, dict[str, tuple[Glob, ...]]] = Field(default_factory=dict)
    kubernetes: _Kubernetes = _Kubernetes()
    clouds: dict[Literal["aws", "gcloud", "az"], _Cloud] = Field(default_factory=dict)


def compile_catalog(sources: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The compiled catalog from {name: (text, origin)} of commands.yaml and diff-paths.yaml."""
    text, origin = sources["commands.yaml"]
    commands = validate_model(parse_yaml(text, origin) or {}, text, origin, CommandsFile)
    paths_text, paths_origin = sources["diff-paths.yaml"]
    diff_paths = validate_model(
        parse_yaml(paths_text, paths_origin) or {}, paths_text, paths_origin, DiffPaths
    )
    if unknown := sorted(set(commands.review_file_categories) - set(diff_paths.precedence)):
        raise ConfigError(
            origin, f"review_file_categories: {unknown} are not categories of {paths_origin}"
        )
    data = commands.model_dump(mode="json")
    data["path_rules"] = [
        [rule.category, glob_regex(rule.globs).pattern] for rule in diff_paths.paths
    ]
    data["default_category"] = diff_paths.default.category
    return data
